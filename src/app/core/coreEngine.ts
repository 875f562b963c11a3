import { createEngine as defaultCreateEngine, type Engine, type EngineLogger } from '../../engine'
import { ConnectionState } from '../../shared/engine'
import { EngineError, ErrorCode } from '../../shared/errors'
import type { SettingsNote } from '../../shared/settingsNotes'
import type { EffectiveSettings } from '../settings/policy'
import type { AppCoreOptions, CoreParts } from './coreOptions'
import { effectiveOf } from './coreSettings'
import { acquireLocalStack, stackAnswers } from '../stack/discovery'
import type { EngineSlot } from './engineSlot'
import type { LocalStack } from '../stack/localStack'

/**
 * The app core's engine and the local stack it runs on (docs/app.md): the stack started (or found) when no
 * region is configured, the engine built for the regions in force, the move to a live stack when another
 * instance's goes, and the join tokens to redact. The stack itself is src/app/stack (localStack.ts starts
 * one, discovery.ts finds and shares one).
 */

/**
 * The core's local stack at start: only with no region at all, and only if the policy allows it. A stack
 * that does not start, or a policy that forbids it, leaves a notice for the page.
 */
export async function stackAtStart(
  options: AppCoreOptions,
  logger: EngineLogger,
  before: EffectiveSettings,
  notices: SettingsNote[],
): Promise<LocalStack | undefined> {
  if (before.regions.length === 0 && before.allowEmbeddedStack) {
    try {
      return await acquireStack(options, logger)
    } catch (error) {
      logger.error({ err: error }, 'the embedded local stack did not start')
      const why = error instanceof Error ? error.message : String(error)
      notices.push({ kind: 'stackFailed', why })
    }
  } else if (before.regions.length === 0 && before.canCall) {
    notices.push({ kind: 'noRegion' })
  }
  return undefined
}

function acquireStack(options: AppCoreOptions, logger: EngineLogger): Promise<LocalStack> {
  return (options.localStack ?? (() => acquireLocalStack({ logger })))()
}

/** A new engine for the regions in force (with the embedded stack's direct path and app key). */
export function buildEngine(parts: CoreParts): Engine {
  const { options, logger, stack } = parts
  const effective = effectiveOf(parts)
  const direct = stack ? stack.direct : options.direct
  const engine = (options.createEngine ?? defaultCreateEngine)({
    regions: [...effective.regions],
    logger,
    ...(stack ? { appKey: stack.info.appKey } : {}),
    ...(direct ? { direct } : {}),
    // The policy's corporate HTTP CONNECT proxy for the TLS 443 traffic (issue 6).
    ...(effective.httpProxy ? { httpProxy: effective.httpProxy } : {}),
    ...options.engine,
  })
  engine.setCloudProxy(effective.cloudProxy)
  engine.setRegion(effective.region)
  return engine
}

/**
 * The embedded stack of another instance goes when that instance quits. Before a token or a join, outside
 * a call: if the stack in use no longer answers, take a live one (found or started, through
 * `options.localStack`) and move the slot to a new engine for it; the page, its events and its media port
 * stay.
 */
export async function ensureLiveStack(parts: CoreParts, slot: EngineSlot): Promise<LocalStack | undefined> {
  const { stack, options, logger } = parts
  if (!stack || stack.owned) return stack
  const state = slot.engine.getConnectionState()
  if (state !== ConnectionState.Disconnected && state !== ConnectionState.Failed) return stack
  if (await (options.stackAnswers ?? stackAnswers)(stack.info)) return stack
  logger.warn({ pid: stack.info.pid }, 'the embedded stack of another instance is gone: taking another')
  let fresh: LocalStack
  try {
    fresh = await acquireStack(options, logger)
  } catch (error) {
    const detail = 'the local test stack has gone and no new one started: restart Pinhole'
    throw new EngineError(ErrorCode.InvalidState, detail, { cause: error })
  }
  parts.stack = fresh
  parts.ownsStack = options.localStack === undefined
  parts.ownRegions = [...parts.configured, fresh.info.region]
  const old = slot.replace(buildEngine(parts))
  void old.release()
  return fresh
}

/** Join tokens a core has seen or minted: removed by value from a diagnostics export. */
export class TokenMemory {
  private readonly tokens = new Set<string>()

  remember(token: string): void {
    if (token === '') return
    // Bounded: a long session joins many times; the newest tokens are the ones its logs hold.
    if (this.tokens.size >= 64) this.tokens.delete(this.tokens.values().next().value!)
    this.tokens.add(token)
  }

  /** The tokens, and the app secret of the embedded stack in use. */
  secrets(stack: LocalStack | undefined): string[] {
    return [...this.tokens, ...(stack ? [stack.info.secret] : [])]
  }
}
