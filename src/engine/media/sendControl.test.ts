import { afterEach, describe, expect, it } from 'vitest'
import { RTCPeerConnection, RtcpPacketConverter, RtpHeader, RtpPacket, type RTCRtpTransceiver } from 'werift'
import { FakeClock } from '../../../e2e/support/fakeClock'
import { buildTwcc, parseTwcc } from '../../protocol/media/bwe/twcc'
import { weriftCodecs, weriftHeaderExtensions } from '../../protocol/media/codecs'
import type { SendTarget } from '../../shared/mediaPort'
import { silentLogger } from '../defaults'
import {
  MIN_PACING_BPS,
  PACING_FACTOR,
  SendControl,
  TARGET_HEARTBEAT_MS,
  UNESTIMATED_TARGET_BPS,
} from './sendControl'

/**
 * SendControl on the fake clock: a werift PeerConnection that negotiated the transport-wide extension (no
 * connection needed for that), packets stamped as the pacer would, and the server's reports delivered
 * the way werift delivers them (parsed into its RTCP objects, on the DTLS transport's onRtcp).
 */

const open: RTCPeerConnection[] = []
afterEach(async () => {
  for (const pc of open.splice(0)) await pc.close()
})

async function negotiated(): Promise<{
  pc: RTCPeerConnection
  video: RTCRtpTransceiver
  audio: RTCRtpTransceiver
}> {
  const config = { codecs: weriftCodecs(), headerExtensions: weriftHeaderExtensions(), iceServers: [] }
  const server = new RTCPeerConnection({ ...config, bundlePolicy: 'max-bundle' })
  const pc = new RTCPeerConnection({ ...config, bundlePolicy: 'max-bundle' })
  open.push(server, pc)
  server.addTransceiver('audio', { direction: 'recvonly' })
  server.addTransceiver('video', { direction: 'recvonly' })
  const audio = pc.addTransceiver('audio', { direction: 'sendonly' })
  const video = pc.addTransceiver('video', { direction: 'sendonly' })
  await server.setLocalDescription(await server.createOffer())
  await pc.setRemoteDescription(server.localDescription!)
  await pc.setLocalDescription(await pc.createAnswer())
  return { pc, video, audio }
}

function setup(pc: RTCPeerConnection, senders: { video: RTCRtpTransceiver; audio: RTCRtpTransceiver }) {
  const clock = new FakeClock()
  const targets: { at: number; target: SendTarget }[] = []
  const rates: number[] = []
  const control = new SendControl({
    pc,
    senders,
    clock,
    logger: silentLogger,
    setPacingRate: (bps) => rates.push(bps),
    target: (target) => targets.push({ at: clock.now(), target }),
  })
  /** Stamps `count` 1000-byte video packets, `spacingMs` apart; returns their transport-wide numbers. */
  const send = async (count: number, spacingMs: number): Promise<number[]> => {
    const numbers: number[] = []
    for (let i = 0; i < count; i++) {
      const packet = new RtpPacket(new RtpHeader(), Buffer.alloc(970))
      control.stamp('video', packet)
      numbers.push(packet.header.extensions[0]!.payload.readUInt16BE(0))
      await clock.advance(spacingMs)
    }
    return numbers
  }
  /** The server's report: packets `spacingMs` apart from `firstUs`, or not at all when `lost(i)`. */
  const report = (numbers: number[], spacingMs: number, firstUs: number, lost: (i: number) => boolean) => {
    const bytes = buildTwcc({
      senderSsrc: 1,
      mediaSsrc: 2,
      baseSequence: numbers[0]!,
      feedbackCount: 0,
      referenceTime: 1,
      arrivalsUs: numbers.map((_, i) => (lost(i) ? null : 64_000 + firstUs + i * spacingMs * 1000)),
    })
    expect(parseTwcc(bytes)).not.toBeNull()
    for (const packet of RtcpPacketConverter.deSerialize(Buffer.from(bytes)))
      pc.dtlsTransports[0]!.onRtcp.execute(packet)
  }
  return { clock, control, targets, rates, send, report }
}

