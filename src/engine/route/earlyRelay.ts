import { TransportType, type Region } from '../../shared/engine'
import { EngineError, ErrorCode } from '../../shared/errors'
import {
  JOIN_TURN_PRESUMED_REALM,
  JOIN_TURN_TLS_NONCE,
  joinTurnCredentials,
} from '../../protocol/auth/joinTurn'
import { ENGINE_DEFAULTS, type Clock, type TransportBudgets } from '../defaults'
import type { HttpProxyConfig } from './httpProxy'
import type { Preconnected } from './preconnect'
import { pinOf } from './tlsPin'
import type { AllocateOptions, TurnAllocation, TurnCredentials, TurnTarget } from './turnProbe'

/** pathSelect.ts's AllocateFn (allocateTurn, or a test's), by shape: no import cycle through it. */
type AllocateFn = (
  target: TurnTarget,
  credentials: TurnCredentials,
  options: AllocateOptions,
) => Promise<TurnAllocation>

/**
 * The join's probe allocations started with the session request instead of after its answer (issue 15,
 * docs/engine.md "Join round trips", step A). Their credentials come from the join token itself
 * (protocol/auth/joinTurn.ts: USERNAME = the token's `header.payload`, password = its signature), which
 * the proxy's TURN server checks as its session API checks the token; the session answer's REST
 * credentials are not needed for them. Without the answer's realm and nonce the first Allocate draws a
 * 401 (one round trip), hidden under the session request's three.
 *
 * UDP proxy and Auto: Allocate on the region's two UDP ports at once (the race's racers, started early).
 * TCP proxy: Allocate on the TURN-over-TLS connection made beside the session request (preconnect.ts),
 * pinned as the session request itself is pinned — the connection the whole token goes over. The
 * transport selection takes them (`takeUdp`, `takeTls`) when it has the session: one that goes where
 * the session says and, over TLS, saw the session's certificate. One the proxy refuses (an older proxy
 * that knows only REST credentials) is replaced by an Allocate with the session's credentials, as before;
 * any not taken is released (`discard`).
 */
export class EarlyRelay {
  private readonly udp = new Map<string, Started>()
  private tls: (Started & { fingerprint: Promise<string | undefined> }) | undefined

  private constructor(private readonly region: Region) {}

  /** Undefined when the token gives no TURN credentials (not a JWT, too long for a STUN USERNAME). */
  static start(input: {
    region: Region
    mode: TransportType
    token: string
    allocate: AllocateFn
    signal: AbortSignal
    clock: Clock
    budgets?: Partial<TransportBudgets>
    /** TCP proxy mode: the TLS connection made beside the session request. */
    turnTls?: Preconnected
    httpProxy?: HttpProxyConfig
  }): EarlyRelay | undefined {
    const pair = joinTurnCredentials(input.token)
    const udp = input.mode === TransportType.UDPProxy || input.mode === TransportType.Auto
    if (!pair || (!udp && !input.turnTls)) return undefined
    const credentials = { username: pair.username, credential: pair.credential }
    const early = new EarlyRelay(input.region)
    const { proxyHost: host, ports } = input.region
    const budgets = { ...ENGINE_DEFAULTS.budgets, ...input.budgets }
    if (udp) {
      ports.udp.forEach((port, index) => {
        if (early.udp.has(`${host}:${port}`)) return // one port named twice: one allocation
        const unreachableCode = index === 0 ? ErrorCode.ProxyUdpUnreachable : ErrorCode.ProxyUdpAltUnreachable
        const target = { transport: 'udp' as const, host, port }
        early.udp.set(
          `${host}:${port}`,
          started(input.signal, (signal) =>
            input.allocate(target, credentials, {
              signal,
              clock: input.clock,
              timeoutMs: budgets.udpMs,
              unreachableCode,
            }),
          ),
        )
      })
    } else if (input.turnTls) {
      const connection = input.turnTls.takeAny()
      const target = { transport: 'tls' as const, host, port: ports.tcp }
      const options = {
        clock: input.clock,
        timeoutMs: budgets.tlsMs,
        pin: pinOf(input.region),
        ...(input.httpProxy ? { httpProxy: input.httpProxy } : {}),
      }
      const tls = started(input.signal, async (signal) => {
        const connected = await connection
        if (!connected) throw new EngineError(ErrorCode.ProxyTlsUnreachable, `${target.host}:${target.port}`)
        // Over TLS the first Allocate needs no nonce of the server's (joinTurn.ts): no 401 round trip.
        const presumed = { ...credentials, realm: JOIN_TURN_PRESUMED_REALM, nonce: JOIN_TURN_TLS_NONCE }
        return input.allocate(target, presumed, {
          ...options,
          signal,
          connected: Promise.resolve(connected),
        })
      })
      early.tls = { ...tls, fingerprint: connection.then((c) => c?.fingerprintSha256) }
    }
    return early
  }

