import { isIPv4 } from 'node:net'
import { RTCPeerConnection, type RTCPeerConnectionConfig } from 'werift'
import { weriftCodecs, weriftHeaderExtensions } from '../../protocol/media/codecs'
import { handshakesInOrderOnStart } from '../../protocol/media/dtlsInOrder'
import { requestRetransmissions } from '../../protocol/media/nackRequester'
import { OPUS_CODEC, VP8_CODEC } from '../../shared/codecs'
import type { SfuConfig } from '../config'
import { skipCookieExchange } from './dtlsFastStart'
import { onEachDtlsTransport } from './dtlsTransports'
import { gateDtlsOnChecks } from './dtlsGate'
import { decryptNatively } from './srtpIn'

/**
 * How the server's werift PeerConnections are configured (docs/sfu.md, "Media").
 *
 * - ICE lite (RFC 8445 §2.5): the server answers connectivity checks and sends none of its own, so it
 *   never probes anything; the client (full ICE, controlling) picks the pair.
 * - Exactly one host candidate, on the announced address: werift's interface enumeration is switched off
 *   (`iceUseIpv4/6: false`) and the announced address is added as the only host address; its socket binds
 *   to `rtcListenHost` (or `listenHost`).
 * - `iceServers: []` explicitly, and ICE lite: werift's default is a public Google STUN server, and a full
 *   agent with no STUN server falls back to it; a lite agent gathers no server-reflexive candidate at all.
 * - One codec per kind (Opus, VP8): forwarding never has to translate payloads, only payload types and
 *   SSRCs, which werift's RTCRtpSender rewrites to its own on every packet.
 * - Transport-wide sequence numbers (the header extension) on both directions; the server reports what it
 *   received from the client (TwccFeedbackSender, docs/media.md "Bandwidth estimation").
 */

export const OPUS_PAYLOAD_TYPE = OPUS_CODEC.payloadType
export const VP8_PAYLOAD_TYPE = VP8_CODEC.payloadType

export function serverPeerConfig(config: SfuConfig): RTCPeerConnectionConfig {
  const bind = config.rtcListenHost ?? config.listenHost
  return {
    codecs: weriftCodecs(),
    headerExtensions: weriftHeaderExtensions(),
    bundlePolicy: 'max-bundle',
    iceServers: [],
    iceLite: true,
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceUseTcp: false,
    iceAdditionalHostAddresses: [config.announcedAddress],
    iceInterfaceAddresses: isIPv4(config.announcedAddress) ? { udp4: bind } : { udp6: bind },
    ...(config.rtcPortRange ? { icePortRange: config.rtcPortRange } : {}),
  }
}

/** A conference server PeerConnection (werift's, as `serverPeerConnection` makes it). */
export type ServerPeerConnection = RTCPeerConnection

/**
 * A conference server PeerConnection: `serverPeerConfig`, DTLS without the cookie exchange (dtlsFastStart.ts)
 * and its handshake messages taken in order (a lost one waits for its retransmission: dtlsInOrder.ts),
 * a ClientHello that comes right behind an authenticated check kept until the DTLS server listens
 * (dtlsGate.ts), received SRTP decrypted by the native addon when it is built (srtpIn.ts); NACKs to the
 * publishers asked again once per round trip (nackRequester.ts), not werift's.
 */
export function serverPeerConnection(config: SfuConfig): RTCPeerConnection {
  const pc = new RTCPeerConnection(serverPeerConfig(config))
  requestRetransmissions(pc)
  skipCookieExchange(pc)
  onEachDtlsTransport(pc, handshakesInOrderOnStart)
  gateDtlsOnChecks(pc)
  decryptNatively(pc)
  return pc
}
