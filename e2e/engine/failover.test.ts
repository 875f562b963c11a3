/**
 * Region failover (issue 4, Resilience): two regions, `sh` and `bj`, each a ProxyServer on loopback in front
 * of ONE conference server. Two engines join with region `auto` (`bj` probes 50 ms slower, so `sh` wins).
 * (1) `sh`'s proxy keeps answering session requests and TURN, but its signaling relay to the conference
 * server is cut for good: after two failed attempts both engines move to `bj`. (2) `sh`'s proxy is closed
 * mid-call: both move to `bj` at the next attempt. Each time: Reconnecting → Connected (reDispatch 12),
 * `proxyConnected` for `bj`, `rtcStats` naming `bj`'s endpoint, and frames flowing again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backoffPolicy, probeRegion, type RegionProber } from '../../src/engine'
import { startCallStack, startProxyRegion, type CallStack, type ProxyRegion } from '../support/callStack'
import {
  ConnectionReason as R,
  ConnectionState as S,
  TransportType,
  type Region,
  type RtcStats,
} from '../../src/shared/engine'
import { checkedFramesFrom, makePeer, until, type Peer } from './harness'

let sh: CallStack
let bj: ProxyRegion
beforeAll(async () => {
  sh = await startCallStack({ keyframeMinIntervalMs: 50 }, 'sh')
  bj = await startProxyRegion(sh.sfuUrl, 'bj')
})
afterAll(async () => {
  await bj?.proxy.close()
  await sh?.close()
})

interface AutoPeer extends Peer {
  stats: RtcStats[]
}

/** The real probe, with `bj` made 50 ms slower so that the first pick is `sh`. */
const slowerBj: RegionProber = async (region, options) => {
  const result = await probeRegion(region, options)
  return region.id === 'bj' && result.rttMs !== undefined ? { ...result, rttMs: result.rttMs + 50 } : result
}

function autoPeer(uid: number, mode: TransportType, shRegion: Region = sh.region): AutoPeer {
  const peer = makePeer(sh, uid, mode, {
    regions: [shRegion, bj.region],
    probeRegion: slowerBj,
    call: {
      reconnect: backoffPolicy({ baseDelayMs: 100, maxDelayMs: 500, budgetMs: 15_000 }),
      statsIntervalMs: 250,
    },
  })
  expect(peer.engine.setRegion('auto')).toBe(0)
  const stats: RtcStats[] = []
  peer.engine.on('rtcStats', (report) => stats.push(report))
  return Object.assign(peer, { stats })
}

const bjEndpoints = (): string[] =>
  [...bj.region.ports.udp, bj.region.ports.tcp].map((port) => `127.0.0.1:${port}`)

/** Both peers end on bj (reDispatch), report it, and see each other's frames again. */
async function expectMovedToBj(a: AutoPeer, b: AutoPeer, since: number, what: string): Promise<void> {
  const movedMs: number[] = []
  for (const peer of [a, b]) {
    await until(() => peer.states.at(-1)?.[1] === R.ReDispatch, `uid ${peer.uid} on bj`, 15_000)
    movedMs.push(Date.now() - since)
  }
  console.log(`${what} → Connected on bj: ${movedMs.join(' ms, ')} ms`)
  for (const peer of [a, b]) {
    const after = peer.states.slice(3)
    const why = JSON.stringify({
      uid: peer.uid,
      states: peer.states,
      proxyConnected: peer.proxyConnected.map((i) => [i.regionId, i.transport, i.proxyAddress]),
      errors: peer.errors,
    })
    expect(after[0]![0], why).toBe(S.Reconnecting)
    expect(after.slice(-2), why).toEqual([
      [S.Reconnecting, R.SettingProxyServer],
      [S.Connected, R.ReDispatch],
    ])
    expect(
      peer.proxyConnected.map((i) => i.regionId),
      why,
    ).toEqual(['sh', 'bj'])
    expect(bjEndpoints(), why).toContain(peer.proxyConnected[1]!.proxyAddress)
  }
  const [beforeA, beforeB] = [checkedFramesFrom(a, b), checkedFramesFrom(b, a)]
  await until(
    () =>
      a.video.filter((f) => f.uid === b.uid).length >= beforeA + 5 &&
      b.video.filter((f) => f.uid === a.uid).length >= beforeB + 5,
    'video again through bj',
    8000,
  )
  checkedFramesFrom(a, b)
  checkedFramesFrom(b, a)
  // rtcStats follow the media path: bj's endpoint once media runs through it.
  for (const peer of [a, b]) {
    const seen = peer.stats.length
    await until(() => peer.stats.length > seen, `uid ${peer.uid} rtcStats after the move`, 3000)
    const last = peer.stats.at(-1)!
    expect(last.proxyAddress).toBe(peer.proxyConnected[1]!.proxyAddress)
    expect(last.transport).toBe(peer.proxyConnected[1]!.transport)
  }
  expect(a.errors.concat(b.errors), JSON.stringify([a.states, b.states])).toEqual([])
}

describe('region failover with region auto', () => {
  it('sh answers sessions and TURN but its signaling relay is cut: both move to bj after two attempts', async () => {
    // A second proxy for region sh through the stack's cuttable relay, so that test 2 keeps its own sh.
    const shRelay = await startProxyRegion(sh.relayUrl, 'sh')
    const a = autoPeer(61, TransportType.UDPProxy, shRelay.region)
    const b = autoPeer(62, TransportType.TCPProxy, shRelay.region)
    try {
      expect(await a.engine.joinChannel(await sh.token('cut', 61), 'cut', 61)).toBe(0)
      expect(await b.engine.joinChannel(await sh.token('cut', 62), 'cut', 62)).toBe(0)
      a.startMedia()
      b.startMedia()
      await until(() => a.video.length >= 5 && b.video.length >= 5, 'video before the cut')
      const cut = Date.now()
      expect(sh.cutSignaling(60_000)).toBeGreaterThanOrEqual(2)
      await expectMovedToBj(a, b, cut, 'signaling relay cut')
      // The proxy of sh kept answering: no session failure was the reason.
      expect(shRelay.proxy.health().ok).toBe(true)
    } finally {
      a.stopMedia()
      b.stopMedia()
      await Promise.all([a.engine.release(), b.engine.release()])
      sh.cutSignaling(0)
      await shRelay.proxy.close()
    }
  }, 40_000)

  it('the chosen proxy closes mid-call: both engines rejoin through the other region (reDispatch)', async () => {
    const a = autoPeer(51, TransportType.UDPProxy)
    const b = autoPeer(52, TransportType.TCPProxy)
    try {
      expect(await a.engine.joinChannel(await sh.token('failover', 51), 'failover', 51)).toBe(0)
      expect(await b.engine.joinChannel(await sh.token('failover', 52), 'failover', 52)).toBe(0)
      for (const peer of [a, b]) expect(peer.proxyConnected.map((i) => i.regionId)).toEqual(['sh'])
      a.startMedia()
      b.startMedia()
      await until(() => a.video.length >= 5 && b.video.length >= 5, 'video before the loss')
      const lost = Date.now()
      await sh.proxy.close()
      await expectMovedToBj(a, b, lost, 'proxy closed')
    } finally {
      a.stopMedia()
      b.stopMedia()
      await Promise.all([a.engine.release(), b.engine.release()])
    }
  }, 30_000)
})
