/**
 * Transport-wide feedback between two real werift PeerConnections on loopback (real UDP, DTLS, SRTP): our
 * receiver side reports every packet, our sender side reads the reports back into the send history; and
 * the werift behaviour that made us write both, pinned so that an upgrade which changes it shows up here.
 */
import { describe, expect, it } from 'vitest'
import {
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RtcpPacketConverter,
  RtcpTransportLayerFeedback,
  RtpHeader,
  RtpPacket,
  useTWCC,
  type RTCRtpTransceiver,
} from 'werift'
import { buildTwcc, parseTwcc } from './bwe/twcc'
import { SendHistory } from './bwe/sendHistory'
import type { PacketResult } from './bwe/types'
import { closedAfterEach, loopbackConfig, until } from '../../../e2e/support/loopbackPeers'
import { weriftCodecs } from './codecs'
import { systemStallClock, type StallClock } from './mediaGuard'
import { onTwccFeedback, twccExtensionId, TwccFeedbackSender, writeTwccSequence } from './twccTransport'

const open = closedAfterEach()

interface Pair {
  server: RTCPeerConnection
  client: RTCPeerConnection
  senders: { audio: RTCRtpTransceiver; video: RTCRtpTransceiver }
}

async function connectedPair(codecs = weriftCodecs): Promise<Pair> {
  const server = new RTCPeerConnection(loopbackConfig(codecs()))
  const client = new RTCPeerConnection(loopbackConfig(codecs()))
  open.push(server, client)
  server.addTransceiver('audio', { direction: 'recvonly' })
  server.addTransceiver('video', { direction: 'recvonly' })
  const senders = {
    audio: client.addTransceiver('audio', { direction: 'sendonly' }),
    video: client.addTransceiver('video', { direction: 'sendonly' }),
  }
  await server.setLocalDescription(await server.createOffer())
  await client.setRemoteDescription(server.localDescription!)
  await client.setLocalDescription(await client.createAnswer())
  await server.setRemoteDescription(client.localDescription!)
  await until(() => server.connectionState === 'connected' && client.connectionState === 'connected')
  return { server, client, senders }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Audio and video interleaved, as a call sends them: every third packet is audio. */
async function sendMix(pair: Pair, count: number, stamp?: (t: RTCRtpTransceiver, p: RtpPacket) => void) {
  for (let i = 0; i < count; i++) {
    const transceiver = i % 3 === 0 ? pair.senders.audio : pair.senders.video
    const packet = new RtpPacket(new RtpHeader({ sequenceNumber: i, marker: true }), Buffer.alloc(500))
    stamp?.(transceiver, packet)
    void transceiver.sender.sendRtp(packet)
    await sleep(2)
  }
}

describe('transport-wide feedback over werift', () => {
  it('reports every packet of both kinds, and the send history turns the reports into results', async () => {
    const pair = await connectedPair()
    const feedback = new TwccFeedbackSender(pair.server)
    open.push({ close: () => feedback.stop() })
    const history = new SendHistory()
    const results: PacketResult[] = []
    const off = onTwccFeedback(pair.client, (f) => results.push(...history.onFeedback(f).packets))
    open.push({ close: off })
    const ids = { audio: twccExtensionId(pair.senders.audio), video: twccExtensionId(pair.senders.video) }
    expect(ids.audio).toBeDefined()
    expect(ids.video).toBeDefined()
    await sendMix(pair, 150, (t, packet) => {
      const id = t === pair.senders.audio ? ids.audio! : ids.video!
      writeTwccSequence(packet, id, history.add(performance.now(), 512))
    })
    await until(() => results.length === 150)
    expect(results.every((r) => r.arrivalTimeMs !== null)).toBe(true)
    expect(history.outstanding).toBe(0)
    // Arrivals keep the send order and spacing: each one after the previous one, never ahead by a second.
    for (let i = 1; i < results.length; i++) {
      const sendGap = results[i]!.sendTimeMs - results[i - 1]!.sendTimeMs
      const arrivalGap = results[i]!.arrivalTimeMs! - results[i - 1]!.arrivalTimeMs!
      expect(Math.abs(arrivalGap - sendGap)).toBeLessThan(1000)
    }
    expect(feedback.sent).toBeGreaterThan(0)
  })

  it("runs every feedback sender of a clock from one timer, and still reports each one's packets", async () => {
    // The system clock, counting the timers armed and not yet fired or cleared.
    const pending = new Set<unknown>()
    const clock: StallClock = {
      now: () => systemStallClock.now(),
      setTimeout: (callback, ms) => {
        const handle = systemStallClock.setTimeout(() => {
          pending.delete(handle)
          callback()
        }, ms)
        pending.add(handle)
        return handle
      },
      clearTimeout: (handle) => {
        pending.delete(handle)
        systemStallClock.clearTimeout(handle)
      },
    }
    const pairs = [await connectedPair(), await connectedPair(), await connectedPair()]
    const senders = pairs.map((pair) => new TwccFeedbackSender(pair.server, { clock }))
    open.push({ close: () => senders.forEach((sender) => sender.stop()) })
    expect(pending.size).toBe(1)
    for (const pair of pairs) {
      const id = twccExtensionId(pair.senders.video)!
      await sendMix(pair, 30, (_, packet) => writeTwccSequence(packet, id, packet.header.sequenceNumber))
    }
    await until(() => senders.every((sender) => sender.sent > 0))
    expect(pending.size).toBe(1)
    for (const sender of senders) sender.stop()
    expect(pending.size).toBe(0)
  })

  it("werift's parser and serializer keep our reports intact (the sender reads them through werift)", () => {
    const origin = 7 * 64_000
    const arrivals = [0, null, 300, 70_000, 69_000, null, null, null, null, null, null, null, 70_500]
    const bytes = buildTwcc({
      senderSsrc: 1,
      mediaSsrc: 2,
      baseSequence: 65530,
      feedbackCount: 3,
      referenceTime: 7,
      arrivalsUs: arrivals.map((a) => (a === null ? null : origin + a)),
    })
    const [werift] = RtcpPacketConverter.deSerialize(Buffer.from(bytes))
    expect(werift).toBeInstanceOf(RtcpTransportLayerFeedback)
    expect(parseTwcc((werift as RtcpTransportLayerFeedback).serialize())).toEqual(parseTwcc(bytes))
  })

  it("werift's own ReceiverTWCC (transport-cc in the codecs) sends reports werift's own parser drops", async () => {
    const withTwcc = (): ReturnType<typeof weriftCodecs> => {
      const codecs = weriftCodecs()
      const add = (c: RTCRtpCodecParameters) =>
        new RTCRtpCodecParameters({ ...c, rtcpFeedback: [...c.rtcpFeedback, useTWCC()] })
      return { audio: codecs.audio!.map(add), video: codecs.video!.map(add) }
    }
    const pair = await connectedPair(withTwcc)
    let reports = 0
    const sub = pair.client.dtlsTransports[0]!.onRtcp.subscribe((packet) => {
      if (packet instanceof RtcpTransportLayerFeedback && packet.feedback?.count === 15) reports++
    })
    open.push({ close: () => sub.unSubscribe() })
    await sendMix(pair, 120)
    await sleep(300)
    expect(reports).toBe(0)
  })
})
