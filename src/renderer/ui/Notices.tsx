import { say, useLang } from '../i18n/phrase'
import {
  actorWords,
  contextWords,
  noticeSentence,
  type Notice as NoticeData,
  type NoticeAction,
} from '../logic/notices'
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

/** The notice's own action (a device plugged in: "Use it"); the notice has been answered then. */
function NoticeButton(props: { action: NoticeAction; onDone(): void }): React.JSX.Element {
  const lang = useLang()
  const { action, onDone } = props
  return (
    <button
      type="button"
      data-testid="notice-action"
      onClick={() => {
        action.run()
        onDone()
      }}
    >
      {say(lang.t, action.label)}
    </button>
  )
}

function Notice(props: { notice: NoticeData; onDismiss(): void }): React.JSX.Element {
  const lang = useLang()
  const n = props.notice
  const who = n.actor ? actorWords(lang, n.actor) : undefined
  return (
    // An error interrupts the screen reader (alert); a warning waits its turn (status).
    <article
      className={`notice ${n.severity}`}
      role={n.severity === 'error' ? 'alert' : 'status'}
      data-testid="notice"
      data-code={n.code ?? ''}
      data-slot={n.slot}
    >
      <header>
        <strong>{contextWords(lang, n.context)}</strong>
        {n.code === null ? null : <code>{n.code}</code>}
        <time>{formatClock(lang, n.atMs)}</time>
        <button
          type="button"
          className="link"
          aria-label={lang.t('common:notice.dismiss')}
          onClick={props.onDismiss}
        >
          ×
        </button>
      </header>
      <p>{noticeSentence(lang, n)}</p>
      {/* The host's own words (an address, the server's answer): technical evidence, in English. */}
      {n.detail ? (
        <p className="detail" lang="en">
          {n.detail}
        </p>
      ) : null}
      {who ? <p className="actor">{who}</p> : null}
      {n.action ? <NoticeButton action={n.action} onDone={props.onDismiss} /> : null}
    </article>
  )
}
