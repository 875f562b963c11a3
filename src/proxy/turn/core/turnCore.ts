import { ipToBytes, type TransportAddress } from '../../../protocol/stun/attributes/address'
import { ErrorCode, Method, StunClass } from '../../../protocol/stun/constants'
import { decodeMessage, getAttr, newTransactionId, type DecodedMessage } from '../../../protocol/stun/message'
import { decodeChannelData, encodeChannelData } from '../../../protocol/turn/framing'
import { assertNever } from '../../../shared/signaling'
import { Admission } from './admission'
import type { Allocation } from './allocation'
import { Allocator, type Authed, type Fail } from './allocator'
import { Authenticator } from './auth'
import { channelBind, createPermission, type Answer } from './permissions'
import { dataIndication, errorResponse, successResponse } from './responses'
import { TurnStats, type TurnStatsSink } from './stats'
import {
  type Action,
  type ClientRef,
  type ClientTransport,
  type IgnoreReason,
  type Input,
  type TurnCoreHooks,
  type TurnCoreOptions,
} from './types'

type Actions<C extends ClientRef> = Action<C>[]

/** A request on the client's allocation, authenticated and coming from the allocation's owner. */
type AllocationHandler<C extends ClientRef> = (
  allocation: Allocation<C>,
  message: DecodedMessage,
  now: number,
  answer: Answer<C>,
) => Actions<C>

/**
 * The TURN server without I/O (RFC 8656 over RFC 8489): `handle(input, now)` returns what to send,
 * relay, open or close. Sockets, timers and TLS belong to the caller (turn/node). This file reads the
 * messages, checks credentials and relays data; the allocations and their lifetimes are allocator.ts.
 */
export class TurnCore<C extends ClientRef> {
  readonly stats: TurnStatsSink
  private readonly auth: Authenticator
  private readonly admission: Admission
  private readonly allocations: Allocator<C>
  /** A shared transaction ID for Data indications: indications need no distinct IDs (RFC 8489 §6.3). */
  private readonly indicationTid = newTransactionId()

  constructor(
    private readonly options: TurnCoreOptions,
    stats: TurnStatsSink = new TurnStats(),
    private readonly hooks: TurnCoreHooks<C> = {},
  ) {
    this.stats = stats
    this.auth = new Authenticator(options)
    this.admission = new Admission(this.auth, options, stats)
    this.allocations = new Allocator(options, stats, this.admission, hooks)
  }

  allocationCount(): number {
    return this.allocations.count
  }

  hasAllocation(client: C): boolean {
    return this.allocations.ofClient(client) !== undefined
  }

  clientOf(allocationId: number): C | undefined {
    return this.allocations.withId(allocationId)?.client
  }

  handle(input: Input<C>, now: number): Actions<C> {
    switch (input.type) {
      case 'client':
        return this.clientData(input.client, input.data, now)
      case 'peer':
        return this.peerData(input.allocationId, input.from, input.data, now)
      case 'relayOpened':
        return this.allocations.relayOpened(input.allocationId, input.relay)
      case 'relayFailed':
        return this.allocations.relayFailed(input.allocationId)
      case 'clientClosed': {
        const allocation = this.allocations.ofClient(input.client)
        return allocation ? this.allocations.remove(allocation) : []
      }
      case 'tick':
        return this.allocations.tick(now)
      default:
        return assertNever(input, 'case')
    }
  }

  private ignore(reason: IgnoreReason, source: ClientTransport | 'peer'): Actions<C> {
    this.stats.ignored(reason, source)
    return [{ type: 'ignore', reason }]
  }

  // ---- client → server ------------------------------------------------------------------------------

