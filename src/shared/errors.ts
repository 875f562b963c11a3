/**
 * Every engine error code, in one table (docs/errors.md is checked against it by a test). 0 and 414 are
 * NERTC's values; 408 follows NERTC's "timeout" code; the 30xxx codes are Pinhole's own. Each message says
 * what a person can do; `actor` says who: the user at the desktop, IT (firewall, policy), the proxy's or
 * server's operator, the developer integrating the engine, or `network` when the code alone cannot tell
 * (a lost connection or a timeout is a firewall, an outage or a network): the network check tells which.
 */

import { CHANNEL_NAME_RULE } from './joinRules'

export type ErrorActor = 'user' | 'it' | 'operator' | 'developer' | 'network'

interface ErrorEntry {
  code: number
  actor: ErrorActor
  message: string
  /** The network check finds out who acts: the message ends with where to run it (CHECK_POINTER). */
  check?: true
  /**
   * How the desktop app says it, when its reader acts otherwise than the engine's: a token refused in the
   * app was pasted by a person, who can paste it again or ask for a new one (the developer minted it).
   */
  app?: { actor: ErrorActor; message: string }
}

/** Where each reader runs the network check: the CLI's doctor, or the desktop app's own view. */
export type CheckPointerAudience = 'cli' | 'app'

export const CHECK_POINTER: Record<CheckPointerAudience, string> = {
  cli: 'Run "pinhole doctor" on this computer to see which endpoint does not answer, and why.',
  app: 'Open "Network check" (next to "Call") to see which endpoint does not answer, and why.',
}

