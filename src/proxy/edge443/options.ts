import type { Duplex } from 'node:stream'
import type { ConnectionAuth } from '../../platform/connectionSlots'
import type { HttpApp } from '../api/httpApp'

/** The TCP 443 listener's options, defaults and counted events (port443.ts listens, router.ts routes). */

export const PORT443_EVENTS = [
  'accepted',
  'rejected_max_connections',
  'rejected_unauthenticated_share',
  'rejected_unauthenticated_per_ip',
  'plain_http_refused',
  'closed_before_first_byte',
  'first_byte_timeout',
  'malformed_first_byte',
  'tls_handshake_timeout',
  'tls_handshake_failed',
  'tls_handshake_aborted',
  'tls_first_byte_timeout',
  'tls_malformed_first_byte',
  'turn_tcp',
  'turn_tls',
  'turn_handler_error',
  'http',
  'https',
  'http_headers_timeout',
  'http_request_timeout',
  'http_malformed',
  'socket_error',
] as const
export type Port443Event = (typeof PORT443_EVENTS)[number]

export interface TurnConnectionInfo {
  transport: 'tcp' | 'tls'
  remoteAddress: string
  remotePort: number
  localPort: number
}

/**
 * Receives a TURN connection. The stream yields every byte the client sent, from the first; it is handed
 * over in the state of a fresh socket (attach `data` listeners or pipe it, now or later).
 */
export type TurnConnectionHandler = (stream: Duplex, info: TurnConnectionInfo, auth: ConnectionAuth) => void

export interface Port443Options {
  /** Default '0.0.0.0'. */
  host?: string
  /** 0 picks a free port (tests); the real one is the handle's `port`. */
  port: number
  tls: { cert: string; key: string }
  http: HttpApp
  onTurnConnection: TurnConnectionHandler
  onEvent?: (event: Port443Event) => void
  firstByteTimeoutMs?: number
  tlsHandshakeTimeoutMs?: number
  /** From connection (or the end of the previous response) to complete request headers. */
  httpHeadersTimeoutMs?: number
  /** From connection (or the end of the previous response) to a complete request, body included. */
  httpRequestTimeoutMs?: number
  httpKeepAliveTimeoutMs?: number
  maxHeaderBytes?: number
  maxConnections?: number
  /** The part (1-100 %) of maxConnections that connections not yet authenticated may hold together. */
  unauthenticatedPercent?: number
  /** Connections not yet authenticated from one client address. */
  unauthenticatedPerIp?: number
  /** SO_REUSEPORT: several worker processes listen on the same port (src/proxy/workers/workerPool.ts). */
  reusePort?: boolean
}

export const PORT443_DEFAULTS = {
  host: '0.0.0.0',
  firstByteTimeoutMs: 10_000,
  tlsHandshakeTimeoutMs: 10_000,
  httpHeadersTimeoutMs: 10_000,
  httpRequestTimeoutMs: 30_000,
  httpKeepAliveTimeoutMs: 5_000,
  maxHeaderBytes: 16_384,
  maxConnections: 10_000,
  unauthenticatedPercent: 50,
  unauthenticatedPerIp: 128,
} as const

/** The options with every default filled in. */
export type Port443Settings = ReturnType<typeof settingsOf>

export function settingsOf(options: Port443Options) {
  return { ...PORT443_DEFAULTS, ...definedOnly(options) }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}
