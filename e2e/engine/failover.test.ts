/**
 * Region failover (issue 4, Resilience): two regions, `sh` and `bj`, each a ProxyServer on loopback in front
 * of ONE conference server. Two engines join with region `auto` (`bj` probes 50 ms slower, so `sh` wins);
 * `sh`'s proxy is closed mid-call; both engines move to `bj` (Reconnecting → Connected, reDispatch 12),
 * report `proxyConnected` for `bj`, and frames flow again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { probeRegion } from '../../src/engine/probe'
import { backoffPolicy } from '../../src/engine/reconnectPolicy'
import type { RegionProber } from '../../src/engine/regions'
import {
  startCallStack,
  startProxyRegion,
  type CallStack,
  type ProxyRegion,
} from '../../src/engine/testing/callStack'
import { ConnectionReason as R, ConnectionState as S, TransportType } from '../../src/shared/engine'
import { markerOf } from './frames'
import { makePeer, until, type Peer } from './harness'

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

/** The real probe, with `bj` made 50 ms slower so that the first pick is `sh`. */
const slowerBj: RegionProber = async (region, options) => {
  const result = await probeRegion(region, options)
  return region.id === 'bj' && result.rttMs !== undefined ? { ...result, rttMs: result.rttMs + 50 } : result
}

function autoPeer(uid: number, mode: TransportType): Peer {
  const peer = makePeer(sh, uid, mode, {
    regions: [sh.region, bj.region],
    probeRegion: slowerBj,
    call: { reconnect: backoffPolicy({ baseDelayMs: 100, maxDelayMs: 500, budgetMs: 15_000 }) },
  })
  expect(peer.engine.setRegion('auto')).toBe(0)
  return peer
}

function framesFrom(to: Peer, from: Peer): number {
  const frames = to.video.filter((f) => f.uid === from.uid)
  for (const frame of frames) {
    const marker = markerOf(frame)!
    expect(Buffer.from(frame.data).equals(Buffer.from(from.sentVideo.get(marker.index)!))).toBe(true)
  }
  return frames.length
}

describe('region failover with region auto', () => {
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
      const movedMs: number[] = []
      for (const peer of [a, b]) {
        await until(() => peer.states.at(-1)?.[1] === R.ReDispatch, `uid ${peer.uid} on bj`, 15_000)
        movedMs.push(Date.now() - lost)
      }
      console.log(`proxy loss → Connected on bj: ${movedMs.join(' ms, ')} ms`)
      for (const peer of [a, b]) {
        const after = peer.states.slice(3)
        expect(after[0]![0]).toBe(S.Reconnecting)
        expect(after.slice(-2)).toEqual([
          [S.Reconnecting, R.SettingProxyServer],
          [S.Connected, R.ReDispatch],
        ])
        expect(peer.proxyConnected.map((i) => i.regionId)).toEqual(['sh', 'bj'])
        const bjPorts = [...bj.region.ports.udp, bj.region.ports.tcp].map((port) => `127.0.0.1:${port}`)
        expect(bjPorts).toContain(peer.proxyConnected[1]!.proxyAddress)
      }
      const [beforeA, beforeB] = [framesFrom(a, b), framesFrom(b, a)]
      await until(
        () =>
          a.video.filter((f) => f.uid === b.uid).length >= beforeA + 5 &&
          b.video.filter((f) => f.uid === a.uid).length >= beforeB + 5,
        'video again through bj',
        8000,
      )
      framesFrom(a, b)
      framesFrom(b, a)
      expect(a.errors.concat(b.errors)).toEqual([])
    } finally {
      a.stopMedia()
      b.stopMedia()
      await Promise.all([a.engine.release(), b.engine.release()])
    }
  }, 30_000)
})
