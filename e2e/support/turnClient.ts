/**
 * The tests' TURN client, one request builder driven two ways:
 * - `TestTurnClient` speaks to a running proxy over real sockets (UDP, TCP, TLS), for integration tests: the
 *   long-term credential dance, Allocate, CreatePermission, ChannelBind, Send indications and ChannelData.
 * - `ScriptedClient` hands its requests straight to a `TurnCore` (no sockets, no time passing unless the test
 *   moves `now`), for the core's unit tests; `coreOptions`, `client`, `restUsername` and `restPassword` set
 *   that core up.
 * The engine's own TURN probe is product code and does not use this.
 */
import { createHmac } from 'node:crypto'
import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { connect as tcpConnect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import type { TransportAddress } from '../../src/protocol/stun/attributes/address'
import { Method, StunClass } from '../../src/protocol/stun/constants'
import {
  decodeMessage,
  encodeMessage,
  getAttr,
  longTermKey,
  newTransactionId,
  type Attribute,
  type DecodedMessage,
  type EncodeOptions,
} from '../../src/protocol/stun/message'
import { TcpFramer, decodeChannelData, encodeChannelData } from '../../src/protocol/turn/framing'
import type { TurnCore } from '../../src/proxy/turn/core/turnCore'
import type { Action, ClientRef, TurnCoreOptions } from '../../src/proxy/turn/core/types'

export type TestTransport = 'udp' | 'tcp' | 'tls'

export interface Received {
  peer?: TransportAddress
  channel?: number
  data: Buffer
}

/**
 * What both clients share: the credentials, the realm and nonce the server taught (RFC 8489 §9.2), and the
 * requests built from them.
 */
abstract class TurnRequester {
  nonce: string | undefined
  realm: string | undefined

  constructor(
    public username: string,
    public password: string,
  ) {}

  key(): Buffer {
    return longTermKey(this.username, this.realm ?? '', this.password)
  }

  /** A request, signed with the long-term key when `auth` (the default) and a nonce is known. */
  encodeRequest(
    method: number,
    attributes: Attribute[],
    options: { auth?: boolean; encode?: EncodeOptions } = {},
    transactionId = newTransactionId(),
  ): Buffer {
    if (!(options.auth ?? true) || this.nonce === undefined) {
      return encodeMessage(
        { cls: StunClass.Request, method, transactionId, attributes },
        { fingerprint: true },
      )
    }
    return encodeMessage(
      { cls: StunClass.Request, method, transactionId, attributes: [...attributes, ...this.credentials()] },
      { integrityKey: this.key(), fingerprint: true, ...options.encode },
    )
  }

  /** Signed whatever the client knows (an empty nonce before the first challenge). */
  buildAuthed(method: number, attributes: Attribute[], transactionId = newTransactionId()): Buffer {
    return encodeMessage(
      { cls: StunClass.Request, method, transactionId, attributes: [...attributes, ...this.credentials()] },
      { integrityKey: this.key(), fingerprint: true },
    )
  }

  /** Keeps the NONCE and REALM an answer carries, for the next request. */
  protected learn(answer: DecodedMessage): void {
    const nonce = getAttr(answer, 'NONCE')
    if (nonce) this.nonce = nonce
    const realm = getAttr(answer, 'REALM')
    if (realm) this.realm = realm
  }

  private credentials(): Attribute[] {
    return [
      { name: 'USERNAME', value: this.username },
      { name: 'REALM', value: this.realm ?? '' },
      { name: 'NONCE', value: this.nonce ?? '' },
    ]
  }
}

export class TestTurnClient extends TurnRequester {
  private readonly pending = new Map<string, (m: DecodedMessage) => void>()
  private readonly inbox: Received[] = []
  private waiter: (() => void) | undefined
  relayed: TransportAddress | undefined

  private constructor(
    readonly transport: TestTransport,
    private readonly write: (data: Buffer) => void,
    private readonly closer: () => void,
    username: string,
    password: string,
  ) {
    super(username, password)
  }

  static async connect(
    transport: TestTransport,
    host: string,
    port: number,
    credentials: { username: string; password: string },
    tlsOptions: { ca?: string; alpn?: string[]; udpBindHost?: string } = {},
  ): Promise<TestTurnClient> {
    if (transport === 'udp') {
      const bindHost = tlsOptions.udpBindHost ?? '127.0.0.1'
      const socket: UdpSocket = createSocket(bindHost.includes(':') ? 'udp6' : 'udp4')
      await new Promise<void>((resolve) => socket.bind(0, bindHost, resolve))
      const client = new TestTurnClient(
        'udp',
        (data) => socket.send(data, port, host),
        () => socket.close(),
        credentials.username,
        credentials.password,
      )
      socket.on('message', (data: Buffer) => client.receive(data))
      return client
    }
    const socket: Socket = await new Promise((resolve, reject) => {
      const s =
        transport === 'tls'
          ? tlsConnect(
              {
                host,
                port,
                ca: tlsOptions.ca,
                ALPNProtocols: tlsOptions.alpn ?? ['stun.turn'],
                servername: 'localhost',
              },
              () => resolve(s),
            )
          : tcpConnect({ host, port }, () => resolve(s))
      s.once('error', reject)
    })
    socket.on('error', () => socket.destroy())
    const framer = new TcpFramer({ maxFrameBytes: 65_535 + 20 })
    const client = new TestTurnClient(
      transport,
      (data) => socket.write(data),
      () => socket.destroy(),
      credentials.username,
      credentials.password,
    )
    socket.on('data', (chunk: Buffer) => {
      for (const frame of framer.push(chunk, Date.now()).frames) client.receive(frame)
    })
    return client
  }

  private receive(data: Buffer): void {
    if ((data[0]! & 0xc0) === 0x40) {
      const frame = decodeChannelData(data)
      if (frame) this.deliver({ channel: frame.channel, data: Buffer.from(frame.data) })
      return
    }
    const decoded = decodeMessage(data)
    if (!decoded.ok) return
    const message = decoded.message
    if (message.cls === StunClass.Indication && message.method === Method.Data) {
      const peer = getAttr(message, 'XOR_PEER_ADDRESS')
      const payload = getAttr(message, 'DATA')
      if (peer && payload) this.deliver({ peer, data: Buffer.from(payload) })
      return
    }
    this.pending.get(message.transactionId.toString('hex'))?.(message)
  }

  private deliver(item: Received): void {
    this.inbox.push(item)
    this.waiter?.()
  }

  /** Resolves with the next relayed datagram (Data indication or ChannelData). */
  async next(timeoutMs = 3000): Promise<Received> {
    const deadline = Date.now() + timeoutMs
    while (this.inbox.length === 0) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error('no relayed data arrived')
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiter = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      this.waiter = undefined
    }
    return this.inbox.shift()!
  }

  /** One request/answer; with retransmissions on UDP (RFC 8489 §6.2.1, shortened for tests). */
  async transact(
    method: number,
    attributes: Attribute[],
    options: { auth?: boolean; timeoutMs?: number } = {},
  ): Promise<DecodedMessage> {
    const transactionId = newTransactionId()
    const data = this.encodeRequest(method, attributes, options, transactionId)
    const key = transactionId.toString('hex')
    const answer = await new Promise<DecodedMessage>((resolve, reject) => {
      const timeout = setTimeout(() => {
        clearInterval(resend)
        this.pending.delete(key)
        reject(new Error(`no answer to method ${method}`))
      }, options.timeoutMs ?? 3000)
      const resend = setInterval(() => this.transport === 'udp' && this.write(data), 250)
      this.pending.set(key, (m) => {
        clearTimeout(timeout)
        clearInterval(resend)
        this.pending.delete(key)
        resolve(m)
      })
      this.write(data)
    })
    this.learn(answer)
    return answer
  }

  /** Like transact, and does the 401/438 dance once. */
  async request(method: number, attributes: Attribute[]): Promise<DecodedMessage> {
    let answer = await this.transact(method, attributes)
    const code = getAttr(answer, 'ERROR_CODE')?.code
    if (code === 401 || code === 438) answer = await this.transact(method, attributes)
    return answer
  }

  async allocate(extra: Attribute[] = []): Promise<DecodedMessage> {
    const answer = await this.request(Method.Allocate, [{ name: 'REQUESTED_TRANSPORT', value: 17 }, ...extra])
    this.relayed = getAttr(answer, 'XOR_RELAYED_ADDRESS')
    return answer
  }

  createPermission(peer: TransportAddress): Promise<DecodedMessage> {
    return this.request(Method.CreatePermission, [{ name: 'XOR_PEER_ADDRESS', value: peer }])
  }

  channelBind(channel: number, peer: TransportAddress): Promise<DecodedMessage> {
    return this.request(Method.ChannelBind, [
      { name: 'CHANNEL_NUMBER', value: channel },
      { name: 'XOR_PEER_ADDRESS', value: peer },
    ])
  }

  refresh(lifetime: number): Promise<DecodedMessage> {
    return this.request(Method.Refresh, [{ name: 'LIFETIME', value: lifetime }])
  }

  sendIndication(peer: TransportAddress, data: Buffer): void {
    this.write(
      encodeMessage({
        cls: StunClass.Indication,
        method: Method.Send,
        transactionId: newTransactionId(),
        attributes: [
          { name: 'XOR_PEER_ADDRESS', value: peer },
          { name: 'DATA', value: data },
        ],
      }),
    )
  }

  sendChannel(channel: number, data: Buffer): void {
    this.write(encodeChannelData(channel, data, this.transport !== 'udp'))
  }

  /** Raw bytes, for malformed-input tests. */
  sendRaw(data: Buffer): void {
    this.write(data)
  }

  close(): void {
    this.closer()
  }
}