  /** `handle({ type: 'client' })` without building the input: the per-packet entry for clients. */
  clientData(client: C, data: Buffer, now: number): Actions<C> {
    // RFC 8656 §12: the first two bits tell ChannelData (01) from STUN (00).
    if (data.length >= 4 && (data[0]! & 0xc0) === 0x40) return this.channelDataFromClient(client, data, now)
    const decoded = decodeMessage(data)
    if (!decoded.ok) {
      // A sound request with a bad attribute value is answered, so the client learns it was refused.
      const bad = decoded.badValue
      if (bad?.cls !== StunClass.Request) return this.ignore('malformed', client.transport)
      this.stats.errorSent(ErrorCode.BadRequest)
      return [{ type: 'send', client, data: errorResponse(bad, this.options.software, ErrorCode.BadRequest) }]
    }
    const message = decoded.message
    if (message.cls === StunClass.Indication) return this.indication(client, message, now)
    if (message.cls !== StunClass.Request) return this.ignore('not-a-request', client.transport)
    return this.request(client, message, now)
  }

  private channelDataFromClient(client: C, data: Buffer, now: number): Actions<C> {
    const frame = decodeChannelData(data)
    if (!frame) return this.ignore('malformed', client.transport)
    const allocation = this.allocations.ofClient(client)
    if (!allocation) return this.ignore('no-allocation', client.transport)
    const channel = allocation.channels.get(frame.channel)
    if (!channel || channel.expiresAt <= now) return this.ignore('no-channel', client.transport)
    return this.relayToPeer(allocation, channel.peer, frame.data, now)
  }

  private relayToPeer(
    allocation: Allocation<C>,
    peer: TransportAddress,
    payload: Buffer,
    now: number,
  ): Actions<C> {
    if (allocation.bucket && !allocation.bucket.take(now, payload.length))
      return this.ignore('bandwidth', allocation.client.transport)
    this.stats.hot.clientToPeerPackets++
    this.stats.hot.clientToPeerBytes += payload.length
    return [{ type: 'relay', allocationId: allocation.id, to: peer, data: payload }]
  }

  /** Send indication (RFC 8656 §11.2): no authentication; silently dropped when anything is wrong. */
  private indication(client: C, message: DecodedMessage, now: number): Actions<C> {
    if (message.method !== Method.Send) return this.ignore('unknown-method', client.transport)
    if (message.unknownRequired.length > 0)
      return this.ignore('unknown-attribute-indication', client.transport)
    const allocation = this.allocations.ofClient(client)
    if (!allocation) return this.ignore('no-allocation', client.transport)
    const peer = getAttr(message, 'XOR_PEER_ADDRESS')
    const payload = getAttr(message, 'DATA')
    if (!peer || !payload) return this.ignore('malformed', client.transport)
    if (!allocation.hasPermission(peer.address, now)) return this.ignore('no-permission', client.transport)
    return this.relayToPeer(allocation, peer, payload, now)
  }

  private request(client: C, message: DecodedMessage, now: number): Actions<C> {
    const ip = client.remote.address
    const reply = (data: Buffer): Actions<C> => [{ type: 'send', client, data }]
    const fail: Fail<C> = (code, extra = [], signer) => {
      this.stats.errorSent(code)
      return reply(errorResponse(message, this.options.software, code, extra, signer))
    }

    // Answers that need no state are given without a rate limit (see Admission).
    // RFC 8489 §6.3.1: unknown comprehension-required attributes are refused before anything else.
    if (message.unknownRequired.length > 0) {
      return fail(ErrorCode.UnknownAttribute, [
        { name: 'UNKNOWN_ATTRIBUTES', value: message.unknownRequired },
      ])
    }
    if (message.method === Method.Binding) {
      return reply(
        successResponse(message, this.options.software, [
          { name: 'XOR_MAPPED_ADDRESS', value: client.remote },
        ]),
      )
    }
    if (message.method !== Method.Allocate && !this.onAllocation.has(message.method))
      return fail(ErrorCode.BadRequest)

    const result = this.auth.authenticate(message, ip, now, client.transport)
    if (!result.ok) {
      const refusal = this.admission.refuse(result.failure, ip, now)
      if (!refusal) return this.ignore('rate-limited', client.transport)
      return fail(refusal.code, refusal.extra)
    }
    const authed: Authed = {
      username: result.username,
      uid: result.uid,
      signer: { key: result.key, integrity: result.integrity },
      // A first Allocate over TLS without one of our nonces (auth.ts): its answer hands one out.
      ...(result.presumedNonce ? { nonce: this.auth.makeNonce(ip, now) } : {}),
    }

    if (message.method === Method.Allocate)
      return this.allocations.allocate(client, message, authed, now, fail)
    const allocation = this.allocations.ofClient(client)
    if (!allocation) return fail(ErrorCode.AllocationMismatch, [], authed.signer)
    // RFC 8656 §5: requests on an allocation must use the username that created it. Ours: the user that
    // created it (`appKey:uid`), so that the session's REST credentials can carry on an allocation a join
    // token's made (issue 15) — the token may expire long before the call ends. It is the same client
    // anyway: the allocation is found by its 5-tuple.
    if (allocation.uid !== authed.uid) return fail(ErrorCode.WrongCredentials, [], authed.signer)
    const answer: Answer<C> = {
      ok: (attributes) => reply(successResponse(message, this.options.software, attributes, authed.signer)),
      fail: (code) => fail(code, [], authed.signer),
    }
    const handler = this.onAllocation.get(message.method)
    return handler ? handler(allocation, message, now, answer) : answer.fail(ErrorCode.BadRequest)
  }

