import type { RTCPeerConnectionConfig } from 'werift'
import {
  TransportType,
  type MediaTransport,
  type Region,
  type TransportAttempt,
  type TransportAttemptOutcome,
} from '../../shared/engine'
import { EngineError, ErrorCode } from '../../shared/errors'
import { ENGINE_DEFAULTS, systemClock, type Clock, type TransportBudgets } from '../defaults'
import { probeDirectTcp, type DirectConfig, type DirectProbe } from './direct'
import type { ProxySession, TurnEndpoint } from './proxySessionClient'
import type { HttpProxyConfig } from './httpProxy'
import type { EarlyRelay } from './earlyRelay'
import type { Preconnected } from './preconnect'
import { RelayHandover } from './relayHandover'
import { combined, outcomeOf } from './stageErrors'
import { weriftTlsOptions, type TlsPin } from './tlsPin'
import {
  allocateTurn,
  type AllocateOptions,
  type TurnAllocation,
  type TurnCredentials,
  type TurnTarget,
} from './turnProbe'
import type { TransportSelection } from './types'

export type { DirectConfig, DirectProbe } from './direct'
export type { TransportSelection } from './types'

/**
 * Chooses the one TURN server werift gets (it only ever uses the first URL: docs/architecture.md "Why
 * werift"). UDP proxy: TURN Allocate raced on UDP 3478 and 7070, first allocation wins. TCP proxy: TURN over
 * TLS on 443, pinned. Auto: direct, then the UDP race, then TLS, each within its budget. Probe allocations
 * are released (Refresh lifetime 0) but the UDP race's winner or the TLS one, which the call's werift
 * takes over (`relay`, relayHandover.ts).
 */

export type AllocateFn = (
  target: TurnTarget,
  credentials: TurnCredentials,
  options: AllocateOptions,
) => Promise<TurnAllocation>

export interface SelectTransportInput {
  mode: TransportType
  /**
   * The region and its proxy session; required in proxy modes (1, 2, 3). A function is called only when a
   * proxy stage starts, so Auto tries direct before contacting the proxy at all.
   */
  proxy?: ProxyTarget | (() => Promise<ProxyTarget>)
  direct?: DirectConfig
  budgets?: Partial<TransportBudgets>
  signal?: AbortSignal
  clock?: Clock
  allocate?: AllocateFn
  probeDirect?: DirectProbe
  /** TURN over TLS through a corporate HTTP CONNECT proxy (the probe allocation; werift's gets its own). */
  httpProxy?: HttpProxyConfig
}

export interface ProxyTarget {
  /** The region as the host the session came from (`proxyHost`; `regionAt` when it has several). */
  region: Region
  session: ProxySession
  /** A region with several proxy hosts: all of them in the order this call tries them, best first. */
  hosts?: readonly string[]
  /** TCP proxy mode: the TURN-over-TLS connection made beside the session request (preconnect.ts). */
  turnTls?: Preconnected
  /** The join's allocations started with the session request, on the token's credentials (earlyRelay.ts). */
  early?: EarlyRelay
}

interface Ctx {
  input: SelectTransportInput
  clock: Clock
  budgets: TransportBudgets
  started: number
  attempts: TransportAttempt[]
  releases: Promise<unknown>[]
  proxy?: Promise<ProxyTarget>
}

export async function selectTransport(input: SelectTransportInput): Promise<TransportSelection> {
  const clock = input.clock ?? systemClock
  const ctx: Ctx = {
    input,
    clock,
    budgets: { ...ENGINE_DEFAULTS.budgets, ...input.budgets },
    started: clock.now(),
    attempts: [],
    releases: [],
  }
  if (input.mode === TransportType.None) return directSelection(ctx, requireDirect(input))
  const stages: (() => Promise<TransportSelection | undefined>)[] = []
  if (input.mode === TransportType.Auto && input.direct) stages.push(() => tryDirect(ctx, input.direct!))
  if (input.mode === TransportType.Auto && !input.direct) skip(ctx, 'direct', 'no direct server configured')
  if (input.mode !== TransportType.TCPProxy) stages.push(() => raceUdp(ctx))
  if (input.mode !== TransportType.UDPProxy) stages.push(() => tryTls(ctx))
  let lastError: EngineError | undefined
  for (const stage of stages) {
    try {
      const selection = await stage()
      if (selection) return selection
    } catch (error) {
      if (!(error instanceof EngineError) || error.code === ErrorCode.JoinCanceled) throw error
      // Without a session (refused token, proxy unreachable) no later proxy stage can do better.
      if (error instanceof ProxyStageError) throw error.cause
      lastError = error
    }
  }
  if (input.mode !== TransportType.Auto && lastError) throw lastError
  const summary = ctx.attempts.map((a) => `${a.transport} ${a.target}: ${a.outcome} ${a.detail ?? ''}`.trim())
  throw new EngineError(ErrorCode.NoTransport, summary.join('; '))
}

