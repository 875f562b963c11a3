/**
 * Acceptance: bad input never takes the proxy down. Each kind of abuse gets its error or is dropped, is
 * counted in the metrics, and a healthy TURN client relaying at the same time loses nothing.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { request as httpsRequest } from 'node:https'
import { connect as tcpConnect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../platform/logger'
import { ProxyMetrics } from './metrics'
import { makeTurnUsername, turnRestCredential } from '../protocol/auth/turnRest'
import { ProxyServer } from './proxyServer'
import { Method, StunClass } from '../protocol/stun/constants'
import { encodeMessage, newTransactionId } from '../protocol/stun/message'
import { TEST_TURN_SECRET, testProxyConfig } from '../../e2e/support/proxyConfig'
import { TestTurnClient } from '../../e2e/support/turnClient'

const SHORT = 400

function closed(socket: Socket): Promise<number> {
  const started = Date.now()
  return new Promise((resolve) => {
    socket.on('error', () => undefined)
    socket.resume() // a paused socket never reports the server's close
    socket.once('close', () => resolve(Date.now() - started))
  })
}

function tcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ host: '127.0.0.1', port }, () => resolve(s))
    s.once('error', reject)
  })
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

describe('ProxyServer under bad input, with a healthy call alongside', () => {
  let server: ProxyServer
  let metrics: ProxyMetrics
  let peer: UdpSocket
  let healthy: TestTurnClient
  let healthyDone: Promise<{ sent: number; received: Set<number> }>

  beforeAll(async () => {
    metrics = new ProxyMetrics({ defaultMetrics: false })
    const config = testProxyConfig({
      proxy: {
        timeouts: {
          firstByteMs: SHORT,
          tlsHandshakeMs: SHORT,
          httpHeadersMs: SHORT,
          httpRequestMs: 2 * SHORT,
          tcpIdleMs: 800,
        },
        limits: { maxFrameBytes: 4096, maxBodyBytes: 1024, maxConnections: 1000 },
      },
    })
    server = await ProxyServer.start(config, { logger: createLogger('silent'), metrics })
    peer = createSocket('udp4')
    peer.on('message', (data, rinfo) => peer.send(data, rinfo.port, rinfo.address))
    await new Promise<void>((resolve) => peer.bind(0, '127.0.0.1', resolve))

    const username = makeTurnUsername('healthy', 600, Date.now())
    healthy = await TestTurnClient.connect('udp', '127.0.0.1', server.addresses().udp[0]!, {
      username,
      password: turnRestCredential(TEST_TURN_SECRET, username),
    })
    await healthy.allocate()
    const peerAddress = { family: 4 as const, address: '127.0.0.1', port: peer.address().port }
    await healthy.channelBind(0x4001, peerAddress)
    // 300 packets over ~3 s while the abuse below runs; every one must come back.
    healthyDone = (async () => {
      const received = new Set<number>()
      const reader = (async () => {
        for (;;) {
          const got = await healthy.next(2000).catch(() => undefined)
          if (!got) return
          received.add(got.data.readUInt32BE(0))
        }
      })()
      for (let i = 0; i < 300; i++) {
        const payload = Buffer.alloc(160)
        payload.writeUInt32BE(i, 0)
        healthy.sendChannel(0x4001, payload)
        await sleep(10)
      }
      await reader
      return { sent: 300, received }
    })()
  })

  afterAll(async () => {
    healthy.close()
    peer.close()
    await server.close()
  })

  it('drops malformed UDP datagrams and counts them', async () => {
    const before = metrics.snapshot().malformed.udp?.stun ?? 0
    const socket = createSocket('udp4')
    for (let i = 0; i < 50; i++)
      socket.send(Buffer.from(`junk ${i}`), server.addresses().udp[1]!, '127.0.0.1')
    await sleep(200)
    socket.close()
    expect(metrics.snapshot().malformed.udp?.stun).toBe(before + 50)
  })

  it('closes a TCP client that announces an oversized frame', async () => {
    const socket = await tcp(server.addresses().tcp)
    const header = encodeMessage({
      cls: StunClass.Request,
      method: Method.Binding,
      transactionId: newTransactionId(),
      attributes: [],
    })
    header.writeUInt16BE(8192, 2)
    socket.write(header)
    await closed(socket)
    expect(metrics.snapshot().malformed.tcp?.['oversized-frame']).toBe(1)
  })

  it('closes a TCP client that sends an invalid frame after a valid one', async () => {
    const socket = await tcp(server.addresses().tcp)
    const binding = encodeMessage({
      cls: StunClass.Request,
      method: Method.Binding,
      transactionId: newTransactionId(),
      attributes: [],
    })
    socket.write(Buffer.concat([binding, Buffer.from([0xc0, 0, 0, 0])]))
    await closed(socket)
    expect(metrics.snapshot().malformed.tcp?.['invalid-frame']).toBe(1)
  })

  it('closes a TCP client stalled in the middle of a frame', async () => {
    const socket = await tcp(server.addresses().tcp)
    socket.write(Buffer.from([0x00, 0x01, 0x00, 0x08, 0x21, 0x12]))
    const took = await closed(socket)
    expect(took).toBeGreaterThanOrEqual(SHORT - 50)
    expect(metrics.snapshot().malformed.tcp?.stalled).toBe(1)
  })

  it('closes an idle TCP client that never allocates', async () => {
    const socket = await tcp(server.addresses().tcp)
    const binding = encodeMessage({
      cls: StunClass.Request,
      method: Method.Binding,
      transactionId: newTransactionId(),
      attributes: [],
    })
    socket.write(binding)
    const took = await closed(socket)
    expect(took).toBeGreaterThanOrEqual(750)
    expect(metrics.snapshot().malformed.tcp?.idle).toBe(1)
  })

  it('closes a TLS client that sends garbage after the handshake', async () => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port: server.addresses().tcp,
      ca: server.tlsCertificatePem,
      servername: 'localhost',
    })
    await new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()))
    socket.write(Buffer.from([0xff, 0xfe, 0xfd, 0xfc]))
    await closed(socket)
    expect(metrics.snapshot().listenerEvents.tls_malformed_first_byte).toBe(1)
    expect(metrics.snapshot().malformed.tls?.['first-byte']).toBe(1)
  })

  it('cuts off a client that starts TLS and never finishes the handshake', async () => {
    const socket = await tcp(server.addresses().tcp)
    socket.write(Buffer.from([0x16, 0x03, 0x01]))
    await closed(socket)
    expect(metrics.snapshot().listenerEvents.tls_handshake_timeout).toBe(1)
  })

  it('cuts off a slowloris HTTP client on 443', async () => {
    const socket = await tcp(server.addresses().tcp)
    const done = closed(socket)
    const drip = 'POST /v1/proxy/session HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(100)
    let i = 0
    const timer = setInterval(() => {
      if (i < drip.length && !socket.destroyed) socket.write(drip[i++]!)
    }, 50)
    const took = await done
    clearInterval(timer)
    expect(took).toBeLessThan(4 * SHORT + 500)
    expect(metrics.snapshot().listenerEvents.http_headers_timeout).toBe(1)
  })

  it('answers an oversized HTTPS body with 413 and counts it', async () => {
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpsRequest({
        host: '127.0.0.1',
        port: server.addresses().tcp,
        method: 'POST',
        path: '/v1/proxy/session',
        headers: { 'content-type': 'application/json' },
        ca: server.tlsCertificatePem,
        servername: 'localhost',
        agent: false,
      })
      req.on('response', (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (body += chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      })
      req.on('error', reject)
      req.end(JSON.stringify({ token: 'x'.repeat(10_000) }))
    })
    expect(answer.status).toBe(413)
    expect(JSON.parse(answer.body) as unknown).toMatchObject({ error: { code: expect.any(String) } })
    expect(metrics.snapshot().listenerEvents.http_body_too_large).toBe(1)
  })

  it('closes a connection whose first byte is neither TLS, TURN nor HTTP', async () => {
    const socket = await tcp(server.addresses().tcp)
    socket.write(Buffer.from([0xee, 1, 2, 3]))
    await closed(socket)
    expect(metrics.snapshot().malformed.tcp?.['first-byte']).toBe(1)
  })

  it('loses nothing on the healthy call meanwhile, and stays healthy', async () => {
    const { sent, received } = await healthyDone
    expect(received.size).toBe(sent)
    expect(server.health().ok).toBe(true)
  })
})
