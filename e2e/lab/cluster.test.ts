import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ClusterStatus } from '../../src/cluster'
import { ExitCode } from '../../src/cli/io'
import { parseConfig, type ServerConfigInput } from '../../src/server/config'
import { whitelistReport } from '../../src/server/whitelist'
import type { ProxyConnectedInfo } from '../../src/shared/engine'
import { startRedis, type RedisServer } from '../support/redisServer'
import { startServerProcess, type ServerProcess } from '../support/serverProcess'
import { startProbeAgent } from './agentClient'
import type { ProbeResult } from './agents/protocol'
import { REPO, createLab, delta, labSupport, type Lab } from './lab'
import {
  labJoinFlags,
  labRegionFlags,
  makeLabMedia,
  receivedHashes,
  startJoin,
  type JoinResult,
  type LabMedia,
  type LiveJoin,
} from './labJoin'
import { LAB_APP, startLabProxy, type LabProxy } from './labProxy'
import { LAN_DROP_COUNTERS, WHITELIST } from './topology'

/**
 * Issue 14 acceptance 6: the conference cluster behind the firewall. A real `redis-server` and two
 * conference nodes (`pinhole-server start`, `sfu.enabled` + `cluster.redis`) in `srv`, the proxy in `dmz`
 * with `cluster.redis` and no `signal.upstream` (each session places its channel; the route ticket names
 * the node), `pinhole join` desktops in `lan`. Two channels, each with a UDP-proxy and a TLS-443 desktop:
 * placement spreads new channels by load, so each node holds one (read with `pinhole-server cluster
 * status --json` inside `srv`, as an operator would); every desktop receives the other's frames, byte for
 * byte the files sent; the router saw lan use the whitelisted proxy ports (those `pinhole-server
 * whitelist` prints for the proxy's config) and nothing else.
 */

// Not root → skip, saying why (as lab.test.ts).
const support = labSupport()
if (!support.ok) console.log(support.reason)

const NODES = ['node-a', 'node-b']
const REDIS_PORT = 6379
/** The nodes' signaling ports (both on srv's one address; the lab's own conference server uses 7880). */
const nodePort = (i: number): number => 7881 + i
const CHANNELS = ['lab-cluster-1', 'lab-cluster-2']
/** Each channel: a desktop in UDP proxy mode and one in TCP mode (TLS on 443). */
const MODES = [
  { mode: 'udp', transport: 'udp' },
  { mode: 'tcp', transport: 'tls' },
] as const
const uidOf = (channel: number, desktop: number): number => 100 * (channel + 1) + desktop + 1

const figures: Record<string, string | number>[] = []

function nodeConfig(
  lab: Lab,
  cluster: NonNullable<ServerConfigInput['cluster']>,
  i: number,
): ServerConfigInput {
  const { srv } = lab.addresses
  return {
    log: { level: 'info' },
    apps: [{ ...LAB_APP }],
    sfu: {
      enabled: true,
      listenHost: srv,
      port: nodePort(i),
      announcedAddress: srv,
      devTokens: false,
      workers: 1,
    },
    cluster: { ...cluster, nodeId: NODES[i]! },
    admin: { host: '127.0.0.1', port: 0 },
  }
}

/** `pinhole-server cluster status --json` run inside `srv` (only srv and dmz reach the Redis). */
async function clusterStatus(lab: Lab, configFile: string): Promise<ClusterStatus> {
  const cli = join(REPO, 'bin/pinhole-server.js')
  const out = await lab.exec('srv', process.execPath, [
    cli,
    'cluster',
    'status',
    '--json',
    '--config',
    configFile,
  ])
  return JSON.parse(out) as ClusterStatus
}

const proxyInfo = (r: JoinResult): ProxyConnectedInfo | undefined =>
  r.lines.find((line) => line.event === 'proxyConnected')?.args[0] as ProxyConnectedInfo | undefined

