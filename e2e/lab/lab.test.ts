import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startPeerAgent, startProbeAgent, type AgentClient } from './agentClient'
import type { Description, PeerOps, PortSet, ProbeOps, ProbeResult } from './agents/protocol'
import { createLab, delta, labSupport, type Lab } from './lab'
import { LAB_TRANSPORTS, startLabProxy, type LabProxy, type LabTransport } from './labProxy'
import { LAB_LINKS, LAB_NAMESPACES, LAN_DROP_COUNTERS, WHITELIST } from './topology'

// Not root → the whole lab skips, saying why (the only allowed skip). Root without ip/nft → createLab fails.
const support = labSupport()
if (!support.ok) console.log(support.reason)

// Listeners on whitelisted and other ports in dmz and srv, so "no answer" means the router dropped it.
const PORTS: PortSet = { udp: [3478, 7070, 5000, 443], tcp: [443, 8080, 3478] }
const FW_PORTS: PortSet = { udp: [3478], tcp: [443] }
const PROBE_TIMEOUT_MS = 400
/** How long direct mode gets: werift never reports 'failed' by itself when every check is dropped. */
const DIRECT_BUDGET_MS = 6000
const LOAD = { messages: 50, rtp: 250 }
const RTP_INTERVAL_MS = 2

/** Which router counter sees a transport's packets. */
const COUNTER_OF: Record<LabTransport, string> = {
  'udp-3478': 'lan_udp_3478',
  'udp-7070': 'lan_udp_7070',
  'tcp-443': 'lan_tcp_443',
  'tls-443': 'lan_tcp_443',
}

const now = (): number => performance.timeOrigin + performance.now()

const lanDrops = (d: Record<string, number>): number =>
  LAN_DROP_COUNTERS.reduce((sum, name) => sum + (d[name] ?? 0), 0)

const unreachable = (ports: PortSet): ProbeResult => ({
  udp: Object.fromEntries(ports.udp.map((p) => [String(p), false])),
  tcp: Object.fromEntries(ports.tcp.map((p) => [String(p), false])),
})

interface Call {
  offer: Description
  /** Milliseconds from the offer request: lan's candidates gathered (TURN allocation included). */
  gatheredMs: number
  /** Both peers' connectionState 'connected' (ICE + DTLS). */
  connectedMs: number
  /** Data channel open on both ends. */
  channelOpenMs: number
}

/** Offer from lan, answer from srv, carried by this process (never the lab network); both connected. */
async function call(lan: AgentClient<PeerOps>, srv: AgentClient<PeerOps>): Promise<Call> {
  const t0 = now()
  const offer = await lan.request('offer', {})
  const gatheredMs = now() - t0
  const answer = await srv.request('answer', { sdp: offer.sdp })
  await lan.request('accept', { sdp: answer.sdp })
  const [a, b] = await Promise.all([
    lan.request('waitConnected', { timeoutMs: 10_000 }),
    srv.request('waitConnected', { timeoutMs: 10_000 }),
  ])
  return {
    offer,
    gatheredMs,
    connectedMs: Math.max(a.connectedAt, b.connectedAt) - t0,
    channelOpenMs: Math.max(a.channelOpenAt, b.channelOpenAt) - t0,
  }
}

interface Row {
  transport: string
  gatheredMs: number | '-'
  connectedMs: number | '-'
  channelOpenMs: number | '-'
  /** Received at srv / at lan. */
  messages: string
  rtp: string
  lanDrops: number
}
const rows: Row[] = []
const timings = (c: Call): Pick<Row, 'gatheredMs' | 'connectedMs' | 'channelOpenMs'> => ({
  gatheredMs: Math.round(c.gatheredMs),
  connectedMs: Math.round(c.connectedMs),
  channelOpenMs: Math.round(c.channelOpenMs),
})

