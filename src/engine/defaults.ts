import { systemClock, type Clock } from '../platform/clock'

/**
 * Every engine default in one place (docs/architecture.md "How we write code"), plus the injectable clock and
 * logger types. docs/engine.md documents the same values.
 */

export const ENGINE_DEFAULTS = {
  probe: {
    /** STUN Binding over UDP: first retransmission after this, doubling (RFC 8489 §6.2.1, shortened). */
    udpRetransmitMs: 200,
    /** Give up on a UDP port after this long (a dropping firewall never answers). */
    udpTimeoutMs: 1500,
    /** TCP connect + TLS handshake. */
    tlsTimeoutMs: 3000,
    /** One HTTPS request to the session API, TLS included. */
    sessionTimeoutMs: 5000,
  },
  /** Per-stage budgets of transport selection (Auto tries them in this order). */
  budgets: {
    directMs: 1500,
    udpMs: 2000,
    tlsMs: 4000,
  },
  turn: {
    /** Allocate over UDP: first retransmission after this, doubling. */
    udpRetransmitMs: 250,
    /** Releasing a probe allocation (Refresh lifetime 0) waits this long for the answer. */
    releaseTimeoutMs: 1000,
  },
  /** From joinChannel to Connected, whatever the stages; then Failed (timeout). */
  joinTimeoutMs: 20_000,
  /** leaveChannel and release wait this long at most for probe releases and the call's close. */
  cleanupWaitMs: 2000,
} as const

export interface TransportBudgets {
  directMs: number
  udpMs: number
  tlsMs: number
}

/** Time and timers, injectable so budgets can be tested without waiting: the one Clock of src/platform. */
export { systemClock, type Clock }

/** The subset of pino's logger the engine uses; a pino logger fits it. */
export interface EngineLogger {
  debug(fields: object, message: string): void
  info(fields: object, message: string): void
  warn(fields: object, message: string): void
  error(fields: object, message: string): void
}

const noop = (): void => undefined
export const silentLogger: EngineLogger = { debug: noop, info: noop, warn: noop, error: noop }

/** Resolves after `ms` on `clock`, or rejects with the signal's reason when aborted first. */
export function sleep(ms: number, clock: Clock = systemClock, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = (): void => {
      clock.clearTimeout(handle)
      reject(signal?.reason)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** Settles like `promise`, or rejects with the signal's reason as soon as it aborts. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}

/** The entries of `source` named in `keys` whose value is defined (for exactOptionalPropertyTypes). */
export function definedOf<T extends object, K extends keyof T>(source: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {}
  for (const key of keys) if (source[key] !== undefined) out[key] = source[key]
  return out
}

/**
 * The steps of one join, for `createEngine({ joinTimeline })` (docs/engine.md "Join round trips"): each
 * is reported once, with the ms since joinChannel, while the join is in progress (nothing after Connected
 * or a failure, nothing on reconnects). A debugging and bench aid: a few timestamps, no allocation per
 * packet.
 */
export type JoinStep =
  /** The proxy session request leaves (POST /v1/proxy/session over pinned TLS: TCP + TLS + HTTP). */
  | 'sessionRequest'
  /** Its answer arrived and passed the whitelist check. */
  | 'sessionAnswer'
  /** The transport is chosen: the probe TURN allocation (the UDP race, or TURN over TLS) succeeded. */
  | 'transportSelected'
  /** The signaling WebSocket is open (TCP + TLS + HTTP upgrade, relayed to the conference server). */
  | 'signalingOpen'
  /** The conference server's `joined`. */
  | 'joined'
  /** The conference server's first offer reached the PeerConnection. */
  | 'offer'
  /** werift's own TURN allocation is done (ICE gathering complete): the answer can go. */
  | 'gathered'
  /** Our answer went out on signaling. */
  | 'answer'
  /** ICE connected through the relay (CreatePermission + a connectivity check). */
  | 'iceConnected'
  /** DTLS done: werift's connection state is `connected` (the join resolves right after). */
  | 'dtlsConnected'

/** Where the join steps go (`createEngine({ joinTimeline })`). */
export type JoinMark = (step: JoinStep) => void
