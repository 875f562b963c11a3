/**
 * A small TURN client over real sockets (UDP, TCP, TLS), for integration tests of the proxy: the long-term
 * credential dance, Allocate, CreatePermission, ChannelBind, Send indications and ChannelData.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { connect as tcpConnect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import type { TransportAddress } from '../../src/proxy/stun/attributes/address'
import { Method, StunClass } from '../../src/proxy/stun/constants'
import {
  decodeMessage,
  encodeMessage,
  getAttr,
  longTermKey,
  newTransactionId,
  type Attribute,
  type DecodedMessage,
} from '../../src/proxy/stun/message'
import { TcpFramer, decodeChannelData, encodeChannelData } from '../../src/proxy/turn/framing'

export type TestTransport = 'udp' | 'tcp' | 'tls'

export interface Received {
  peer?: TransportAddress
  channel?: number
  data: Buffer
}

export class TestTurnClient {
  private readonly pending = new Map<string, (m: DecodedMessage) => void>()
  private readonly inbox: Received[] = []
  private waiter: (() => void) | undefined
  private nonce: string | undefined
  private realm: string | undefined
  relayed: TransportAddress | undefined

  private constructor(
    readonly transport: TestTransport,
    private readonly write: (data: Buffer) => void,
    private readonly closer: () => void,
    public username: string,
    public password: string,
  ) {}

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
    const auth = (options.auth ?? true) && this.nonce !== undefined
    const transactionId = newTransactionId()
    const attrs: Attribute[] = [...attributes]
    if (auth) {
      attrs.push(
        { name: 'USERNAME', value: this.username },
        { name: 'REALM', value: this.realm! },
        { name: 'NONCE', value: this.nonce! },
      )
    }
    const data = encodeMessage(
      { cls: StunClass.Request, method, transactionId, attributes: attrs },
      {
        integrityKey: auth ? longTermKey(this.username, this.realm!, this.password) : undefined,
        fingerprint: true,
      },
    )
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
    const nonce = getAttr(answer, 'NONCE')
    if (nonce) this.nonce = nonce
    const realm = getAttr(answer, 'REALM')
    if (realm) this.realm = realm
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
