/** Test-only helpers: a scripted TURN client that speaks to a TurnCore without sockets. */
import { createHmac } from 'node:crypto'
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
  type EncodeOptions,
} from '../../src/proxy/stun/message'
import type { TurnCore } from '../../src/proxy/turn/core'
import type { Action, ClientRef, TurnCoreOptions } from '../../src/proxy/turn/types'

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
export class ScriptedClient {
  nonce: string | undefined
  realm = REALM
  now = 1_800_000_000_000

  constructor(
    readonly core: TurnCore<ClientRef>,
    readonly ref: ClientRef,
    public username: string,
    public password: string,
  ) {}

  key(): Buffer {
    return longTermKey(this.username, this.realm, this.password)
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
    const auth = options.auth ?? true
    const attrs: Attribute[] = [...attributes]
    if (auth && this.nonce) {
      attrs.push(
        { name: 'USERNAME', value: this.username },
        { name: 'REALM', value: this.realm },
        { name: 'NONCE', value: this.nonce },
      )
    }
    const data = encodeMessage(
      { cls: StunClass.Request, method, transactionId: newTransactionId(), attributes: attrs },
      auth && this.nonce
        ? { integrityKey: this.key(), fingerprint: true, ...options.encode }
        : { fingerprint: true },
    )
    const answer = this.answerTo(this.raw(data))
    if (answer && getAttr(answer, 'NONCE')) this.nonce = getAttr(answer, 'NONCE')
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

  buildAuthed(method: number, attributes: Attribute[], transactionId = newTransactionId()): Buffer {
    return encodeMessage(
      {
        cls: StunClass.Request,
        method,
        transactionId,
        attributes: [
          ...attributes,
          { name: 'USERNAME', value: this.username },
          { name: 'REALM', value: this.realm },
          { name: 'NONCE', value: this.nonce ?? '' },
        ],
      },
      { integrityKey: this.key(), fingerprint: true },
    )
  }
}
