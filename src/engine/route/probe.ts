import { createSocket } from 'node:dgram'
import { isIP } from 'node:net'
import {
  regionAt,
  regionHosts,
  type ProbeCheck,
  type ProbeEndpoint,
  type ProbeStatus,
  type Region,
  type RegionProbeResult,
} from '../../shared/engine'
import { EngineError, ErrorCode } from '../../shared/errors'
import { PROXY_SESSION_PATH, ProxyApiErrorSchema } from '../../shared/proxySession'
import { Method, StunClass } from '../../protocol/stun/constants'
import { decodeMessage, encodeMessage, newTransactionId } from '../../protocol/stun/message'
import { ENGINE_DEFAULTS, systemClock, type Clock } from '../defaults'
import { postJsonPinned } from './proxySessionClient'
import { describeHttpProxy, type HttpProxyConfig } from './httpProxy'
import { rankHosts } from './hostFailover'
import { netFailureOf } from './netFailure'
import { connectPinnedTls, pinOf } from './tlsPin'

/**
 * Reachability probes of one region's whitelist entries: a STUN Binding on each UDP port, a pinned TLS
 * connect on the TCP port, an unauthenticated request to the session API. Each returns a ProbeCheck;
 * nothing throws for an expected failure.
 */

export interface ProbeOptions {
  udpTimeoutMs?: number
  udpRetransmitMs?: number
  tlsTimeoutMs?: number
  sessionTimeoutMs?: number
  signal?: AbortSignal
  clock?: Clock
  /** TLS and the session API through this corporate HTTP CONNECT proxy (UDP probes go direct). */
  httpProxy?: HttpProxyConfig
}

export function checkLabel(endpoint: ProbeEndpoint, port: number): string {
  if (endpoint === 'session') return 'Session API'
  return endpoint === 'tls' ? `TLS ${port}` : `UDP ${port}`
}

function base(
  endpoint: ProbeEndpoint,
  host: string,
  port: number,
  httpProxy?: HttpProxyConfig,
): Pick<ProbeCheck, 'endpoint' | 'check' | 'target'> {
  const via = httpProxy ? ` via HTTP proxy ${describeHttpProxy(httpProxy)}` : ''
  return { endpoint, check: `${checkLabel(endpoint, port)}${via}`, target: `${host}:${port}` }
}

/** Errors of a UDP connect or send that mean no way to the host from here (a route, a local firewall). */
const NO_ROUTE = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EACCES', 'EPERM'])

/**
 * STUN Binding over UDP (RFC 8489 §6.2.1), retransmitted with doubling intervals until the timeout. Each
 * transmission is its own transaction so the round trip of the one answered is exact. A connected socket
 * turns an ICMP port-unreachable into ECONNREFUSED: "refused" (nothing listens) is told apart from
 * "blocked" (dropped on the way), and a name that does not resolve is "unresolved".
 */
