/**
 * Over real UDP sockets, with the public-internet rate limit (20 failed authentications per second per
 * address, bucket 40): an office of desktops behind one NAT address all get their 401 challenge, a flood
 * of failed authentications from that address is still limited without locking the office out (issue 10
 * item 5), and requests with malformed attribute values get 400 (item 7).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../platform/logger'
import { ProxyMetrics } from './metrics'
import { makeTurnUsername, turnRestCredential } from '../protocol/auth/turnRest'
import { ProxyServer } from './proxyServer'
import { AttrType, Method, StunClass } from '../protocol/stun/constants'
import {
  decodeMessage,
  encodeMessage,
  getAttr,
  newTransactionId,
  type Attribute,
  type DecodedMessage,
} from '../protocol/stun/message'
import { MALFORMED_VALUES, rawMessage, tlv } from '../../e2e/support/malformedStun'
import { TEST_TURN_SECRET, testProxyConfig } from '../../e2e/support/proxyConfig'
import { TestTurnClient } from '../../e2e/support/turnClient'

const RATE = 20
const BURST = 40
const ALLOCATE = [{ name: 'REQUESTED_TRANSPORT' as const, value: 17 }]
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function credentials(uid: string): { username: string; password: string } {
  const username = makeTurnUsername(uid, 600, Date.now())
  return { username, password: turnRestCredential(TEST_TURN_SECRET, username) }
}

/** A raw UDP socket on loopback that collects every decodable answer. */
async function rawSocket(): Promise<{ socket: UdpSocket; answers: DecodedMessage[] }> {
  const socket = createSocket('udp4')
  const answers: DecodedMessage[] = []
  socket.on('message', (data) => {
    const decoded = decodeMessage(data)
    if (decoded.ok) answers.push(decoded.message)
  })
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  return { socket, answers }
}

describe('ProxyServer TURN admission over UDP, one source address', () => {
  let server: ProxyServer
  let metrics: ProxyMetrics
  let port: number

  beforeAll(async () => {
    metrics = new ProxyMetrics({ defaultMetrics: false })
    const config = testProxyConfig({
      proxy: { rateLimit: { unauthenticatedPerSecond: RATE, burst: BURST } },
    })
    server = await ProxyServer.start(config, { logger: createLogger('silent'), metrics })
    port = server.addresses().udp[0]!
  })

  afterAll(async () => {
    await server.close()
  })

  it('gives all 200 desktops behind one address their 401 challenge', async () => {
    const office = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        TestTurnClient.connect('udp', '127.0.0.1', port, credentials(`d${i}`)),
      ),
    )
    try {
      // The clients retransmit every 250 ms, as a desktop would, for at most 7.5 s.
      const answers = await Promise.allSettled(
        office.map((c) => c.transact(Method.Allocate, ALLOCATE, { auth: false, timeoutMs: 7500 })),
      )
      const codes = answers.map((a) =>
        a.status === 'fulfilled' ? getAttr(a.value, 'ERROR_CODE')?.code : 'none',
      )
      expect(codes.filter((c) => c === 401)).toHaveLength(200)
      expect(metrics.snapshot().rateLimited).toBe(0)
    } finally {
      for (const c of office) c.close()
    }
  }, 20_000)

  it('still limits a flood of failed authentications, and the colleagues behind it still get in', async () => {
    const { socket, answers } = await rawSocket()
    try {
      // One challenge for a nonce, then 300 Allocates with a wrong password as fast as the socket goes.
      socket.send(allocate([]), port, '127.0.0.1')
      for (let i = 0; i < 50 && answers.length === 0; i++) await sleep(20)
      const nonce = getAttr(answers.shift()!, 'NONCE')!
      const attacker = credentials('attacker').username
      const started = Date.now()
      for (let i = 0; i < 300; i++) socket.send(allocate([attacker, nonce]), port, '127.0.0.1')
      const colleague = await TestTurnClient.connect('udp', '127.0.0.1', port, credentials('colleague'))
      const granted = await colleague.allocate()
      colleague.close()
      await sleep(500)
      const elapsedSeconds = (Date.now() - started) / 1000

      expect(granted.cls).toBe(StunClass.SuccessResponse)
      const refused = answers.filter((a) => getAttr(a, 'ERROR_CODE')?.code === 401)
      expect(refused).toHaveLength(answers.length)
      expect(refused.length).toBeGreaterThanOrEqual(BURST)
      expect(refused.length).toBeLessThanOrEqual(BURST + Math.ceil(RATE * elapsedSeconds))
      // Every request the kernel delivered and the proxy did not answer was dropped by the limit.
      expect(metrics.snapshot().rateLimited).toBeGreaterThan(0)
      expect(metrics.snapshot().rateLimited).toBeLessThanOrEqual(300 - answers.length)
    } finally {
      socket.close()
    }
  })

  it.each(MALFORMED_VALUES)('answers a request with %s with 400', async (_name, method, type, value) => {
    const { socket, answers } = await rawSocket()
    try {
      const tid = newTransactionId()
      const request = rawMessage(method, tid, [
        tlv(AttrType.SOFTWARE, Buffer.from('client')),
        tlv(type, value),
      ])
      for (let i = 0; i < 20 && answers.length === 0; i++) {
        socket.send(request, port, '127.0.0.1')
        await sleep(100)
      }
      expect(answers).toHaveLength(1)
      expect(answers[0]!.transactionId).toEqual(tid)
      expect(getAttr(answers[0]!, 'ERROR_CODE')?.code).toBe(400)
    } finally {
      socket.close()
    }
  })
})

/** An Allocate: without credentials, or with `username` and `nonce` signed by a key no password gives. */
function allocate(credentials: [username: string, nonce: string] | []): Buffer {
  const [username, nonce] = credentials
  const attributes: Attribute[] = [...ALLOCATE]
  if (username !== undefined && nonce !== undefined) {
    attributes.push(
      { name: 'USERNAME', value: username },
      { name: 'REALM', value: 'pinhole' },
      { name: 'NONCE', value: nonce },
    )
  }
  return encodeMessage(
    { cls: StunClass.Request, method: Method.Allocate, transactionId: newTransactionId(), attributes },
    { integrityKey: username === undefined ? undefined : Buffer.alloc(16), fingerprint: true },
  )
}
