/**
 * The selection's rtcConfig is what werift is built with: two werift peers given exactly that config
 * connect through the proxy's TURN over TLS, pinned by fingerprint (the case with the most moving parts).
 */
import { RTCPeerConnection } from 'werift'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { TransportType } from '../../shared/engine'
import { requestProxySession } from './proxySessionClient'
import { startProxyFixture, type ProxyFixture } from '../../../e2e/support/proxyFixture'
import { selectTransport } from './pathSelect'

let proxy: ProxyFixture
beforeAll(async () => {
  proxy = await startProxyFixture()
})
afterAll(() => proxy.close())

function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve()
  return new Promise((resolve) => pc.iceGatheringStateChange.subscribe((s) => s === 'complete' && resolve()))
}

it('werift peers built with the TCP-proxy selection connect relay-only over pinned TLS', async () => {
  const session = await requestProxySession(proxy.region, await proxy.token())
  const selection = await selectTransport({
    mode: TransportType.TCPProxy,
    proxy: { region: proxy.region, session },
  })
  expect(selection.rtcConfig.iceServers).toHaveLength(1)
  const offerer = new RTCPeerConnection(selection.rtcConfig)
  const answerer = new RTCPeerConnection(selection.rtcConfig)
  try {
    const channel = offerer.createDataChannel('probe')
    const received = new Promise<string>((resolve) =>
      answerer.onDataChannel.subscribe((c) => c.onMessage.subscribe((m) => resolve(String(m)))),
    )
    await offerer.setLocalDescription(await offerer.createOffer())
    await gathered(offerer)
    await answerer.setRemoteDescription(offerer.localDescription!)
    await answerer.setLocalDescription(await answerer.createAnswer())
    await gathered(answerer)
    await offerer.setRemoteDescription(answerer.localDescription!)
    await new Promise<void>((resolve) => channel.stateChanged.subscribe((s) => s === 'open' && resolve()))
    channel.send('through the proxy')
    expect(await received).toBe('through the proxy')
    const candidates = offerer
      .localDescription!.sdp.split(/\r?\n/)
      .filter((l) => l.startsWith('a=candidate:'))
    expect(candidates.length).toBeGreaterThan(0)
    for (const line of candidates) expect(line).toMatch(/ typ relay/)
  } finally {
    await Promise.all([offerer.close(), answerer.close()])
  }
})