  /**
   * The early allocation on host:port over UDP, once, or the `fallback` (with the session's credentials)
   * should the proxy refuse the token's; undefined when there is none for that port. `signal` (the race's
   * budget) aborts it.
   */
  takeUdp(
    host: string,
    port: number,
    signal: AbortSignal,
    fallback: () => Promise<TurnAllocation>,
  ): Promise<TurnAllocation> | undefined {
    const key = `${host}:${port}`
    const early = this.udp.get(key)
    if (!early || early.taken) return undefined
    early.taken = true
    early.abortWith(signal)
    return early.allocation.catch((error: unknown) => {
      if (!refused(error)) throw error
      return fallback()
    })
  }

  /**
   * The early TLS allocation, once, if it goes to host:port and its connection saw `fingerprint` (the
   * session's); otherwise — or if the proxy refused the token's credentials — it is released and the
   * `fallback` connects and allocates afresh, as without.
   */
  takeTls(
    host: string,
    port: number,
    fingerprint: string,
    signal: AbortSignal,
    fallback: () => Promise<TurnAllocation>,
  ): Promise<TurnAllocation> | undefined {
    const early = this.tls
    if (!early || early.taken) return undefined
    early.taken = true
    early.abortWith(signal)
    const usable = host === this.region.proxyHost && port === this.region.ports.tcp
    return early.fingerprint.then((seen) => {
      if (!usable || seen === undefined || seen.toUpperCase() !== fingerprint.toUpperCase()) {
        void early.allocation.then(
          (a) => a.release(),
          () => false,
        )
        return fallback()
      }
      return early.allocation.catch((error: unknown) => {
        if (!refused(error)) throw error
        return fallback()
      })
    })
  }

  /**
   * Releases every allocation not taken when (if ever) it completes — not aborted: an Allocate in flight
   * may have made it on the proxy already; resolves when that is done.
   */
  discard(): Promise<unknown> {
    const left = [...this.udp.values(), ...(this.tls ? [this.tls] : [])].filter((e) => !e.taken)
    for (const early of left) early.taken = true
    return Promise.all(
      left.map((early) =>
        early.allocation.then(
          (a) => a.release(),
          () => false,
        ),
      ),
    )
  }
}

interface Started {
  allocation: Promise<TurnAllocation>
  taken: boolean
  /** The taker's signal (its budget) aborts it too. */
  abortWith(signal: AbortSignal): void
}

/** An allocation the join's signal aborts (a leave), and later its taker's too. */
function started(join: AbortSignal, run: (signal: AbortSignal) => Promise<TurnAllocation>): Started {
  const controller = new AbortController()
  const allocation = run(AbortSignal.any([controller.signal, join]))
  allocation.catch(() => undefined) // the taker reports a failure; one not taken is only released
  return {
    allocation,
    taken: false,
    abortWith: (signal) => {
      if (signal.aborted) controller.abort()
      else signal.addEventListener('abort', () => controller.abort(), { once: true })
    },
  }
}

/** The proxy refused the token's credentials (an older proxy): the session's may still be accepted. */
function refused(error: unknown): boolean {
  return error instanceof EngineError && error.code === ErrorCode.TurnAllocationRefused
}
