import { formatClock, formatMs } from '../logic/format'
import { failureWords, reasonName, reasonWords, stateName, transportWords } from '../logic/words'
import { useApp } from './context'

function CurrentState(): React.JSX.Element {
  const state = useApp((s) => s.connectionState)
  const reason = useApp((s) => s.connectionReason)
  const failure = useApp((s) => (s.failureCode === null ? undefined : failureWords(s.failureCode)))
  return (
    // A live region: "Connected", "Reconnecting…" are said as they happen, with their reason.
    <p className="state-line" role="status" aria-live="polite" aria-atomic="true">
      <output className={`state state-${state}`} data-testid="connection-state" data-state={state}>
        {stateName(state)}
      </output>
      {reason === null ? null : (
        <span className="reason" data-testid="connection-reason" data-reason={reason}>
          {failure ?? reasonWords(reason)}
        </span>
      )}
    </p>
  )
}

function Timeline(): React.JSX.Element {
  const timeline = useApp((s) => s.timeline)
  if (timeline.length === 0) return <p className="muted">No transitions yet.</p>
  // Newest first: the latest transition stays in view however long the call.
  const newestFirst = timeline.map((entry, index) => ({ entry, index })).reverse()
  return (
    <ol className="timeline" data-testid="timeline" reversed>
      {newestFirst.map(({ entry, index }) => (
        <li key={index} data-testid="timeline-entry" data-state={entry.state} data-reason={entry.reason}>
          <time>{formatClock(entry.atMs)}</time>
          <span className={`state state-${entry.state}`}>{stateName(entry.state)}</span>
          <span className="reason">
            {reasonWords(entry.reason)} <code>{reasonName(entry.reason)}</code>
          </span>
        </li>
      ))}
    </ol>
  )
}

function ProxyPath(): React.JSX.Element {
  const path = useApp((s) => s.proxyPath)
  const regionName = useApp((s) => s.settings?.regions.find((r) => r.id === s.proxyPath?.regionId)?.name)
  if (!path) return <p className="muted">No proxy in use.</p>
  return (
    <dl className="facts" data-testid="proxy-path" data-transport={path.transport}>
      <dt>Region</dt>
      <dd data-testid="proxy-region">{regionName ?? path.regionId}</dd>
      <dt>Proxy address</dt>
      <dd data-testid="proxy-address">{path.proxyAddress}</dd>
      <dt>Transport</dt>
      <dd data-testid="proxy-transport">{transportWords(path.transport)}</dd>
      <dt>Time to proxy connect</dt>
      <dd data-testid="proxy-elapsed">{formatMs(path.elapsedMs)}</dd>
    </dl>
  )
}

/** Current state and reason in words, every transition with its time, and the proxy path. */
export function ConnectionPanel(): React.JSX.Element {
  return (
    <section className="panel" aria-labelledby="connection-title" data-testid="connection-panel">
      <h2 id="connection-title">Connection</h2>
      <CurrentState />
      <h3>Proxy path</h3>
      <ProxyPath />
      <h3>Timeline</h3>
      <Timeline />
    </section>
  )
}