export function probeUdp(
  host: string,
  port: number,
  endpoint: 'udp' | 'udpAlt',
  options: ProbeOptions = {},
): Promise<ProbeCheck> {
  const clock = options.clock ?? systemClock
  const timeoutMs = options.udpTimeoutMs ?? ENGINE_DEFAULTS.probe.udpTimeoutMs
  let interval = options.udpRetransmitMs ?? ENGINE_DEFAULTS.probe.udpRetransmitMs
  const errorCode = endpoint === 'udp' ? ErrorCode.ProxyUdpUnreachable : ErrorCode.ProxyUdpAltUnreachable
  const head = base(endpoint, host, port)
  const sent = new Map<string, number>()
  return new Promise((resolve) => {
    const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4')
    let resend: unknown
    let closed = false
    const finish = (check: ProbeCheck): void => {
      if (closed) return
      closed = true
      clock.clearTimeout(timer)
      clock.clearTimeout(resend)
      options.signal?.removeEventListener('abort', onAbort)
      socket.close()
      resolve(check)
    }
    const blocked = (detail: string): void => finish({ ...head, status: 'blocked', detail, errorCode })
    const onAbort = (): void =>
      finish({ ...head, status: 'error', detail: 'canceled', errorCode: ErrorCode.JoinCanceled })
    const timer = clock.setTimeout(
      () => blocked(`no answer to ${sent.size} STUN Binding requests in ${timeoutMs} ms (dropped?)`),
      timeoutMs,
    )
    const transmit = (): void => {
      if (closed) return
      const transactionId = newTransactionId()
      sent.set(transactionId.toString('hex'), clock.now())
      const request = { cls: StunClass.Request, method: Method.Binding, transactionId, attributes: [] }
      socket.send(encodeMessage(request, { fingerprint: true }))
      resend = clock.setTimeout(transmit, interval)
      interval *= 2
    }
    if (options.signal?.aborted) return onAbort()
    options.signal?.addEventListener('abort', onAbort, { once: true })
    socket.on('message', (data: Buffer) => {
      const decoded = decodeMessage(data)
      if (!decoded.ok || decoded.message.method !== Method.Binding) return
      const at = sent.get(decoded.message.transactionId.toString('hex'))
      if (at === undefined || decoded.message.cls !== StunClass.SuccessResponse) return
      const rttMs = clock.now() - at
      finish({
        ...head,
        status: 'reachable',
        rttMs,
        detail: `STUN Binding answered in ${rttMs.toFixed(1)} ms`,
      })
    })
    const failed = (error: NodeJS.ErrnoException): void => {
      const known = netFailureOf(error)
      if (known === 'refused') {
        const detail = 'port closed (ICMP port unreachable): nothing listens there'
        finish({ ...head, status: 'refused', detail, errorCode: ErrorCode.ProxyNotRunning })
      } else if (known === 'unresolved') {
        const detail = `${host} does not resolve (${error.code})`
        finish({ ...head, status: 'unresolved', detail, errorCode: ErrorCode.ProxyHostUnresolved })
      } else if (NO_ROUTE.has(error.code ?? '')) {
        // As over TCP (tlsPin.ts): no way to the host from here is the network's to open.
        blocked(`no route to ${host} (${error.code})`)
      } else finish({ ...head, status: 'error', detail: error.message, errorCode })
    }
    socket.on('error', failed)
    // Node hands a failed lookup (or connect) to this callback instead of emitting 'error'; sending on the
    // socket then throws ERR_SOCKET_BAD_PORT outside any handler (issue 10 item 8).
    socket.connect(port, host, (error?: Error) => (error ? failed(error) : transmit()))
  })
}

/** TCP connect + TLS handshake with the region's pin; rttMs is the TCP connect round trip. */
export async function probeTls(region: Region, options: ProbeOptions = {}): Promise<ProbeCheck> {
  const { proxyHost: host, ports } = region
  const head = base('tls', host, ports.tcp, options.httpProxy)
  try {
    const tls = await connectPinnedTls(host, ports.tcp, pinOf(region), {
      timeoutMs: options.tlsTimeoutMs ?? ENGINE_DEFAULTS.probe.tlsTimeoutMs,
      alpn: ['http/1.1'],
      ...signalAndClock(options),
    })
    tls.socket.destroy()
    const detail = `TLS handshake in ${tls.handshakeMs.toFixed(1)} ms, certificate ${short(tls.fingerprintSha256)}`
    return { ...head, status: 'reachable', rttMs: tls.connectMs, detail }
  } catch (error) {
    return failedCheck(head, error)
  }
}

/**
 * The session API without a token: a Pinhole proxy answers 401 `token_missing` in its JSON error format.
 * rttMs is the whole request, TLS included.
 */
