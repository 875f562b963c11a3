import type { Engine } from '../../engine'
import type { Region, TransportType } from '../../shared/engine'
import { EngineError, ErrorCode } from '../../shared/errors'
import type { AppSettings, RegionView } from '../../shared/ipc'
import { PROXY_MODE_NAMES } from '../../shared/policy'
import { proxyModeRuleSentence, type ProxyModeRule } from '../../shared/settingsNotes'
import { ALL_PROXY_MODES, effectiveSettings, type EffectiveSettings } from '../settings/policy'
import type { CoreParts } from './coreOptions'
import { saveSettings, type UserSettings } from '../settings/settings'

/**
 * The app core's settings under the IT policy (docs/app.md, "Precedence"): what is in force, what the page
 * reads (`getSettings`), what a change may touch, and saving the user's choices to settings.json.
 */

/** The settings in force: the user's under the policy (src/app/settings/policy.ts), recomputed after each change. */
export function effectiveOf(parts: CoreParts): EffectiveSettings {
  const { user, ownRegions, policy } = parts
  return effectiveSettings({ ...user, regions: ownRegions }, policy)
}

/** `getSettings()`: the settings in force, the engine's state, and the notices joined in one sentence. */
export function settingsView(
  parts: CoreParts,
  engine: Pick<Engine, 'getCloudProxy' | 'getConnectionState'>,
  activeCloudProxy: TransportType | null,
): AppSettings {
  const { stack, user, notices } = parts
  const effective = effectiveOf(parts)
  const settings: AppSettings = {
    cloudProxy: engine.getCloudProxy(),
    allowedProxyModes: selectableModes(effective),
    activeCloudProxy,
    region: effective.region,
    regions: effective.regions.map(regionView),
    connectionState: engine.getConnectionState(),
    channel: user.channel,
    uid: user.uid,
    embedded: stack !== undefined,
    locked: effective.locked,
    devices: { ...user.devices },
    notes: [...effective.notes, ...notices],
    ...(user.displayName === undefined ? {} : { displayName: user.displayName }),
  }
  if (user.language !== undefined) settings.language = user.language
  if (parts.options.systemLocale !== undefined) settings.systemLocale = parts.options.systemLocale
  const rule = proxyModeRule(effective)
  if (rule !== undefined) settings.proxyModeRule = rule
  return settings
}

/** The modes a click may choose: the allowed ones, or only the one in force when the mode is locked. */
function selectableModes(effective: EffectiveSettings): TransportType[] {
  return effective.locked.includes('cloudProxy') ? [effective.cloudProxy] : [...effective.allowedProxyModes]
}

/** Why the other modes cannot be chosen (shown next to the disabled ones); absent when every mode can. */
function proxyModeRule(effective: EffectiveSettings): ProxyModeRule | undefined {
  const modes = selectableModes(effective)
  if (modes.length === ALL_PROXY_MODES.length) return undefined
  if (effective.policy.status === 'invalid') return { kind: 'invalidPolicy', modes }
  return { kind: modes.length === 1 ? 'forced' : 'allowed', modes }
}

/** Records a change of the user's and writes settings.json; a failed write is logged, not thrown. */
export function saveUser(parts: CoreParts, change: Partial<UserSettings>): void {
  Object.assign(parts.user, change)
  try {
    saveSettings(parts.options.dataDir, parts.user)
  } catch (error) {
    // The call goes on; the next change tries again.
    parts.logger.warn({ err: error }, 'could not save the settings')
  }
}

/** NotAllowedByPolicy when the policy locks the proxy mode to another one or does not allow this one. */
export function assertProxyModeAllowed(effective: EffectiveSettings, type: TransportType): void {
  if (!selectableModes(effective).includes(type)) {
    const rule = proxyModeRule(effective)
    const detail = `proxy mode ${type} (${PROXY_MODE_NAMES[type]}): ${rule ? proxyModeRuleSentence(rule) : ''}`
    throw new EngineError(ErrorCode.NotAllowedByPolicy, detail.trim())
  }
}

/** NotAllowedByPolicy when the policy locks the region to another one. */
export function assertRegionAllowed(effective: EffectiveSettings, choice: string): void {
  if (effective.locked.includes('region') && choice !== effective.region) {
    throw new EngineError(
      ErrorCode.NotAllowedByPolicy,
      `region "${choice}": your IT policy sets the region to "${effective.region}"`,
    )
  }
}

function regionView(region: Region): RegionView {
  return { id: region.id, name: region.name, proxyHost: region.proxyHost, ports: region.ports }
}
