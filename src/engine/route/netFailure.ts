import { EngineError, ErrorCode } from '../../shared/errors'

/**
 * What a failed connection attempt says about the proxy (issue 10 item 9), told apart everywhere the engine
 * reaches it (probes, the session request, TURN allocations): the name did not resolve (DNS), or the host
 * answered that nothing listens (TCP RST, or ICMP port unreachable on a connected UDP socket: both are
 * ECONNREFUSED), or neither — silence or a local error, which is for the caller to word. Only silence is
 * the firewall's doing; a refusal or a DNS failure is never fixed by a firewall rule.
 */

/** Node's dns.lookup codes (getaddrinfo's EAI_* as Node names them) for a name with no address. */
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA', 'ENODATA'])

export type NetFailure = 'refused' | 'unresolved'

export function netFailureOf(error: unknown): NetFailure | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  if (code === 'ECONNREFUSED') return 'refused'
  if (code !== undefined && DNS_CODES.has(code)) return 'unresolved'
  return undefined
}

/**
 * The EngineError for a refusal or a DNS failure at `target` (host:port), or undefined for any other
 * failure. `refusal` words the refusal (TCP: "connection refused"; UDP: "port closed (ICMP …)").
 */
export function netFailureError(
  error: unknown,
  target: string,
  refusal = 'connection refused',
): EngineError | undefined {
  const code = (error as NodeJS.ErrnoException).code
  switch (netFailureOf(error)) {
    case 'refused':
      return new EngineError(ErrorCode.ProxyNotRunning, `${target}: ${refusal} (${code})`, { cause: error })
    case 'unresolved':
      return new EngineError(ErrorCode.ProxyHostUnresolved, `${hostOf(target)} does not resolve (${code})`, {
        cause: error,
      })
    default:
      return undefined
  }
}

/** `host:port` → host (the last colon: an IPv6 host keeps its own). */
function hostOf(target: string): string {
  const at = target.lastIndexOf(':')
  return at < 0 ? target : target.slice(0, at)
}
