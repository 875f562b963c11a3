import { TransportType, type Region } from '../../shared/engine'
import { ENGINE_DEFAULTS, type Clock, type EngineLogger, type TransportBudgets } from '../defaults'
import { EarlyRelay } from './earlyRelay'
import type { HttpProxyConfig } from './httpProxy'
import { Preconnected } from './preconnect'
import { connectPinnedTls, pinOf, type PinnedTls } from './tlsPin'
import { allocateTurn, type AllocateOptions, type TurnAllocation, type TurnCredentials } from './turnProbe'
import type { TurnTarget } from './turnProbe'

/**
 * What a prepared join keeps besides its session (docs/engine.md "Join round trips", step K), so that the
 * join starts past the three connection round trips: the signaling connection's TCP and TLS to the proxy
 * (`KeptTls`: the join sends its upgrade on it at once) and the join's probe allocations on the token's
 * credentials (earlyRelay.ts, made now instead of at the join: the race and the TLS stage take them).
 *
 * The proxy closes a TLS connection that sends nothing within its first-byte deadline (10 s), so the kept
 * one is replaced every `reconnectMs` (7 s), the new one open before the old one closes; one the proxy
 * closed is replaced, never handed to the join. An allocation with a client on it is not closed for
 * idleness; the kept ones are made again every `relayRenewMs` (below half of the 600 s TURN lifetime, so
 * werift's first refresh has the time it expects). Everything goes at `release` (leave, release, keepMs,
 * another prepareJoin) or to the join that takes it.
 */

export interface KeepOptions {
  /** The kept signaling connection is replaced this often (ms); below the proxy's 10 s first-byte deadline. */
  reconnectMs: number
  /** The kept allocations are made again this often (ms). */
  relayRenewMs: number
}

export const KEEP_DEFAULTS: Readonly<KeepOptions> = { reconnectMs: 7_000, relayRenewMs: 240_000 }

/** What the join takes: each undefined when there is none (or it is no longer usable). */
export interface KeptJoin {
  signaling?: Preconnected
  relay?: EarlyRelay
}

type AllocateFn = (
  target: TurnTarget,
  credentials: TurnCredentials,
  options: AllocateOptions,
) => Promise<TurnAllocation>

export interface KeepDeps {
  region: Region
  mode: TransportType
  token: string
  clock: Clock
  logger: EngineLogger
  options: KeepOptions
  httpProxy?: HttpProxyConfig
  budgets?: Partial<TransportBudgets>
  allocate?: AllocateFn
  /** Allocations being released (the engine waits for them at leave and release). */
  track(released: Promise<unknown>): void
}

/** The signaling connection and the probe allocations of one prepared join. */
export class KeptConnections {
  private readonly tls: KeptTls
  private relay: EarlyRelay | undefined
  private relayController = new AbortController()
  private relayTimer: unknown

  constructor(private readonly deps: KeepDeps) {
    this.tls = new KeptTls(deps)
    this.renewRelay()
  }

  /** Hands both over (once) and stops renewing them. */
  take(): KeptJoin {
    this.stopRelayTimer()
    const relay = this.relay
    this.relay = undefined
    this.relayController = new AbortController() // the join's now: release() must not abort it
    const tls = this.tls.take()
    return {
      ...(tls ? { signaling: Preconnected.of(this.deps.region, tls) } : {}),
      ...(relay ? { relay } : {}),
    }
  }

  /** Closes the connection and releases the allocations (once made, if in flight). */
  release(): void {
    this.stopRelayTimer()
    this.tls.close()
    this.relayController.abort()
    if (this.relay) this.deps.track(this.relay.discard())
    this.relay = undefined
  }

  private renewRelay(): void {
    const { deps } = this
    const old = this.relay
    const controller = new AbortController()
    const turnTls =
      deps.mode === TransportType.TCPProxy
        ? Preconnected.start(deps.region, ['stun.turn'], {
            timeoutMs: deps.budgets?.tlsMs ?? ENGINE_DEFAULTS.budgets.tlsMs,
            signal: controller.signal,
            clock: deps.clock,
            ...(deps.httpProxy ? { httpProxy: deps.httpProxy } : {}),
          })
        : undefined
    this.relay = EarlyRelay.start({
      region: deps.region,
      mode: deps.mode,
      token: deps.token,
      allocate: deps.allocate ?? allocateTurn,
      signal: controller.signal,
      clock: deps.clock,
      ...(deps.budgets ? { budgets: deps.budgets } : {}),
      ...(turnTls ? { turnTls } : {}),
      ...(deps.httpProxy ? { httpProxy: deps.httpProxy } : {}),
    })
    if (!this.relay) turnTls?.discard() // no allocation on it (a token that gives no credentials)
    this.relayController = controller
    if (old) deps.track(old.discard())
    this.relayTimer = deps.clock.setTimeout(() => this.renewRelay(), deps.options.relayRenewMs)
  }

