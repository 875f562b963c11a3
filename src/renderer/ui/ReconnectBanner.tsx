import { useTranslation } from 'react-i18next'
import { appErrorActor, appErrorMessage, isErrorCode } from '../../shared/errors'
import { callBanner } from '../logic/callBanner'
import { useApp, useController } from './context'

/**
 * Over the call while the engine reconnects (which attempt), and the final word when it gave up: the
 * error table's sentence for the code (what to do) and a button to join again (logic/callBanner.ts).
 */
export function ReconnectBanner(): React.JSX.Element | null {
  const { t } = useTranslation('reconnect')
  const state = useApp((s) => s.connectionState)
  const timeline = useApp((s) => s.timeline)
  const failureCode = useApp((s) => s.failureCode)
  const busy = useApp((s) => s.busy)
  const controller = useController()
  const banner = callBanner(state, timeline, failureCode)
  if (banner === null) return null
  if (banner.kind === 'reconnecting') {
    return (
      <div className="call-banner reconnecting" role="status" data-testid="reconnect-banner">
        <span className="spinner" aria-hidden="true" />
        <span data-testid="reconnect-attempt" data-attempt={banner.attempt}>
          {t('reconnecting', { attempt: banner.attempt })}
        </span>
      </div>
    )
  }
  const known = banner.code !== null && isErrorCode(banner.code) ? banner.code : null
  // The error table's sentence in the language shown (the `errors` catalogue; English is the table's).
  const sentence =
    known === null ? t('failedUnknown') : t(`errors:code.${known}`, { defaultValue: appErrorMessage(known) })
  // Who acts, when the sentence does not say it (as the notices do: IT, the operator, the developer).
  const who = known === null ? null : appErrorActor(known)
  const actor =
    who === 'it' || who === 'operator' || who === 'developer'
      ? t(`errors:actor.${who}`, { defaultValue: '' })
      : ''
  return (
    <div className="call-banner failed" role="alert" data-testid="call-failed" data-code={banner.code ?? ''}>
      <strong>{t('failedTitle')}</strong>
      <p data-testid="call-failed-sentence">{sentence}</p>
      {actor === '' ? null : <p className="actor">{actor}</p>}
      <button
        type="button"
        className="primary"
        data-testid="join-again"
        disabled={busy}
        onClick={() => void controller.join()}
      >
        {t('joinAgain')}
      </button>
    </div>
  )
}