function requireDirect(input: SelectTransportInput): DirectConfig {
  if (!input.direct) throw new EngineError(ErrorCode.DirectNotConfigured)
  return input.direct
}

/** Wraps a failure to obtain the proxy session: fatal for the whole selection. */
class ProxyStageError extends EngineError {
  constructor(override readonly cause: EngineError) {
    super(cause.code, cause.detail, { cause })
  }
}

/** The region and session, obtained once (lazily when given as a function). */
function proxyOf(ctx: Ctx): Promise<ProxyTarget> {
  const given = ctx.input.proxy
  if (given === undefined) throw new RangeError('selectTransport: a proxy mode needs the proxy session')
  ctx.proxy ??= (typeof given === 'function' ? given() : Promise.resolve(given)).catch((error: unknown) => {
    throw error instanceof EngineError && error.code !== ErrorCode.JoinCanceled
      ? new ProxyStageError(error)
      : error
  })
  return ctx.proxy
}

function record(
  ctx: Ctx,
  transport: MediaTransport,
  target: string,
  outcome: TransportAttemptOutcome,
  since: number,
  detail?: string,
): void {
  const attempt: TransportAttempt = { transport, target, outcome, elapsedMs: ctx.clock.now() - since }
  if (detail !== undefined) attempt.detail = detail
  ctx.attempts.push(attempt)
}

function skip(ctx: Ctx, transport: MediaTransport, detail: string, target = '-'): void {
  record(ctx, transport, target, 'skipped', ctx.clock.now(), detail)
}

/** Runs `run` with an abort signal that fires at the budget (or when the caller aborts); rejects at the budget. */
function withBudget<T>(
  ctx: Ctx,
  budgetMs: number,
  onTimeout: () => EngineError,
  run: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController()
  const parent = ctx.input.signal
  const onAbort = (): void => controller.abort()
  if (parent?.aborted) controller.abort()
  parent?.addEventListener('abort', onAbort, { once: true })
  return new Promise<T>((resolve, reject) => {
    const timer = ctx.clock.setTimeout(() => {
      controller.abort()
      reject(onTimeout())
    }, budgetMs)
    const settle = (): void => {
      ctx.clock.clearTimeout(timer)
      parent?.removeEventListener('abort', onAbort)
    }
    run(controller.signal).then(
      (value) => (settle(), resolve(value)),
      (error: unknown) => {
        settle()
        reject(parent?.aborted ? new EngineError(ErrorCode.JoinCanceled, 'transport selection') : error)
      },
    )
  })
}

function directSelection(ctx: Ctx, direct: DirectConfig): TransportSelection {
  return {
    mode: ctx.input.mode,
    transport: 'direct',
    target: direct.signalUrl,
    signalUrl: direct.signalUrl,
    rtcConfig: { iceServers: direct.iceServers ?? [], iceTransportPolicy: 'all', bundlePolicy: 'max-bundle' },
    elapsedMs: ctx.clock.now() - ctx.started,
    attempts: ctx.attempts,
    released: Promise.resolve(),
  }
}