describe.skipIf(!support.ok)('firewall lab (netns + nftables)', () => {
  let lab: Lab | undefined
  const theLab = (): Lab => {
    if (!lab) throw new Error('lab not created')
    return lab
  }

  beforeAll(async () => {
    lab = await createLab()
  })
  afterAll(async () => {
    await lab?.destroy()
    if (rows.length > 0) console.table(rows)
  })

  it('is four namespaces whose only links are loopback and the lab veths: nothing reaches the host', async () => {
    const l = theLab()
    for (const ns of LAB_NAMESPACES) {
      const links = JSON.parse(await l.exec(ns, 'ip', ['-j', 'link', 'show'])) as { ifname: string }[]
      const expected = LAB_LINKS.flatMap(({ a, b }) => [a, b])
        .filter((end) => end.ns === ns)
        .map((end) => end.ifname)
      expect(links.map((link) => link.ifname).sort(), ns).toEqual(['lo', ...expected].sort())
      const forwarding = (await l.exec(ns, 'cat', ['/proc/sys/net/ipv4/ip_forward'])).trim()
      expect(forwarding, `${ns} ip_forward`).toBe(ns === 'fw' ? '1' : '0')
    }
  })

  it('lets lan reach the dmz only on UDP 3478, UDP 7070 and TCP 443, never srv, and counts every drop', async () => {
    const l = theLab()
    const [lan, dmz, srv] = await Promise.all([
      startProbeAgent(l, 'lan'),
      startProbeAgent(l, 'dmz'),
      startProbeAgent(l, 'srv'),
    ])
    try {
      await Promise.all([
        dmz.request('serve', { host: '0.0.0.0', ...PORTS }),
        srv.request('serve', { host: '0.0.0.0', ...PORTS }),
      ])
      const before = await l.counters()
      const droppedBefore = await l.droppedFromLan()
      const probe = (from: AgentClient<ProbeOps>, host: string, ports = PORTS): Promise<ProbeResult> =>
        from.request('probe', { host, ...ports, timeoutMs: PROBE_TIMEOUT_MS })
      const [lanToDmz, lanToSrv, lanToFw, dmzToSrv] = await Promise.all([
        probe(lan, l.addresses.dmz),
        probe(lan, l.addresses.srv),
        probe(lan, l.addresses.fwLan, FW_PORTS),
        probe(dmz, l.addresses.srv),
      ])
      const d = delta(before, await l.counters())

      expect(lanToDmz).toEqual({
        udp: { '3478': true, '7070': true, '5000': false, '443': false },
        tcp: { '443': true, '8080': false, '3478': false },
      })
      expect(lanToSrv).toEqual(unreachable(PORTS))
      expect(lanToFw).toEqual(unreachable(FW_PORTS))
      // srv's listeners answer from dmz: lan's failures above are the router's doing.
      expect(Object.values({ ...dmzToSrv.udp, ...dmzToSrv.tcp })).not.toContain(false)
      // One datagram or SYN per blocked probe (the timeout is shorter than the first SYN retransmit).
      const blocked = { udp: 2 + PORTS.udp.length, tcp: 2 + PORTS.tcp.length, input: 2 }
      expect(d).toMatchObject({
        lan_drop_udp: blocked.udp,
        lan_drop_tcp: blocked.tcp,
        lan_drop_input: blocked.input,
        lan_drop_other: 0,
      })
      expect(await l.droppedFromLan()).toBe(droppedBefore + blocked.udp + blocked.tcp + blocked.input)
      for (const w of WHITELIST) expect(d[w.counter], w.counter).toBeGreaterThan(0)
    } finally {
      await Promise.all([lan.close(), dmz.close(), srv.close()])
    }
  })

  describe('our proxy in dmz; werift peers in lan (relay only, our proxy as the one TURN server) and srv', () => {
    let proxy: LabProxy | undefined
    let peers: { lan: AgentClient<PeerOps>; srv: AgentClient<PeerOps> } | undefined
    const ready = (): { proxy: LabProxy; lan: AgentClient<PeerOps>; srv: AgentClient<PeerOps> } => {
      if (!proxy || !peers) throw new Error('proxy or peers not started')
      return { proxy, ...peers }
    }

    /** lan: relay through `transport`; srv: host candidates only, like a conference server. */
    async function createRelayPair(transport: LabTransport, uid: string): Promise<void> {
      const { proxy: p, lan, srv } = ready()
      await Promise.all([
        lan.request('create', { role: 'offerer', ice: { mode: 'relay', turn: p.turn(transport, uid) } }),
        srv.request('create', { role: 'answerer', ice: { mode: 'direct' } }),
      ])
    }
    const closePair = async (): Promise<void> => {
      const { lan, srv } = ready()
      await Promise.all([lan.request('close', {}), srv.request('close', {})])
    }

    beforeAll(async () => {
      const l = theLab()
      const [p, lan, srv] = await Promise.all([
        startLabProxy(l),
        startPeerAgent(l, 'lan'),
        startPeerAgent(l, 'srv'),
      ])
      proxy = p
      peers = { lan, srv }
      // A desktop's first call also pays werift's one-time costs (certificates, JIT): measured here once,
      // so that the per-transport figures compare transports rather than warm-up.
      const before = await l.counters()
      await createRelayPair('udp-3478', 'lab-warm-up')
      try {
        const cold = await call(lan, srv)
        const drops = lanDrops(delta(before, await l.counters()))
        rows.push({
          transport: 'udp-3478 (cold)',
          ...timings(cold),
          messages: '-',
          rtp: '-',
          lanDrops: drops,
        })
      } finally {
        await closePair()
      }
    })
    afterAll(async () => {
      await Promise.all([peers?.lan.close(), peers?.srv.close()])
      await proxy?.stop()
    })

    it.each(LAB_TRANSPORTS)('connects over %s, carries data and RTP both ways, leaks nothing', async (t) => {
      const l = theLab()
      const { lan, srv } = ready()
      const before = await l.counters()
      await createRelayPair(t, `lab-${t}`)
      try {
        const c = await call(lan, srv)
        // Relay policy: the desktop offers only the proxy's relayed address.
        expect(c.offer.candidates.length).toBeGreaterThan(0)
        for (const line of c.offer.candidates)
          expect(line).toMatch(new RegExp(` ${l.addresses.dmz.replaceAll('.', '\\.')} \\d+ typ relay `))

        await Promise.all([
          lan.request('send', { ...LOAD, intervalMs: RTP_INTERVAL_MS }),
          srv.request('send', { ...LOAD, intervalMs: RTP_INTERVAL_MS }),
        ])
        const [atSrv, atLan] = await Promise.all([
          srv.request('waitReceived', { ...LOAD, timeoutMs: 3000 }),
          lan.request('waitReceived', { ...LOAD, timeoutMs: 3000 }),
        ])
        const d = delta(before, await l.counters())
        rows.push({
          transport: t,
          ...timings(c),
          messages: `${atSrv.messages}/${atLan.messages}`,
          rtp: `${atSrv.rtp}/${atLan.rtp}`,
          lanDrops: lanDrops(d),
        })

        for (const at of [atSrv, atLan]) {
          expect(at.messages).toBe(LOAD.messages)
          expect(at.corrupt).toBe(0)
          // RTP is unreliable by design; across a quiet lab none should go missing: allow a sliver.
          expect(at.rtp).toBeGreaterThanOrEqual(LOAD.rtp * 0.98)
        }
        expect(lanDrops(d)).toBe(0)
        // Everything lan sent went through this transport's port, and no other.
        const used = COUNTER_OF[t]
        expect(d[used]).toBeGreaterThan(0)
        for (const w of WHITELIST) if (w.counter !== used) expect(d[w.counter], w.counter).toBe(0)
      } finally {
        await closePair()
      }
    })

    it('direct mode (policy all, no TURN) never reaches srv, and the router counts each attempt', async () => {
      const l = theLab()
      const { lan, srv } = ready()
      const before = await l.counters()
      await Promise.all([
        lan.request('create', { role: 'offerer', ice: { mode: 'direct' } }),
        srv.request('create', { role: 'answerer', ice: { mode: 'direct' } }),
      ])
      try {
        const t0 = now()
        const offer = await lan.request('offer', {})
        const answer = await srv.request('answer', { sdp: offer.sdp })
        expect(answer.candidates.some((c) => c.includes(` ${l.addresses.srv} `))).toBe(true)
        await lan.request('accept', { sdp: answer.sdp })
        const states = ['connected', 'failed']
        const { state } = await lan.request('waitState', { states, timeoutMs: DIRECT_BUDGET_MS })
        const d = delta(before, await l.counters())
        rows.push({
          transport: `direct: ${state} after`,
          gatheredMs: '-',
          connectedMs: Math.round(now() - t0),
          channelOpenMs: '-',
          messages: '-',
          rtp: '-',
          lanDrops: lanDrops(d),
        })
        expect(state).not.toBe('connected')
        // Connectivity checks toward srv's host candidate: UDP, dropped by the router's forward chain.
        expect(d['lan_drop_udp']).toBeGreaterThan(0)
        expect(lanDrops(d)).toBe(d['lan_drop_udp'])
      } finally {
        await closePair()
      }
    })
  })
})
