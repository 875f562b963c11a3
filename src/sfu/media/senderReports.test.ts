/**
 * The node's sender reports (senderReports.ts) between real werift PeerConnections on loopback: one compound
 * per subscriber transport with every sender's report and CNAME, werift's counts and cadence, no werift loop
 * per sender, the round trip still measured from the subscriber's receiver reports, stopped senders and
 * closed transports dropped, and a compound that would outgrow a datagram split.
 */
import { describe, expect, it } from 'vitest'
import {
  RTCPeerConnection,
  RtcpSourceDescriptionPacket,
  RtcpSrPacket,
  RtpHeader,
  RtpPacket,
  type RtcpPacket,
  type RTCRtpTransceiver,
} from 'werift'
import {
  closedAfterEach,
  loopbackConfig as config,
  until as waitUntil,
} from '../../../e2e/support/loopbackPeers'
import { RtpOut } from './rtpOut'
import { SenderReports } from './senderReports'

const open = closedAfterEach()

// The waits here span several of werift's report intervals (about a second each): 10 s unless told.
const until = (check: () => boolean, timeoutMs = 10_000): Promise<void> => waitUntil(check, timeoutMs)

interface Sent {
  at: number
  packets: RtcpPacket[]
  bytes: number
}

/** A server sending on `kinds` m-lines to a werift client; every RTCP compound its transport sends. */
async function connected(kinds: ('audio' | 'video')[]) {
  const server = new RTCPeerConnection(config())
  const client = new RTCPeerConnection(config())
  open.push(server, client)
  const lines = kinds.map((kind) => server.addTransceiver(kind, { direction: 'sendonly' }))
  await server.setLocalDescription(await server.createOffer())
  await client.setRemoteDescription(server.localDescription!)
  await client.setLocalDescription(await client.createAnswer())
  await server.setRemoteDescription(client.localDescription!)
  await until(() => server.connectionState === 'connected' && client.connectionState === 'connected', 20_000)
  const dtls = server.dtlsTransports[0]!
  const sent: Sent[] = []
  const sendRtcp = dtls.sendRtcp.bind(dtls)
  dtls.sendRtcp = (packets) => {
    const bytes = packets.reduce((sum, packet) => sum + packet.serialize().length, 0)
    sent.push({ at: Date.now(), packets, bytes })
    return sendRtcp(packets)
  }
  const reports: RtcpSrPacket[] = []
  const { unSubscribe } = client.dtlsTransports[0]!.onRtcp.subscribe((packet) => {
    if (packet instanceof RtcpSrPacket) reports.push(packet)
  })
  open.push({ close: unSubscribe })
  return { server, lines, sent, reports }
}

/** `count` packets on `line` through RtpOut; the payload octets sent. */
async function send(out: RtpOut, count: number, ssrc = 0x1234): Promise<number> {
  let bytes = 0
  for (let i = 0; i < count; i++) {
    const header = new RtpHeader({ ssrc, payloadType: 96, sequenceNumber: i, timestamp: i * 3000 })
    const packet = new RtpPacket(header, Buffer.alloc(100 + i, i))
    bytes += packet.payload.length
    await out.send(packet)
  }
  return bytes
}

const ssrcOf = (line: RTCRtpTransceiver) => line.sender.ssrc
const srSources = (packets: RtcpPacket[]) =>
  packets.filter((p): p is RtcpSrPacket => p instanceof RtcpSrPacket).map((p) => p.ssrc)

describe('SenderReports: one timer for the sender reports of the node', () => {
  it("sends one compound per transport at werift's cadence, with werift's counts, and no werift loop", async () => {
    const reports = new SenderReports()
    const { lines, sent, reports: received } = await connected(['audio', 'video'])
    const [audio, video] = lines as [RTCRtpTransceiver, RTCRtpTransceiver]
    const outs = lines.map((line) => new RtpOut(line, undefined, reports))
    // As the conference server does for a new subscription: the first packet goes through werift's
    // sendRtp, which starts werift's own report loop unless the sender is taken over before.
    for (const line of lines) line.sender.replaceRTP({ sequenceNumber: 0, timestamp: 0 })
    const audioBytes = await send(outs[0]!, 5)
    const videoBytes = await send(outs[1]!, 12)
    await until(() => sent.length >= 3 && received.filter((r) => r.ssrc === ssrcOf(video)).length >= 3)

    const both = [ssrcOf(audio), ssrcOf(video)].sort()
    for (const { packets } of sent) {
      // werift's own loop would send one report and one CNAME per datagram.
      expect(srSources(packets).sort()).toEqual(both)
      expect(packets.map((p) => p.type)).toEqual([200, 200, 202, 202])
      const names = packets.filter((p) => p instanceof RtcpSourceDescriptionPacket)
      expect(names.map((p) => p.chunks[0]!.source).sort()).toEqual(both)
      expect(names.every((p) => p.chunks[0]!.items[0]!.text.length > 0)).toBe(true)
    }
    for (let i = 1; i < sent.length; i++) expect(sent[i]!.at - sent[i - 1]!.at).toBeGreaterThanOrEqual(450)
    const last = (ssrc: number) => received.filter((r) => r.ssrc === ssrc).at(-1)!.senderInfo
    expect(last(ssrcOf(audio))).toMatchObject({ packetCount: 5, octetCount: audioBytes })
    expect(last(ssrcOf(video))).toMatchObject({ packetCount: 12, octetCount: videoBytes })
    // The subscriber's receiver reports name the last report (LSR): werift's sender measures the round trip.
    await until(() => (video.sender as unknown as { rtt?: number }).rtt !== undefined)
  })

  it('drops a stopped sender and a closed transport, and then stops its timer', async () => {
    const reports = new SenderReports()
    const { server, lines, sent } = await connected(['audio', 'video'])
    const [audio, video] = lines as [RTCRtpTransceiver, RTCRtpTransceiver]
    for (const line of lines) await send(new RtpOut(line, undefined, reports), 3)
    await until(() => sent.length >= 1)
    video.sender.stop()
    const stoppedAt = sent.length
    await until(() => sent.length >= stoppedAt + 2)
    expect(
      sent.slice(stoppedAt + 1).every(({ packets }) => srSources(packets).join() === String(ssrcOf(audio))),
    ).toBe(true)
    expect(reports.size).toBe(1)
    await server.close()
    await until(() => reports.size === 0)
  })

  it('splits a compound that would outgrow a datagram, and the subscriber reads every report', async () => {
    const reports = new SenderReports()
    const { lines, sent, reports: received } = await connected(Array<'video'>(40).fill('video'))
    for (const line of lines) await send(new RtpOut(line, undefined, reports), 2)
    const all = lines.map(ssrcOf).sort()
    await until(() => all.every((ssrc) => received.some((r) => r.ssrc === ssrc)))
    // One round's compounds leave in the same tick; the next round comes ≥ 0.5 s later.
    const round = sent.filter(({ at }) => at - sent[0]!.at < 200)
    expect(round.length).toBeGreaterThan(1)
    expect(round.flatMap(({ packets }) => srSources(packets)).sort()).toEqual(all)
    for (const { bytes } of sent) expect(bytes).toBeLessThanOrEqual(1000)
  })
})
