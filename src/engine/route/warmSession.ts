import { ConnectionState, TransportType, type Region } from '../../shared/engine'
import { EngineError, ErrorCode } from '../../shared/errors'
import type { Clock, EngineLogger } from '../defaults'
import type { HttpProxyConfig } from './httpProxy'
import { requestProxySession, type ProxySession } from './proxySessionClient'

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

export interface WarmOptions {
  /** A session older than this is not used (ms). */
  maxAgeMs: number
  /** Asked again this often while kept (ms); below maxAgeMs. */
  refreshMs: number
  /** Kept (refreshed) this long after prepareJoin (ms). */
  keepMs: number
}

export const WARM_DEFAULTS: Readonly<WarmOptions> = { maxAgeMs: 40_000, refreshMs: 25_000, keepMs: 600_000 }

/** What a prepared session is for; a join uses it only when all of it matches. */
export interface WarmKey {
  region: Region
  token: string
  channel: string
  uid: number
}

interface Kept {
  key: WarmKey
  until: number
  controller: AbortController
  timer?: unknown
  session?: ProxySession
  obtainedAt?: number
}

export interface WarmSessionDeps {
  clock: Clock
  logger: EngineLogger
  warm?: Partial<WarmOptions>
  httpProxy?: HttpProxyConfig
  /** The session request (tests may count or hold it). */
  request?: typeof requestProxySession
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
    return this.ask(kept)
  }

  /**
   * The session for a join with `key`, when one is kept for exactly that and is fresh. Whatever was kept
   * is dropped either way: a join never finds the previous form's session.
   */
  take(key: WarmKey): ProxySession | undefined {
    const kept = this.kept
    this.clear()
    if (!kept?.session || kept.obtainedAt === undefined || !sameKey(kept.key, key)) return undefined
    const age = this.deps.clock.now() - kept.obtainedAt
    const { turn } = kept.session.info
    const lifetimeMs = turn.expiresAt - kept.session.info.serverTime
    if (age >= this.options.maxAgeMs || age >= lifetimeMs / 2) {
      this.deps.logger.info({ ageMs: Math.round(age) }, 'warm session stale: the join asks for its own')
      return undefined
    }
    return kept.session
  }

  /** Stops keeping a session: the refresh timer and any request in flight. */
  clear(): void {
    const kept = this.kept
    if (!kept) return
    this.kept = undefined
    kept.controller.abort(new EngineError(ErrorCode.JoinCanceled, 'warm session cleared'))
    if (kept.timer !== undefined) this.deps.clock.clearTimeout(kept.timer)
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
  return { region, token, channel, uid }
}

function sameKey(a: WarmKey, b: WarmKey): boolean {
  return (
    a.region.id === b.region.id &&
    a.region.proxyHost === b.region.proxyHost &&
    a.region.ports.tcp === b.region.ports.tcp &&
    a.token === b.token &&
    a.channel === b.channel &&
    a.uid === b.uid
  )
}
