import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AgentClient } from './agentClient'
import type { SinkCount, TrafficOps } from './agents/linkProtocol'
import { createLab, delta, labSupport, type EmulatedLab } from './lab'
import {
  realtime,
  rttProfile,
  type LinkDirectionStats,
  type LinkProfile,
  type LinkStats,
} from './linkEmulator'
import { LAN_DROP_COUNTERS } from './topology'

// Not root → skip, saying why, like every lab test; the emulator also needs the TUN device.
const lab_ = labSupport()
const support = !lab_.ok
  ? lab_
  : existsSync('/dev/net/tun')
    ? lab_
    : { ok: false as const, reason: 'link emulator skipped: /dev/net/tun is missing (modprobe tun)' }
if (!support.ok) console.log(support.reason)

const PORTS = { echo: 3478, sink: 7070, tcp: 443 }
/** IPv4 + UDP headers: the emulator's rate counts IP bytes. */
const UDP_IP_OVERHEAD = 28

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

/** kbit/s of IP bytes at the sink, from its first to its last arrival (the first datagram only opens the window). */
function sinkKbps(sink: SinkCount): number {
  if (sink.firstAt === null || sink.lastAt === null || sink.packets < 2) return 0
  const bytes = sink.bytes - sink.firstBytes + (sink.packets - 1) * UDP_IP_OVERHEAD
  return (bytes * 8) / (sink.lastAt - sink.firstAt)
}

const figures: Record<string, string | number>[] = []

