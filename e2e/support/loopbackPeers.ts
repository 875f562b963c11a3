/**
 * What the tests that connect real werift PeerConnections on loopback in one process share: the loopback
 * ICE settings, a bundled configuration with our codecs and header extensions, the list of what a test
 * opened (closed after each test) and a polling wait.
 */
import { afterEach } from 'vitest'
import type { RTCPeerConnectionConfig } from 'werift'
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
