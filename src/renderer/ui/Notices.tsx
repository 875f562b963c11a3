import { actorWords, type Notice as NoticeData } from '../logic/notices'
import { formatClock } from '../logic/format'
import { useApp } from './context'

/**
 * The errors and warnings in force as sentences a person can act on (src/shared/errors.ts), newest
 * first: one per cause (logic/notices.ts), so a failure reads once and a success leaves none behind.
 */
export function Notices(): React.JSX.Element | null {
  const notices = useApp((s) => s.notices)
  const dismiss = useApp((s) => s.dismissNotice)
  if (notices.length === 0) return null
  return (
    <section className="notices" data-testid="notices">
      {[...notices].reverse().map((n) => (
        <Notice key={n.id} notice={n} onDismiss={() => dismiss(n.id)} />
      ))}
    </section>
  )
}

function Notice(props: { notice: NoticeData; onDismiss(): void }): React.JSX.Element {
  const n = props.notice
  const who = n.actor ? actorWords(n.actor) : undefined
  return (
    // An error interrupts the screen reader (alert); a warning waits its turn (status).
    <article
      className={`notice ${n.severity}`}
      role={n.severity === 'error' ? 'alert' : 'status'}
      data-testid="notice"
      data-code={n.code ?? ''}
    >
      <header>
        <strong>{n.context}</strong>
        {n.code === null ? null : <code>{n.code}</code>}
        <time>{formatClock(n.atMs)}</time>
        <button type="button" className="link" aria-label="Dismiss" onClick={props.onDismiss}>
          ×
        </button>
      </header>
      <p>{n.sentence}</p>
      {n.detail ? <p className="detail">{n.detail}</p> : null}
      {who ? <p className="actor">{who}</p> : null}
    </article>
  )
}