const ERROR_TABLE = {
  Ok: { code: 0, actor: 'user', message: 'Success.' },
  JoinTimeout: {
    code: 408,
    actor: 'network',
    message: 'The join did not complete in time. Retry.',
    check: true,
  },
  RequestParameter: {
    code: 414,
    actor: 'developer',
    message:
      `Request parameter error: the token must be non-empty, the channel name ${CHANNEL_NAME_RULE} (in ` +
      'NFC form), the uid a non-negative safe integer, and with a cloud proxy enabled the uid must not be 0.',
  },
  Internal: {
    code: 30001,
    actor: 'developer',
    message: 'Internal engine error. Retry; if it persists, send the engine log to support.',
  },
  InvalidState: {
    code: 30005,
    actor: 'developer',
    message:
      'Not allowed in the current state (joinChannel while in a channel, leaveChannel outside one). ' +
      'Call leaveChannel first, or wait for the current join to finish.',
  },
  EngineReleased: {
    code: 30006,
    actor: 'developer',
    message: 'The engine has been released. Create a new engine.',
  },
  JoinCanceled: {
    code: 30007,
    actor: 'user',
    message: 'The join was canceled by leaveChannel or release before it completed.',
  },
  NotAllowedByPolicy: {
    code: 30008,
    actor: 'it',
    message:
      'The IT policy does not allow this setting (see the detail); the app offers only what it allows. ' +
      'Ask your IT department if you need it.',
  },
  NoRegions: {
    code: 30101,
    actor: 'it',
    message:
      'No proxy region is configured. Add a region (proxy address, ports, certificate fingerprint) to ' +
      'the settings or the IT policy file.',
  },
  RegionUnknown: {
    code: 30102,
    actor: 'developer',
    message: 'No region with this id is configured. Choose one of the configured regions, or auto.',
  },
  NoRegionReachable: {
    code: 30103,
    actor: 'it',
    message: 'No proxy region answered on its TLS port with the expected certificate.',
    check: true,
  },
  ProxyNotRunning: {
    code: 30104,
    actor: 'operator',
    message:
      "The proxy's address answered that nothing listens on this port (TCP reset or ICMP port " +
      'unreachable): the Pinhole proxy is not running there, or not on this port. No firewall rule fixes ' +
      'this: contact whoever runs the proxy.',
  },
  ProxyHostUnresolved: {
    code: 30105,
    actor: 'it',
    message:
      "The proxy's name does not resolve (DNS). Check the region's proxy address for a typo, and that " +
      "this computer's DNS server knows the name. No firewall rule fixes this.",
  },
  ProxySessionTokenExpired: {
    code: 30110,
    actor: 'user',
    // The proxy's session API or the conference server (direct mode): the detail says which.
    message: "The join token was refused: it has expired. Request a new token; check this computer's clock.",
  },
  ProxySessionTokenInvalid: {
    code: 30111,
    actor: 'developer',
    message:
      'The join token was refused (malformed, bad signature, missing claims, unknown app key, or for ' +
      'another channel or uid). Mint tokens for this channel and uid with the app key and secret the proxy ' +
      'and the conference server are configured with.',
    app: {
      actor: 'user',
      message:
        'The join token was refused (malformed, bad signature, missing claims, unknown app key, or for ' +
        'another channel or uid). Paste the whole token you were given for this channel and uid, or ask ' +
        'whoever gave it for a new one.',
    },
  },
  ProxySessionRefused: {
    code: 30112,
    actor: 'operator',
    message:
      "The proxy refused the session request (see the detail). If it persists, contact the proxy's operator.",
  },
  ProxySessionBadAnswer: {
    code: 30113,
    actor: 'operator',
    message:
      "The proxy's session answer is not one this app understands. Update the app or the proxy so that " +
      'their versions match.',
  },
  ProxySessionOffWhitelist: {
    code: 30114,
    actor: 'operator',
    message:
      "The proxy's session answer points at an address or port outside the region's whitelist; the engine " +
      "refuses to send anything there. Make the proxy's public address and ports equal the region's.",
  },
  ProxyUdpUnreachable: {
    code: 30120,
    actor: 'it',
    message:
      "UDP to the proxy's TURN port 3478 gets no answer. Ask IT to allow UDP from desktops to the proxy " +
      'address on port 3478, or use the TCP proxy (TLS 443).',
  },
  ProxyUdpAltUnreachable: {
    code: 30121,
    actor: 'it',
    message:
      "UDP to the proxy's alternate TURN port 7070 gets no answer. Ask IT to allow UDP from desktops to the " +
      'proxy address on port 7070, or use the TCP proxy (TLS 443).',
  },
  ProxyTlsUnreachable: {
    code: 30122,
    actor: 'it',
    message:
      "The proxy's TLS port 443 cannot be reached; every mode needs it (session and signaling). Ask IT to " +
      'allow TCP from desktops to the proxy address on port 443.',
  },
  ProxySessionApiUnreachable: {
    code: 30123,
    actor: 'operator',
    message:
      "TLS to the proxy's port 443 works but its session API does not answer as a Pinhole proxy. Check " +
      'that nothing else (a load balancer, another service) answers HTTPS on that address.',
  },
  TlsFingerprintMismatch: {
    code: 30124,
    actor: 'it',
    message:
      "The proxy's TLS certificate does not match the pinned fingerprint: something in between (often a " +
      'TLS-inspecting firewall) intercepts the connection. Exempt the proxy address from TLS inspection, or ' +
      "update the region's fingerprint if the proxy's certificate was replaced.",
  },
  TlsCertificateUntrusted: {
    code: 30125,
    actor: 'it',
    message:
      "The proxy's TLS certificate does not verify against the region's CA (or the system CAs when none " +
      "is set). Put the proxy's certificate fingerprint or CA in the region configuration.",
  },
  TurnAllocationRefused: {
    code: 30126,
    actor: 'operator',
    message:
      'The proxy refused the TURN allocation (credentials or quota). Retry the join; if it persists, check ' +
      "that the proxy's TURN secret and allocation quotas are configured consistently.",
  },
  NoTransport: {
    code: 30127,
    actor: 'it',
    message: 'No media transport (direct, UDP proxy, TLS 443) worked within its time budget.',
    check: true,
  },
  DirectUnreachable: {
    code: 30128,
    actor: 'it',
    message:
      'The conference server cannot be reached directly. Enable the cloud proxy (UDP or TCP), or ask IT ' +
      'to allow the conference server.',
  },
  DirectNotConfigured: {
    code: 30129,
    actor: 'developer',
    message:
      'No conference server address is configured for direct mode (no proxy). Enable a cloud proxy, or ' +
      'configure the direct signaling URL.',
  },
  HttpProxyUnreachable: {
    code: 30130,
    actor: 'it',
    message:
      'The corporate HTTP proxy cannot be reached (no TCP connection to its address and port). Check the ' +
      'proxy setting (http://host:port) and that this computer may connect to the proxy.',
  },
  HttpProxyAuthRequired: {
    code: 30131,
    actor: 'it',
    message:
      'The corporate HTTP proxy requires authentication (407) and no credentials are configured. Put the ' +
      'user name and password in the proxy setting (http://user:password@host:port).',
  },
  HttpProxyAuthRefused: {
    code: 30132,
    actor: 'it',
    message:
      'The corporate HTTP proxy refused the configured credentials (407). Check the user name and ' +
      'password in the proxy setting, or ask IT whether the account may use the proxy.',
  },
  HttpProxyConnectRefused: {
    code: 30133,
    actor: 'it',
    message:
      "The corporate HTTP proxy refused to open a tunnel to the Pinhole proxy's TLS port (see the detail " +
      "for its answer). Ask IT to allow HTTP CONNECT to the Pinhole proxy's address on port 443.",
  },
  SignalingLost: {
    code: 30201,
    actor: 'network',
    message: 'The signaling connection was lost; the engine is reconnecting.',
    check: true,
  },
  MediaLost: {
    code: 30202,
    actor: 'network',
    message: 'The media connection was lost; the engine is reconnecting.',
    check: true,
  },
  ChannelFull: {
    code: 30203,
    actor: 'user',
    message: 'The channel has reached its participant limit. Try again later or use another channel.',
  },
  Kicked: { code: 30204, actor: 'user', message: 'The server removed you from the channel.' },
  ChannelClosed: { code: 30205, actor: 'user', message: 'The server closed the channel.' },
  JoinRefused: {
    code: 30206,
    actor: 'developer',
    message: 'The conference server refused the join (see the detail for its code and message).',
  },
  CallUnavailable: {
    code: 30207,
    actor: 'developer',
    message:
      'This engine has no call implementation: joining over signaling and media is not built yet ' +
      '(docs/engine.md). Pass a connectCall hook to createEngine.',
  },
  ReconnectTimeout: {
    code: 30208,
    actor: 'network',
    message: 'Reconnecting did not succeed within the budget. Join again.',
    check: true,
  },
} as const satisfies Record<string, ErrorEntry>

