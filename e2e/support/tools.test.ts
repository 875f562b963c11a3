import { afterEach, describe, expect, it } from 'vitest'
import { freePort, freePortFor, INSTALL_LINE, MissingToolError, requireTool } from './tools'

describe('requireTool', () => {
  const savedPath = process.env['PATH']
  afterEach(() => {
    process.env['PATH'] = savedPath
  })

  it('throws MissingToolError naming the install line when the tool is not on PATH', () => {
    process.env['PATH'] = '/nonexistent'

    expect(() => requireTool('turnutils_peer')).toThrow(MissingToolError)
    expect(() => requireTool('turnutils_peer')).toThrow(INSTALL_LINE)
  })

  it('returns an absolute path for an installed tool', () => {
    expect(requireTool('turnserver')).toMatch(/^\/.*turnserver$/)
  })
})

describe('freePort', () => {
  it.each(['udp', 'tcp'] as const)('%s: hands out a bindable port', async (kind) => {
    const port = await freePort(kind)

    expect(port).toBeGreaterThan(1023)
  })

  it('finds a block free for udp and tcp alike', async () => {
    const port = await freePortFor(['udp', 'tcp'], 2)

    expect(port).toBeGreaterThan(1023)
  })
})
