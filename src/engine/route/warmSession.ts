import { ConnectionState, TransportType, type Region } from '../../shared/engine'
import { EngineError, ErrorCode } from '../../shared/errors'
import { definedOf, type Clock, type EngineLogger } from '../defaults'
import type { HttpProxyConfig } from './httpProxy'
import { requestProxySession, type ProxySession } from './proxySessionClient'
import { KEEP_DEFAULTS, KeptConnections, type KeepDeps, type KeepOptions, type KeptJoin } from './warmKeep'

/**
 * The warm join (docs/engine.md "Join round trips", step W): while the app shows its join form with a
 * region set, the engine keeps a fresh proxy session for the join the form would make, so that the join
 * starts from the session's answer instead of paying TCP, TLS and the POST (3 round trips) first.
 *
 * A prepared session is used by exactly one join, and only by a join for the same region and proxy host,
 * token, channel and uid (the token names the app key, channel and uid; the session's TURN username is the
 * uid's), and only while fresh: younger than `maxAgeMs` — below the 60 s of a cluster's route ticket in its
 * signaling URL — and than half its TURN credentials' lifetime (the call keeps those credentials until a
 * reconnect asks again). It is asked again every `refreshMs` until `keepMs` after `prepare` (a form left
 * open all day does not keep asking), until a refusal (the token expired), or until `clear` (leave, release,
 * a join that took it or passed it over).
 */

export interface WarmOptions extends KeepOptions {
  /** A session older than this is not used (ms). */
  maxAgeMs: number
  /** Asked again this often while kept (ms); below maxAgeMs. */
  refreshMs: number
  /** Kept (refreshed) this long after prepareJoin (ms). */
  keepMs: number
}

export const WARM_DEFAULTS: Readonly<WarmOptions> = {
  maxAgeMs: 40_000,
  refreshMs: 25_000,
  keepMs: 600_000,
  ...KEEP_DEFAULTS,
}

/** What a prepared session is for; a join uses it only when all of it matches. */
export interface WarmKey {
  region: Region
  token: string
  channel: string
  uid: number
  /** The mode the connections were kept for (the join's must be the same). */
  mode: TransportType
}

/** What a join takes from a prepared one: the session, and what was kept beside it (warmKeep.ts). */
export interface Prepared extends KeptJoin {
  session: ProxySession
}

interface Kept {
  key: WarmKey
  until: number
  controller: AbortController
  timer?: unknown
  session?: ProxySession
  obtainedAt?: number
  /** The signaling connection and probe allocations, until keepMs (warmKeep.ts). */
  connections?: KeptConnections
  keepTimer?: unknown
}

export interface WarmSessionDeps {
  clock: Clock
  logger: EngineLogger
  warm?: Partial<WarmOptions>
  httpProxy?: HttpProxyConfig
  /** The session request (tests may count or hold it). */
  request?: typeof requestProxySession
  /** Keeps the join's connections too (the default call's joins); without it, only the session. */
  keep?: Omit<KeepDeps, 'region' | 'mode' | 'token' | 'clock' | 'logger' | 'options' | 'httpProxy'>
}

export class WarmSession {
  private kept: Kept | undefined
  private readonly options: WarmOptions

  constructor(private readonly deps: WarmSessionDeps) {
    this.options = { ...WARM_DEFAULTS, ...deps.warm }
  }

  /**
   * Keeps a session ready for `key` (replacing one kept for anything else). Resolves 0 once the first
   * one is there, or with the refusal's code (nothing is kept then).
   */
  async prepare(key: WarmKey): Promise<number> {
    this.clear()
    const { clock } = this.deps
    const kept: Kept = { key, until: clock.now() + this.options.keepMs, controller: new AbortController() }
    this.kept = kept
    const { keep, logger, httpProxy } = this.deps
    if (keep) {
      const { region, mode, token } = key
      const options = { reconnectMs: this.options.reconnectMs, relayRenewMs: this.options.relayRenewMs }
      kept.connections = new KeptConnections({
        ...keep,
        region,
        mode,
        token,
        clock,
        logger,
        options,
        ...(httpProxy ? { httpProxy } : {}),
      })
      kept.keepTimer = clock.setTimeout(() => this.releaseConnections(kept), this.options.keepMs)
    }
    return this.ask(kept)
  }

