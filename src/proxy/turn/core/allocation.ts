import type { TransportAddress } from '../../../protocol/stun/attributes/address'
import { TokenBucket } from './rateLimit'
import type { BandwidthBucket, Channel, ClientRef } from './types'

export function peerKeyOf(addr: TransportAddress): string {
  return `${addr.address}|${addr.port}`
}

/** One TURN allocation (RFC 8656 §2.2): a relayed address owned by one client 5-tuple. */
export class Allocation<C extends ClientRef> {
  relay: TransportAddress | undefined
  expiresAt: number
  /** Peer IP → expiry (RFC 8656 §9: permissions are per IP, ports are ignored). */
  readonly permissions = new Map<string, number>()
  readonly channels = new Map<number, Channel>()
  readonly channelByPeer = new Map<string, Channel>()
  readonly bucket: BandwidthBucket | undefined
  /** The Allocate transaction and its success answer, replayed on retransmission (RFC 8656 §7.2). */
  allocateTransactionId: Buffer
  allocateResponse: Buffer | undefined

  constructor(
    readonly id: number,
    readonly client: C,
    readonly username: string,
    readonly uid: string,
    readonly key: Buffer,
    readonly integrity: 'sha1' | 'sha256',
    transactionId: Buffer,
    lifetimeMs: number,
    now: number,
    bandwidthBytesPerSecond: number,
    bucket?: BandwidthBucket,
  ) {
    this.expiresAt = now + lifetimeMs
    this.allocateTransactionId = Buffer.from(transactionId)
    this.bucket =
      bucket ??
      (bandwidthBytesPerSecond > 0
        ? new TokenBucket(bandwidthBytesPerSecond, bandwidthBytesPerSecond)
        : undefined)
  }

  hasPermission(ip: string, now: number): boolean {
    const expiry = this.permissions.get(ip)
    return expiry !== undefined && expiry > now
  }

  /** Whether data may flow from/to this peer: a live permission, or a live channel bound to it. */
  peerAllowed(peer: TransportAddress, now: number): boolean {
    if (this.hasPermission(peer.address, now)) return true
    const channel = this.channelTo(peer)
    return channel !== undefined && channel.expiresAt > now
  }

  /**
   * The channel bound to this peer, if any. Per packet from a peer: allocations hold a channel or two, so a
   * scan beats building a map key string for every datagram.
   */
  channelTo(peer: TransportAddress): Channel | undefined {
    if (this.channels.size > 8) return this.channelByPeer.get(peerKeyOf(peer))
    for (const channel of this.channels.values()) {
      if (channel.peer.port === peer.port && channel.peer.address === peer.address) return channel
    }
    return undefined
  }

  /** Drops expired permissions and channels; RFC 8656 §12: an expired channel number is free again. */
  expire(now: number, onChannelExpired?: (channel: Channel) => void): void {
    for (const [ip, expiry] of this.permissions) if (expiry <= now) this.permissions.delete(ip)
    for (const [number, channel] of this.channels) {
      if (channel.expiresAt <= now) {
        this.channels.delete(number)
        this.channelByPeer.delete(channel.peerKey)
        onChannelExpired?.(channel)
      }
    }
  }
}
