import {
  CONNECTION_REASON_NAMES,
  CONNECTION_STATE_NAMES,
  type ConnectionReason,
  type ConnectionState,
  type MediaTransport,
  type TransportType,
} from '../../shared/engine'
import { appErrorMessage, isErrorCode } from '../../shared/errors'

/** The proxy modes in the order the toggle shows them (NERTC values, docs/architecture.md "Proxy modes"). */
export const PROXY_MODES: readonly { value: TransportType; label: string; hint: string }[] = [
  { value: 0, label: 'None', hint: 'Straight to the conference server, no cloud proxy.' },
  { value: 1, label: 'UDP', hint: 'Through the proxy: TURN over UDP 3478 or 7070.' },
  { value: 2, label: 'TCP (TLS 443)', hint: 'Through the proxy: everything over TLS on TCP 443.' },
  { value: 3, label: 'Auto', hint: 'Direct, then UDP proxy, then TLS 443, whichever works first.' },
]

export function proxyModeLabel(mode: TransportType): string {
  return PROXY_MODES.find((m) => m.value === mode)?.label ?? `mode ${mode}`
}

export function stateName(state: ConnectionState): string {
  return CONNECTION_STATE_NAMES[state]
}

/**
 * A reason as a phrase a person reads after the state: "Connected — the join succeeded". A reason says
 * which step ended, not why: requestChannelFailed is as much a refused token as an unreachable proxy, so
 * its words name the step and the cause comes from the error (`failureWords`).
 */
const REASON_WORDS: Record<ConnectionReason, string> = {
  1: 'you left the channel',
  2: 'the server closed the channel',
  3: 'the server removed you',
  4: 'it took too long',
  5: 'joining the channel',
  6: 'the join succeeded',
  7: 'rejoined after a network problem',
  8: 'the media connection dropped',
  9: 'the signaling connection dropped',
  10: 'requesting the channel failed',
  11: 'joining the conference failed',
  12: 'moved to another proxy region',
  13: 'cloud proxy connected',
}

export function reasonWords(reason: ConnectionReason): string {
  return REASON_WORDS[reason]
}

/** Why a call failed, from the error the engine reported: its table sentence's first sentence. */
export function failureWords(code: number): string | undefined {
  if (!isErrorCode(code)) return undefined
  const sentence = appErrorMessage(code)
  const end = sentence.search(/\.(\s|$)/)
  return end < 0 ? sentence : sentence.slice(0, end)
}

/** The NERTC identifier, for people who compare with the SDK's logs. */
export function reasonName(reason: ConnectionReason): string {
  return CONNECTION_REASON_NAMES[reason]
}

export function transportWords(transport: MediaTransport): string {
  switch (transport) {
    case 'udp':
      return 'UDP (TURN)'
    case 'tls':
      return 'TLS 443 (TURN over TLS)'
    case 'direct':
      return 'Direct (no proxy)'
  }
}
