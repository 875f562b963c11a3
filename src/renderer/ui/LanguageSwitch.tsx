import { useTranslation } from 'react-i18next'
import { UI_LANGUAGES, type UiLanguage } from '../../shared/ipc'
import { systemLanguage } from '../i18n/language'
import { useApp, useController } from './context'

const SYSTEM = 'system'

/**
 * The language setting: follow the system (which language that is, in brackets), English or Simplified
 * Chinese, each named in its own language so a person who cannot read the current one still finds theirs.
 * The choice is the host's to remember (settings.json); the text follows at once, without a restart.
 */
export function LanguageSwitch(): React.JSX.Element {
  const { t } = useTranslation()
  const settings = useApp((s) => s.settings)
  const controller = useController()
  const chosen = settings?.language ?? SYSTEM
  const system = systemLanguage(settings, navigator.languages)
  return (
    <label className="language-switch">
      <span>{t('common:language.label')}</span>
      <select
        data-testid="language-switch"
        value={chosen}
        disabled={settings === null}
        onChange={(e) => {
          const value = e.target.value
          void controller.setLanguage(value === SYSTEM ? null : (value as UiLanguage))
        }}
      >
        <option value={SYSTEM}>
          {t('common:language.system', { language: t(`common:language.${system}`) })}
        </option>
        {UI_LANGUAGES.map((language) => (
          <option key={language} value={language} lang={language}>
            {t(`common:language.${language}`)}
          </option>
        ))}
      </select>
    </label>
  )
}