  private stopRelayTimer(): void {
    if (this.relayTimer !== undefined) this.deps.clock.clearTimeout(this.relayTimer)
    this.relayTimer = undefined
  }
}

/**
 * A pinned TLS connection (ALPN http/1.1) to the region's proxy host and TCP port, through the corporate
 * CONNECT proxy when one is set, kept open and replaced before the proxy's deadline for a first byte.
 */
class KeptTls {
  private current: { tls: PinnedTls; openedAt: number; onClose: () => void } | undefined
  /** The one being opened (a renewal or a replacement), and what aborts it. */
  private opening: { tls: Promise<PinnedTls>; controller: AbortController } | undefined
  /** The one being opened when the join took it. */
  private handed: { tls: Promise<PinnedTls> } | undefined
  private timer: unknown
  private closed = false

  constructor(private readonly deps: KeepDeps) {
    this.open()
  }

  /**
   * The connection, once: the kept one if it is still open, else the one being opened (a replacement
   * under way is nearer than a new one); undefined when there is neither. Nothing is renewed after.
   */
  take(): Promise<PinnedTls> | undefined {
    const current = this.current
    this.current = undefined
    let taken: Promise<PinnedTls> | undefined
    if (current) {
      current.tls.socket.off('close', current.onClose)
      const { socket } = current.tls
      if (!socket.destroyed && socket.writable && socket.readyState === 'open') {
        taken = Promise.resolve(current.tls)
      } else socket.destroy() // the proxy closed it (or is closing it): not this one
    }
    if (!taken && this.opening) {
      this.handed = this.opening
      this.opening = undefined // the join's now: close() leaves it alone
      taken = this.handed.tls
    }
    this.close()
    return taken
  }

  close(): void {
    this.closed = true
    this.opening?.controller.abort()
    if (this.timer !== undefined) this.deps.clock.clearTimeout(this.timer)
    this.timer = undefined
    this.current?.tls.socket.destroy()
    this.current = undefined
  }

  private open(): void {
    if (this.closed) return
    this.schedule() // the next renewal (or a retry after a failure)
    if (this.opening) return // one is being opened
    const { region, clock, logger, httpProxy } = this.deps
    const controller = new AbortController()
    const tls = connectPinnedTls(region.proxyHost, region.ports.tcp, pinOf(region), {
      timeoutMs: this.deps.budgets?.tlsMs ?? ENGINE_DEFAULTS.budgets.tlsMs,
      alpn: ['http/1.1'],
      signal: controller.signal,
      clock,
      ...(httpProxy ? { httpProxy } : {}),
    })
    const opening = { tls, controller }
    this.opening = opening
    tls.then(
      (tls) => {
        if (this.opening !== opening) {
          // Taken by the join while it was opened (the join's now), or closed meanwhile.
          if (this.handed !== opening) tls.socket.destroy()
          return
        }
        this.opening = undefined
        if (this.closed) return void tls.socket.destroy()
        const old = this.current
        tls.socket.on('error', () => undefined) // a reset while kept: 'close' follows
        const onClose = (): void => this.lost(tls)
        tls.socket.once('close', onClose)
        this.current = { tls, openedAt: clock.now(), onClose }
        // Make before break: the new one is open before the old one goes.
        if (old) {
          old.tls.socket.off('close', old.onClose)
          old.tls.socket.destroy()
        }
      },
      (error: unknown) => {
        if (this.opening === opening) this.opening = undefined
        if (!this.closed) logger.info({ err: error }, 'warm join: the kept signaling connection failed')
      },
    )
  }

  /** The proxy (or the network) closed the kept connection: replaced at once, unless it had just opened. */
  private lost(tls: PinnedTls): void {
    const current = this.current
    if (current?.tls !== tls) return
    this.current = undefined
    const lived = this.deps.clock.now() - current.openedAt
    if (lived >= 1_000) this.open()
  }

  private schedule(): void {
    if (this.timer !== undefined) this.deps.clock.clearTimeout(this.timer)
    this.timer = this.deps.clock.setTimeout(() => {
      this.timer = undefined
      this.open()
    }, this.deps.options.reconnectMs)
  }
}