describe.skipIf(!support.ok)(
  'the link emulator on lan’s access link (createLab({ emulateLink: true }))',
  () => {
    let lab: EmulatedLab | undefined
    let lan: AgentClient<TrafficOps> | undefined
    let dmz: AgentClient<TrafficOps> | undefined
    const the = (): { lab: EmulatedLab; lan: AgentClient<TrafficOps>; dmz: AgentClient<TrafficOps> } => {
      if (!lab || !lan || !dmz) throw new Error('lab not created')
      return { lab, lan, dmz }
    }
    const agent = async (l: EmulatedLab, ns: 'lan' | 'dmz'): Promise<AgentClient<TrafficOps>> => {
      // At the delay line's real-time priority: on a loaded 2-core machine a normal process stamps arrivals
      // tens of ms late, and the figures would be the scheduler's rather than the link's.
      const script = join(import.meta.dirname, 'agents', 'traffic.mts')
      const [cmd = process.execPath, ...args] = [...realtime(), process.execPath, '--import', 'tsx', script]
      const child = l.spawn(ns, cmd, args, {
        stdio: ['pipe', 'pipe', 'pipe'],
      })
      const client = new AgentClient<TrafficOps>(`traffic@${ns}`, child)
      await client.waitEvent('ready', 20_000)
      return client
    }

    beforeAll(async () => {
      lab = await createLab({ emulateLink: true })
      ;[lan, dmz] = await Promise.all([agent(lab, 'lan'), agent(lab, 'dmz')])
      await dmz.request('serve', {
        host: '0.0.0.0',
        echoPort: PORTS.echo,
        sinkPort: PORTS.sink,
        tcpPort: PORTS.tcp,
      })
    })

    afterAll(async () => {
      await lan?.close()
      await dmz?.close()
      await lab?.destroy()
      if (figures.length > 0) console.table(figures)
    })

    /** Numbered UDP echoes lan → dmz:3478 → lan. */
    const ping = (count: number, perTick: number, tickMs: number, settleMs = 500) =>
      the().lan.request('ping', {
        host: the().lab.addresses.dmz,
        port: PORTS.echo,
        count,
        bytes: 100,
        perTick,
        tickMs,
        settleMs,
      })

    /** A paced UDP stream lan → dmz:7070 at `kbps`; the sink's count of it. */
    const blast = async (kbps: number, durationMs: number): Promise<{ sent: number; sink: SinkCount }> => {
      const { lan: client, dmz: server, lab: l } = the()
      await server.request('served', { reset: true })
      const { sent } = await client.request('blast', {
        host: l.addresses.dmz,
        port: PORTS.sink,
        kbps,
        bytes: 1000,
        durationMs,
      })
      // The queue (≤ queueMs) drains after the sender stops.
      await new Promise((resolve) => setTimeout(resolve, 500))
      return { sent, sink: (await server.request('served', { reset: true })).sink }
    }

    /** Counters between two readings (the lateness figures are the later reading's). */
    const statsDelta = (before: LinkStats, after: LinkStats): LinkStats => {
      const sub = (d: 'up' | 'down'): LinkDirectionStats => {
        const [a, b] = [after[d], before[d]]
        return {
          ...a,
          packetsIn: a.packetsIn - b.packetsIn,
          bytesIn: a.bytesIn - b.bytesIn,
          packetsOut: a.packetsOut - b.packetsOut,
          bytesOut: a.bytesOut - b.bytesOut,
          droppedLoss: a.droppedLoss - b.droppedLoss,
          droppedQueue: a.droppedQueue - b.droppedQueue,
        }
      }
      return { up: sub('up'), down: sub('down') }
    }

    it('inserts only the link namespace: no addresses there, lan and the router keep their interfaces and addresses', async () => {
      const { lab: l } = the()
      interface Link {
        ifname: string
        addr_info?: { family: string; local: string; prefixlen: number }[]
      }
      const addrs = async (ns: 'lan' | 'fw'): Promise<Link[]> =>
        JSON.parse(await l.exec(ns, 'ip', ['-j', 'addr', 'show'])) as Link[]
      const inet = (links: Link[]): string[] =>
        links.flatMap((k) =>
          (k.addr_info ?? [])
            .filter((a) => a.family === 'inet')
            .map((a) => `${k.ifname} ${a.local}/${a.prefixlen}`),
        )
      expect(inet(await addrs('lan')).sort()).toEqual(['eth0 10.99.1.2/24', 'lo 127.0.0.1/8'])
      expect(inet(await addrs('fw')).sort()).toEqual([
        'fw-dmz 10.99.2.1/24',
        'fw-lan 10.99.1.1/24',
        'lo 127.0.0.1/8',
      ])
      // Listed from lan: `ip -n` names any namespace, and the link namespace is not one of the LabNs.
      const link = JSON.parse(
        await l.exec('lan', 'ip', ['-n', l.link.namespace, '-j', 'addr', 'show']),
      ) as Link[]
      expect(link.map((k) => k.ifname).sort()).toEqual(['l-fw', 'l-lan', 'lo', 'tun-down', 'tun-up'])
      expect(inet(link)).toEqual(['lo 127.0.0.1/8'])
    })

    it('delays each way as configured: a 2 × 50 ms link measures 100 ms RTT (within 10 %), and the router sees it all', async () => {
      const { lab: l } = the()
      await l.link.set(rttProfile(100))
      const countersBefore = await l.counters()
      const result = await ping(100, 1, 20)
      const rtts = result.rtts.filter((r): r is number => r !== null)
      expect(rtts).toHaveLength(100)
      const p50 = median(rtts)
      const stats = await l.link.stats()
      figures.push({
        check: 'rtt 2 × 50 ms',
        p50_ms: p50.toFixed(1),
        min_ms: Math.min(...rtts).toFixed(1),
        late_mean_ms: `${stats.up.lateMsMean.toFixed(2)} / ${stats.down.lateMsMean.toFixed(2)}`,
        late_max_ms: `${stats.up.lateMsMax.toFixed(2)} / ${stats.down.lateMsMax.toFixed(2)}`,
      })
      // The delay line releases up to RELEASE_SLACK_MS (0.5 ms) early per direction.
      expect(Math.min(...rtts)).toBeGreaterThanOrEqual(99)
      expect(p50).toBeLessThanOrEqual(110)
      // Transparent to the firewall: the whitelist counter saw every ping, nothing was dropped from lan.
      const d = delta(countersBefore, await l.counters())
      expect(d['lan_udp_3478']).toBe(100)
      for (const name of LAN_DROP_COUNTERS) expect(d[name], name).toBe(0)
    })

    it('adds jitter within its bounds and never reorders (FIFO)', async () => {
      const { lab: l } = the()
      // 20 ms of jitter on packets 4 ms apart: independent delays would reorder most of them.
      await l.link.set({ up: { delayMs: 20, jitterMs: 20 }, down: { delayMs: 20 } })
      const result = await ping(300, 1, 4)
      const rtts = result.rtts.filter((r): r is number => r !== null)
      expect(rtts).toHaveLength(300)
      expect(result.arrivalOrder).toEqual([...result.arrivalOrder].sort((a, b) => a - b))
      figures.push({
        check: 'jitter 20 ms up, 2 × 20 ms',
        min_ms: Math.min(...rtts).toFixed(1),
        p50_ms: median(rtts).toFixed(1),
        max_ms: Math.max(...rtts).toFixed(1),
      })
      expect(Math.min(...rtts)).toBeGreaterThanOrEqual(39)
      // Jitter at most 20 ms on top of 40, plus scheduling slack; and it does vary.
      expect(Math.max(...rtts)).toBeLessThanOrEqual(60 + 10)
      expect(Math.max(...rtts) - Math.min(...rtts)).toBeGreaterThan(10)
    })

    it('loses the configured fraction each way (3 % of 3000 datagrams, binomial 4σ), counted by the emulator', async () => {
      const { lab: l, dmz: server } = the()
      await l.link.set({ up: { delayMs: 5, lossPct: 3 }, down: { delayMs: 5, lossPct: 3 } })
      const statsBefore = await l.link.stats()
      const { echoed: echoedBefore } = await server.request('served', { reset: false })
      const result = await ping(3000, 4, 4)
      const echoed = (await server.request('served', { reset: false })).echoed - echoedBefore
      const returned = result.rtts.filter((r) => r !== null).length
      const d = statsDelta(statsBefore, await l.link.stats())
      const upLoss = 1 - echoed / result.sent
      const downLoss = 1 - returned / echoed
      figures.push({
        check: 'loss 3 % each way',
        up_pct: (upLoss * 100).toFixed(2),
        down_pct: (downLoss * 100).toFixed(2),
      })
      const bound = (n: number): number => (4 * Math.sqrt(0.03 * 0.97 * n)) / n
      expect(Math.abs(upLoss - 0.03)).toBeLessThan(bound(result.sent))
      expect(Math.abs(downLoss - 0.03)).toBeLessThan(bound(echoed))
      // Every missing datagram is one the emulator dropped on purpose: nothing else on the path loses any.
      expect(d.up.droppedLoss).toBe(result.sent - echoed)
      expect(d.down.droppedLoss).toBe(echoed - returned)
      expect(d.up.droppedQueue + d.down.droppedQueue).toBe(0)
    })

    it('caps a UDP flood at the configured rate (within 10 %) and drops what overflows the queue', async () => {
      const { lab: l } = the()
      await l.link.set({ up: { delayMs: 5, rateKbps: 2000, queueMs: 100 }, down: { delayMs: 5 } })
      const before = await l.link.stats()
      const { sent, sink } = await blast(4000, 2000)
      const d = statsDelta(before, await l.link.stats())
      const kbps = sinkKbps(sink)
      figures.push({
        check: 'udp 4000 kbit/s into 2000',
        rx_kbps: kbps.toFixed(0),
        queue_drops: d.up.droppedQueue,
      })
      expect(Math.abs(kbps - 2000) / 2000).toBeLessThan(0.1)
      expect(d.up.droppedQueue).toBeGreaterThan(sent * 0.3)
      expect(sink.packets).toBe(sent - d.up.droppedQueue)
    })

    it('carries a TCP download at the capped rate (within 10 %) and intact across loss', async () => {
      const { lab: l, lan: client } = the()
      const profile: LinkProfile = { up: { delayMs: 10 }, down: { delayMs: 10, rateKbps: 2000 } }
      await l.link.set(profile)
      const bytes = 600_000
      const clean = await client.request('download', { host: l.addresses.dmz, port: PORTS.tcp, bytes })
      expect(clean).toMatchObject({ bytes, corrupt: 0 })
      // Steady state: from a quarter of the transfer (slow start over) to the end.
      const from = clean.samples.find(([, b]) => b >= bytes / 4) ?? [0, 0]
      const to = clean.samples[clean.samples.length - 1] ?? [0, 0]
      const goodputKbps = ((to[1] - from[1]) * 8) / (to[0] - from[0])
      // Full-size segments: 1448 payload bytes in 1500 IP bytes (IP + TCP headers with timestamps).
      const ipKbps = (goodputKbps * 1500) / 1448
      figures.push({ check: 'tcp download, 2000 kbit/s down', ip_kbps: ipKbps.toFixed(0) })
      expect(Math.abs(ipKbps - 2000) / 2000).toBeLessThan(0.1)

      // 5 % each way on ~300 data segments and their ACKs: ~20 losses expected, none at all has odds ~1e-9.
      await l.link.set({ up: { delayMs: 10, lossPct: 5 }, down: { delayMs: 10, lossPct: 5 } })
      const before = await l.link.stats()
      const lossy = await client.request('download', {
        host: l.addresses.dmz,
        port: PORTS.tcp,
        bytes: 400_000,
      })
      const d = statsDelta(before, await l.link.stats())
      expect(lossy).toMatchObject({ bytes: 400_000, corrupt: 0 })
      figures.push({ check: 'tcp 400 kB, 5 % loss each way', lost: d.down.droppedLoss + d.up.droppedLoss })
      // TCP retransmitted what the link lost.
      expect(d.down.droppedLoss + d.up.droppedLoss).toBeGreaterThan(0)
    })

    it('applies a new profile at run time, without restarting: delay 2 × 20 → 2 × 60 ms, rate 3000 → 400 → 3000 kbit/s', async () => {
      const { lab: l } = the()
      await l.link.set(rttProfile(40))
      const short = median((await ping(30, 1, 10, 200)).rtts.filter((r): r is number => r !== null))
      const packetsSoFar = (await l.link.stats()).up.packetsIn
      await l.link.set(rttProfile(120))
      const long = median((await ping(30, 1, 10, 300)).rtts.filter((r): r is number => r !== null))
      expect(short).toBeGreaterThanOrEqual(39)
      expect(short).toBeLessThan(44)
      expect(long).toBeGreaterThanOrEqual(119)
      expect(long).toBeLessThan(132)
      // The same delay line kept counting: it was reconfigured, not restarted.
      expect((await l.link.stats()).up.packetsIn).toBeGreaterThan(packetsSoFar)

      const rates: number[] = []
      for (const rateKbps of [3000, 400, 3000]) {
        await l.link.set({ up: { delayMs: 10, rateKbps }, down: { delayMs: 10 } })
        rates.push(sinkKbps((await blast(1000, 1500)).sink))
      }
      figures.push({
        check: 'step',
        rtt_40_ms: short.toFixed(1),
        rtt_120_ms: long.toFixed(1),
        kbps: rates.map((r) => r.toFixed(0)).join(' → '),
      })
      const [high, low, again] = rates
      // 1000 kbit/s of payload (1028 on the wire) passes 3000 unchanged; 400 caps it.
      expect(high).toBeGreaterThan(900)
      expect(Math.abs((low ?? 0) - 400) / 400).toBeLessThan(0.1)
      expect(again).toBeGreaterThan(900)
    })
  },
)