  /**
   * The session for a join with `key`, when one is kept for exactly that and is fresh. Whatever was kept
   * is dropped either way: a join never finds the previous form's session. Without a region (the join's
   * route was found without a proxy session, or after it), only dropped.
   */
  take(key: Omit<WarmKey, 'region'> & { region: Region | undefined }): Prepared | undefined {
    const kept = this.kept
    const connections = kept?.connections
    if (kept) kept.connections = undefined
    this.clear()
    const { region } = key
    if (
      !kept?.session ||
      kept.obtainedAt === undefined ||
      !region ||
      !sameKey(kept.key, { ...key, region })
    ) {
      connections?.release()
      return undefined
    }
    const age = this.deps.clock.now() - kept.obtainedAt
    const { turn } = kept.session.info
    const lifetimeMs = turn.expiresAt - kept.session.info.serverTime
    if (age >= this.options.maxAgeMs || age >= lifetimeMs / 2) {
      this.deps.logger.info({ ageMs: Math.round(age) }, 'warm session stale: the join asks for its own')
      connections?.release()
      return undefined
    }
    return { session: kept.session, ...connections?.take() }
  }

  /** Stops keeping a session: the refresh timer and any request in flight. */
  clear(): void {
    const kept = this.kept
    if (!kept) return
    this.kept = undefined
    kept.controller.abort(new EngineError(ErrorCode.JoinCanceled, 'warm session cleared'))
    if (kept.timer !== undefined) this.deps.clock.clearTimeout(kept.timer)
    this.releaseConnections(kept)
  }

  /** keepMs is up (or the preparation ended): the connection is closed, the allocations released. */
  private releaseConnections(kept: Kept): void {
    if (kept.keepTimer !== undefined) this.deps.clock.clearTimeout(kept.keepTimer)
    kept.keepTimer = undefined
    kept.connections?.release()
    kept.connections = undefined
  }

  private async ask(kept: Kept): Promise<number> {
    const { clock, logger, httpProxy } = this.deps
    try {
      const session = await (this.deps.request ?? requestProxySession)(kept.key.region, kept.key.token, {
        signal: kept.controller.signal,
        clock,
        ...(httpProxy ? { httpProxy } : {}),
      })
      if (this.kept !== kept) return ErrorCode.JoinCanceled
      kept.session = session
      kept.obtainedAt = clock.now()
      if (kept.obtainedAt + this.options.refreshMs < kept.until) {
        kept.timer = clock.setTimeout(() => void this.ask(kept), this.options.refreshMs)
      }
      return ErrorCode.Ok
    } catch (error) {
      const code = error instanceof EngineError ? error.code : ErrorCode.Internal
      if (this.kept === kept) {
        logger.warn({ code }, 'warm session refused: joins ask for their own')
        this.clear()
      }
      return code
    }
  }
}

/**
 * The engine's WarmSession: with the default call (an injected `connectCall` opens its own signaling),
 * the join's connections are kept beside the session.
 */
export function warmSessionFor(
  options: Pick<WarmSessionDeps, 'warm' | 'httpProxy'> &
    Pick<KeepDeps, 'allocate' | 'budgets'> & { connectCall?: unknown },
  deps: { clock: Clock; logger: EngineLogger; track: KeepDeps['track'] },
): WarmSession {
  const { clock, logger, track } = deps
  const keep = { track, ...definedOf(options, ['allocate', 'budgets']) }
  return new WarmSession({
    clock,
    logger,
    ...definedOf(options, ['httpProxy', 'warm']),
    ...(options.connectCall ? {} : { keep }),
  })
}

/**
 * What `prepareJoin` may keep a session for: 414 for what joinChannel would refuse with 414 (`valid`:
 * the engine's validateJoin; uid 0 with a proxy: nothing is sent), InvalidState without a fixed region
 * (`auto` picks one at the join), in mode None (no proxy) or while in a channel.
 */
export function warmKeyOf(join: {
  token: string
  channel: string
  uid: number
  mode: TransportType
  region: Region | undefined
  state: ConnectionState
  valid: boolean
}): WarmKey | number {
  const { token, channel, uid, mode, region, state } = join
  if (!join.valid) return ErrorCode.RequestParameter
  const idle = state === ConnectionState.Disconnected || state === ConnectionState.Failed
  if (!region || mode === TransportType.None || !idle) return ErrorCode.InvalidState
  return { region, token, channel, uid, mode }
}

function sameKey(a: WarmKey, b: WarmKey): boolean {
  return (
    a.region.id === b.region.id &&
    a.region.proxyHost === b.region.proxyHost &&
    a.region.ports.tcp === b.region.ports.tcp &&
    a.token === b.token &&
    a.channel === b.channel &&
    a.uid === b.uid &&
    a.mode === b.mode
  )
}
