/**
 * RtpOut between two real werift PeerConnections on loopback (real UDP, DTLS, SRTP): the server's
 * forwarding path writes the subscriber's header itself, encrypts with werift's session and keeps werift's
 * sender bookkeeping (NACK history, sender reports) right; the werift internals it uses are pinned here, so
 * an upgrade that moves one fails in this file.
 */
import { describe, expect, it } from 'vitest'
import {
  GenericNack,
  RTCPeerConnection,
  RtcpSrPacket,
  RtcpTransportLayerFeedback,
  RtpHeader,
  RtpPacket,
  type RTCRtpTransceiver,
} from 'werift'
import { loadMediaAddon, type MediaAddonLoad } from '../../platform/nativeAddon'
import { closedAfterEach, loopbackConfig as config, until } from '../../../e2e/support/loopbackPeers'
import { twccExtensionId } from '../../protocol/media/twccTransport'
import { ntpNow, RtpOut } from './rtpOut'

const open = closedAfterEach()

/** The server's sendonly video m-line to a client, connected. */
async function connected(): Promise<{ client: RTCPeerConnection; video: RTCRtpTransceiver }> {
  const server = new RTCPeerConnection(config())
  const client = new RTCPeerConnection(config())
  open.push(server, client)
  const video = server.addTransceiver('video', { direction: 'sendonly' })
  await server.setLocalDescription(await server.createOffer())
  await client.setRemoteDescription(server.localDescription!)
  await client.setLocalDescription(await client.createAnswer())
  await server.setRemoteDescription(client.localDescription!)
  await until(() => server.connectionState === 'connected' && client.connectionState === 'connected', 20_000)
  return { client, video }
}

/** What the client's transport decrypted, in arrival order. */
function received(client: RTCPeerConnection): RtpPacket[] {
  const packets: RtpPacket[] = []
  const { unSubscribe } = client.dtlsTransports[0]!.onRtp.subscribe((packet) => packets.push(packet))
  open.push({ close: unSubscribe })
  return packets
}

/** A publisher's packet as the server receives it: its own SSRC, numbers and transport-wide sequence. */
function published(i: number, twccId: number): RtpPacket {
  const header = new RtpHeader({
    ssrc: 0x1234,
    payloadType: 96,
    sequenceNumber: (65_530 + i) & 0xffff,
    timestamp: 4_000_000_000 + i * 3000,
    marker: i % 4 === 3,
    extensions: [{ id: twccId, payload: Buffer.from([0xab, 0xcd]) }],
  })
  return new RtpPacket(header, Buffer.alloc(300 + i, i))
}

const COUNT = 40

const NATIVE = loadMediaAddon()
const WITHOUT_ADDON: MediaAddonLoad = { ok: false, reason: 'the JS path under test' }

describe.each([
  ['native SRTP send (pinhole_media)', NATIVE],
  ['node:crypto and dgram (no addon)', WITHOUT_ADDON],
])('RtpOut: the forwarding path over werift, %s', (_, addon) => {
  it("writes the m-line's SSRC and payload type, continuous numbers and the transport's own sequence", async () => {
    const { client, video } = await connected()
    const packets = received(client)
    const twccId = twccExtensionId(video)!
    expect(twccId).toBeDefined()
    const out = new RtpOut(video, addon)
    // As the conference server does when an m-line gets a (new) publisher: werift fixes the offsets.
    video.sender.replaceRTP({ sequenceNumber: 0, timestamp: 0 })
    for (let i = 0; i < COUNT; i++) {
      // Half in the turn of werift's send (dgram sends a tick later: the native send must not overtake
      // it), half in later turns, as packets arriving from the publisher are.
      if (i >= COUNT / 2) await new Promise((resolve) => setImmediate(resolve))
      await out.send(published(i, twccId))
    }
    await until(() => packets.length === COUNT)

    // The first packet went through werift (it settles the continuity offsets), the rest here.
    expect(out.fastPackets).toBe(COUNT - 1)
    expect(out.nativePackets).toBe(addon.ok ? COUNT / 2 : 0)
    const first = packets[0]!.header
    packets.forEach((packet, i) => {
      expect(packet.header.ssrc).toBe(video.sender.ssrc)
      expect(packet.header.payloadType).toBe(96)
      expect(packet.header.sequenceNumber).toBe((first.sequenceNumber + i) & 0xffff)
      expect(packet.header.timestamp).toBe((first.timestamp + i * 3000) >>> 0)
      expect(packet.header.marker).toBe(i % 4 === 3)
      expect(packet.payload.equals(Buffer.alloc(300 + i, i))).toBe(true)
    })
    // The subscriber's transport-wide numbers, one per packet, never the publisher's (0xabcd) that
    // werift's sender merged back in.
    const twcc = packets.slice(1).map((p) => p.header.extensions.find((e) => e.id === twccId)!.payload)
    const sequences = twcc.map((payload) => payload.readUInt16BE(0))
    expect(sequences).not.toContain(0xabcd)
    sequences.forEach((seq, i) => expect(seq).toBe(sequences[0]! + i))
  })

  it("answers a NACK from werift's history and reports the packets sent in its sender reports", async () => {
    const { client, video } = await connected()
    const packets = received(client)
    const reports: RtcpSrPacket[] = []
    const { unSubscribe } = client.dtlsTransports[0]!.onRtcp.subscribe((packet) => {
      if (packet instanceof RtcpSrPacket) reports.push(packet)
    })
    open.push({ close: unSubscribe })
    const out = new RtpOut(video, addon)
    const twccId = twccExtensionId(video)!
    let bytes = 0
    for (let i = 0; i < COUNT; i++) {
      const packet = published(i, twccId)
      bytes += packet.payload.length
      await out.send(packet)
    }
    expect(out.fastPackets).toBe(COUNT)
    expect(out.nativePackets).toBe(addon.ok ? COUNT : 0)
    await until(() => packets.length === COUNT)

    const lost = packets[COUNT - 5]!.header.sequenceNumber
    const nack = new GenericNack({ senderSsrc: 1, mediaSourceSsrc: video.sender.ssrc, lost: [lost] })
    video.sender.handleRtcpPacket(new RtcpTransportLayerFeedback({ feedback: nack }))
    await until(() => packets.length === COUNT + 1)
    expect(packets[COUNT]!.header.sequenceNumber).toBe(lost)
    expect(packets[COUNT]!.payload.equals(packets[COUNT - 5]!.payload)).toBe(true)

    // werift sends its first report within 1.5 s of the first packet.
    await until(() => reports.length > 0, 4000)
    const info = reports[0]!.senderInfo
    expect(info.packetCount).toBe(COUNT)
    expect(info.octetCount).toBe(bytes)
    expect(info.rtpTimestamp).toBe(packets[COUNT - 1]!.header.timestamp)
    const sentAtMs = Number(info.ntpTimestamp >> 32n) * 1000 - 2_208_988_800_000
    expect(Math.abs(sentAtMs - Date.now())).toBeLessThan(5000)
  })
})

describe('ntpNow', () => {
  it('is seconds since 1900 and their binary fraction', () => {
    expect(ntpNow(0)).toBe(2_208_988_800n << 32n)
    expect(ntpNow(1500)).toBe((2_208_988_801n << 32n) | 0x8000_0000n)
    expect(ntpNow(250)).toBe((2_208_988_800n << 32n) | 0x4000_0000n)
  })
})
