import { useLang } from '../i18n/phrase'
import { proxyModeRuleText } from '../logic/settingsNotes'
import { PROXY_MODES, proxyModeHint, proxyModeLabel } from '../logic/words'
import { useApp, useController } from './context'
import { LockBadge } from './LockBadge'

/** One empty list: a selector returning a new one each time would re-render forever. */
const NONE: readonly number[] = []

/**
 * None / UDP / TCP (TLS 443) / Auto; "applies at next join" when changed in a call; locked by policy. A
 * mode the IT policy does not allow cannot be clicked, and the policy's reason is said under the toggle.
 */
export function ProxyModeToggle(): React.JSX.Element {
  const mode = useApp((s) => s.settings?.cloudProxy ?? null)
  const active = useApp((s) => s.settings?.activeCloudProxy ?? null)
  const locked = useApp((s) => s.settings?.locked.includes('cloudProxy') ?? false)
  const allowed = useApp((s) => s.settings?.allowedProxyModes ?? NONE)
  const rule = useApp((s) => s.settings?.proxyModeRule)
  const controller = useController()
  const lang = useLang()
  const { t } = lang
  const restriction = rule && proxyModeRuleText(lang, rule)
  const nextJoin = active !== null && mode !== null && active !== mode

  return (
    <section className="panel" aria-labelledby="proxy-title">
      <h2 id="proxy-title">
        {t('common:proxy.title')}
        {locked ? <LockBadge testId="proxy-locked" /> : null}
      </h2>
      <div
        className="segmented"
        role="radiogroup"
        aria-label={t('common:proxy.modeLabel')}
        data-testid="proxy-mode"
      >
        {PROXY_MODES.map((m) => {
          const forbidden = mode !== null && !allowed.includes(m.value)
          const hint = proxyModeHint(lang, m.value)
          return (
            <button
              key={m.value}
              type="button"
              role="radio"
              aria-checked={mode === m.value}
              className={mode === m.value ? 'selected' : undefined}
              data-testid={`proxy-mode-${m.value}`}
              disabled={locked || mode === null || forbidden}
              aria-describedby={forbidden && restriction ? 'proxy-restriction' : undefined}
              title={forbidden && restriction ? `${hint} ${restriction}` : hint}
              onClick={() => void controller.setProxyMode(m.value)}
            >
              {proxyModeLabel(lang, m.value)}
            </button>
          )
        })}
      </div>
      {restriction ? (
        <p className="hint" id="proxy-restriction" data-testid="proxy-restriction">
          {restriction}
        </p>
      ) : null}
      {nextJoin ? (
        <p className="hint next-join" data-testid="proxy-next-join">
          {t('common:proxy.nextJoin', { mode: proxyModeLabel(lang, active) })}
        </p>
      ) : null}
    </section>
  )
}
