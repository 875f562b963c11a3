/**
 * Issue 15, step 6 (docs/engine.md "Join round trips"): the proxy's session answer carries the TURN realm
 * and a nonce minted for the requesting address (proxy/wiring.ts `sessionNonces`, the TURN server's own
 * nonce key), so the engine's first Allocate with the session's credentials is authenticated at once: a
 * warm UDP join draws no 401. The nonce
 * is what a 401 would have given the same address, and only to a token holder; the TURN server still
 * refuses a forged one, an expired one and one minted for another address (438 with a fresh nonce), and
 * challenges a request without credentials (401). Real ProxyServer (and ConferenceServer) on loopback.
 */
import { createSocket, type Socket } from 'node:dgram'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requestProxySession, type ProxySession } from '../../src/engine/route/proxySessionClient'
import { allocateTurn } from '../../src/engine/route/turnProbe'
import { Method, StunClass, TRANSPORT_UDP } from '../../src/protocol/stun/constants'
import {
  decodeMessage,
  encodeMessage,
  getAttr,
  longTermKey,
  newTransactionId,
  type Attribute,
} from '../../src/protocol/stun/message'
import { sessionNonces } from '../../src/proxy/wiring'
import { TransportType } from '../../src/shared/engine'
import { startCallStack, type CallStack } from '../support/callStack'
import { testProxyConfig } from '../support/proxyConfig'
import { startProxyFixture, type ProxyFixture } from '../support/proxyFixture'
import { makePeer, until } from './harness'

describe('the session answer’s realm and nonce: no 401 on a UDP join (issue 15)', () => {
  let stack: CallStack
  beforeAll(async () => {
    stack = await startCallStack({})
  })
  afterAll(() => stack?.close())

  // A cold join's probes start before the session answer on the token's credentials and draw their 401
  // under the session request (step A, e2e/engine/earlyRelay.test.ts); a warm join's were made while it
  // was prepared (step K: their 401s then, off the join's path), and the join draws none.
  it('a warm join’s probes are answered at once, and werift’s requests need no new nonce', async () => {
    const errors = (): Record<string, number> => stack.proxyMetrics.snapshot().errors
    const peer = makePeer(stack, 1, TransportType.UDPProxy)
    try {
      const token = await stack.token('nonce', 1)
      const made = stack.proxyMetrics.snapshot().allocationsTotal
      expect(await peer.engine.prepareJoin(token, 'nonce', 1)).toBe(0)
      await until(() => stack.proxyMetrics.snapshot().allocationsTotal === made + 2, 'the kept allocations')
      const before = errors()
      expect(await peer.engine.joinChannel(token, 'nonce', 1)).toBe(0)
      // Without the nonce: one 401 per racing probe (3478 and 7070).
      expect((errors()['401'] ?? 0) - (before['401'] ?? 0)).toBe(0)
      expect((errors()['438'] ?? 0) - (before['438'] ?? 0)).toBe(0)
    } finally {
      await peer.engine.release()
    }
  })
})

