/**
 * TCP proxy mode through a corporate HTTP CONNECT proxy (issue 6), on loopback: the session request, the
 * wss signaling and the TURN-over-TLS probe allocation (which werift then carries on: docs/engine.md
 * "Join round trips", step T2) all go through the CONNECT proxy (every tunnel is to the Pinhole proxy's TCP port); two engines are Connected and frames
 * flow. A proxy that wants credentials the engine lacks fails the join with HttpProxyAuthRequired.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startConnectProxy, type ConnectProxy } from '../support/connectProxy'
import { startCallStack, type CallStack } from '../support/callStack'
import { ConnectionState as S, TransportType } from '../../src/shared/engine'
import { ErrorCode } from '../../src/shared/errors'
import { checkedFramesFrom, makePeer, until } from './harness'

let stack: CallStack
let corporate: ConnectProxy
let strict: ConnectProxy
beforeAll(async () => {
  stack = await startCallStack({ keyframeMinIntervalMs: 50 })
  corporate = await startConnectProxy({ user: { username: 'desk', password: 'pw' } })
  strict = await startConnectProxy({ user: { username: 'desk', password: 'pw' } })
})
afterAll(async () => {
  await Promise.allSettled([corporate?.close(), strict?.close()])
  await stack?.close()
})

describe('TCP proxy mode through an HTTP CONNECT proxy', () => {
  it('session, signaling and TURN over TLS all tunnel through it: Connected, frames both ways', async () => {
    const httpProxy = { host: '127.0.0.1', port: corporate.port, username: 'desk', password: 'pw' }
    const a = makePeer(stack, 81, TransportType.TCPProxy, { httpProxy })
    const b = makePeer(stack, 82, TransportType.TCPProxy, { httpProxy })
    try {
      expect(await a.engine.joinChannel(await stack.token('corp', 81), 'corp', 81)).toBe(0)
      expect(await b.engine.joinChannel(await stack.token('corp', 82), 'corp', 82)).toBe(0)
      a.startMedia()
      b.startMedia()
      await until(
        () => checkedFramesFrom(a, b) >= 10 && checkedFramesFrom(b, a) >= 10,
        'video both ways',
        8000,
      )
      for (const peer of [a, b]) {
        expect(peer.proxyConnected[0]).toMatchObject({ transport: 'tls' })
        expect(peer.errors).toEqual([])
      }
      // Per engine: session, TURN probe allocation (werift's too), signaling — nothing else, nowhere else.
      const target = `127.0.0.1:${stack.region.ports.tcp}`
      expect(new Set(corporate.requests)).toEqual(new Set([target]))
      expect(corporate.tunnels()).toBe(6)
      console.log(`tunnels through the CONNECT proxy for two engines: ${corporate.tunnels()}`)
    } finally {
      a.stopMedia()
      b.stopMedia()
      await Promise.all([a.engine.release(), b.engine.release()])
    }
  }, 30_000)

  it('a proxy that requires credentials, none given: the join fails with HttpProxyAuthRequired', async () => {
    const peer = makePeer(stack, 83, TransportType.TCPProxy, {
      httpProxy: { host: '127.0.0.1', port: strict.port },
    })
    try {
      expect(await peer.engine.joinChannel(await stack.token('corp', 83), 'corp', 83)).toBe(
        ErrorCode.HttpProxyAuthRequired,
      )
      expect(peer.states.at(-1)?.[0]).toBe(S.Failed)
      expect(peer.errors.map((e) => e.code)).toEqual([ErrorCode.HttpProxyAuthRequired])
    } finally {
      await peer.engine.release()
    }
  })
})