  /**
   * The requests on an existing allocation, by method (RFC 8656 §8, §9, §11). With Binding and Allocate
   * these are every request the server answers; any other method is refused with 400 before
   * authentication.
   */
  private readonly onAllocation = new Map<number, AllocationHandler<C>>([
    [
      Method.Refresh,
      (allocation, message, now, answer) => this.allocations.refresh(allocation, message, now, answer),
    ],
    [
      Method.CreatePermission,
      (allocation, message, now, answer) =>
        createPermission(allocation, message, now, (peers) => this.checkPeers(peers), answer),
    ],
    [
      Method.ChannelBind,
      (allocation, message, now, answer) =>
        channelBind(
          allocation,
          message,
          now,
          (peers) => this.checkPeers(peers),
          answer,
          (channel) => this.hooks.channelBound?.(allocation.id, channel, now),
        ),
    ],
  ])

  // ---- CreatePermission, ChannelBind --------------------------------------------------------------------

  /** Checks every peer address with the policy; one refusal refuses the whole request (RFC 8656 §9.2). */
  private checkPeers(peers: TransportAddress[]): ErrorCode | undefined {
    for (const peer of peers) {
      // Policy first: "::1" or "::ffff:127.0.0.1" must read as forbidden, not as a family mismatch.
      const verdict = this.options.peerPolicy(peer.address)
      if (!verdict.ok) {
        this.stats.refusedPeer(verdict.reason)
        return ErrorCode.Forbidden
      }
      // Our relays are IPv4 only.
      if (peer.family !== 4) return ErrorCode.PeerAddressFamilyMismatch
    }
    return undefined
  }

  // ---- peer → client ------------------------------------------------------------------------------------

  /** `handle({ type: 'peer' })` without building the input: the per-packet entry for peers. */
  peerData(allocationId: number, from: TransportAddress, data: Buffer, now: number): Actions<C> {
    const allocation = this.allocations.withId(allocationId)
    if (!allocation) return this.ignore('no-allocation', 'peer')
    if (!allocation.peerAllowed(from, now)) return this.ignore('no-permission', 'peer')
    if (allocation.bucket && !allocation.bucket.take(now, data.length))
      return this.ignore('bandwidth', 'peer')
    this.stats.hot.peerToClientPackets++
    this.stats.hot.peerToClientBytes += data.length
    const channel = allocation.channelTo(from)
    const client = allocation.client
    if (channel && channel.expiresAt > now) {
      // RFC 8656 §12.5: over TCP/TLS ChannelData is padded to a multiple of four bytes.
      return [
        { type: 'send', client, data: encodeChannelData(channel.number, data, client.transport !== 'udp') },
      ]
    }
    const ipBytes = ipToBytes(from.address)
    if (!ipBytes) return this.ignore('malformed', 'peer')
    return [{ type: 'send', client, data: dataIndication(from, data, this.indicationTid, ipBytes) }]
  }
}