describe('a nonce the TURN server did not mint for this address, or no longer accepts, is refused', () => {
  let proxy: ProxyFixture
  let session: ProxySession
  const sockets: Socket[] = []
  const nonces = sessionNonces(testProxyConfig().proxy!)
  beforeAll(async () => {
    proxy = await startProxyFixture()
    session = await requestProxySession(proxy.region, await proxy.token())
  })
  afterAll(async () => {
    for (const socket of sockets) socket.close()
    await proxy?.close()
  })

  /**
   * One Allocate from a fresh port (one allocation per 5-tuple), with credentials when `nonce` is given;
   * its answer's class, error code and nonce.
   */
  async function allocate(nonce?: string): Promise<{ ok: boolean; code?: number; nonce?: string }> {
    const socket = createSocket('udp4')
    sockets.push(socket)
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
    const { username, credential, realm } = session.info.turn
    const transactionId = newTransactionId()
    const attributes: Attribute[] = [{ name: 'REQUESTED_TRANSPORT', value: TRANSPORT_UDP }]
    if (nonce !== undefined) {
      attributes.push(
        { name: 'USERNAME', value: username },
        { name: 'REALM', value: realm! },
        { name: 'NONCE', value: nonce },
      )
    }
    const key = nonce === undefined ? undefined : longTermKey(username, realm!, credential)
    const data = encodeMessage(
      { cls: StunClass.Request, method: Method.Allocate, transactionId, attributes },
      { integrityKey: key, fingerprint: true },
    )
    const answer = new Promise<ReturnType<typeof decodeMessage>>((resolve) => {
      const onMessage = (message: Buffer): void => {
        const decoded = decodeMessage(message)
        if (!decoded.ok || !decoded.message.transactionId.equals(transactionId)) return
        socket.off('message', onMessage)
        resolve(decoded)
      }
      socket.on('message', onMessage)
    })
    socket.send(data, proxy.region.ports.udp[0], '127.0.0.1')
    const decoded = await answer
    if (!decoded.ok) throw new Error('undecodable answer')
    return {
      ok: decoded.message.cls === StunClass.SuccessResponse,
      code: getAttr(decoded.message, 'ERROR_CODE')?.code,
      nonce: getAttr(decoded.message, 'NONCE'),
    }
  }

  it('the session answer has them, and its nonce authenticates an Allocate from the same address', async () => {
    expect(session.info.turn.realm).toBe(testProxyConfig().proxy!.realm)
    expect(session.info.turn.nonce).toEqual(expect.any(String))
    expect(await allocate(session.info.turn.nonce)).toMatchObject({ ok: true })
  })

  it('a forged nonce: 438 with a fresh one', async () => {
    const real = session.info.turn.nonce!
    const forged = real.slice(0, -1) + (real.endsWith('0') ? '1' : '0')
    const answer = await allocate(forged)
    expect(answer).toMatchObject({ ok: false, code: 438 })
    expect(answer.nonce).toEqual(expect.any(String))
    expect(answer.nonce).not.toBe(forged)
  })

  it('an expired nonce (minted past the nonce lifetime): 438', async () => {
    const ttlMs = testProxyConfig().proxy!.nonceTtlSeconds * 1000
    const expired = nonces.make('127.0.0.1', Date.now() - ttlMs - 60_000)
    expect(await allocate(expired)).toMatchObject({ ok: false, code: 438 })
    // The same minting, now: accepted (what differs is only the time).
    expect(await allocate(nonces.make('127.0.0.1', Date.now()))).toMatchObject({ ok: true })
  })

  it('a nonce minted for another address: 438', async () => {
    expect(await allocate(nonces.make('192.0.2.7', Date.now()))).toMatchObject({ ok: false, code: 438 })
  })

  it('the engine’s probe given a stale nonce or another realm still allocates (438 or 401, then fresh ones)', async () => {
    const { username, credential } = session.info.turn
    const errors = (): Record<string, number> => proxy.metrics.snapshot().errors
    const before = errors()
    const ttlMs = testProxyConfig().proxy!.nonceTtlSeconds * 1000
    const target = { transport: 'udp' as const, host: '127.0.0.1', port: proxy.region.ports.udp[0] }
    for (const given of [
      { realm: session.info.turn.realm!, nonce: nonces.make('127.0.0.1', Date.now() - ttlMs - 60_000) },
      { realm: 'another-realm', nonce: session.info.turn.nonce! },
    ]) {
      const allocation = await allocateTurn(target, { username, credential, ...given }, { timeoutMs: 3000 })
      expect(allocation.relayed).toBeDefined()
      expect(await allocation.release()).toBe(true)
    }
    expect((errors()['438'] ?? 0) - (before['438'] ?? 0)).toBe(1)
    expect((errors()['401'] ?? 0) - (before['401'] ?? 0)).toBe(1)
  })

  it('no credentials at all: the usual 401 challenge', async () => {
    expect(await allocate()).toMatchObject({ ok: false, code: 401 })
  })
})
