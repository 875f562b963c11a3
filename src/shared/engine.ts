import { z } from 'zod'
import type { ErrorCode } from './errors'
import type { SendTarget, VideoTrack } from './mediaPort'

/**
 * The engine's contract (docs/engine.md "API"), shared by the engine (Electron main or any Node process)
 * and, through the typed bridge, the app. No Node or DOM types here: binary data is `Uint8Array`.
 */

/** `setCloudProxy(type)` values (NERTC). */
export const TransportType = {
  None: 0,
  UDPProxy: 1,
  /** TURN over TLS on the proxy's TCP 443. */
  TCPProxy: 2,
  /** Direct, then UDP proxy, then TLS 443, each within a budget. */
  Auto: 3,
} as const
export type TransportType = (typeof TransportType)[keyof typeof TransportType]

/** NERTC connection states. */
export const ConnectionState = {
  Disconnected: 1,
  Connecting: 2,
  Connected: 3,
  Reconnecting: 4,
  Failed: 5,
} as const
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState]

/** NERTC reasons for a connection state change. */
export const ConnectionReason = {
  LeaveChannel: 1,
  ChannelClosed: 2,
  ServerKicked: 3,
  Timeout: 4,
  JoinChannel: 5,
  JoinSucceed: 6,
  RejoinSucceed: 7,
  MediaConnectionDisconnected: 8,
  SignalDisconnected: 9,
  RequestChannelFailed: 10,
  JoinChannelFailed: 11,
  ReDispatch: 12,
  SettingProxyServer: 13,
} as const
export type ConnectionReason = (typeof ConnectionReason)[keyof typeof ConnectionReason]

/** Names for logs and UIs, indexed by value. */
export const CONNECTION_STATE_NAMES: Record<ConnectionState, string> = {
  1: 'Disconnected',
  2: 'Connecting',
  3: 'Connected',
  4: 'Reconnecting',
  5: 'Failed',
}

export const CONNECTION_REASON_NAMES: Record<ConnectionReason, string> = {
  1: 'leaveChannel',
  2: 'channelClosed',
  3: 'serverKicked',
  4: 'timeout',
  5: 'joinChannel',
  6: 'joinSucceed',
  7: 'rejoinSucceed',
  8: 'mediaConnectionDisconnected',
  9: 'signalDisconnected',
  10: 'requestChannelFailed',
  11: 'joinChannelFailed',
  12: 'reDispatch',
  13: 'settingProxyServer',
}

/** SHA-256 of a DER certificate, uppercase hex pairs joined by colons (as the proxy hands it out). */
export const FingerprintSha256Schema = z
  .string()
  .regex(/^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$/, 'not a SHA-256 fingerprint (AB:CD:… 32 pairs)')

const port = z.int().min(1).max(65_535)

/** Dot-separated labels of letters, digits, `-` and `_` (1–63 each, no `-` at either end), 253 at most. */
const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/

/** An IPv6 literal without brackets; the URL parser knows the syntax in Node and in a page alike. */
function isIpv6(host: string): boolean {
  if (!/^[0-9A-Fa-f:.]+$/.test(host) || !host.includes(':')) return false
  try {
    new URL(`http://[${host}]/`)
    return true
  } catch {
    return false
  }
}

/**
 * A region's proxy address as sockets take it: a DNS name, an IPv4 address or an IPv6 address (without
 * brackets). Checked where regions come in (settings, policy, CLI flags, regions files) so that nothing
 * else (a port, a scheme, brackets, spaces) reaches a socket call (issue 10 item 8).
 */
export const ProxyHostSchema = z
  .string()
  .min(1)
  .max(253)
  .superRefine((host, ctx) => {
    if (HOST_NAME.test(host) || isIpv6(host)) return
    const bracketed = /^\[(.*)\]$/.exec(host)
    const message =
      bracketed && isIpv6(bracketed[1]!)
        ? `write an IPv6 address without brackets: ${bracketed[1]}`
        : 'not a host name or IP address (no port, scheme, path or spaces)'
    ctx.addIssue({ code: 'custom', message })
  })

/** At most this many proxy hosts in one region. */
export const MAX_REGION_HOSTS = 16

const RegionFieldsSchema = z.object({
  id: z.string().min(1).max(64),
  name: z.string().min(1).max(128),
  /** IP literal or DNS name, exactly as the proxy's session answer names it; the first of `proxyHosts`. */
  proxyHost: ProxyHostSchema,
  /**
   * Several proxies of the region (docs/engine.md "Several proxies per region"): the engine picks one by
   * a quick probe and fails over to the next before it moves to another region. They share the ports, the
   * pin and the TURN secret. Absent: `proxyHost` alone.
   */
  proxyHosts: z.array(ProxyHostSchema).min(1).max(MAX_REGION_HOSTS).optional(),
  ports: z.object({ udp: z.tuple([port, port]), tcp: port }),
  tlsFingerprintSha256: FingerprintSha256Schema.optional(),
  caPem: z.string().includes('-----BEGIN CERTIFICATE-----').optional(),
})

