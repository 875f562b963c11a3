/**
 * Issue 10 item 4 at the conference server: connections that have not joined are limited per client
 * address and to a share of `maxConnections`, so idle signaling sockets cannot keep a legitimate client
 * out. The client address is the socket's, or, from a trusted proxy only, the last X-Forwarded-For entry.
 */
import type { IncomingHttpHeaders } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import type { SfuConfigInput } from '../../src/sfu'
import { startSfu, type Sfu } from './harness'

const open: WebSocket[] = []
const servers: Sfu[] = []
afterEach(async () => {
  for (const ws of open.splice(0)) ws.terminate()
  for (const sfu of servers.splice(0)) await sfu.server.close()
})

async function sfuWith(overrides: SfuConfigInput): Promise<Sfu> {
  const sfu = await startSfu(overrides)
  servers.push(sfu)
  return sfu
}

/** An idle signaling socket (never a join): resolves with 101 once open, or the HTTP status it was refused with. */
function idle(sfu: Sfu, from: string, headers: IncomingHttpHeaders = {}): Promise<number> {
  const ws = new WebSocket(sfu.url, { localAddress: from, headers: headers as Record<string, string> })
  open.push(ws)
  ws.on('error', () => undefined)
  return new Promise((resolve) => {
    ws.once('open', () => resolve(101))
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
  })
}

async function refusals(sfu: Sfu, reason: string): Promise<number> {
  const metrics = await sfu.server.registry.getMetricsAsJSON()
  const metric = metrics.find((m) => m.name === 'pinhole_sfu_connections_refused_total')
  return metric?.values.find((v) => v.labels.reason === reason)?.value ?? 0
}

describe('conference server connection limits', () => {
  it('limits idle connections per address; another address still joins', async () => {
    const sfu = await sfuWith({ unauthenticatedPerIp: 3 })
    const statuses = []
    for (let i = 0; i < 6; i++) statuses.push(await idle(sfu, '127.0.0.2'))
    expect(statuses).toEqual([101, 101, 101, 429, 429, 429])
    expect(await refusals(sfu, 'unauthenticated_per_ip')).toBe(3)

    const client = await sfu.join('room', 1)
    expect(sfu.server.health().details.participants).toBe(1)
    await client.close()
  })

  it('counts connections from a trusted proxy under the address it forwarded last, and only then', async () => {
    // The server's own default trusts loopback proxies; 127.0.0.1 connects as the proxy would.
    const sfu = await sfuWith({ unauthenticatedPerIp: 2 })
    const forwarded = (chain: string): Promise<number> => idle(sfu, '127.0.0.1', { 'x-forwarded-for': chain })
    // Entries before the last come from the client itself: they do not make new addresses.
    expect(await forwarded('10.0.0.1, 127.0.0.2')).toBe(101)
    expect(await forwarded('10.0.0.2, 127.0.0.2')).toBe(101)
    expect(await forwarded('10.0.0.3, 127.0.0.2')).toBe(429)
    expect(await forwarded('127.0.0.3')).toBe(101)

    const strict = await sfuWith({ unauthenticatedPerIp: 2, trustedProxies: [] })
    const spoofed = (chain: string): Promise<number> =>
      idle(strict, '127.0.0.2', { 'x-forwarded-for': chain })
    expect([await spoofed('10.0.0.1'), await spoofed('10.0.0.2'), await spoofed('10.0.0.3')]).toEqual([
      101, 101, 429,
    ])
  })

  it('keeps a share of the slots for joined connections', async () => {
    const sfu = await sfuWith({ maxConnections: 6, unauthenticatedPercent: 50, trustedProxies: [] })
    const first = await sfu.join('room', 1)
    const second = await sfu.join('room', 2)
    // Joined: out of the unauthenticated share (3 of 6), so three idle sockets still fit, a fourth does not.
    const idles = [await idle(sfu, '127.0.0.2'), await idle(sfu, '127.0.0.3'), await idle(sfu, '127.0.0.4')]
    expect(idles).toEqual([101, 101, 101])
    expect(await idle(sfu, '127.0.0.5')).toBe(503)
    expect(await refusals(sfu, 'unauthenticated_share')).toBe(1)
    // One idle socket goes: its slot lets a client in, which joins and leaves the share again.
    open[0]!.terminate()
    await expect.poll(() => sfu.server.health().details.connections).toBe(4)
    const third = await sfu.join('room', 3)
    expect(sfu.server.health().details.participants).toBe(3)
    // 3 joined + 2 idle: one more idle fits the share, then the total is reached for everyone.
    expect(await idle(sfu, '127.0.0.6')).toBe(101)
    expect(await idle(sfu, '127.0.0.7')).toBe(503)
    expect(await refusals(sfu, 'max_connections')).toBe(1)
    await Promise.all([first.close(), second.close(), third.close()])
  })
})
