/**
 * The engine's retransmissions to the conference server: a real PeerMedia against a werift PeerConnection
 * configured as the server's, on loopback. werift's receiver repeats its NACK of a lost packet ten times,
 * 5 ms apart, and werift's sender answers every one: on bench:network's 400 kbit/s `step` the uplink then
 * carried several times the video it was sent for (docs/media.md "bench:network").
 */
import { describe, expect, it } from 'vitest'
import { GenericNack, RTCPeerConnection, RtcpTransportLayerFeedback } from 'werift'
import { MIN_RETRANSMIT_INTERVAL_MS } from '../../protocol/media/nackPacing'
import { SfuConfigSchema } from '../../sfu/config'
import { serverPeerConfig } from '../../sfu/media/rtc'
import { closedAfterEach, LOOPBACK_ICE, negotiate, until } from '../../../e2e/support/loopbackPeers'
import { PeerMedia } from './peerMedia'
import { BUCKET_MS, MIN_BUCKET_BYTES, SHARE } from './uplinkRetransmits'

const open = closedAfterEach()

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * A werift PeerConnection set up as the conference server's, negotiated with a PeerMedia on loopback; `seen`
 * counts every video packet the server got by sequence number (a retransmission repeats the number).
 * `before` sees the engine before the negotiation (to listen to its events from the start).
 */
async function serverAndEngine(before: (media: PeerMedia) => void = () => undefined) {
  const server = new RTCPeerConnection(serverPeerConfig(SfuConfigSchema.parse({})))
  const media = new PeerMedia({ rtcConfig: LOOPBACK_ICE })
  open.push(media, server)
  const seen = new Map<number, number>()
  let ssrc = 0
  server.onTrack.subscribe((track) => {
    if (track.kind !== 'video') return
    track.onReceiveRtp.subscribe((packet) => {
      ssrc = packet.header.ssrc
      const seq = packet.header.sequenceNumber
      seen.set(seq, (seen.get(seq) ?? 0) + 1)
    })
  })
  before(media)
  server.addTransceiver('audio', { direction: 'recvonly' })
  const video = server.addTransceiver('video', { direction: 'recvonly' })
  await negotiate(server, media)
  return { media, video, seen, ssrc: () => ssrc }
}

describe('PeerMedia retransmissions', () => {
  it('answers a NACK repeated ten times 5 ms apart with one retransmission, and again after the interval', async () => {
    const { media, video, seen, ssrc } = await serverAndEngine()
    for (let i = 0; i < 5; i++) {
      const data = new Uint8Array(200).fill(i)
      data[0] = 0x10
      media.sendVideoFrame({ data, timestamp: i * 33_333, keyframe: true })
    }
    await until(() => seen.size >= 5)
    const lost = Math.min(...seen.keys())
    const nack = () =>
      video.receiver.dtlsTransport.sendRtcp([
        new RtcpTransportLayerFeedback({
          feedback: new GenericNack({ senderSsrc: 1, mediaSourceSsrc: ssrc(), lost: [lost] }),
        }),
      ])

    for (let i = 0; i < 10; i++) {
      await nack()
      await sleep(5)
    }
    await until(() => (seen.get(lost) ?? 0) >= 2)
    await sleep(MIN_RETRANSMIT_INTERVAL_MS)
    expect(seen.get(lost)).toBe(2)
    // Asked again a round trip later (the first retransmission was lost too): answered again.
    await nack()
    await until(() => (seen.get(lost) ?? 0) >= 3)
    await sleep(50)
    expect(seen.get(lost)).toBe(3)
  })

  it('retransmits a burst of NACKs only up to its budget from the send target (uplinkRetransmits.ts)', async () => {
    let targetBps = 0
    const { media, video, seen, ssrc } = await serverAndEngine((engine) =>
      engine.on('sendTarget', (target) => (targetBps = Math.max(targetBps, target.bitrateBps))),
    )
    const frames = 60
    for (let i = 0; i < frames; i++) {
      const data = new Uint8Array(1000).fill(i)
      data[0] = 0x10
      media.sendVideoFrame({ data, timestamp: i * 33_333, keyframe: true })
    }
    await until(() => seen.size >= frames)
    // Every packet lost, say the server, in one NACK: on a full uplink, answering all of it would keep the
    // bottleneck full (bench:network `step`). The bucket holds 500 ms of 20 % of the target (300 kbit/s, the
    // estimate's start, with no feedback from this server: 3.75 kB), 1,012 bytes a packet.
    const lost = [...seen.keys()]
    await video.receiver.dtlsTransport.sendRtcp([
      new RtcpTransportLayerFeedback({
        feedback: new GenericNack({ senderSsrc: 1, mediaSourceSsrc: ssrc(), lost }),
      }),
    ])
    const resent = () => [...seen.values()].filter((count) => count > 1).length
    await until(() => resent() >= 1)
    await sleep(200)
    const bucket = Math.max(MIN_BUCKET_BYTES, (SHARE * targetBps * BUCKET_MS) / 8000)
    expect(resent()).toBeGreaterThanOrEqual(1)
    expect(resent()).toBeLessThanOrEqual(Math.floor(bucket / 1012) + 1)
    expect(resent()).toBeLessThan(frames / 4)
  })
})
