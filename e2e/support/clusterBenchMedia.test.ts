import { afterEach, describe, expect, it } from 'vitest'
import {
  drainSinks,
  HeaderCounter,
  startCheapMedia,
  type CheapPublisher,
} from '../../bench/cluster/cheapMedia'
import { rtpSinkAddon } from '../../bench/cluster/rtpAddon'
import { lossSince, receive, startReceiverReports } from '../../bench/cluster/receiverReports'
import { createSocket } from 'node:dgram'
import { BUILD_COMMAND, udpSocketFd } from '../../src/platform/nativeAddon'
import { RtcpPacketConverter, RtcpRrPacket, RtcpSrPacket, type RtcpPacket } from 'werift'
import type { TestClient } from '../sfu/client'
import { closeAll, startSfu, type Sfu } from '../sfu/harness'
import { sleep, waitFor } from './tools'

/**
 * bench:cluster's cheap participant media (bench/cluster/cheapMedia.ts) through a real conference server and
 * real werift clients: what the header counter counts, without decrypting, must be exactly the packets a
 * subscriber that decrypts every packet receives (the ground truth), counter by counter.
 */
describe('bench:cluster participant media', () => {
  let sfu: Sfu | undefined
  const clients: TestClient[] = []
  let media: CheapPublisher | undefined
  const counters: HeaderCounter[] = []

  afterEach(async () => {
    media?.stop()
    for (const counter of counters.splice(0)) counter.close()
    await closeAll(clients.splice(0), sfu)
    sfu = undefined
  })

  it(`has the receive addon built (else run \`${BUILD_COMMAND}\`)`, () => {
    expect(typeof rtpSinkAddon() === 'string' ? rtpSinkAddon() : 'loaded').toBe('loaded')
  })

  it('counts from the RTP headers alone exactly what a decrypting subscriber receives', async () => {
    sfu = await startSfu()
    const channel = 'cheap'
    const publishers = new Map<number, CheapPublisher>()
    const inbound = new HeaderCounter(
      (uid, kind) => publishers.get(uid)?.sent[kind],
      (uid, kind) => publishers.get(uid)?.sentCounter(kind),
    )
    counters.push(inbound)
    const counting = await sfu.join(channel, 2, {
      publish: { audio: false, video: false },
      verify: false,
      onRtp: inbound.onDecrypted.bind(inbound),
    })
    // What the decrypting subscriber gets of the publisher's video, in the node's numbering.
    const videoHeaders: { sequenceNumber: number; timestamp: number }[] = []
    const decrypting = await sfu.join(channel, 3, {
      publish: { audio: false, video: false },
      onRtp: (key, packet) => {
        if (key === '1:video') videoHeaders.push({ ...packet.header })
      },
    })
    clients.push(counting, decrypting)
    expect(inbound.attach(counting)).toBe(true)
    const publisher = await sfu.join(channel, 1, { verify: false })
    clients.push(publisher)
    const senderReports = captureRtcp(publisher)
    media = startCheapMedia(publisher, { fps: 15, frameBytes: 1000 })
    expect(media.native).toBe(true) // the addon's publisher (bench/cluster/nativePublisher.ts) sends
    publishers.set(1, media)
    // Both subscribers receive both kinds; the counter has tied both streams and counts from the headers.
    await waitFor(
      () => {
        drainSinks()
        return inbound.counted > 20 && decrypting.received.get('1:video') !== undefined
      },
      'both subscribers receiving, the counter from the headers',
      10_000,
    )
    const from = { ...media.sent }
    await sleep(1500)
    const to = { ...media.sent }
    await sleep(300) // in flight
    drainSinks()
    for (const kind of ['audio', 'video'] as const) {
      expect(to[kind] - from[kind]).toBeGreaterThan(kind === 'audio' ? 40 : 10)
      const truth = [...(decrypting.received.get(`1:${kind}`)?.counters ?? [])].filter(
        (c) => c >= from[kind] && c < to[kind],
      )
      // Every packet sent arrived intact (payload checked) at the decrypting subscriber: nothing lost on
      // loopback, the node decrypted each one.
      expect(truth.length).toBe(to[kind] - from[kind])
      expect(decrypting.received.get(`1:${kind}`)!.corrupt).toBe(0)
      expect(inbound.count(1, kind, from[kind], to[kind])).toBe(truth.length)
    }
    // Sequence numbers advance by one, timestamps by a frame (90 kHz / 15 fps) per one-packet frame.
    const steps = videoHeaders.slice(1).map((h, i) => ({
      sequence: (h.sequenceNumber - videoHeaders[i]!.sequenceNumber) & 0xffff,
      timestamp: (h.timestamp - videoHeaders[i]!.timestamp) >>> 0,
    }))
    expect(steps.length).toBeGreaterThan(20)
    expect(steps.every((d) => d.sequence === 1 && d.timestamp === 6000)).toBe(true)
    // The publisher's sender reports (werift's loop) carry the native sender's counts: the last packet's
    // RTP timestamp for the packets counted, and their payload octets.
    const audioSender = publisher.pc.getTransceivers().find((t) => t.sender === publisher.audioSender)!
      .sender as unknown as { ssrc: number; timestampOffset: number }
    const audioReports = senderReports().filter((r) => r.ssrc === audioSender.ssrc)
    expect(audioReports.length).toBeGreaterThan(0)
    for (const { senderInfo } of audioReports) {
      expect(senderInfo.packetCount).toBeGreaterThan(0)
      expect(senderInfo.octetCount).toBe(senderInfo.packetCount * 80)
      expect(senderInfo.rtpTimestamp).toBe(
        ((senderInfo.packetCount - 1) * 960 + audioSender.timestampOffset) >>> 0,
      )
      const unixMs = (Number(senderInfo.ntpTimestamp >> 32n) - 2_208_988_800) * 1000
      expect(Math.abs(unixMs - Date.now())).toBeLessThan(10_000)
    }
    // A subscriber joining later asks for a keyframe (PLI): the native sender's next frame is one.
    const late = await sfu.join(channel, 4, { publish: { audio: false, video: false } })
    clients.push(late)
    await waitFor(
      () => (late.received.get('1:video')?.keyframes ?? 0) > 0,
      'a keyframe for the late subscriber',
      10_000,
    )
    expect(late.received.get('1:video')!.corrupt).toBe(0)
    // Receiver reports: one a second with a block per received stream, counting what really arrived.
    const sentRtcp: unknown[] = []
    const dtls = counting.pc.dtlsTransports[0]!
    const sendRtcp = dtls.sendRtcp.bind(dtls)
    dtls.sendRtcp = (packets) => {
      sentRtcp.push(...packets)
      return sendRtcp(packets)
    }
    const stopReports = startReceiverReports(counting, inbound)
    await sleep(2500)
    stopReports()
    const reports = sentRtcp.filter((p): p is RtcpRrPacket => p instanceof RtcpRrPacket)
    expect(reports.length).toBeGreaterThanOrEqual(2)
    expect(reports.length).toBeLessThanOrEqual(3) // not one per stream
    for (const report of reports) {
      expect(report.reports.map((r) => r.ssrc).sort()).toEqual(
        [...inbound.receptions()].map(([s]) => s).sort(),
      )
      expect(report.reports.every((r) => r.packetsLost === 0 && r.highestSequence > 0)).toBe(true)
    }
    // The node's sender reports were authenticated, decrypted and read by the addon, not by werift: the
    // LSR each block echoes is the middle of the NTP time the node wrote, i.e. the time it was sent.
    const native = inbound.senderReports()!
    expect(native.handled).toBeGreaterThan(0)
    expect(native.failed).toBe(0)
    for (const { lsr, arrivalUnixMs } of native.bySsrc.values()) {
      const sentAt = compactNtpSeconds(lsr, arrivalUnixMs / 1000)
      expect(Math.abs(sentAt - arrivalUnixMs / 1000)).toBeLessThan(1)
    }
    // The receiver reports echo them (werift never saw them: its LSR would be 0).
    for (const block of reports.at(-1)!.reports) {
      expect(native.bySsrc.has(block.ssrc)).toBe(true)
      expect(Math.abs(compactNtpSeconds(block.lsr, Date.now() / 1000) - Date.now() / 1000)).toBeLessThan(5)
    }
    const last = reports.at(-1)!.reports
    for (const [ssrc, reception] of inbound.receptions()) {
      expect(last.find((r) => r.ssrc === ssrc)!.highestSequence).toBeLessThanOrEqual(reception.highest)
      expect(reception.highest - reception.base + 1).toBe(reception.received) // nothing lost on loopback
    }
    // The publisher's packets went through the native send; the counter read its socket natively and
    // counted from the headers, not through werift (which saw a stream's first packet only).
    expect(media.nativePackets()).toBeGreaterThan(0.9 * (media.sent.audio + media.sent.video))
    expect(decrypting.received.get('1:audio')!.corrupt).toBe(0)
    expect(inbound.unmapped).toBe(0)
    // A native publisher's streams are counted by the addon against its counter (no JavaScript per header).
    expect(inbound.countedNatively).toBe(inbound.counted)
  })

  it('computes a report block loss as RFC 3550 A.3 does, across a sequence-number wrap', () => {
    let reception = receive(undefined, 65_530)
    for (const seq of [65_531, 65_533, 65_535, 0, 1, 3]) reception = receive(reception, seq)
    reception = receive(reception, 2) // late, out of order
    // 65,530 … 3 (wrapped): 10 expected, 8 received.
    expect(lossSince(reception)).toEqual({
      fractionLost: Math.floor((2 * 256) / 10),
      packetsLost: 2,
      highestSequence: 65_539,
    })
    for (const seq of [4, 5, 6, 7]) reception = receive(reception, seq)
    expect(lossSince(reception)).toEqual({ fractionLost: 0, packetsLost: 2, highestSequence: 65_543 })
  })

  it('refuses a header that names no packet its sender sent recently (the node renumbered)', () => {
    const sent = { audio: 100, video: 0 }
    const counter = new HeaderCounter((uid) => (uid === 1 ? sent.audio : undefined))
    counter.onDecrypted('1:audio', fakePacket(0x1234, 5_000 + 50, 50))
    expect(counter.onHeader(0x1234, 5_000 + 60)).toBe(true) // counter 60: sent
    expect(counter.onHeader(0x1234, 5_000 + 150)).toBe(false) // counter 150: not sent yet
    expect(counter.unmapped).toBe(1)
    // Untied until werift decrypts one again: the next header is not counted either.
    expect(counter.onHeader(0x1234, 5_000 + 61)).toBe(false)
    expect(counter.count(1, 'audio', 0, 100)).toBe(2) // 50 (decrypted) and 60
  })

  it("sends a participant's reports as one compound from the addon, which the node decrypts", async () => {
    sfu = await startSfu()
    // Every RTCP compound werift parses in this process once decrypted (the node's side: the participants'
    // reception of the node's reports is native).
    const compounds: RtcpPacket[][] = []
    const deSerialize = RtcpPacketConverter.deSerialize.bind(RtcpPacketConverter)
    RtcpPacketConverter.deSerialize = (data: Buffer) => {
      const packets = deSerialize(data)
      compounds.push(packets)
      return packets
    }
    try {
      const publishers = new Map<number, CheapPublisher>()
      const joined: { client: TestClient; media: CheapPublisher; counter: HeaderCounter }[] = []
      for (const uid of [1, 2]) {
        const counter = new HeaderCounter(
          (from, kind) => publishers.get(from)?.sent[kind],
          (from, kind) => publishers.get(from)?.sentCounter(kind),
        )
        counters.push(counter)
        const onRtp = counter.onDecrypted.bind(counter)
        const client = await sfu.join('reports', uid, { verify: false, onRtp })
        clients.push(client)
        expect(counter.attach(client)).toBe(true)
        const media = startCheapMedia(client, { fps: 15, frameBytes: 1000 }, counter)
        publishers.set(uid, media)
        joined.push({ client, media, counter })
      }
      const a = joined[0]!
      expect(a.media.reportsNatively).toBe(true)
      const audio = a.client.pc.getTransceivers().find((t) => t.sender === a.client.audioSender)!
        .sender as unknown as { ssrc: number; timestampOffset: number }
      const receiverSsrc = (a.client.pc.getTransceivers()[0]!.receiver as unknown as { rtcpSsrc: number })
        .rtcpSsrc
      const fromA = () => compounds.filter((c) => c[0] instanceof RtcpSrPacket && c[0].ssrc === audio.ssrc)
      await waitFor(
        () => {
          drainSinks()
          return fromA().some((c) => c.some((p) => p instanceof RtcpRrPacket && p.reports.some((r) => r.lsr)))
        },
        "a compound of A's reports echoing a sender report of the node",
        15_000,
      )
      for (const compound of fromA()) {
        // Its audio and video sender reports, its receiver report, its CNAME: one datagram.
        expect(compound.map((p) => (p.constructor as unknown as { type: number }).type)).toEqual([
          200, 200, 201, 202,
        ]) // SR, SR, RR, SDES
        const { senderInfo } = compound[0] as RtcpSrPacket
        expect(senderInfo.octetCount).toBe(senderInfo.packetCount * 80)
        expect(senderInfo.rtpTimestamp).toBe(
          ((senderInfo.packetCount - 1) * 960 + audio.timestampOffset) >>> 0,
        )
        const rr = compound[2] as RtcpRrPacket
        expect(rr.ssrc).toBe(receiverSsrc)
        expect(rr.reports.every((r) => r.packetsLost === 0 && r.fractionLost === 0)).toBe(true)
      }
      // The blocks are B's two streams as A received them.
      const last = fromA().at(-1)![2] as RtcpRrPacket
      const received = [...a.counter.receptions()]
      expect(last.reports.map((r) => r.ssrc).sort()).toEqual(received.map(([ssrc]) => ssrc).sort())
      for (const block of last.reports) {
        const reception = received.find(([ssrc]) => ssrc === block.ssrc)![1]
        expect(block.highestSequence).toBeLessThanOrEqual(reception.highest)
        expect(block.highestSequence).toBeGreaterThan(reception.base)
      }
      for (const { media } of joined) media.stop()
    } finally {
      RtcpPacketConverter.deSerialize = deSerialize
    }
  })

  it("counts a native sender's headers in the addon and unties one that names no packet it sent", async () => {
    const addon = rtpSinkAddon()
    if (typeof addon === 'string') throw new Error(addon)
    const socket = createSocket('udp4')
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
    const { port } = socket.address()
    const handed: number[] = []
    const sink = new addon.RtpSink(udpSocketFd(socket)!, (data) => handed.push(data.readUInt16BE(2)))
    socket.close() // the sink reads its own copy of the descriptor
    const sender = createSocket('udp4')
    try {
      const stats = new Float64Array(11)
      stats[0] = 100 // the sender has sent counters 0–99; sequence number = 5,000 + counter
      sink.tieNative(0x1234, 5_000, stats, 0, 7, 50)
      for (const seq of [5_060, 5_150, 5_061]) {
        const rtp = Buffer.alloc(40)
        rtp[0] = 0x80
        rtp[1] = 111
        rtp.writeUInt16BE(seq, 2)
        rtp.writeUInt32BE(0x1234, 8)
        await new Promise((resolve) => sender.send(rtp, port, '127.0.0.1', resolve))
      }
      await waitFor(
        () => {
          addon.pollAll()
          return handed.length === 2
        },
        'the untied headers handed on',
        5_000,
      )
      expect(handed).toEqual([5_150, 5_061]) // 150 not sent yet: untied, and the next one goes on too
      expect(sink.count(7, 0, 100)).toBe(2) // 50 (decrypted) and 60
      expect([...sink.receptions()]).toEqual([1, 1, 0x1234, 5_060, 5_150, 3])
    } finally {
      sink.close()
      sender.close()
    }
  })
})

