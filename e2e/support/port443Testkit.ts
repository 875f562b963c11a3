import { randomBytes } from 'node:crypto'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import type { Duplex } from 'node:stream'
import tls from 'node:tls'
import { afterEach, beforeAll } from 'vitest'
import { createHttpApp, type HttpAppEvent } from '../../src/proxy/api/httpApp'
import {
  createPort443Listener,
  type Port443Event,
  type Port443Listener,
  type Port443Options,
  type TurnConnectionInfo,
} from '../../src/proxy/edge443/port443'
import { createSessionApiRoute } from '../../src/proxy/api/proxySessionRoute'
import type { SignalRelay } from '../../src/proxy/api/signalRelay'
import { loadOrGenerateCert, type CertMaterial } from '../../src/proxy/edge443/tlsCert'
import { mintJoinToken } from '../../src/protocol/auth/joinToken'

/** Shared by the port443 test files: a listener wired to the real HTTP app and an echoing fake TURN server. */

export const APP = { appKey: 'app', secret: 'app-secret-0123456789abcdef' }

/** A STUN Binding request header (RFC 8489 §5) followed by `extra` bytes: what a TURN client sends first. */
export function stunLike(extra: number): Buffer {
  const header = Buffer.from('000100002112a442', 'hex')
  return Buffer.concat([header, randomBytes(12), randomBytes(extra)])
}

export interface TurnRecord {
  info: TurnConnectionInfo
  bytes: Buffer[]
}

export interface Harness {
  listener: Port443Listener
  events: (Port443Event | HttpAppEvent)[]
  turns: TurnRecord[]
}

let cert: CertMaterial | undefined
const cleanups: (() => Promise<void> | void)[] = []

/** Call once at the top of a test file: one certificate per file, everything a test opened closed after it. */
export function setupPort443Testkit(): void {
  beforeAll(async () => {
    cert = await loadOrGenerateCert({ commonName: 'pinhole-test', altNames: ['127.0.0.1'] })
  })
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })
}

export function testCert(): CertMaterial {
  if (!cert) throw new Error('setupPort443Testkit() was not called')
  return cert
}

/** Runs after the current test, in reverse order of registration. */
export function onCleanup(cleanup: () => Promise<void> | void): void {
  cleanups.push(cleanup)
}

export async function start(overrides: Partial<Port443Options> = {}, relay?: SignalRelay): Promise<Harness> {
  const events: Harness['events'] = []
  const turns: TurnRecord[] = []
  const app = createHttpApp({
    routes: [
      createSessionApiRoute({
        apps: [APP],
        turnSecret: 'turn-secret',
        publicHost: '127.0.0.1',
        region: 'test',
        ports: { udp: 3478, udpAlt: 7070, tcp: 443 },
        tlsFingerprintSha256: testCert().fingerprintSha256,
        maxBodyBytes: 1024,
      }),
    ],
    upgrades: relay
      ? [
          {
            path: '/v1/signal',
            handler: (req, socket, head, auth) => relay.handleUpgrade(req, socket, head, auth),
          },
        ]
      : [],
    onEvent: (event) => events.push(event),
  })
  const listener = await createPort443Listener({
    host: '127.0.0.1',
    port: 0,
    tls: testCert(),
    http: app,
    onEvent: (event) => events.push(event),
    // An echoing fake TURN server that records what it received.
    onTurnConnection: (stream, info) => {
      const record: TurnRecord = { info, bytes: [] }
      turns.push(record)
      stream.on('error', () => undefined)
      stream.on('data', (chunk: Buffer) => {
        record.bytes.push(chunk)
        stream.write(chunk)
      })
    },
    ...overrides,
  })
  cleanups.push(() => listener.close())
  return { listener, events, turns }
}

export async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** Collects what a client socket receives until it closes. */
export function collect(socket: Duplex): { data: () => Buffer; closed: Promise<Buffer> } {
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  socket.on('error', () => undefined)
  const closed = new Promise<Buffer>((resolve) => socket.on('close', () => resolve(Buffer.concat(chunks))))
  return { data: () => Buffer.concat(chunks), closed }
}

export function connectRaw(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket))
    socket.once('error', reject)
    cleanups.push(() => void socket.destroy())
  })
}

export function connectTls(port: number, ALPNProtocols?: string[]): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: testCert().cert, ALPNProtocols }, () =>
      resolve(socket),
    )
    socket.once('error', reject)
    cleanups.push(() => void socket.destroy())
  })
}

export interface Answer {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

export function request(
  port: number,
  options: {
    secure?: boolean
    method?: string
    path?: string
    body?: string
    headers?: http.OutgoingHttpHeaders
    agent?: http.Agent
  },
): Promise<Answer> {
  const { secure = false, method = 'GET', path = '/', body, headers = {} } = options
  return new Promise((resolve, reject) => {
    const common = { host: '127.0.0.1', port, method, path, headers, agent: options.agent ?? false }
    const secureOptions: https.RequestOptions & tls.ConnectionOptions = {
      ...common,
      ca: testCert().cert,
      ALPNProtocols: ['http/1.1'],
    }
    const req = secure ? https.request(secureOptions) : http.request(common)
    req.on('response', (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

export async function sessionRequest(port: number, secure: boolean, agent?: http.Agent): Promise<Answer> {
  const token = await mintJoinToken({ ...APP, channel: 'c', uid: 5, ttlSeconds: 60 })
  return request(port, {
    secure,
    agent,
    method: 'POST',
    path: '/v1/proxy/session',
    body: JSON.stringify({ token }),
    headers: { 'content-type': 'application/json' },
  })
}