/** Both kinds of the other desktop's frames arrived, so the call carries media both ways. */
function framesFrom(join: LiveJoin, uid: number, timeoutMs: number): Promise<unknown> {
  const from = (event: string) => (line: { event: string; args: unknown[] }) =>
    line.event === event && (line.args[0] as { uid?: number } | undefined)?.uid === uid
  return Promise.all([
    join.waitFor(from('remoteVideoFrame'), timeoutMs),
    join.waitFor(from('remoteAudioFrame'), timeoutMs),
  ])
}

describe.skipIf(!support.ok)(
  'the cluster in the firewall lab: Redis and two nodes in srv, the proxy in dmz, desktops in lan',
  () => {
    let lab: Lab | undefined
    let redis: RedisServer | undefined
    const nodes: ServerProcess[] = []
    let proxy: LabProxy | undefined
    let media: LabMedia | undefined
    let region: string[] = []
    let dir: string | undefined
    let statusConfig = ''

    beforeAll(async () => {
      const made = makeLabMedia(3)
      dir = mkdtempSync(join(tmpdir(), 'pinhole-lab-cluster-'))
      lab = await createLab()
      const l = lab
      const { srv } = l.addresses
      redis = await startRedis({
        port: REDIS_PORT,
        spawnIn: { host: srv, spawn: (binary, args) => l.spawn('srv', binary, args) },
      })
      const cluster = { redis: `redis://${srv}:${REDIS_PORT}`, region: 'lab', heartbeatMs: 250, ttlMs: 2000 }
      statusConfig = join(dir, 'status.json')
      writeFileSync(statusConfig, JSON.stringify({ apps: [LAB_APP], sfu: { enabled: true }, cluster }))
      await Promise.all(
        NODES.map(async (id, i) => {
          const spawn = (cmd: string, args: readonly string[], env: NodeJS.ProcessEnv) =>
            l.spawn('srv', cmd, args, { env })
          nodes.push(await startServerProcess(nodeConfig(l, cluster, i), { label: id, spawn }))
        }),
      )
      proxy = await startLabProxy(l, { cluster })
      media = await made
      region = labRegionFlags(l, proxy)
    }, 90_000)

    afterAll(async () => {
      await proxy?.stop()
      await Promise.all(nodes.map((node) => node.stop(2000)))
      await redis?.stop()
      await lab?.destroy()
      media?.remove()
      if (dir) rmSync(dir, { recursive: true, force: true })
      if (figures.length > 0) console.table(figures)
    })

    it('UDP and TLS 443 desktops in two channels, one on each node, exchange content-checked media; lan used only the whitelisted ports', async () => {
      const l = lab!
      const before = await l.counters()
      const desktops = CHANNELS.flatMap((channel, c) =>
        MODES.map(({ mode, transport }, d) => {
          const uid = uidOf(c, d)
          const other = uidOf(c, 1 - d)
          const args = [...region, ...labJoinFlags(mode, uid, channel), ...media!.flags]
          return { channel, uid, other, mode, transport, join: startJoin(l, args, { limitMs: 60_000 }) }
        }),
      )
      let status: ClusterStatus
      try {
        // Everyone receives the other's video and audio: both channels are up, on their nodes.
        await Promise.all(desktops.map((d) => framesFrom(d.join, d.other, 45_000)))
        status = await clusterStatus(l, statusConfig)
      } finally {
        for (const d of desktops) d.join.leave()
      }
      const results = await Promise.all(desktops.map((d) => d.join.done))
      const d = delta(before, await l.counters())

      // Placement: every channel on exactly one node, and the two channels on different nodes.
      expect(status.nodes.map((n) => n.id).sort()).toEqual(NODES)
      const holders = CHANNELS.map((channel) =>
        status.nodes.filter((n) => n.channels.some((c) => c.appKey === LAB_APP.appKey && c.name === channel)),
      )
      for (const [i, held] of holders.entries()) expect(held.length, CHANNELS[i]).toBe(1)
      expect(new Set(holders.map((held) => held[0]!.id))).toEqual(new Set(NODES))
      for (const node of status.nodes) expect(node.signalUrl).toContain(`ws://${l.addresses.srv}:`)

      for (const [i, desktop] of desktops.entries()) {
        const r = results[i]!
        const label = `${desktop.channel} uid ${desktop.uid} (${desktop.mode})`
        const why = `${label}: ${desktop.join.dump()}\n${proxy?.log().slice(-2000)}`
        expect(r.code, why).toBe(ExitCode.Ok)
        expect(proxyInfo(r)?.transport, why).toBe(desktop.transport)
        const video = receivedHashes(r.lines, 'video', desktop.other)
        const audio = receivedHashes(r.lines, 'audio', desktop.other)
        expect(video.length, why).toBeGreaterThan(0)
        expect(audio.length, why).toBeGreaterThan(0)
        expect(
          video.filter((h) => !media!.videoHashes.has(h)),
          `${label}: video not from the file`,
        ).toEqual([])
        expect(
          audio.filter((h) => !media!.audioHashes.has(h)),
          `${label}: audio not from the file`,
        ).toEqual([])
        const node = status.nodes.find((n) => n.channels.some((c) => c.name === desktop.channel))
        figures.push({
          desktop: label,
          node: node?.id ?? '-',
          transport: proxyInfo(r)?.transport ?? '-',
          videoFrames: video.length,
          audioFrames: audio.length,
        })
      }

      // What `pinhole-server whitelist` prints for this proxy is what the router lets through, and the
      // proxy's own outbound targets are the nodes' network and the Redis.
      const report = whitelistReport(parseConfig(proxy!.config))
      const printed = report.rules.map((r) => `${r.protocol.toLowerCase()} ${r.destination}:${r.port}`)
      expect(printed.sort()).toEqual(WHITELIST.map((w) => `${w.proto} ${l.addresses.dmz}:${w.port}`).sort())
      const outbound = report.proxyOutbound.map((o) => `${o.protocol} ${o.destination} ${o.ports}`)
      expect(outbound).toContain(`TCP ${l.addresses.srv} ${REDIS_PORT}`)
      expect(outbound.filter((o) => o.startsWith(`TCP ${l.addresses.subnets.srv} `))).toHaveLength(1)

      // The router: UDP on the whitelisted UDP ports, TLS on 443, and no other packet from lan at all.
      expect((d['lan_udp_3478'] ?? 0) + (d['lan_udp_7070'] ?? 0)).toBeGreaterThan(0)
      expect(d['lan_tcp_443']).toBeGreaterThan(0)
      for (const name of LAN_DROP_COUNTERS) expect(d[name], name).toBe(0)
      const allowed = new Set(WHITELIST.map((w) => w.counter))
      const elsewhere = Object.entries(d).filter(
        ([name, n]) => name.startsWith('lan_') && !allowed.has(name) && n > 0,
      )
      expect(elsewhere).toEqual([])
      figures.push({
        desktop: 'router (lan)',
        udp3478: d['lan_udp_3478'] ?? 0,
        udp7070: d['lan_udp_7070'] ?? 0,
        tcp443: d['lan_tcp_443'] ?? 0,
        dropped: LAN_DROP_COUNTERS.reduce((sum, name) => sum + (d[name] ?? 0), 0),
      })
    }, 90_000)

    it("the cluster's own ports (Redis, the nodes' signaling) answer dmz and are dropped, counted, from lan", async () => {
      const l = lab!
      const tcp = [REDIS_PORT, ...NODES.map((_, i) => nodePort(i))]
      const [fromLan, fromDmz] = await Promise.all([startProbeAgent(l, 'lan'), startProbeAgent(l, 'dmz')])
      try {
        const before = await l.counters()
        const probe = (agent: typeof fromLan) =>
          agent.request('probe', { host: l.addresses.srv, udp: [], tcp, timeoutMs: 500 })
        const [lanSees, dmzSees] = await Promise.all([probe(fromLan), probe(fromDmz)])
        const d = delta(before, await l.counters())
        const open = (result: ProbeResult) => tcp.filter((port) => result.tcp[String(port)])
        expect(open(dmzSees)).toEqual(tcp)
        expect(open(lanSees)).toEqual([])
        // One SYN per port, each dropped at the router (the probe gives up before the kernel retransmits).
        expect(d['lan_drop_tcp']).toBe(tcp.length)
      } finally {
        await Promise.all([fromLan.close(), fromDmz.close()])
      }
    }, 30_000)
  },
)
