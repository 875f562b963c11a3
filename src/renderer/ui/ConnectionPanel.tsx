import { useTranslation } from 'react-i18next'
import { useLang } from '../i18n/phrase'
import { formatClock, formatMs } from '../logic/format'
import { failureWords, reasonName, reasonWords, regionName, stateName, transportWords } from '../logic/words'
import { useApp } from './context'

function CurrentState(): React.JSX.Element {
  const lang = useLang()
  const state = useApp((s) => s.connectionState)
  const reason = useApp((s) => s.connectionReason)
  const failureCode = useApp((s) => s.failureCode)
  const failure = failureCode === null ? undefined : failureWords(lang, failureCode)
  return (
    // A live region: "Connected", "Reconnecting…" are said as they happen, with their reason.
    <p className="state-line" role="status" aria-live="polite" aria-atomic="true">
      <output className={`state state-${state}`} data-testid="connection-state" data-state={state}>
        {stateName(lang, state)}
      </output>
      {reason === null ? null : (
        <span className="reason" data-testid="connection-reason" data-reason={reason}>
          {failure ?? reasonWords(lang, reason)}
        </span>
      )}
    </p>
  )
}

function Timeline(): React.JSX.Element {
  const lang = useLang()
  const timeline = useApp((s) => s.timeline)
  if (timeline.length === 0) return <p className="muted">{lang.t('common:connection.noTransitions')}</p>
  // Newest first: the latest transition stays in view however long the call.
  const newestFirst = timeline.map((entry, index) => ({ entry, index })).reverse()
  return (
    // Scrolls past 220 px: focusable, so the keyboard can scroll it too (axe: scrollable-region-focusable).
    <ol className="timeline" data-testid="timeline" reversed tabIndex={0} aria-labelledby="timeline-title">
      {newestFirst.map(({ entry, index }) => (
        <li key={index} data-testid="timeline-entry" data-state={entry.state} data-reason={entry.reason}>
          <time>{formatClock(lang, entry.atMs)}</time>
          <span className={`state state-${entry.state}`}>{stateName(lang, entry.state)}</span>
          <span className="reason">
            {reasonWords(lang, entry.reason)} <code>{reasonName(entry.reason)}</code>
          </span>
        </li>
      ))}
    </ol>
  )
}

function ProxyPath(): React.JSX.Element {
  const lang = useLang()
  const { t } = lang
  const path = useApp((s) => s.proxyPath)
  const region = useApp((s) => s.settings?.regions.find((r) => r.id === s.proxyPath?.regionId))
  const embedded = useApp((s) => s.settings?.embedded ?? false)
  if (!path) return <p className="muted">{t('common:connection.noProxy')}</p>
  return (
    <dl className="facts" data-testid="proxy-path" data-transport={path.transport}>
      <dt>{t('common:connection.region')}</dt>
      <dd data-testid="proxy-region">{region ? regionName(lang, region, embedded) : path.regionId}</dd>
      <dt>{t('common:connection.proxyAddress')}</dt>
      <dd data-testid="proxy-address">{path.proxyAddress}</dd>
      <dt>{t('common:connection.transport')}</dt>
      <dd data-testid="proxy-transport">{transportWords(lang, path.transport)}</dd>
      <dt>{t('common:connection.elapsed')}</dt>
      <dd data-testid="proxy-elapsed">{formatMs(lang, path.elapsedMs)}</dd>
    </dl>
  )
}

/** Current state and reason in words, every transition with its time, and the proxy path. */
export function ConnectionPanel(): React.JSX.Element {
  const { t } = useTranslation()
  return (
    <section className="panel" aria-labelledby="connection-title" data-testid="connection-panel">
      <h2 id="connection-title">{t('common:connection.title')}</h2>
      <CurrentState />
      <h3>{t('common:connection.proxyPath')}</h3>
      <ProxyPath />
      <h3 id="timeline-title">{t('common:connection.timeline')}</h3>
      <Timeline />
    </section>
  )
}
