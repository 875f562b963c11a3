/**
 * The JSON-lines protocol between the lab test (outside every namespace) and its agents (inside one).
 * Test → agent on stdin: `{ id, op, args }`. Agent → test on stdout: `{ id, ok: true, result }`,
 * `{ id, ok: false, error }`, or an unsolicited `{ event, ... }`. Signaling travels this way, never over
 * the lab network. An agent exits when its stdin closes, so it never outlives the test.
 */
import type { WeriftTurnOptions } from '../../support/weriftPeers'

export interface Request {
  id: number
  op: string
  args: unknown
}

export type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string }

export interface AgentEvent {
  event: string
  [key: string]: unknown
}

/** An operation table: op name → [arguments, result]. */
export type OpTable<Ops> = { [K in keyof Ops]: [unknown, unknown] }

// --- probe agent: UDP echo / TCP listeners, and probes against them -------------------------------------

export interface PortSet {
  udp: number[]
  tcp: number[]
}

export interface ProbeResult {
  /** Port → answered (echo received / connection accepted) within the timeout. */
  udp: Record<string, boolean>
  tcp: Record<string, boolean>
}

export interface ProbeOps {
  serve: [PortSet & { host: string }, Record<string, never>]
  /** One datagram / one SYN per port: shorter than the kernel's 1 s SYN retransmit, so drops are countable. */
  probe: [PortSet & { host: string; timeoutMs: number }, ProbeResult]
  stop: [Record<string, never>, Record<string, never>]
}

// --- werift peer agent -----------------------------------------------------------------------------------

/** Relay: one TURN server, `iceTransportPolicy: 'relay'`. Direct: host candidates only, no STUN/TURN. */
export type IceSpec = { mode: 'relay'; turn: WeriftTurnOptions } | { mode: 'direct' }

export interface Description {
  sdp: string
  /** `a=candidate:` lines of the local description. */
  candidates: string[]
}

/** Epoch milliseconds (performance.timeOrigin + now()): comparable across processes on one machine. */
export interface ConnectedAt {
  connectedAt: number
  channelOpenAt: number
}

export interface Received {
  messages: number
  rtp: number
  /** Messages / packets whose content did not match what the other side sends. */
  corrupt: number
}

export interface PeerOps {
  create: [{ role: 'offerer' | 'answerer'; ice: IceSpec }, Record<string, never>]
  offer: [Record<string, never>, Description]
  answer: [{ sdp: string }, Description]
  accept: [{ sdp: string }, Record<string, never>]
  /** Resolves once connectionState is 'connected' and the data channel is open; rejects on failure/timeout. */
  waitConnected: [{ timeoutMs: number }, ConnectedAt]
  /** Resolves with the first of `states` reached, or 'timeout'. */
  waitState: [{ states: string[]; timeoutMs: number }, { state: string }]
  /** Sends `messages` data-channel messages and `rtp` paced RTP packets (one every intervalMs). */
  send: [{ messages: number; rtp: number; intervalMs: number }, Record<string, never>]
  /** Resolves when at least this many have arrived, or at the timeout, with what arrived. */
  waitReceived: [{ messages: number; rtp: number; timeoutMs: number }, Received]
  close: [Record<string, never>, Record<string, never>]
}

/** Content both sides send and check: a data-channel message and an RTP payload for index `i`. */
export const RTP_PAYLOAD_BYTES = 600
export const RTP_FILLER = 0xa5
export const message = (i: number): string => `lab:${i}:${'x'.repeat(i % 50)}`
export function messageIndex(text: string): number | undefined {
  const [tag, index, filler] = text.split(':')
  const i = Number(index)
  return tag === 'lab' && Number.isInteger(i) && filler === 'x'.repeat(i % 50) ? i : undefined
}
