/**
 * What the wire tests of the join's last steps share (e2e/engine/iceFastStart, dtlsFastStart, dtlsBesideCheck):
 * the UDP probe's TURN allocation on a real proxy, handed over as the call's PeerConnection takes it, and a
 * tap on that socket that sees every datagram both ways.
 */
import { RtpHeader, RtpPacket, type RTCIceServer, type RTCRtpTransceiver } from 'werift'
import type { PeerMedia } from '../../src/engine/media/peerMedia'
import { requestProxySession } from '../../src/engine/route/proxySessionClient'
import { allocateTurn, type HandedTurn } from '../../src/engine/route/turnProbe'
import { Method } from '../../src/protocol/stun/constants'
import { decodeMessage, getAttr } from '../../src/protocol/stun/message'
import { OPUS_PAYLOAD_TYPE } from '../../src/sfu/media/rtc'
import { startProxyFixture } from '../support/proxyFixture'

export { negotiate } from '../support/loopbackPeers'

export interface HandedRelay {
  handed: HandedTurn
  /** For a PeerMedia on it: the proxy's TURN server, relay only. */
  rtcConfig: { iceServers: RTCIceServer[]; iceTransportPolicy: 'relay' }
}

/** A real proxy (closed through `open`), a session on it, and its UDP probe allocation handed over. */
export async function handedRelay(open: { close(): unknown }[]): Promise<HandedRelay> {
  const proxy = await startProxyFixture()
  open.push(proxy)
  const session = await requestProxySession(proxy.region, await proxy.token())
  const { username, credential, realm, nonce } = session.info.turn
  const port = proxy.region.ports.udp[0]
  const allocation = await allocateTurn(
    { transport: 'udp', host: '127.0.0.1', port },
    { username, credential, ...(realm && nonce ? { realm, nonce } : {}) },
    { timeoutMs: 3000 },
  )
  return {
    handed: allocation.handover!()!,
    rtcConfig: {
      iceServers: [{ urls: `turn:127.0.0.1:${port}?transport=udp`, username, credential }],
      iceTransportPolicy: 'relay',
    },
  }
}

/** Calls `sent` with each datagram werift sends on the handed socket and `received` with each it gets. */
export function tapSocket(
  handed: HandedTurn,
  sent: (datagram: Buffer) => void,
  received: (datagram: Buffer) => void,
): void {
  const { socket } = handed
  const send = socket.send.bind(socket) as (data: Buffer, ...rest: unknown[]) => void
  ;(socket as unknown as { send: (data: Buffer, ...rest: unknown[]) => void }).send = (data, ...rest) => {
    sent(data)
    send(data, ...rest)
  }
  socket.on('message', received)
}

/** The DTLS payload of a datagram on the TURN socket: in a ChannelData frame or a Send/Data indication. */
export function dtlsIn(datagram: Buffer): Buffer | undefined {
  if (datagram.length >= 4 && datagram[0]! >= 0x40 && datagram[0]! <= 0x7f) {
    return datagram.subarray(4, 4 + datagram.readUInt16BE(2))
  }
  const outer = decodeMessage(datagram)
  if (!outer.ok || (outer.message.method !== Method.Send && outer.message.method !== Method.Data)) return
  return getAttr(outer.message, 'DATA')
}

/** Media both ways, numbered i: a key frame from the engine, an Opus packet from the server's `down`. */
export function sendEachWay(media: PeerMedia, down: RTCRtpTransceiver, i: number): void {
  const data = new Uint8Array(200).fill(i)
  data[0] = 0x10
  media.sendVideoFrame({ data, timestamp: i * 33_333, keyframe: true })
  const header = new RtpHeader({
    payloadType: OPUS_PAYLOAD_TYPE,
    sequenceNumber: i,
    timestamp: i * 960,
    marker: true,
    ssrc: 0x1234,
  })
  down.sender.sendRtp(new RtpPacket(header, Buffer.alloc(40, i)))
}
