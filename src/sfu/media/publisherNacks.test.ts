/**
 * The conference server's NACKs to a publisher (docs/media.md "Recovery", step 1): a real server
 * PeerConnection (`serverPeerConnection`) receiving video from a werift publisher on loopback whose sender
 * retransmits as the engine's does (at most once per packet per 100 ms, nackPacing.ts). A packet is
 * dropped on its way out, and so is its first retransmission: werift's receiver asked eleven times within
 * 55 ms and never again, so the server never had the packet to forward.
 */
import { describe, expect, it } from 'vitest'
import { RTCPeerConnection, RtpHeader, RtpPacket } from 'werift'
import { interceptNacks, RetransmitPacer } from '../../protocol/media/nackPacing'
import { SfuConfigSchema } from '../config'
import { serverPeerConnection, VP8_PAYLOAD_TYPE } from './rtc'
import { closedAfterEach, until } from '../../../e2e/support/loopbackPeers'

const open = closedAfterEach()

describe('conference server NACKs to a publisher', () => {
  it('asks again for a packet whose first retransmission was lost too', async () => {
    const server = serverPeerConnection(SfuConfigSchema.parse({}))
    const publisher = new RTCPeerConnection({
      iceUseIpv4: false,
      iceUseIpv6: false,
      iceAdditionalHostAddresses: ['127.0.0.1'],
    })
    open.push(server, publisher)
    const received = new Map<number, number>()
    server.addTransceiver('video', { direction: 'recvonly' }).onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe(({ header }) => {
        received.set(header.sequenceNumber, (received.get(header.sequenceNumber) ?? 0) + 1)
      })
    })
    await server.setLocalDescription(await server.createOffer())
    const published = publisher.addTransceiver('video', { direction: 'sendonly' })
    await publisher.setRemoteDescription(server.localDescription!)
    await publisher.setLocalDescription(await publisher.createAnswer())
    await server.setRemoteDescription(publisher.localDescription!)
    await until(() => server.connectionState === 'connected' && publisher.connectionState === 'connected')
    // The engine's retransmissions to the server: one per packet per 100 ms.
    const pacer = new RetransmitPacer()
    const asked: number[] = []
    interceptNacks(published.sender, (lost) => {
      asked.push(...lost)
      return pacer.allow(lost, performance.now())
    })
    const victim = 1005
    let dropped = 0
    const dtls = published.sender.dtlsTransport
    const sendRtp = dtls.sendRtp.bind(dtls)
    dtls.sendRtp = (payload: Buffer, header: RtpHeader) => {
      if (header.sequenceNumber === victim && dropped < 2) {
        dropped++
        return Promise.resolve(0)
      }
      return sendRtp(payload, header)
    }

    // A VP8 payload (descriptor S=1, a delta frame) is enough: the server's receiver only numbers packets.
    const payload = Buffer.from([0x10, 0x01, 0x00, 0x00, 0x00, 0x00])
    let seq = 900
    const send = () =>
      published.sender.sendRtp(
        new RtpPacket(
          new RtpHeader({ payloadType: VP8_PAYLOAD_TYPE, sequenceNumber: seq++, timestamp: seq * 90 }),
          payload,
        ),
      )
    // The first packets may go out before the server knows the stream: until one arrives.
    while (received.size === 0) {
      if (seq > 960) throw new Error('no packet arrived')
      await send()
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    seq = victim - 1
    for (let i = 0; i < 3; i++) await send()

    await until(() => received.has(victim))
    expect(dropped).toBe(2)
    expect(asked.filter((s) => s === victim).length).toBeGreaterThan(1)
  })
})
