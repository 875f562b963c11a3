import type { TransportType } from './engine'
import { PROXY_MODE_NAMES, type LockableField } from './policy'

/**
 * What the app core has to tell the user about the settings in force — the IT policy, what it replaced, why
 * some proxy modes cannot be chosen, a local test stack that did not start — as data, not sentences: the
 * renderer words each in the user's language (docs/i18n.md), and the English sentences below are the same
 * words for logs, errors and the CLI (the renderer's English catalogue is tested against them).
 */
export type SettingsNote =
  | { kind: 'policyManaged'; path: string; locked: LockableField[] }
  | { kind: 'policyInvalid'; path: string; reason: string }
  | { kind: 'modeNotAllowed'; wanted: TransportType; used: TransportType }
  | { kind: 'modeReplaced'; wanted: TransportType; used: TransportType }
  | { kind: 'regionReplaced'; wanted: string; used: string }
  | { kind: 'regionNotOffered'; wanted: string; used: string }
  /** `why` is the technical cause (an error message), shown as is. */
  | { kind: 'stackFailed'; why: string }
  | { kind: 'noRegion' }

/** Why the proxy modes other than `modes` cannot be chosen. */
export interface ProxyModeRule {
  kind: 'invalidPolicy' | 'forced' | 'allowed'
  modes: TransportType[]
}

export const LOCKABLE_FIELD_NAMES: Record<LockableField, string> = {
  cloudProxy: 'proxy mode',
  region: 'region',
  regions: 'region list',
}

/** The note in English. */
export function settingsNoteSentence(note: SettingsNote): string {
  const mode = (m: TransportType): string => PROXY_MODE_NAMES[m]
  switch (note.kind) {
    case 'policyManaged': {
      const locked = note.locked.map((f) => LOCKABLE_FIELD_NAMES[f]).join(', ')
      return `Settings managed by your IT policy (${note.path}).${locked === '' ? '' : ` Locked: ${locked}.`}`
    }
    case 'policyInvalid':
      return (
        `The IT policy ${note.path} is invalid (${note.reason}). Until IT corrects it, Pinhole cannot make ` +
        'calls: no regions, the proxy mode is locked to TCP/TLS 443 and the local test stack is off.'
      )
    case 'modeNotAllowed':
      return `Your proxy mode (${mode(note.wanted)}) is not allowed; using ${mode(note.used)}.`
    case 'modeReplaced':
      return `Your proxy mode (${mode(note.wanted)}) is replaced by ${mode(note.used)}.`
    case 'regionReplaced':
      return `Your region "${note.wanted}" is replaced by "${note.used}".`
    case 'regionNotOffered':
      return `Your region "${note.wanted}" is not offered; using "${note.used}".`
    case 'stackFailed':
      return `The local test stack did not start: ${note.why}.`
    case 'noRegion':
      return 'No region is configured and the IT policy does not allow the local test stack.'
  }
}

/** The rule in English. */
export function proxyModeRuleSentence(rule: ProxyModeRule): string {
  const names = rule.modes.map((m) => PROXY_MODE_NAMES[m])
  switch (rule.kind) {
    case 'invalidPolicy':
      return `The IT policy is invalid: the proxy mode stays ${names.join(', ')} until IT corrects it.`
    case 'forced':
      return `Your IT policy sets the proxy mode: ${names.join(', ')}.`
    case 'allowed':
      return `Your IT policy allows only these proxy modes: ${names.join(', ')}.`
  }
}