export function errorCodeOf(message: DecodedMessage): number | undefined {
  return getAttr(message, 'ERROR_CODE')?.code
}

/** The core a `ScriptedClient` talks to: generous options unless a test says otherwise. */
export const SECRET = 'test-shared-secret-0123456789'
export const REALM = 'pinhole.test'

export function coreOptions(overrides: Partial<TurnCoreOptions> = {}): TurnCoreOptions {
  return {
    realm: REALM,
    secret: SECRET,
    software: 'pinhole-test',
    nonceTtlMs: 600_000,
    defaultLifetimeSeconds: 600,
    maxLifetimeSeconds: 3600,
    perUserQuota: 10,
    totalQuota: 1000,
    bandwidthBytesPerSecond: 0,
    unauthenticatedPerSecond: 1000,
    unauthenticatedBurst: 1000,
    allocationsPerSecond: 1000,
    offerPasswordAlgorithms: false,
    peerPolicy: (ip) => (ip.startsWith('10.') ? { ok: true } : { ok: false, reason: 'not-allowed' }),
    ...overrides,
  }
}

export function restUsername(uid: string, expiresAtMs: number): string {
  return `${Math.floor(expiresAtMs / 1000)}:${uid}`
}

export function restPassword(username: string, secret = SECRET): string {
  return createHmac('sha1', secret).update(username).digest('base64')
}

