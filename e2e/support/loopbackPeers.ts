/**
 * What the tests that connect real werift PeerConnections on loopback in one process share: the loopback
 * ICE settings, a bundled configuration with our codecs and header extensions, the list of what a test
 * opened (closed after each test), a polling wait, and the engine's PeerMedia negotiated with a werift
 * PeerConnection in the conference server's place.
 */
import { afterEach } from 'vitest'
import type { RTCPeerConnection, RTCPeerConnectionConfig } from 'werift'
import type { OfferMessage, PeerMedia } from '../../src/engine/media/peerMedia'
import { weriftCodecs, weriftHeaderExtensions } from '../../src/protocol/media/codecs'

/** ICE on the loopback host candidate only: no STUN or TURN server, no interface addresses. */
export const LOOPBACK_ICE: RTCPeerConnectionConfig = {
  iceServers: [],
  iceUseIpv4: false,
  iceUseIpv6: false,
  iceAdditionalHostAddresses: ['127.0.0.1'],
}

/** A peer with our codecs (or `codecs`) and header extensions, bundled, on loopback. */
export function loopbackConfig(codecs = weriftCodecs()): Partial<RTCPeerConnectionConfig> {
  return { codecs, headerExtensions: weriftHeaderExtensions(), bundlePolicy: 'max-bundle', ...LOOPBACK_ICE }
}

/** What a test opens: called at a test file's top level, everything pushed is closed after each test. */
export function closedAfterEach(): { close(): unknown }[] {
  const open: { close(): unknown }[] = []
  afterEach(async () => {
    for (const thing of open.splice(0)) await thing.close()
  })
  return open
}

/** Resolves once `check()` holds (polled every 10 ms); throws after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/**
 * The conference server's offer (its transceivers added by the caller: mids 0 and 1 receive the engine's
 * audio and video unless `publish` says otherwise, later ones are `subscriptions`), the engine's answer, and
 * ICE + DTLS connected: the answer's SDP.
 */
export async function negotiate(
  server: RTCPeerConnection,
  media: PeerMedia,
  subscriptions: OfferMessage['subscriptions'] = [],
  publish: OfferMessage['publish'] = [
    { mid: '0', kind: 'audio' },
    { mid: '1', kind: 'video' },
  ],
): Promise<string> {
  await server.setLocalDescription(await server.createOffer())
  const sdp = await media.answer({
    type: 'offer',
    v: 1,
    seq: 1,
    sdp: server.localDescription!.sdp,
    publish,
    subscriptions,
  })
  await server.setRemoteDescription({ type: 'answer', sdp })
  await media.connected()
  return sdp
}
