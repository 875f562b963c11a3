import { afterAll, describe, expect, it } from 'vitest'
import type { ProxyConnectedInfo } from '../../src/shared/engine'
import { ExitCode } from '../../src/cli/io'
import { delta, labSupport } from './lab'
import { useLabCallStack } from './labCallStack'
import { blockAllUdp, labJoinFlags, receivedHashes, startJoin, stateOf, type JoinResult } from './labJoin'
import { LAN_DROP_COUNTERS, blockCounter } from './topology'

/**
 * Proxy modes through the firewall lab (issue 4, lab items 2–4): with every UDP datagram from `lan` dropped
 * a TCP (TLS 443) client still gets a call with content-checked frames; Auto ends on the UDP proxy when UDP
 * is open and on TLS 443 when it is not, and says so in its `proxyConnected` line.
 */

// Not root → skip, saying why (as lab.test.ts).
const support = labSupport()
if (!support.ok) console.log(support.reason)

/** Seconds each client stays after Connected, sending its files. */
const CALL_SECONDS = 3

const proxyInfo = (r: JoinResult): ProxyConnectedInfo | undefined =>
  r.lines.find((line) => line.event === 'proxyConnected')?.args[0] as ProxyConnectedInfo | undefined

const figures: Record<string, string | number>[] = []

describe.skipIf(!support.ok)('proxy modes in the firewall lab: TCP with UDP dropped, Auto picks', () => {
  const stack = useLabCallStack(3)
  afterAll(() => {
    if (figures.length > 0) console.table(figures)
  })

  /** Two clients in one channel sending the files to each other for CALL_SECONDS; both results. */
  async function call(modes: [string, string], channel: string): Promise<[JoinResult, JoinResult]> {
    const extra = [...stack.media.flags, '--duration', String(CALL_SECONDS)]
    const a = startJoin(stack.lab, [...stack.region, ...labJoinFlags(modes[0], 11, channel), ...extra])
    const b = startJoin(stack.lab, [...stack.region, ...labJoinFlags(modes[1], 22, channel), ...extra])
    return Promise.all([a.done, b.done])
  }

  /** Exit 0, Connected, and the other's video and audio frames are frames of the files, byte for byte. */
  function checkCall(label: string, r: JoinResult, other: number): void {
    const why = `${label}: ${r.stderr}\n${r.lines.map((line) => JSON.stringify(line)).join('\n')}`
    expect(r.code, why).toBe(ExitCode.Ok)
    const connected = r.lines.find((line) => stateOf(line) === 'Connected')
    expect(connected, why).toBeDefined()
    const video = receivedHashes(r.lines, 'video', other)
    const audio = receivedHashes(r.lines, 'audio', other)
    expect(video.length, why).toBeGreaterThan(0)
    expect(audio.length, why).toBeGreaterThan(0)
    expect(
      video.filter((h) => !stack.media.videoHashes.has(h)),
      `${label}: video frames not in the file`,
    ).toEqual([])
    expect(
      audio.filter((h) => !stack.media.audioHashes.has(h)),
      `${label}: audio frames not in the file`,
    ).toEqual([])
    const summary = r.summary?.received[String(other)]
    expect(summary?.video.frames, why).toBe(video.length)
    expect(summary?.audio.frames, why).toBe(audio.length)
    const info = proxyInfo(r)
    const connecting = r.lines.find((line) => stateOf(line) === 'Connecting')
    figures.push({
      run: label,
      transport: info?.transport ?? '-',
      attempts:
        info?.attempts
          .map((a) => `${a.transport} ${a.target} ${a.outcome}@${Math.round(a.elapsedMs)}`)
          .join(' ') ?? '-',
      proxyConnectedMs: info === undefined ? '-' : Math.round(info.elapsedMs),
      joinToConnectedMs: connected && connecting ? Math.round(connected.t - connecting.t) : '-',
      videoFrames: video.length,
      distinctVideo: new Set(video).size,
      audioFrames: audio.length,
    })
  }

  it('all UDP from lan dropped: a TCP client and an Auto client (→ TLS 443) exchange content-checked media', async () => {
    const l = stack.lab
    const unblock = await blockAllUdp(l)
    try {
      const before = await l.counters()
      const [tcp, auto] = await call(['tcp', 'auto'], 'lab-modes-tcp')
      const d = delta(before, await l.counters())
      checkCall('tcp, UDP dropped', tcp, 22)
      checkCall('auto, UDP dropped', auto, 11)
      expect(proxyInfo(tcp)?.transport).toBe('tls')
      // Auto tried the UDP race first (its datagrams are the block counters' drops), then won on TLS 443.
      const autoInfo = proxyInfo(auto)!
      expect(autoInfo.transport).toBe('tls')
      expect(autoInfo.proxyAddress).toBe(`${l.addresses.dmz}:443`)
      expect(autoInfo.attempts.some((a) => a.transport === 'udp' && a.outcome === 'won')).toBe(false)
      expect(autoInfo.attempts.find((a) => a.transport === 'tls')?.outcome).toBe('won')
      const udpDrops = [3478, 7070].map((port) => d[blockCounter({ proto: 'udp', port })] ?? 0)
      expect(udpDrops[0]! + udpDrops[1]!).toBeGreaterThan(0)
      expect(d['lan_udp_3478'] ?? 0).toBe(0)
      expect(d['lan_udp_7070'] ?? 0).toBe(0)
      expect(d['lan_tcp_443']).toBeGreaterThan(0)
      for (const name of LAN_DROP_COUNTERS) expect(d[name], name).toBe(0)
      figures.push({
        run: 'UDP dropped: router',
        blockedUdp: udpDrops.join('+'),
        lanTcp443: d['lan_tcp_443']!,
      })
    } finally {
      await unblock()
    }
  }, 40_000)

  it('UDP open: two Auto clients end on the UDP proxy and exchange content-checked media', async () => {
    const l = stack.lab
    const before = await l.counters()
    const [a, b] = await call(['auto', 'auto'], 'lab-modes-auto')
    const d = delta(before, await l.counters())
    checkCall('auto, UDP open (11)', a, 22)
    checkCall('auto, UDP open (22)', b, 11)
    for (const r of [a, b]) {
      const info = proxyInfo(r)!
      expect(info.transport).toBe('udp')
      expect(info.attempts.some((x) => x.transport === 'udp' && x.outcome === 'won')).toBe(true)
      expect(info.proxyAddress).toMatch(new RegExp(`^${l.addresses.dmz.replaceAll('.', '\\.')}:(3478|7070)$`))
    }
    expect((d['lan_udp_3478'] ?? 0) + (d['lan_udp_7070'] ?? 0)).toBeGreaterThan(0)
    for (const name of LAN_DROP_COUNTERS) expect(d[name], name).toBe(0)
  }, 40_000)
})
