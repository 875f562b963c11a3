import { isIP } from 'node:net'

/**
 * Connection slots shared by the proxy's TCP port and the conference server's signaling listener. Every
 * connection starts unauthenticated; it moves to the authenticated share once it proves who it is (a TURN
 * Allocate that authenticated, a signaling WebSocket that joined). Unauthenticated connections may hold at
 * most `unauthenticatedPercent` of `maxConnections`, and at most `unauthenticatedPerIp` from one client
 * address, so one address cannot fill the listener and authenticated traffic always keeps a share.
 * Authenticated connections are limited by `maxConnections` only: a large office behind one NAT address
 * needs the per-IP allowance only for the few seconds its connections take to authenticate.
 */

export interface SlotLimits {
  maxConnections: number
  /** 1-100: the part of `maxConnections` unauthenticated connections may hold together. */
  unauthenticatedPercent: number
  /** Unauthenticated connections from one client address (an IPv6 /64 counts as one address). */
  unauthenticatedPerIp: number
}

/** Why a connection was refused: a fixed set, used as a metric label. */
export type SlotRefusal = 'max_connections' | 'unauthenticated_share' | 'unauthenticated_per_ip'
export const SLOT_REFUSALS: readonly SlotRefusal[] = [
  'max_connections',
  'unauthenticated_share',
  'unauthenticated_per_ip',
]

/** What a protocol handler calls once the connection proved who it is: it leaves the unauthenticated share. */
export interface ConnectionAuth {
  /** Moves the connection to the authenticated share (idempotent). */
  authenticate(): void
}

export interface Slot extends ConnectionAuth {
  readonly authenticated: boolean
  /** The connection is gone (idempotent). */
  release(): void
}

export type Admission = { ok: true; slot: Slot } | { ok: false; reason: SlotRefusal }

export class ConnectionSlots {
  private total = 0
  private unauthenticated = 0
  private readonly perIp = new Map<string, number>()
  private readonly unauthenticatedMax: number

  constructor(private readonly limits: SlotLimits) {
    this.unauthenticatedMax = Math.max(
      1,
      Math.floor((limits.maxConnections * limits.unauthenticatedPercent) / 100),
    )
  }

  admit(address: string | undefined): Admission {
    const key = addressKey(address ?? '')
    const fromIp = this.perIp.get(key) ?? 0
    if (this.total >= this.limits.maxConnections) return { ok: false, reason: 'max_connections' }
    if (this.unauthenticated >= this.unauthenticatedMax) return { ok: false, reason: 'unauthenticated_share' }
    if (fromIp >= this.limits.unauthenticatedPerIp) return { ok: false, reason: 'unauthenticated_per_ip' }
    this.total++
    this.unauthenticated++
    this.perIp.set(key, fromIp + 1)
    let state: 'unauthenticated' | 'authenticated' | 'released' = 'unauthenticated'
    const leaveUnauthenticated = (): void => {
      this.unauthenticated--
      const left = (this.perIp.get(key) ?? 1) - 1
      if (left > 0) this.perIp.set(key, left)
      else this.perIp.delete(key)
    }
    return {
      ok: true,
      slot: {
        get authenticated() {
          return state === 'authenticated'
        },
        authenticate: () => {
          if (state !== 'unauthenticated') return
          state = 'authenticated'
          leaveUnauthenticated()
        },
        release: () => {
          if (state === 'released') return
          if (state === 'unauthenticated') leaveUnauthenticated()
          state = 'released'
          this.total--
        },
      },
    }
  }

  counts(): { total: number; unauthenticated: number } {
    return { total: this.total, unauthenticated: this.unauthenticated }
  }
}

/**
 * The per-IP key: IPv4-mapped IPv6 as IPv4, IPv6 by its /64 (one subscriber's prefix, which a single
 * host can spread its connections over), anything unparsable as itself.
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped) return mapped[1]!
  if (isIP(address) !== 6) return address
  return `${expandIpv6(address).slice(0, 4).join(':')}::/64`
}

function expandIpv6(address: string): string[] {
  const [head = '', tail] = address.split('%')[0]!.split('::') as [string, string | undefined]
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  const missing = tail === undefined ? 0 : 8 - left.length - right.length
  return [...left, ...Array<string>(missing).fill('0'), ...right].map((h) => h.toLowerCase())
}
