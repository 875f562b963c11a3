/**
 * Issue 12 item 1, the engine's send side against the real conference server (docs/media.md "Bandwidth
 * estimation"): three engines, each alone in its channel, push video whose size follows their own
 * `sendTargetChanged` (as the renderer's encoder does) plus Opus. One goes direct to the server; two
 * through the proxy's TURN relay (over UDP, and over TLS 443), whose allocations are policed at
 * `POLICED_BPS` (the proxy's per-allocation bandwidth limit drops what exceeds it). The server's
 * transport-wide feedback must reach every estimator: the direct one's target climbs well past the policed
 * rate, the relayed ones' fall below it and report the loss; `rtcStats` carries the estimate, the video
 * bitrate and the key frames' size.
 */
import { createSocket, type Socket } from 'node:dgram'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Engine } from '../../src/engine'
import { TransportType, type RtcStats } from '../../src/shared/engine'
import type { SendTarget } from '../../src/shared/mediaPort'
import { startCallStack, type CallStack } from '../support/callStack'
import { makePeer, until, type Peer } from '../engine/harness'

const POLICED_BYTES_PER_S = 30_000
const POLICED_BPS = POLICED_BYTES_PER_S * 8
const FPS = 30
const AUDIO_BYTES = 80

let stack: CallStack
/** A STUN server that never answers: direct mode needs one configured, the server is ICE lite. */
let silentStun: Socket
beforeAll(async () => {
  stack = await startCallStack({}, 'bwe', { allocations: { bandwidthBytesPerSecond: POLICED_BYTES_PER_S } })
  silentStun = createSocket('udp4')
  await new Promise<void>((resolve) => silentStun.bind(0, '127.0.0.1', resolve))
})
afterAll(async () => {
  silentStun?.close()
  await stack?.close()
})

/** A VP8-looking frame: a key frame declares 640x360 (RFC 6386 §9.1); the rest is filler. */
function vp8Frame(bytes: number, key: boolean, index: number): Uint8Array {
  const data = new Uint8Array(Math.max(16, Math.round(bytes)))
  data.set(key ? [0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01] : [0x11, 0x02, 0x00])
  for (let i = 10; i < data.length; i++) data[i] = (index * 31 + i) & 0xff
  return data
}

interface Sender {
  peer: Peer
  targets: SendTarget[]
  stats: RtcStats[]
  stop(): void
}

/** Pushes video sized to the latest target (minus audio), key frames every 2 s, and 50 Opus packets/s. */
function follow(peer: Peer): Sender {
  const engine: Engine = peer.engine
  const targets: SendTarget[] = []
  const stats: RtcStats[] = []
  engine.on('sendTargetChanged', (target) => targets.push(target))
  engine.on('rtcStats', (s) => stats.push(s))
  let v = 0
  let a = 0
  let started = false
  const video = setInterval(() => {
    const bps = targets.at(-1)?.bitrateBps ?? 300_000
    // A key frame first (the first frames go nowhere until the call is up), then every 2 s.
    const key = !started || v % (2 * FPS) === 0
    const bytes = (bps - 50 * AUDIO_BYTES * 8) / 8 / FPS
    const data = vp8Frame(bytes, key, v)
    const accepted = engine.pushVideoFrame({ data, timestamp: (v * 1e6) / FPS, keyframe: key }) === 0
    started ||= accepted
    v++
  }, 1000 / FPS)
  const audio = setInterval(() => {
    engine.pushAudioFrame({ data: new Uint8Array(AUDIO_BYTES).fill(0xf8, 0, 1), timestamp: a * 20_000 })
    a++
  }, 20)
  return {
    peer,
    targets,
    stats,
    stop: () => (clearInterval(video), clearInterval(audio)),
  }
}

async function join(peer: Peer, channel: string): Promise<void> {
  expect(await peer.engine.joinChannel(await stack.token(channel, peer.uid), channel, peer.uid)).toBe(0)
}

describe('send target from transport-wide feedback', () => {
  it('climbs on a clean path, falls below a policed relay (UDP and TLS 443) with its loss; rtcStats carry it', async () => {
    const call = { statsIntervalMs: 1000 }
    const stun = `stun:127.0.0.1:${silentStun.address().port}`
    const directConfig = { signalUrl: stack.sfuUrl, iceServers: [{ urls: stun }] }
    const direct = follow(makePeer(stack, 61, TransportType.None, { call, direct: directConfig }))
    const policed = [
      follow(makePeer(stack, 62, TransportType.UDPProxy, { call })),
      follow(makePeer(stack, 63, TransportType.TCPProxy, { call })),
    ]
    const all = [direct, ...policed]
    try {
      await Promise.all(all.map((s) => join(s.peer, `bwe-${s.peer.uid}`)))
      const max = (s: Sender) => Math.max(...s.targets.map((t) => t.bitrateBps))
      const below = (s: Sender) => (s.targets.at(-1)?.bitrateBps ?? Infinity) < POLICED_BPS
      await until(
        () => max(direct) > 2 * POLICED_BPS && policed.every(below),
        'the direct target above twice the policed rate and the policed ones below it',
        25_000,
      )
      for (const s of all) {
        // Once at the start, from the estimator's start value, before any feedback.
        expect(s.targets[0]!.bitrateBps).toBe(300_000)
      }
      // Over UDP the policer's drops are loss. Over TLS a drop on the relay's UDP leg is loss too, but the
      // TCP leg may queue instead, which the delay part sees first: either brings the target down.
      expect(Math.max(...policed[0]!.targets.map((t) => t.lossFraction))).toBeGreaterThan(0.05)
      expect(direct.targets.at(-1)!.lossFraction).toBeLessThan(0.02)
      // rtcStats (every second) carry the estimate once it has moved from its start value.
      const formed = (s: RtcStats) =>
        s.estimatedBandwidthKbps !== undefined && s.estimatedBandwidthKbps !== 300
      await until(() => direct.stats.some((s) => formed(s) && s.txVideoWidth !== undefined), 'rtcStats', 5000)
      const last = direct.stats.find((s) => formed(s) && s.txVideoWidth !== undefined)!
      expect(last.txVideoKbps).toBeGreaterThan(0)
      expect(last).toMatchObject({ txVideoWidth: 640, txVideoHeight: 360 })
    } finally {
      for (const s of all) s.stop()
      await Promise.all(all.map((s) => s.peer.engine.release()))
    }
  })
})
