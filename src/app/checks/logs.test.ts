import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createAppLogger, listLogFiles, logDirectory, RotatingFile } from './logs'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pinhole-logs-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

describe('logDirectory', () => {
  it.each([
    ['linux', {}, '/home/ann/.local/state/Pinhole/logs'],
    ['linux', { XDG_STATE_HOME: '/var/ann/state' }, '/var/ann/state/Pinhole/logs'],
    ['linux', { XDG_STATE_HOME: 'relative/state' }, '/home/ann/.local/state/Pinhole/logs'],
    ['darwin', {}, '/home/ann/Library/Logs/Pinhole'],
    [
      'win32',
      { LOCALAPPDATA: 'C:\\Users\\ann\\AppData\\Local' },
      'C:\\Users\\ann\\AppData\\Local\\Pinhole\\logs',
    ],
  ] as const)('%s %j → %s', (platform, env, expected) => {
    expect(logDirectory({ platform, env, home: '/home/ann' })).toBe(expected)
  })

  it("prefers Electron's logs path when given", () => {
    expect(logDirectory({ electronLogsPath: '/e/logs', platform: 'linux', env: {} })).toBe('/e/logs')
  })
})

describe('RotatingFile', () => {
  const line = (i: number): string => `${JSON.stringify({ i, pad: 'x'.repeat(80) })}\n`

  it('rotates by size and keeps maxFiles files, newest first', () => {
    const file = new RotatingFile({ dir: join(dir, 'nested'), maxBytes: 1000, maxFiles: 3 })
    for (let i = 0; i < 100; i += 1) file.write(line(i))
    file.close()

    const files = listLogFiles(join(dir, 'nested'))
    expect(files.map((f) => basename(f))).toEqual(['pinhole.log', 'pinhole.log.1', 'pinhole.log.2'])
    for (const f of files) expect(statSync(f).size).toBeLessThanOrEqual(1000)
    // The newest line is at the end of the current file; nothing is split across files.
    expect(readFileSync(files[0]!, 'utf8').trimEnd().split('\n').at(-1)).toBe(line(99).trimEnd())
    const kept = files
      .flatMap((f) => readFileSync(f, 'utf8').trimEnd().split('\n'))
      .map((l) => JSON.parse(l).i)
    expect(kept.sort((a, b) => a - b)).toEqual(
      Array.from({ length: kept.length }, (_, k) => 100 - kept.length + k),
    )
  })

  it('appends to an existing file and counts its size', () => {
    writeFileSync(join(dir, 'pinhole.log'), 'x'.repeat(950) + '\n')
    const file = new RotatingFile({ dir, maxBytes: 1000, maxFiles: 2 })
    file.write(line(1))
    file.close()
    expect(listLogFiles(dir).map((f) => basename(f))).toEqual(['pinhole.log', 'pinhole.log.1'])
    expect(readFileSync(join(dir, 'pinhole.log'), 'utf8')).toBe(line(1))
  })

  it('with maxFiles 1 starts the file over', () => {
    const file = new RotatingFile({ dir, maxBytes: 200, maxFiles: 1 })
    for (let i = 0; i < 10; i += 1) file.write(line(i))
    file.close()
    expect(listLogFiles(dir)).toEqual([join(dir, 'pinhole.log')])
    expect(readFileSync(join(dir, 'pinhole.log'), 'utf8')).toBe(line(8) + line(9))
  })

  it('refuses writes once closed and nonsense limits', () => {
    const file = new RotatingFile({ dir })
    file.close()
    expect(() => file.write('x\n')).toThrow(/closed/)
    expect(() => new RotatingFile({ dir, maxFiles: 0 })).toThrow(RangeError)
    expect(() => new RotatingFile({ dir, maxBytes: 0 })).toThrow(RangeError)
  })

  it('lists only its own files, in order', () => {
    for (const name of ['pinhole.log.10', 'pinhole.log', 'pinhole.log.2', 'other.log', 'pinhole.log.x']) {
      writeFileSync(join(dir, name), '')
    }
    expect(listLogFiles(dir).map((f) => basename(f))).toEqual([
      'pinhole.log',
      'pinhole.log.2',
      'pinhole.log.10',
    ])
    expect(listLogFiles(join(dir, 'missing'))).toEqual([])
  })
})

describe('createAppLogger', () => {
  it('writes JSON lines at the level from the policy, with secrets redacted', () => {
    const log = createAppLogger({ dir, level: 'warn', bindings: { component: 'main' } })
    log.logger.info('not written')
    log.logger.warn({ token: 'eyJhbGciOi.x.y', httpProxy: { host: 'p', password: 'hunter2' } }, 'written')
    log.logger.level = 'debug'
    log.logger.debug('now written')
    log.close()

    const lines = readFileSync(join(dir, 'pinhole.log'), 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines.map((l) => l.msg)).toEqual(['written', 'now written'])
    expect(lines[0]).toMatchObject({ level: 'warn', component: 'main', token: '[redacted]' })
    expect(lines[0].httpProxy).toEqual({ host: 'p', password: '[redacted]' })
  })
})