/** The Unix time (s) of a compact NTP time (RFC 3550 §4: 16 bits of seconds, 16 of fraction) near `near`. */
function compactNtpSeconds(compact: number, near: number): number {
  const ntpNear = near + 2_208_988_800
  const seconds = (compact >>> 16) + (compact & 0xffff) / 65536
  const base = Math.floor(ntpNear / 65536) * 65536
  const candidates = [base - 65536, base, base + 65536].map((b) => b + seconds)
  const closest = candidates.reduce((a, b) => (Math.abs(b - ntpNear) < Math.abs(a - ntpNear) ? b : a))
  return closest - 2_208_988_800
}

/** The sender reports `client` sends from now on. */
function captureRtcp(client: TestClient): () => RtcpSrPacket[] {
  const reports: RtcpSrPacket[] = []
  const dtls = client.pc.dtlsTransports[0]!
  const sendRtcp = dtls.sendRtcp.bind(dtls)
  dtls.sendRtcp = (packets) => {
    reports.push(...packets.filter((p): p is RtcpSrPacket => p instanceof RtcpSrPacket))
    return sendRtcp(packets)
  }
  return () => reports
}

/** A decrypted Opus packet of the synthetic payload format with `counter` (e2e/sfu/media.ts). */
function fakePacket(ssrc: number, sequenceNumber: number, counter: number) {
  const payload = Buffer.alloc(80)
  payload[0] = 0xf8
  payload.writeUInt16BE(0x5048, 1)
  payload.writeUInt32BE(1, 3)
  payload.writeUInt32BE(counter, 7)
  payload.writeUInt32BE(counter, 11)
  return { header: { ssrc, sequenceNumber }, payload } as unknown as Parameters<
    HeaderCounter['onDecrypted']
  >[1]
}
