/**
 * A lost retransmission is asked for again (docs/media.md "Recovery", step 1): a real PeerMedia receiving
 * video from a werift PeerConnection configured as the conference server's, on loopback, whose sender
 * retransmits as the server's does (at most once per packet per 100 ms, nackPacing.ts). One packet of a
 * frame is dropped on its way out, and so is its first retransmission. werift's own receiver asked eleven
 * times within 55 ms and never again, so the sender answered once, that answer was lost, and the frame
 * never completed.
 */
import { describe, expect, it } from 'vitest'
import { RTCPeerConnection, type RtpHeader } from 'werift'
import type { RemoteFrame } from '../../shared/engine'
import { interceptNacks, RetransmitPacer } from '../../protocol/media/nackPacing'
import { SfuConfigSchema } from '../../sfu/config'
import { serverPeerConfig } from '../../sfu/media/rtc'
import { closedAfterEach, LOOPBACK_ICE, negotiate, until } from '../../../e2e/support/loopbackPeers'
import { PeerMedia, VP8_PAYLOAD_TYPE } from './peerMedia'
import { Vp8TemporalSender } from './rtp/vp8Temporal'

const open = closedAfterEach()

/** A VP8 frame of `size` bytes: a key frame (start code, 320x180) or a delta frame. */
function vp8Frame(size: number, key: boolean, fill: number): Uint8Array {
  const data = new Uint8Array(size).fill(fill)
  data.set(key ? [0x50, 0, 0, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xb4, 0x00] : [0x51, 0, 0])
  return data
}

describe('PeerMedia NACKs', () => {
  it('asks again for a packet whose first retransmission was lost too, and the frame completes', async () => {
    const server = new RTCPeerConnection(serverPeerConfig(SfuConfigSchema.parse({})))
    const media = new PeerMedia({ rtcConfig: LOOPBACK_ICE })
    open.push(media, server)
    server.addTransceiver('audio', { direction: 'recvonly' })
    server.addTransceiver('video', { direction: 'recvonly' })
    server.addTransceiver('video', { direction: 'recvonly' })
    const forwarded = server.addTransceiver('video', { direction: 'sendonly' })
    // The conference server's retransmissions to a subscriber: one per packet per 100 ms.
    const pacer = new RetransmitPacer()
    const asked: number[] = []
    interceptNacks(forwarded.sender, (lost) => {
      asked.push(...lost)
      return pacer.allow(lost, performance.now())
    })
    await negotiate(
      server,
      media,
      [{ mid: '3', uid: 7, trackId: 't7', kind: 'video' }],
      [
        { mid: '0', kind: 'audio' },
        { mid: '1', kind: 'video' },
        { mid: '2', kind: 'screen' },
      ],
    )
    const frames: RemoteFrame[] = []
    media.on('frame', (kind, frame) => {
      if (kind === 'video') frames.push(frame)
    })

    // Drops the victim's first two sends (the packet and its first retransmission) before they go out.
    let victim = -1
    let dropped = 0
    const dtls = forwarded.sender.dtlsTransport
    const sendRtp = dtls.sendRtp.bind(dtls)
    dtls.sendRtp = (payload: Buffer, header: RtpHeader) => {
      if (header.ssrc === forwarded.sender.ssrc && header.sequenceNumber === victim && dropped < 2) {
        dropped++
        return Promise.resolve(0)
      }
      return sendRtp(payload, header)
    }

    const packetizer = new Vp8TemporalSender({ payloadType: VP8_PAYLOAD_TYPE })
    const packetize = (index: number, key: boolean) =>
      packetizer.packetize(vp8Frame(key ? 3000 : 2500, key, index), index * 3000)
    // The first packets may go out before the engine knows the stream: key frames until one arrives.
    for (let index = 0; frames.length === 0; index++) {
      if (index === 50) throw new Error('no key frame arrived')
      for (const packet of packetize(index, true)) await forwarded.sender.sendRtp(packet)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    frames.length = 0
    const lossy = packetize(100, false)
    expect(lossy.length).toBe(3)
    victim = lossy[1]!.header.sequenceNumber
    for (const packet of lossy) await forwarded.sender.sendRtp(packet)
    for (const packet of packetize(101, false)) await forwarded.sender.sendRtp(packet)

    await until(() => frames.length === 2)
    expect(dropped).toBe(2)
    expect(asked.filter((seq) => seq === victim).length).toBeGreaterThan(1)
    // The lossy frame, whole, before the next one.
    expect(frames.map((frame) => [frame.keyFrame, frame.data.length, frame.data[20]])).toEqual([
      [false, 2500, 100],
      [false, 2500, 101],
    ])
  })
})
