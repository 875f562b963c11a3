import type { TransportAddress } from '../../../protocol/stun/attributes/address'
import { CHANNEL_MAX, CHANNEL_MIN, ErrorCode, TRANSPORT_UDP } from '../../../protocol/stun/constants'
import { getAllAttrs, getAttr, type Attribute, type DecodedMessage } from '../../../protocol/stun/message'
import { peerKeyOf, type Allocation } from './allocation'
import {
  CHANNEL_LIFETIME_MS,
  PERMISSION_LIFETIME_MS,
  type Action,
  type Channel,
  type ClientRef,
} from './types'

/** How a handler answers an authenticated request: signed success or signed error. */
export interface Answer<C extends ClientRef> {
  ok(attributes: Attribute[]): Action<C>[]
  fail(code: ErrorCode): Action<C>[]
}

/** The peer policy check: an error code to answer with, or undefined when every peer may be relayed to. */
export type PeerCheck = (peers: TransportAddress[]) => ErrorCode | undefined

/**
 * The Allocate checks that need no state (RFC 8656 §7.2 steps 3-7), in the RFC's order; undefined when the
 * request may go on to the quotas.
 */
export function checkAllocateRequest(
  message: DecodedMessage,
): { code: ErrorCode; extra: Attribute[] } | undefined {
  const transport = getAttr(message, 'REQUESTED_TRANSPORT')
  if (transport === undefined) return { code: ErrorCode.BadRequest, extra: [] }
  if (transport !== TRANSPORT_UDP) return { code: ErrorCode.UnsupportedTransportProtocol, extra: [] }
  // Node cannot set the DF bit: §7.2 says to treat DONT-FRAGMENT as an unknown attribute then.
  if (getAttr(message, 'DONT_FRAGMENT')) {
    return { code: ErrorCode.UnknownAttribute, extra: [{ name: 'UNKNOWN_ATTRIBUTES', value: [0x001a] }] }
  }
  // We never reserve ports, so no token can name one.
  if (getAttr(message, 'RESERVATION_TOKEN')) return { code: ErrorCode.InsufficientCapacity, extra: [] }
  const family = getAttr(message, 'REQUESTED_ADDRESS_FAMILY')
  if (family !== undefined && family !== 0x01) return { code: ErrorCode.AddressFamilyNotSupported, extra: [] }
  return undefined
}

/** CreatePermission (RFC 8656 §9): installs or refreshes a permission per peer IP, all or nothing. */
export function createPermission<C extends ClientRef>(
  allocation: Allocation<C>,
  message: DecodedMessage,
  now: number,
  check: PeerCheck,
  answer: Answer<C>,
): Action<C>[] {
  const peers = getAllAttrs(message, 'XOR_PEER_ADDRESS')
  if (peers.length === 0) return answer.fail(ErrorCode.BadRequest)
  const refused = check(peers)
  if (refused !== undefined) return answer.fail(refused)
  for (const peer of peers) allocation.permissions.set(peer.address, now + PERMISSION_LIFETIME_MS)
  return answer.ok([])
}

/** ChannelBind (RFC 8656 §12.2): binds or refreshes a channel, and refreshes the peer's permission. */
export function channelBind<C extends ClientRef>(
  allocation: Allocation<C>,
  message: DecodedMessage,
  now: number,
  check: PeerCheck,
  answer: Answer<C>,
  onBound?: (channel: Channel) => void,
): Action<C>[] {
  const number = getAttr(message, 'CHANNEL_NUMBER')
  const peer = getAttr(message, 'XOR_PEER_ADDRESS')
  if (number === undefined || peer === undefined || number < CHANNEL_MIN || number > CHANNEL_MAX) {
    return answer.fail(ErrorCode.BadRequest)
  }
  const refused = check([peer])
  if (refused !== undefined) return answer.fail(refused)
  const key = peerKeyOf(peer)
  const bound = allocation.channels.get(number)
  const boundPeer = allocation.channelByPeer.get(key)
  // A channel stays with one peer and a peer with one channel for the binding's life.
  if ((bound && bound.peerKey !== key) || (boundPeer && boundPeer.number !== number)) {
    return answer.fail(ErrorCode.BadRequest)
  }
  const channel = bound ?? { number, peer, peerKey: key, expiresAt: 0 }
  channel.expiresAt = now + CHANNEL_LIFETIME_MS
  allocation.channels.set(number, channel)
  allocation.channelByPeer.set(key, channel)
  allocation.permissions.set(peer.address, now + PERMISSION_LIFETIME_MS)
  onBound?.(channel)
  return answer.ok([])
}