export async function probeSessionApi(region: Region, options: ProbeOptions = {}): Promise<ProbeCheck> {
  const { proxyHost: host, ports } = region
  const head = base('session', host, ports.tcp, options.httpProxy)
  try {
    const answer = await postJsonPinned(host, ports.tcp, pinOf(region), PROXY_SESSION_PATH, undefined, {
      timeoutMs: options.sessionTimeoutMs ?? ENGINE_DEFAULTS.probe.sessionTimeoutMs,
      ...signalAndClock(options),
    })
    const parsed = ProxyApiErrorSchema.safeParse(answer.json)
    if (answer.status === 401 && parsed.success) {
      const detail = `answered HTTP 401 ${parsed.data.error.code} in ${answer.elapsedMs.toFixed(1)} ms, as expected`
      return { ...head, status: 'reachable', rttMs: answer.elapsedMs, detail }
    }
    const detail = `HTTP ${answer.status} without the proxy's error format: something else answers here`
    return { ...head, status: 'error', detail, errorCode: ErrorCode.ProxySessionApiUnreachable }
  } catch (error) {
    return failedCheck(head, error)
  }
}

/**
 * Unreachable = blocked (no answer: a firewall rule fixes it); refused = nothing listens (the proxy is not
 * running there); unresolved = DNS; anything else (pin mismatch, untrusted) = error.
 */
const STATUS_OF: Partial<Record<ErrorCode, ProbeStatus>> = {
  [ErrorCode.ProxyTlsUnreachable]: 'blocked',
  [ErrorCode.ProxyNotRunning]: 'refused',
  [ErrorCode.ProxyHostUnresolved]: 'unresolved',
}

function failedCheck(head: Pick<ProbeCheck, 'endpoint' | 'check' | 'target'>, error: unknown): ProbeCheck {
  if (!(error instanceof EngineError)) throw error
  const status = STATUS_OF[error.code] ?? 'error'
  return { ...head, status, detail: error.detail ?? error.message, errorCode: error.code }
}

export interface RegionProbeOptions extends ProbeOptions {
  /** Probe the UDP ports too (not needed in TCP proxy mode). Default true. */
  udp?: boolean
}

/**
 * UDP ports and TLS in parallel. Reachable = TLS reachable (the session and signaling need it). A region
 * with several proxy hosts: every host at once, the region's verdict the best host's (`hosts` ranks them).
 */
export async function probeRegion(
  region: Region,
  options: RegionProbeOptions = {},
): Promise<RegionProbeResult> {
  const hosts = regionHosts(region)
  if (hosts.length === 1) return probeHost(region, options)
  const results = await Promise.all(hosts.map((host) => probeHost(regionAt(region, host), options)))
  const ranked = rankHosts(
    results.map((result, i) => ({
      host: hosts[i]!,
      reachable: result.reachable,
      ...(result.rttMs === undefined ? {} : { rttMs: result.rttMs }),
    })),
  )
  const best = ranked[0]!
  const merged: RegionProbeResult = {
    regionId: region.id,
    reachable: best.reachable,
    checks: results.flatMap((result) => result.checks),
    hosts: ranked,
  }
  if (best.rttMs !== undefined) merged.rttMs = best.rttMs
  return merged
}

/** One host's probe: `region.proxyHost`. */
async function probeHost(region: Region, options: RegionProbeOptions): Promise<RegionProbeResult> {
  const { proxyHost: host, ports } = region
  const udp = options.udp ?? true
  const checks = await Promise.all([
    ...(udp
      ? [probeUdp(host, ports.udp[0], 'udp', options), probeUdp(host, ports.udp[1], 'udpAlt', options)]
      : []),
    probeTls(region, options),
  ])
  const tls = checks.find((check) => check.endpoint === 'tls')
  const rtts = checks.flatMap((check) =>
    check.status === 'reachable' && check.rttMs !== undefined ? [check.rttMs] : [],
  )
  const result: RegionProbeResult = { regionId: region.id, reachable: tls?.status === 'reachable', checks }
  if (result.reachable && rtts.length > 0) result.rttMs = Math.min(...rtts)
  return result
}

function signalAndClock(options: ProbeOptions): {
  signal?: AbortSignal
  clock?: Clock
  httpProxy?: HttpProxyConfig
} {
  const out: { signal?: AbortSignal; clock?: Clock; httpProxy?: HttpProxyConfig } = {}
  if (options.signal) out.signal = options.signal
  if (options.clock) out.clock = options.clock
  if (options.httpProxy) out.httpProxy = options.httpProxy
  return out
}

function short(fingerprint: string): string {
  return `${fingerprint.slice(0, 11)}…`
}