export function client(port = 50000, transport: ClientRef['transport'] = 'udp'): ClientRef {
  return { transport, remote: { family: 4, address: '192.0.2.7', port }, localPort: 3478 }
}

/** Drives one client through a core: handles the 401 dance, keeps the nonce, decodes the answers. */
export class ScriptedClient extends TurnRequester {
  override realm: string = REALM
  now = 1_800_000_000_000

  constructor(
    readonly core: TurnCore<ClientRef>,
    readonly ref: ClientRef,
    username: string,
    password: string,
  ) {
    super(username, password)
  }

  raw(data: Buffer): Action<ClientRef>[] {
    return this.core.handle({ type: 'client', client: this.ref, data }, this.now)
  }

  /** Sends a request and returns the decoded answer (or undefined when the core sent nothing back). */
  request(
    method: number,
    attributes: Attribute[],
    options: { auth?: boolean; encode?: EncodeOptions } = {},
  ): DecodedMessage | undefined {
    const answer = this.answerTo(this.raw(this.encodeRequest(method, attributes, options)))
    if (answer) this.learn(answer)
    return answer
  }

  answerTo(actions: Action<ClientRef>[]): DecodedMessage | undefined {
    const sent = actions.find((a) => a.type === 'send')
    if (!sent || sent.type !== 'send') return undefined
    const decoded = decodeMessage(sent.data)
    if (!decoded.ok) throw new Error(`core sent an undecodable message: ${decoded.reason}`)
    return decoded.message
  }

  /** Allocate with the 401 challenge first, then completes the relay with the given address. */
  allocate(
    relay: TransportAddress = { family: 4, address: '198.51.100.1', port: 50001 },
    extra: Attribute[] = [],
  ): DecodedMessage | undefined {
    if (!this.nonce)
      this.request(Method.Allocate, [{ name: 'REQUESTED_TRANSPORT', value: 17 }], { auth: false })
    const attrs: Attribute[] = [{ name: 'REQUESTED_TRANSPORT', value: 17 }, ...extra]
    const data = this.buildAuthed(Method.Allocate, attrs)
    const actions = this.raw(data)
    const open = actions.find((a) => a.type === 'openRelay')
    if (!open || open.type !== 'openRelay') return this.answerTo(actions)
    return this.answerTo(
      this.core.handle({ type: 'relayOpened', allocationId: open.allocationId, relay }, this.now),
    )
  }
}
