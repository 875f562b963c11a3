import { ConnectionState } from '../../shared/engine'
import { CHANNEL_NAME_MAX, channelNameLength } from '../../shared/joinRules'
import { useTranslation } from 'react-i18next'
import { useSay, type Phrase } from '../i18n/phrase'
import { CHANNEL_HINT, channelFieldProblem, channelOf, uidFieldProblem } from '../logic/joinForm'
import type { JoinField } from '../state/types'
import { useApp, useController } from './context'
import { DisplayNameField } from './DisplayNameField'
import { useShortcutProps } from './useShortcuts'

/** The field's problem as typed (the rules the Join button applies); a problem Join found wins. */
function useFieldProblem(field: JoinField): Phrase | null {
  const value = useApp((s) => s.form[field])
  const cloudProxy = useApp((s) => s.settings?.cloudProxy ?? null)
  const submitted = useApp((s) => (s.formProblem?.field === field ? s.formProblem.problem : null))
  if (submitted !== null) return submitted
  // An empty field is not an error while typing: Join says what is missing.
  if (value.trim() === '') return null
  if (field === 'channel') return channelFieldProblem(value)
  if (field === 'uid' && cloudProxy !== null) return uidFieldProblem(value, cloudProxy)
  return null
}

function Field(props: {
  field: JoinField
  disabled: boolean
  placeholder?: string
  hint?: Phrase
}): React.JSX.Element {
  const { field, disabled, placeholder, hint } = props
  const { t } = useTranslation()
  const say = useSay()
  const value = useApp((s) => s.form[field])
  const setField = useApp((s) => s.setField)
  const problem = useFieldProblem(field)
  const hintId = `join-${field}-hint`
  const problemId = `join-${field}-problem`
  const describedBy = [hint ? hintId : '', problem ? problemId : ''].filter((id) => id !== '').join(' ')
  return (
    <label className="field">
      <span>{t(`common:joinForm.field.${field}`)}</span>
      <input
        data-testid={`join-${field}`}
        value={value}
        disabled={disabled}
        placeholder={placeholder}
        aria-invalid={problem !== null}
        aria-describedby={describedBy === '' ? undefined : describedBy}
        inputMode={field === 'uid' ? 'numeric' : undefined}
        spellCheck={false}
        onChange={(e) => setField(field, e.target.value)}
      />
      {hint ? (
        <small className="hint" id={hintId} data-testid={hintId}>
          {say(hint)}
          {field === 'channel' && value !== ''
            ? ` ${t('common:joinForm.channelLength', { length: channelNameLength(channelOf(value)), max: CHANNEL_NAME_MAX })}`
            : ''}
        </small>
      ) : null}
      {problem ? (
        <small className="problem" role="alert" id={problemId} data-testid={problemId}>
          {say(problem)}
        </small>
      ) : null}
    </label>
  )
}

/**
 * Channel, uid, token, each checked as it is typed with the rules the engine and the server apply (the
 * channel's said under it); Join refuses what does not pass, saying why under the field, sending nothing.
 */
export function JoinForm(): React.JSX.Element {
  const state = useApp((s) => s.connectionState)
  const busy = useApp((s) => s.busy)
  const embedded = useApp((s) => s.settings?.embedded ?? false)
  const ready = useApp((s) => s.settings !== null)
  const controller = useController()
  const leaveKeys = useShortcutProps('leave')
  const { t } = useTranslation()
  const inCall = state !== ConnectionState.Disconnected && state !== ConnectionState.Failed

  return (
    <form
      className="panel join"
      data-testid="join-form"
      onSubmit={(e) => {
        e.preventDefault()
        void (inCall ? controller.leave() : controller.join())
      }}
    >
      <h2>{t('common:joinForm.title')}</h2>
      <Field field="channel" disabled={inCall} hint={CHANNEL_HINT} />
      <Field field="uid" disabled={inCall} />
      <DisplayNameField disabled={inCall} />
      <Field
        field="token"
        disabled={inCall}
        placeholder={
          embedded ? t('common:joinForm.tokenPlaceholderEmbedded') : t('common:joinForm.tokenPlaceholder')
        }
      />
      {inCall ? (
        <button type="submit" className="danger" data-testid="leave-button" {...leaveKeys}>
          {t('common:joinForm.leave')}
        </button>
      ) : (
        <button type="submit" className="primary" data-testid="join-button" disabled={busy || !ready}>
          {busy ? t('common:joinForm.joining') : t('common:joinForm.join')}
        </button>
      )}
    </form>
  )
}
