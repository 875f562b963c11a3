import { useTranslation } from 'react-i18next'
import type { SettingsNote } from '../../shared/settingsNotes'
import { useLang } from '../i18n/phrase'
import { settingsNotesText } from '../logic/settingsNotes'
import { CallView } from './CallView'
import { ConnectionPanel } from './ConnectionPanel'
import { useApp } from './context'
import { JoinForm } from './JoinForm'
import { LanguageSwitch } from './LanguageSwitch'
import { NetworkCheckView } from './NetworkCheckView'
import { Preview } from './Preview'
import { Notices } from './Notices'
import { ProxyModeToggle } from './ProxyModeToggle'
import { RegionList } from './RegionList'
import { StatsPanel } from './StatsPanel'
import { useCallShortcuts } from './useShortcuts'

/** One empty list: a selector returning a new one each time would re-render forever. */
const NO_NOTES: readonly SettingsNote[] = []

function PolicyNotice(): React.JSX.Element | null {
  const notes = useApp((s) => s.settings?.notes ?? NO_NOTES)
  const lang = useLang()
  return notes.length > 0 ? (
    <p className="policy" data-testid="policy-notice">
      {settingsNotesText(lang, notes)}
    </p>
  ) : null
}

/** Call / Network check: both stay mounted (a call's canvases keep drawing behind the check). */
function ViewTabs(): React.JSX.Element {
  const view = useApp((s) => s.view)
  const setView = useApp((s) => s.setView)
  const { t } = useTranslation()
  const tabs = [
    { id: 'call', label: t('common:views.call') },
    { id: 'network', label: t('common:views.network') },
  ] as const
  return (
    <nav className="tabs" role="tablist" aria-label={t('common:views.label')}>
      {tabs.map((tab) => (
        <button
          key={tab.id}
          type="button"
          role="tab"
          aria-selected={view === tab.id}
          className={view === tab.id ? 'selected' : undefined}
          data-testid={`view-${tab.id}`}
          onClick={() => setView(tab.id)}
        >
          {tab.label}
        </button>
      ))}
    </nav>
  )
}

export function App(): React.JSX.Element {
  const embedded = useApp((s) => s.settings?.embedded ?? false)
  const view = useApp((s) => s.view)
  const { t } = useTranslation('a11y')
  useCallShortcuts()
  return (
    <div className="app">
      <header className="topbar">
        <h1>{t('common:appName')}</h1>
        <ViewTabs />
        {embedded ? <span className="badge">{t('common:embeddedBadge')}</span> : null}
        <PolicyNotice />
        <LanguageSwitch />
      </header>
      <Notices />
      <main className="layout" hidden={view !== 'call'}>
        <aside className="column" aria-label={t('setup')}>
          <Preview />
          <JoinForm />
          <ProxyModeToggle />
          <RegionList />
        </aside>
        <div className="column wide">
          <CallView />
          <div className="row">
            <ConnectionPanel />
            <StatsPanel />
          </div>
        </div>
      </main>
      <main className="network-view" hidden={view !== 'network'}>
        <NetworkCheckView />
      </main>
    </div>
  )
}
