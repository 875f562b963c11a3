import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { REGIONS_ENV, regionsFromEnv } from './envRegions'

const dir = mkdtempSync(join(tmpdir(), 'pinhole-config-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const region = {
  id: 'sh',
  name: 'Shanghai',
  proxyHost: '203.0.113.10',
  ports: { udp: [3478, 7070], tcp: 443 },
}

describe(REGIONS_ENV, () => {
  it('unset or blank: no configured regions', () => {
    expect(regionsFromEnv({})).toBeUndefined()
    expect(regionsFromEnv({ [REGIONS_ENV]: '  ' })).toBeUndefined()
  })

  it.each([
    ['a JSON array', JSON.stringify([region])],
    ['a { regions } object', JSON.stringify({ regions: [region] })],
  ])('%s', (_what, value) => {
    expect(regionsFromEnv({ [REGIONS_ENV]: value })).toEqual([region])
  })

  it('a file path', () => {
    const file = join(dir, 'regions.json')
    writeFileSync(file, JSON.stringify([region]))
    expect(regionsFromEnv({ [REGIONS_ENV]: file })).toEqual([region])
  })

  it.each([
    ['not JSON', '[oops', /not valid JSON/],
    ['a bad region', JSON.stringify([{ ...region, ports: { udp: [1], tcp: 0 } }]), new RegExp(REGIONS_ENV)],
    ['a duplicate id', JSON.stringify([region, region]), /duplicate region id/],
    ['the reserved id auto', JSON.stringify([{ ...region, id: 'auto' }]), /reserved/],
  ])('%s is refused with the reason', (_what, value, message) => {
    expect(() => regionsFromEnv({ [REGIONS_ENV]: value })).toThrow(message)
  })
})
