import type { TransportAddress } from '../../../protocol/stun/attributes/address'
import { ErrorCode } from '../../../protocol/stun/constants'
import { getAttr, type Attribute, type DecodedMessage } from '../../../protocol/stun/message'
import type { Admission } from './admission'
import { Allocation } from './allocation'
import { checkAllocateRequest, type Answer } from './permissions'
import { errorResponse, successResponse, type Signer } from './responses'
import type { TurnStatsSink } from './stats'
import type { Action, ClientRef, TurnCoreHooks, TurnCoreOptions } from './types'

type Actions<C extends ClientRef> = Action<C>[]

/** Who sent an authenticated request (TurnCore checked the credentials). */
export interface Authed {
  username: string
  uid: string
  signer: Signer
  /** A nonce for the client's next requests, when it authenticated without one of ours (auth.ts). */
  nonce?: string
}

/** An error answer to the request being handled: code, extra attributes, the signer when authenticated. */
export type Fail<C extends ClientRef> = (code: ErrorCode, extra?: Attribute[], signer?: Signer) => Actions<C>

interface PendingAllocate {
  message: DecodedMessage
  lifetime: number
  additionalV6: boolean
  nonce: string | undefined
}

/**
 * The allocations of a TurnCore (RFC 8656 §7, §8): the Allocate and Refresh handlers, the relay socket's
 * answer, the quotas and the lifetimes. Pure like the core: it returns actions, the caller does the I/O.
 */
export class Allocator<C extends ClientRef> {
  private readonly byClient = new Map<C, Allocation<C>>()
  private readonly byId = new Map<number, Allocation<C>>()
  private readonly perUser = new Map<string, number>()
  private readonly pendingAllocate = new Map<number, PendingAllocate>()
  private nextId = 1

  constructor(
    private readonly options: TurnCoreOptions,
    private readonly stats: TurnStatsSink,
    private readonly admission: Admission,
    private readonly hooks: TurnCoreHooks<C>,
  ) {}

  get count(): number {
    return this.byId.size
  }

  ofClient(client: C): Allocation<C> | undefined {
    return this.byClient.get(client)
  }

  withId(allocationId: number): Allocation<C> | undefined {
    return this.byId.get(allocationId)
  }

  // ---- Allocate (RFC 8656 §7) ---------------------------------------------------------------------------

  allocate(client: C, message: DecodedMessage, authed: Authed, now: number, fail: Fail<C>): Actions<C> {
    const signer = authed.signer
    const existing = this.byClient.get(client)
    if (existing) {
      // A retransmitted Allocate gets the same answer; any other is a mismatch (RFC 8656 §7.2 step 2).
      if (existing.allocateTransactionId.equals(message.transactionId)) {
        if (existing.allocateResponse) return [{ type: 'send', client, data: existing.allocateResponse }]
        this.stats.ignored('relay-pending', client.transport)
        return [{ type: 'ignore', reason: 'relay-pending' }]
      }
      return fail(ErrorCode.AllocationMismatch, [], signer)
    }
    const refused = checkAllocateRequest(message)
    if (refused) return fail(refused.code, refused.extra, signer)

    const used = this.perUser.get(authed.uid) ?? 0
    if (used >= this.options.perUserQuota || !this.admission.allocationAllowed(authed.username, now))
      return fail(ErrorCode.AllocationQuotaReached, [], signer)
    if (this.byId.size >= this.options.totalQuota) return fail(ErrorCode.InsufficientCapacity, [], signer)

    const lifetime = this.lifetimeSeconds(getAttr(message, 'LIFETIME'))
    const allocation = this.create(client, message, authed, lifetime, now)
    this.perUser.set(authed.uid, used + 1)
    this.pendingAllocate.set(allocation.id, {
      message,
      lifetime,
      additionalV6: getAttr(message, 'ADDITIONAL_ADDRESS_FAMILY') === 0x02,
      nonce: authed.nonce,
    })
    return [
      {
        type: 'openRelay',
        allocationId: allocation.id,
        family: 4,
        evenPort: getAttr(message, 'EVEN_PORT') !== undefined,
      },
    ]
  }