/** `proxyHosts` without `proxyHost`: the first of them is `proxyHost`, so every reader of one host works. */
function withFirstHost(input: unknown): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return input
  const { proxyHost, proxyHosts } = input as Record<string, unknown>
  if (proxyHost !== undefined || !Array.isArray(proxyHosts) || proxyHosts.length === 0) return input
  return { ...input, proxyHost: proxyHosts[0] }
}

function distinctHosts(region: { proxyHost: string; proxyHosts?: string[] }, ctx: z.RefinementCtx): void {
  const hosts = region.proxyHosts ?? []
  hosts.forEach((host, i) => {
    if (hosts.indexOf(host) !== i)
      ctx.addIssue({ code: 'custom', path: ['proxyHosts', i], message: `${host} twice` })
  })
}

/**
 * One proxy region: the addresses IT whitelists (the table of ports in docs/architecture.md). The TLS
 * certificate of the TCP port is pinned by its SHA-256 fingerprint, or verified against `caPem`, or
 * (neither) against the system CAs. `proxyHost` or `proxyHosts` (or both: `proxyHost` comes first).
 */
export const RegionSchema = z.preprocess(withFirstHost, RegionFieldsSchema.superRefine(distinctHosts))
/** The same with unknown fields refused (the IT policy). */
export const StrictRegionSchema = z.preprocess(
  withFirstHost,
  RegionFieldsSchema.strict().superRefine(distinctHosts),
)
export type Region = z.infer<typeof RegionSchema>

/** Every proxy host of a region, `proxyHost` first, each once. */
export function regionHosts(region: Region): string[] {
  return [...new Set([region.proxyHost, ...(region.proxyHosts ?? [])])]
}

/** The region as one of its hosts: what a probe, a session request or a signaling connection takes. */
export function regionAt(region: Region, host: string): Region {
  const { proxyHosts: _all, ...one } = region
  return { ...one, proxyHost: host }
}

/** `setRegion` argument: a region id, or `auto` (lowest measured RTT among reachable regions). */
export type RegionChoice = string

/** The whitelist entries of a region, as probed and as the doctor reports them. */
export type ProbeEndpoint = 'udp' | 'udpAlt' | 'tls' | 'session'

/**
 * reachable; blocked: no answer (dropped on the way: a firewall rule fixes it); refused: the host answered
 * that nothing listens (TCP RST, ICMP port unreachable: the proxy is not running there); unresolved: the
 * name does not resolve (DNS); error: anything else (TLS interception, untrusted certificate, a foreign
 * service on the port) — the row's errorCode says which.
 */
export type ProbeStatus = 'reachable' | 'blocked' | 'refused' | 'unresolved' | 'error'

export interface ProbeCheck {
  endpoint: ProbeEndpoint
  /** 'UDP 3478', 'UDP 7070', 'TLS 443', 'Session API' — with the region's real ports. */
  check: string
  /** host:port */
  target: string
  status: ProbeStatus
  /** STUN Binding round trip (UDP), TCP connect round trip (TLS), request round trip (Session API). */
  rttMs?: number
  /** What happened, for a person. */
  detail: string
  /** Set for every status but 'reachable': the engine error code that names the problem. */
  errorCode?: ErrorCode
}

/** The result of probing one region, emitted as `regionProbe`. */
export interface RegionProbeResult {
  regionId: string
  /** TLS 443 reached with the pinned certificate: the session API and signaling need it in every mode. */
  reachable: boolean
  /** Best round trip among the reachable UDP ports and the TCP connect of TLS 443. */
  rttMs?: number
  checks: ProbeCheck[]
  /**
   * A region with several proxy hosts: each host's verdict, best first (reachable by round trip, then the
   * others). `reachable` and `rttMs` are then the best host's; `checks` holds every host's rows.
   */
  hosts?: HostProbeResult[]
}

/** One proxy host's part of a region probe. */
export interface HostProbeResult {
  host: string
  /** Its TLS port answered with the region's pin. */
  reachable: boolean
  rttMs?: number
}

/** The transport media actually uses. */
export type MediaTransport = 'direct' | 'udp' | 'tls'

export type TransportAttemptOutcome = 'won' | 'lost' | 'failed' | 'timeout' | 'skipped'

export interface TransportAttempt {
  transport: MediaTransport
  /** host:port, or the direct signaling URL. */
  target: string
  outcome: TransportAttemptOutcome
  elapsedMs: number
  detail?: string
}

/** `proxyConnected`: the proxy answered and a transport was chosen. */
export interface ProxyConnectedInfo {
  type: TransportType
  regionId: string
  /** host:port of the proxy endpoint media goes through (TLS 443 for signaling in every mode). */
  proxyAddress: string
  transport: MediaTransport
  /** From joinChannel to this event. */
  elapsedMs: number
  attempts: TransportAttempt[]
}