describe('SendControl', () => {
  it('stamps one transport-wide counter, publishes at the start, on a >5 % move and every 2 s, paces at 2.5x', async () => {
    const { pc, video, audio } = await negotiated()
    const t = setup(pc, { video, audio })
    expect(t.rates).toEqual([])
    await t.clock.advance(300)
    expect(t.targets.map((x) => x.target)).toEqual([{ bitrateBps: 300_000, lossFraction: 0 }])
    expect(t.rates).toEqual([PACING_FACTOR * 300_000])

    // Two reports 150 ms apart (the loss window is 20 packets and 100 ms), half the packets lost: the
    // loss-based part cuts the target, and the cut goes out with the report that made it.
    const first = await t.send(30, 5)
    t.report(first, 5, 0, (i) => i % 2 === 1)
    expect(t.targets).toHaveLength(1)
    const second = await t.send(30, 5)
    const numbers = [...first, ...second]
    expect(numbers.every((n, i) => i === 0 || n === ((numbers[i - 1]! + 1) & 0xffff))).toBe(true)
    t.report(second, 5, 150_000, (i) => i % 2 === 1)
    const cut = t.targets.at(-1)!
    expect(t.targets).toHaveLength(2)
    expect(cut.target.bitrateBps).toBeLessThan(0.95 * 300_000)
    expect(cut.target.lossFraction).toBeCloseTo(0.5, 1)
    expect(t.control.targetBps()).toBe(cut.target.bitrateBps)
    expect(t.rates.at(-1)).toBe(Math.max(MIN_PACING_BPS, PACING_FACTOR * cut.target.bitrateBps))

    // Nothing moves: the same target again after 2 s, not before.
    await t.clock.advance(TARGET_HEARTBEAT_MS - 300)
    expect(t.targets).toHaveLength(2)
    await t.clock.advance(600)
    expect(t.targets).toHaveLength(3)
    expect(t.targets.at(-1)!.target.bitrateBps).toBe(cut.target.bitrateBps)
    expect(t.targets.at(-1)!.at - cut.at).toBeGreaterThanOrEqual(TARGET_HEARTBEAT_MS)
    t.control.close()
    await t.clock.advance(10_000)
    expect(t.targets).toHaveLength(3)
  })

  it('before the extension is negotiated: nothing stamped, no target, the pacer left alone', async () => {
    const pc = new RTCPeerConnection({ codecs: weriftCodecs(), headerExtensions: weriftHeaderExtensions() })
    open.push(pc)
    const senders = {
      audio: pc.addTransceiver('audio', { direction: 'sendonly' }),
      video: pc.addTransceiver('video', { direction: 'sendonly' }),
    }
    const t = setup(pc, senders)
    const packet = new RtpPacket(new RtpHeader(), Buffer.alloc(100))
    t.control.stamp('audio', packet)
    expect(packet.header.extensions).toEqual([])
    await t.clock.advance(5000)
    expect(t.targets).toEqual([])
    expect(t.rates).toEqual([])
    t.control.close()
  })

  // Until a first target the renderer sends at the estimate's start value (300 kbit/s): without one target
  // here it would stay there with a server that never reports.
  it('a far end that does not agree to the extension: one target of what the app sent before estimates', async () => {
    const server = new RTCPeerConnection({ codecs: weriftCodecs(), headerExtensions: {}, iceServers: [] })
    const pc = new RTCPeerConnection({ codecs: weriftCodecs(), headerExtensions: weriftHeaderExtensions() })
    open.push(server, pc)
    server.addTransceiver('audio', { direction: 'recvonly' })
    server.addTransceiver('video', { direction: 'recvonly' })
    const senders = {
      audio: pc.addTransceiver('audio', { direction: 'sendonly' }),
      video: pc.addTransceiver('video', { direction: 'sendonly' }),
    }
    const t = setup(pc, senders)
    await t.clock.advance(1000)
    expect(t.targets).toEqual([])
    await server.setLocalDescription(await server.createOffer())
    await pc.setRemoteDescription(server.localDescription!)
    await pc.setLocalDescription(await pc.createAnswer())
    await t.clock.advance(5000)
    expect(t.targets.map((x) => x.target)).toEqual([{ bitrateBps: UNESTIMATED_TARGET_BPS, lossFraction: 0 }])
    expect(t.rates).toEqual([])
    const packet = new RtpPacket(new RtpHeader(), Buffer.alloc(100))
    t.control.stamp('video', packet)
    expect(packet.header.extensions).toEqual([])
    t.control.close()
  })
})