  private create(
    client: C,
    message: DecodedMessage,
    authed: Authed,
    lifetime: number,
    now: number,
  ): Allocation<C> {
    const id = this.nextId++
    const allocation = new Allocation<C>(
      id,
      client,
      authed.username,
      authed.uid,
      authed.signer.key,
      authed.signer.integrity,
      message.transactionId,
      lifetime * 1000,
      now,
      this.options.bandwidthBytesPerSecond,
      this.hooks.bucketFor?.(id, client, this.options.bandwidthBytesPerSecond),
    )
    this.byClient.set(client, allocation)
    this.byId.set(allocation.id, allocation)
    return allocation
  }

  relayOpened(allocationId: number, relay: TransportAddress): Actions<C> {
    const allocation = this.byId.get(allocationId)
    const pending = this.pendingAllocate.get(allocationId)
    this.pendingAllocate.delete(allocationId)
    if (!allocation || !pending) return [{ type: 'closeRelay', allocationId }]
    allocation.relay = relay
    this.stats.allocationCreated()
    const attributes: Attribute[] = [
      { name: 'XOR_RELAYED_ADDRESS', value: relay },
      { name: 'LIFETIME', value: pending.lifetime },
      { name: 'XOR_MAPPED_ADDRESS', value: allocation.client.remote },
    ]
    if (pending.nonce !== undefined) attributes.push({ name: 'NONCE', value: pending.nonce })
    // RFC 8656 §7.2: an IPv6 relay we cannot give is reported, the IPv4 one still granted.
    if (pending.additionalV6) {
      attributes.push({
        name: 'ADDRESS_ERROR_CODE',
        value: { code: 440, reason: 'Address Family not Supported' },
      })
    }
    const response = successResponse(pending.message, this.options.software, attributes, {
      key: allocation.key,
      integrity: allocation.integrity,
    })
    allocation.allocateResponse = response
    return [{ type: 'send', client: allocation.client, data: response }]
  }

  relayFailed(allocationId: number): Actions<C> {
    const allocation = this.byId.get(allocationId)
    const pending = this.pendingAllocate.get(allocationId)
    if (!allocation || !pending) return []
    const actions = this.remove(allocation)
    this.stats.errorSent(ErrorCode.InsufficientCapacity)
    const data = errorResponse(pending.message, this.options.software, ErrorCode.InsufficientCapacity, [], {
      key: allocation.key,
      integrity: allocation.integrity,
    })
    return [
      ...actions.filter((a) => a.type !== 'closeRelay'),
      { type: 'send', client: allocation.client, data },
    ]
  }

  private lifetimeSeconds(requested: number | undefined): number {
    const { defaultLifetimeSeconds, maxLifetimeSeconds } = this.options
    if (requested === undefined) return defaultLifetimeSeconds
    return Math.min(Math.max(requested, defaultLifetimeSeconds), maxLifetimeSeconds)
  }

  // ---- Refresh (RFC 8656 §8) ----------------------------------------------------------------------------

  refresh(allocation: Allocation<C>, message: DecodedMessage, now: number, answer: Answer<C>): Actions<C> {
    const family = getAttr(message, 'REQUESTED_ADDRESS_FAMILY')
    if (family !== undefined && family !== 0x01) return answer.fail(ErrorCode.PeerAddressFamilyMismatch)
    const requested = getAttr(message, 'LIFETIME')
    if (requested === 0) {
      // RFC 8656 §8: a zero lifetime deletes the allocation; the answer still says 0.
      return [...answer.ok([{ name: 'LIFETIME', value: 0 }]), ...this.remove(allocation)]
    }
    const lifetime = this.lifetimeSeconds(requested)
    allocation.expiresAt = now + lifetime * 1000
    return answer.ok([{ name: 'LIFETIME', value: lifetime }])
  }

  // ---- lifetimes ----------------------------------------------------------------------------------------

  tick(now: number): Actions<C> {
    const actions: Actions<C> = []
    for (const allocation of this.byId.values()) {
      if (allocation.expiresAt <= now) actions.push(...this.remove(allocation))
      else allocation.expire(now, (channel) => this.hooks.channelExpired?.(allocation.id, channel))
    }
    return actions
  }

  remove(allocation: Allocation<C>): Actions<C> {
    if (allocation.relay) this.stats.allocationEnded()
    this.byClient.delete(allocation.client)
    this.byId.delete(allocation.id)
    this.pendingAllocate.delete(allocation.id)
    const used = (this.perUser.get(allocation.uid) ?? 1) - 1
    if (used <= 0) this.perUser.delete(allocation.uid)
    else this.perUser.set(allocation.uid, used)
    return [{ type: 'closeRelay', allocationId: allocation.id }]
  }
}
