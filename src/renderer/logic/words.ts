import {
  CONNECTION_REASON_NAMES,
  type ConnectionReason,
  type ConnectionState,
  type MediaTransport,
  type TransportType,
} from '../../shared/engine'
import { isErrorCode } from '../../shared/errors'
import type { Lang } from '../i18n/phrase'

/** The proxy modes in the order the toggle shows them (NERTC values, docs/architecture.md "Proxy modes"). */
export const PROXY_MODES: readonly { value: TransportType }[] = [
  { value: 0 },
  { value: 1 },
  { value: 2 },
  { value: 3 },
]

export function proxyModeLabel(lang: Lang, mode: TransportType): string {
  return lang.t(`common:proxy.mode.${mode}`, { defaultValue: lang.t('common:proxy.unknownMode', { mode }) })
}

export function proxyModeHint(lang: Lang, mode: TransportType): string {
  return lang.t(`common:proxy.hint.${mode}`)
}

export function stateName(lang: Lang, state: ConnectionState): string {
  return lang.t(`common:connection.state.${state}`)
}

/**
 * A reason as a phrase a person reads after the state: "Connected — the join succeeded". A reason says
 * which step ended, not why: requestChannelFailed is as much a refused token as an unreachable proxy, so
 * its words name the step and the cause comes from the error (`failureWords`).
 */
export function reasonWords(lang: Lang, reason: ConnectionReason): string {
  return lang.t(`common:connection.reason.${reason}`)
}

/** Why a call failed, from the error the engine reported: its sentence's first sentence. */
export function failureWords(lang: Lang, code: number): string | undefined {
  if (!isErrorCode(code)) return undefined
  const sentence = lang.t(`errors:code.${code}`)
  // A Chinese sentence ends with "。", an English one with "." and a space or the end.
  const end = sentence.search(/\.(\s|$)|。/)
  return end < 0 ? sentence : sentence.slice(0, end)
}

/** The NERTC identifier, for people who compare with the SDK's logs. */
export function reasonName(reason: ConnectionReason): string {
  return CONNECTION_REASON_NAMES[reason]
}

/**
 * A region's name as listed: the embedded local stack's region (id `local`, named "This computer" by the
 * host) in the language shown; a configured region's name is its operator's and stays as written.
 */
export function regionName(lang: Lang, region: { id: string; name: string }, embedded: boolean): string {
  return embedded && region.id === 'local' ? lang.t('common:region.thisComputer') : region.name
}

export function transportWords(lang: Lang, transport: MediaTransport): string {
  return lang.t(`common:connection.transportName.${transport}`)
}