export type ErrorName = keyof typeof ERROR_TABLE
export type ErrorCode = (typeof ERROR_TABLE)[ErrorName]['code']

/** Name → numeric code, e.g. `ErrorCode.RequestParameter === 414`. */
export const ErrorCode = Object.fromEntries(
  Object.entries(ERROR_TABLE).map(([name, entry]) => [name, entry.code]),
) as { readonly [K in ErrorName]: (typeof ERROR_TABLE)[K]['code'] }

export interface ErrorRow {
  code: ErrorCode
  name: ErrorName
  actor: ErrorActor
  /** The sentence as the engine and the CLI say it (with the doctor pointer when `check`). */
  message: string
  /** The network check tells who acts. */
  check: boolean
}

function withPointer(entry: ErrorEntry, audience: CheckPointerAudience): string {
  const message = audience === 'app' ? (entry.app?.message ?? entry.message) : entry.message
  return entry.check ? `${message} ${CHECK_POINTER[audience]}` : message
}

/** The table, sorted by code. */
export const ERROR_ROWS: readonly ErrorRow[] = (Object.keys(ERROR_TABLE) as ErrorName[])
  .map((name): ErrorRow => {
    const entry: ErrorEntry = ERROR_TABLE[name]
    const { code, actor } = ERROR_TABLE[name]
    return { code, name, actor, message: withPointer(entry, 'cli'), check: entry.check === true }
  })
  .sort((a, b) => a.code - b.code)

const BY_CODE = new Map<number, ErrorRow>(ERROR_ROWS.map((row) => [row.code, row]))

export function isErrorCode(value: number): value is ErrorCode {
  return BY_CODE.has(value)
}

export function errorRow(code: ErrorCode): ErrorRow {
  const row = BY_CODE.get(code)
  if (!row) throw new RangeError(`unknown error code ${code}`)
  return row
}

export function errorMessage(code: ErrorCode): string {
  return errorRow(code).message
}

/** The sentence for the desktop app: it points at its own "Network check", not at the CLI. */
export function appErrorMessage(code: ErrorCode): string {
  return withPointer(ERROR_TABLE[errorRow(code).name], 'app')
}

/** Who acts on it in the desktop app (a token is the pasting person's to fix there). */
export function appErrorActor(code: ErrorCode): ErrorActor {
  const entry: ErrorEntry = ERROR_TABLE[errorRow(code).name]
  return entry.app?.actor ?? entry.actor
}

/**
 * An expected failure with its code. `message` is the table's message; `detail` carries the specifics
 * (host:port, the fingerprint seen, the server's own words).
 */
export class EngineError extends Error {
  readonly code: ErrorCode
  readonly detail: string | undefined

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown }) {
    super(errorMessage(code), options)
    this.name = 'EngineError'
    this.code = code
    this.detail = detail
  }

  toInfo(): { code: ErrorCode; message: string; detail?: string } {
    return this.detail === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, detail: this.detail }
  }

  override toString(): string {
    return (
      `${this.name} ${this.code} ${errorRow(this.code).name}: ${this.message}` +
      (this.detail === undefined ? '' : ` (${this.detail})`)
    )
  }
}

/** The table as Markdown rows (docs/errors.md holds the same rows; a test keeps them in sync). */
export function renderErrorTable(): string {
  const escape = (text: string): string => text.replace(/\|/g, '\\|')
  const lines = ['| code | name | who acts | message |', '| --- | --- | --- | --- |']
  for (const row of ERROR_ROWS) {
    lines.push(`| ${row.code} | ${row.name} | ${row.actor} | ${escape(row.message)} |`)
  }
  return lines.join('\n')
}