/**
 * Where `rttMs` comes from: a TURN Refresh to the proxy over media's own TURN connection (the proxy
 * alone), werift's ICE consent checks (proxy + relay leg), RTCP SR/RR, or the signaling ping (wss).
 */
export type RttSource = 'turn' | 'ice' | 'rtcp' | 'signaling'

/** `rtcStats`, every `statsIntervalMs` (2 s) in a call; rates over that interval (docs/engine.md). */
export interface RtcStats {
  /** udp / tls: TURN through the proxy; direct: no proxy. */
  transport: MediaTransport
  /** host:port of the proxy's TURN endpoint media goes through; absent when direct. */
  proxyAddress?: string
  /** Round trip to the proxy (or the server, direct); absent until one is measured. */
  rttMs?: number
  rttSource?: RttSource
  /** RTP (payload + header) sent / received over the interval. */
  txKbps: number
  rxKbps: number
  /** Fractions, 0..1: tx from the server's receiver reports (latest, worst stream), rx over the interval. */
  txPacketLoss: number
  rxPacketLoss: number
  /** Cumulative packets lost (tx: as the receiver reports say; rx: on our receivers). */
  txPacketsLost?: number
  rxPacketsLost?: number
  /** Video frames per second sent / received (all remote users together). */
  txVideoFps?: number
  rxVideoFps?: number
  /** Opus packets over the interval. */
  txAudioPackets?: number
  rxAudioPackets?: number
  /** The bandwidth estimator's send target (docs/media.md): what the pacer and the encoders aim at. */
  estimatedBandwidthKbps?: number
  /** Video alone, sent over the interval (RTP payload + header), and the size of the last key frame sent. */
  txVideoKbps?: number
  txVideoWidth?: number
  txVideoHeight?: number
  intervalMs?: number
  durationSeconds: number
}

/** `remoteVideoStats`, every `statsIntervalMs`: one entry per remote user whose video we receive. */
export interface RemoteVideoStats {
  uid: number
  /** Video received from this user over the interval (RTP payload + header). */
  rxKbps: number
  /** Frames assembled per second over the interval. */
  rxFps: number
  /** From the last key frame received. */
  width?: number
  height?: number
  /** The highest VP8 temporal layer received over the interval (what the conference server forwards us). */
  temporalLayer?: 0 | 1 | 2
  /** Fraction lost on this stream over the interval, 0..1. */
  packetLoss: number
  /** Freezes (no frame for ≥ 500 ms while the user publishes video) and their total length, since joining. */
  freezeCount: number
  frozenMs: number
}

export interface RemoteFrame {
  uid: number
  data: Uint8Array
  /** Microseconds, on the sender's media clock mapped to the receiver's. */
  timestampUs: number
  keyFrame: boolean
  /** Absent: the camera. `screen`: the user's shared screen or window (NERTC's sub stream). */
  track?: VideoTrack
}

export interface EngineErrorInfo {
  code: ErrorCode
  message: string
  /** The specifics: host:port, the fingerprint seen, the server's own message. */
  detail?: string
}

/** NERTC network quality, 0 unknown … 6 down (emitted for the local user, uid 0, and for each remote user). */
export type NetworkQuality = 0 | 1 | 2 | 3 | 4 | 5 | 6

/** The one event map of the engine. Listeners get these argument tuples. */
export interface EngineEvents {
  connectionStateChanged: [state: ConnectionState, reason: ConnectionReason]
  proxyConnected: [info: ProxyConnectedInfo]
  /** result 0 = joined; otherwise an ErrorCode. */
  joinChannel: [result: number, channel: string, uid: number, elapsedMs: number]
  rejoinChannel: [result: number, channel: string, uid: number]
  leaveChannel: [result: number]
  /** `displayName`: what the user typed in the join form (carried in signaling), when they gave one. */
  userJoined: [uid: number, displayName?: string]
  userLeft: [uid: number, reason: ConnectionReason]
  userAudioStart: [uid: number]
  userAudioStop: [uid: number]
  userVideoStart: [uid: number]
  userVideoStop: [uid: number]
  /** A remote user started / stopped sharing a screen or window (NERTC `onUserSubStreamVideoStart/Stop`). */
  userSubStreamVideoStart: [uid: number]
  userSubStreamVideoStop: [uid: number]
  remoteVideoFrame: [frame: RemoteFrame]
  remoteAudioFrame: [frame: RemoteFrame]
  /** The server asks for a key frame of our camera (no argument) or of our screen share (`screen`). */
  keyFrameRequested: [track?: VideoTrack]
  /** The bandwidth estimate moved the send target: the encoders follow it (docs/media.md). */
  sendTargetChanged: [target: SendTarget]
  rtcStats: [stats: RtcStats]
  remoteVideoStats: [stats: RemoteVideoStats[]]
  networkQuality: [uid: number, tx: NetworkQuality, rx: NetworkQuality]
  regionProbe: [result: RegionProbeResult]
  error: [error: EngineErrorInfo]
  warning: [warning: EngineErrorInfo]
}

export type EngineEventName = keyof EngineEvents
