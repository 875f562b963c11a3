import { describe, expect, it } from 'vitest'
import {
  collect,
  connectRaw,
  connectTls,
  onCleanup,
  sessionRequest,
  setupPort443Testkit,
  start,
  stunLike,
  waitFor,
} from '../../../e2e/support/port443Testkit'

setupPort443Testkit()

describe('TCP 443 robustness', () => {
  it('closes a connection that sends nothing after firstByteTimeoutMs', async () => {
    const h = await start({ firstByteTimeoutMs: 200 })
    const client = await connectRaw(h.listener.port)
    const started = Date.now()
    await collect(client).closed
    expect(Date.now() - started).toBeGreaterThanOrEqual(150)
    expect(h.events).toContain('first_byte_timeout')
  })

  it('closes a TLS connection that sends nothing after its handshake', async () => {
    const h = await start({ firstByteTimeoutMs: 200 })
    const client = await connectTls(h.listener.port)
    await collect(client).closed
    expect(h.events).toContain('tls_first_byte_timeout')
  })

  it('cuts off a TLS handshake dripping one byte at a time', async () => {
    const h = await start({ tlsHandshakeTimeoutMs: 300 })
    const client = await connectRaw(h.listener.port)
    const received = collect(client)
    client.write(Buffer.from([0x16, 0x03, 0x01]))
    const drip = setInterval(() => client.write(Buffer.from([0])), 50)
    onCleanup(() => clearInterval(drip))
    await received.closed
    expect(h.events).toContain('tls_handshake_timeout')
  })

  it.each([false, true])(
    'cuts off slowloris headers while a healthy request succeeds (secure: %s)',
    async (secure) => {
      const h = await start({ httpHeadersTimeoutMs: 300, httpRequestTimeoutMs: 5000 })
      const slow = secure ? await connectTls(h.listener.port) : await connectRaw(h.listener.port)
      const received = collect(slow)
      const started = Date.now()
      slow.write('GET /v1/proxy/session HTTP/1.1\r\nHost: x\r\nX-Slow: ')
      const drip = setInterval(() => slow.write('a'), 50)
      onCleanup(() => clearInterval(drip))
      const healthy = await sessionRequest(h.listener.port, true)
      expect(healthy.status).toBe(200)
      await received.closed
      expect(Date.now() - started).toBeLessThan(2000)
      expect(h.events).toContain('http_headers_timeout')
    },
  )

  it('cuts off a request whose body drips slower than httpRequestTimeoutMs', async () => {
    const h = await start({ httpHeadersTimeoutMs: 200, httpRequestTimeoutMs: 500 })
    const slow = await connectTls(h.listener.port)
    const received = collect(slow)
    slow.write(
      'POST /v1/proxy/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{',
    )
    const drip = setInterval(() => slow.write(' '), 50)
    onCleanup(() => clearInterval(drip))
    await received.closed
    expect(h.events).toContain('http_request_timeout')
    expect(h.events).not.toContain('http_headers_timeout')
  })

  it.each([
    ['a declared Content-Length', { 'content-length': '20000' }],
    ['a chunked body', { 'transfer-encoding': 'chunked' }],
  ])('answers a body over maxBodyBytes sent with %s with 413 and closes', async (_name, headers) => {
    const h = await start()
    const client = await connectTls(h.listener.port)
    const received = collect(client)
    const head = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')
    client.write(
      `POST /v1/proxy/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${head}\r\n`,
    )
    const body = 'x'.repeat(4000)
    client.write('transfer-encoding' in headers ? `${body.length.toString(16)}\r\n${body}\r\n` : body)
    const answer = (await received.closed).toString()
    expect(answer).toMatch(/^HTTP\/1\.1 413 /)
    expect(answer).toMatch(/connection: close/i)
    expect(answer).toContain('"payload_too_large"')
    expect(h.events).toContain('http_body_too_large')
  })

  it('answers malformed HTTP with 400 and counts it', async () => {
    const h = await start()
    const client = await connectRaw(h.listener.port)
    const received = collect(client)
    client.write('GET / HTTP/1.1\r\nHost x\r\n\r\n')
    expect((await received.closed).toString()).toMatch(/^HTTP\/1\.1 400 /)
    expect(h.events).toContain('http_malformed')
  })

  it('refuses connections over maxConnections and counts them', async () => {
    // Every slot open to unauthenticated connections: this is about the total.
    const h = await start({ maxConnections: 2, unauthenticatedPercent: 100 })
    await connectRaw(h.listener.port)
    await connectRaw(h.listener.port)
    await waitFor(() => h.listener.connections() === 2)
    const third = await connectRaw(h.listener.port)
    await collect(third).closed
    await waitFor(() => h.events.includes('rejected_max_connections'))
    expect(h.listener.connections()).toBe(2)
  })

  it('close() stops listening and drops every connection', async () => {
    const h = await start()
    const plain = await connectRaw(h.listener.port)
    const secure = await connectTls(h.listener.port, ['stun.turn'])
    secure.write(stunLike(0))
    await waitFor(() => h.listener.connections() === 2 && h.turns.length === 1)
    const closed = Promise.all([collect(plain).closed, collect(secure).closed])
    await h.listener.close()
    await closed
    expect(h.listener.connections()).toBe(0)
    await expect(connectRaw(h.listener.port)).rejects.toThrow(/ECONNREFUSED/)
  })
})