async function tryDirect(ctx: Ctx, direct: DirectConfig): Promise<TransportSelection> {
  const since = ctx.clock.now()
  const probe = ctx.input.probeDirect ?? probeDirectTcp
  const budget = ctx.budgets.directMs
  try {
    await withBudget(
      ctx,
      budget,
      () => new EngineError(ErrorCode.DirectUnreachable, `no answer within the ${budget} ms budget`),
      (signal) => probe(direct, budget, signal),
    )
  } catch (error) {
    record(ctx, 'direct', direct.signalUrl, outcomeOf(error).outcome, since, outcomeOf(error).detail)
    throw error
  }
  record(ctx, 'direct', direct.signalUrl, 'won', since)
  return directSelection(ctx, direct)
}

/** With the session's realm and nonce when it has them: the first Allocate is then authenticated. */
function credentialsOf(session: ProxySession): TurnCredentials {
  const { username, credential, realm, nonce } = session.info.turn
  return { username, credential, ...(realm && nonce ? { realm, nonce } : {}) }
}

function relaySelection(
  ctx: Ctx,
  { session }: ProxyTarget,
  transport: 'udp' | 'tls',
  endpoint: TurnEndpoint,
  pin?: TlsPin,
): TransportSelection {
  const { username, credential } = credentialsOf(session)
  const rtcConfig: RTCPeerConnectionConfig = {
    iceServers: [{ urls: endpoint.url, username, credential }],
    iceTransportPolicy: 'relay',
    bundlePolicy: 'max-bundle',
  }
  if (pin) rtcConfig.turnTlsOptions = weriftTlsOptions(endpoint.host, pin, session.leafPem)
  return {
    mode: ctx.input.mode,
    transport,
    target: `${endpoint.host}:${endpoint.port}`,
    signalUrl: session.info.signalUrl,
    turn: { url: endpoint.url, username, credential },
    rtcConfig,
    elapsedMs: ctx.clock.now() - ctx.started,
    attempts: ctx.attempts,
    released: Promise.all(ctx.releases).then(() => undefined),
  }
}

/** Releases an allocation when (if ever) it succeeds, unless `kept` settles to it (the UDP race's winner). */
function releaseWhenDone(
  ctx: Ctx,
  allocation: Promise<TurnAllocation>,
  kept: Promise<TurnAllocation | undefined> = Promise.resolve(undefined),
): void {
  ctx.releases.push(
    allocation.then(
      async (a) => ((await kept) === a ? true : a.release()),
      () => false,
    ),
  )
}

function udpEndpoints(ctx: Ctx, session: ProxySession): { role: 'udp' | 'udpAlt'; endpoint: TurnEndpoint }[] {
  const offered: { role: 'udp' | 'udpAlt'; endpoint: TurnEndpoint }[] = []
  for (const role of ['udp', 'udpAlt'] as const) {
    const endpoint = session.endpoints[role]
    if (endpoint) offered.push({ role, endpoint })
    else skip(ctx, 'udp', `the proxy offers no ${role === 'udp' ? 'primary' : 'alternate'} UDP TURN URL`)
  }
  if (offered.length === 0)
    throw new EngineError(ErrorCode.ProxyUdpUnreachable, 'the session offers no UDP TURN URL')
  return offered
}

