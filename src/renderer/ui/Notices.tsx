import { actorWords } from '../logic/notices'
import { formatClock } from '../logic/format'
import { useApp } from './context'

/** Every error and warning as a sentence a person can act on (src/shared/errors.ts), newest first. */
export function Notices(): React.JSX.Element | null {
  const notices = useApp((s) => s.notices)
  const dismiss = useApp((s) => s.dismissNotice)
  if (notices.length === 0) return null
  return (
    <section className="notices" data-testid="notices" aria-live="polite">
      {[...notices].reverse().map((n) => (
        <article key={n.id} className={`notice ${n.severity}`} data-testid="notice" data-code={n.code ?? ''}>
          <header>
            <strong>{n.context}</strong>
            {n.code === null ? null : <code>{n.code}</code>}
            <time>{formatClock(n.atMs)}</time>
            <button type="button" className="link" aria-label="Dismiss" onClick={() => dismiss(n.id)}>
              ×
            </button>
          </header>
          <p>{n.sentence}</p>
          {n.detail ? <p className="detail">{n.detail}</p> : null}
          {n.actor ? <p className="actor">{actorWords(n.actor)}</p> : null}
        </article>
      ))}
    </section>
  )
}