/** Both UDP ports at once; the first allocation wins, the other is released whenever it completes. */
async function raceUdp(ctx: Ctx): Promise<TransportSelection> {
  const proxy = await proxyOf(ctx)
  const { session } = proxy
  const offered = udpEndpoints(ctx, session)
  const allocate = ctx.input.allocate ?? allocateTurn
  const since = ctx.clock.now()
  const budget = ctx.budgets.udpMs
  const failures = new Map<TurnEndpoint, { outcome: TransportAttemptOutcome; detail: string }>()
  let winner: TurnEndpoint | undefined
  let kept: TurnAllocation | undefined // handed on (RelayHandover); the others released when they complete
  let decide: (allocation: TurnAllocation | undefined) => void = () => undefined
  const decided = new Promise<TurnAllocation | undefined>((resolve) => (decide = resolve))
  const timeout = (): EngineError =>
    new EngineError(ErrorCode.ProxyUdpUnreachable, `no UDP allocation within the ${budget} ms budget`)
  try {
    ;[winner, kept] = await withBudget(ctx, budget, timeout, (signal) => {
      const racers = offered.map(({ role, endpoint }) => {
        const start = (): Promise<TurnAllocation> =>
          allocate({ transport: 'udp', host: endpoint.host, port: endpoint.port }, credentialsOf(session), {
            timeoutMs: budget,
            unreachableCode:
              role === 'udp' ? ErrorCode.ProxyUdpUnreachable : ErrorCode.ProxyUdpAltUnreachable,
            signal,
            clock: ctx.clock,
          })
        const allocation = proxy.early?.takeUdp(endpoint.host, endpoint.port, signal, start) ?? start()
        releaseWhenDone(ctx, allocation, decided)
        return allocation.then(
          (done): [TurnEndpoint, TurnAllocation] => [endpoint, done],
          (error: unknown) => {
            // Aborted by the budget (or a leave): recorded below as a timeout, not as this error.
            if (!signal.aborted) failures.set(endpoint, outcomeOf(error))
            throw error
          },
        )
      })
      return Promise.any(racers).catch((aggregate: AggregateError) => {
        throw combined(aggregate.errors)
      })
    })
  } finally {
    decide(kept)
    for (const { endpoint } of offered) {
      const target = `${endpoint.host}:${endpoint.port}`
      const failure = failures.get(endpoint)
      if (endpoint === winner) record(ctx, 'udp', target, 'won', since)
      else if (failure) record(ctx, 'udp', target, failure.outcome, since, failure.detail)
      else if (winner) record(ctx, 'udp', target, 'lost', since, 'the other port allocated first')
      else record(ctx, 'udp', target, 'timeout', since, `no allocation within the ${budget} ms budget`)
    }
  }
  if (!winner || !kept) throw new Error('unreachable: the race resolved without a winner')
  const relay = new RelayHandover(kept, credentialsOf(session))
  return { ...relaySelection(ctx, proxy, 'udp', winner), relay }
}

/** TURN over TLS on the TCP port, pinned to the certificate the session request saw. */
async function tryTls(ctx: Ctx): Promise<TransportSelection> {
  const proxy = await proxyOf(ctx)
  const { session, region } = proxy
  const endpoint = session.endpoints.tls
  if (!endpoint) {
    skip(ctx, 'tls', 'the proxy offers no turns: URL')
    throw new EngineError(ErrorCode.ProxyTlsUnreachable, 'the session offers no turns: URL')
  }
  const pin: TlsPin = { fingerprintSha256: session.fingerprintSha256 }
  if (region.caPem !== undefined) pin.caPem = region.caPem
  const allocate = ctx.input.allocate ?? allocateTurn
  const connected = proxy.turnTls?.take(endpoint.host, endpoint.port, session.fingerprintSha256)
  const target = `${endpoint.host}:${endpoint.port}`
  const since = ctx.clock.now()
  const budget = ctx.budgets.tlsMs
  const timeout = (): EngineError =>
    new EngineError(
      ErrorCode.ProxyTlsUnreachable,
      `${target}: no TLS allocation within the ${budget} ms budget`,
    )
  let allocation: Promise<TurnAllocation> | undefined
  const options = {
    timeoutMs: budget,
    pin,
    clock: ctx.clock,
    ...(ctx.input.httpProxy ? { httpProxy: ctx.input.httpProxy } : {}),
    ...(connected ? { connected } : {}),
  }
  const tls = { transport: 'tls' as const, host: endpoint.host, port: endpoint.port }
  const start = (signal: AbortSignal) => (): Promise<TurnAllocation> =>
    allocate(tls, credentialsOf(session), { ...options, signal })
  const seen = session.fingerprintSha256
  const kept = await withBudget(
    ctx,
    budget,
    timeout,
    (signal) =>
      (allocation = proxy.early?.takeTls(tls.host, tls.port, seen, signal, start(signal)) ?? start(signal)()),
  ).catch((error: unknown) => {
    // One that completes after the budget is released; the one that won is handed on (relayHandover.ts).
    if (allocation) releaseWhenDone(ctx, allocation)
    const { outcome, detail } = outcomeOf(error)
    record(ctx, 'tls', target, outcome, since, detail)
    throw error
  })
  record(ctx, 'tls', target, 'won', since)
  const relay = new RelayHandover(kept, credentialsOf(session))
  return { ...relaySelection(ctx, proxy, 'tls', endpoint, pin), relay }
}
