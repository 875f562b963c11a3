import { ConnectionState } from '../../shared/engine'
import type { JoinField } from '../state/formSlice'
import { useApp, useController } from './context'

const LABELS: Record<JoinField, string> = { channel: 'Channel', uid: 'User id (uid)', token: 'Token' }

function Field(props: { field: JoinField; disabled: boolean; placeholder?: string }): React.JSX.Element {
  const { field, disabled, placeholder } = props
  const value = useApp((s) => s.form[field])
  const setField = useApp((s) => s.setField)
  const invalid = useApp((s) => s.formProblem?.field === field)
  return (
    <label className="field">
      <span>{LABELS[field]}</span>
      <input
        data-testid={`join-${field}`}
        value={value}
        disabled={disabled}
        placeholder={placeholder}
        aria-invalid={invalid}
        inputMode={field === 'uid' ? 'numeric' : undefined}
        spellCheck={false}
        onChange={(e) => setField(field, e.target.value)}
      />
    </label>
  )
}

/** Channel, uid, token; refuses uid 0 under a proxy with the 414 sentence before sending anything. */
export function JoinForm(): React.JSX.Element {
  const state = useApp((s) => s.connectionState)
  const busy = useApp((s) => s.busy)
  const embedded = useApp((s) => s.settings?.embedded ?? false)
  const ready = useApp((s) => s.settings !== null)
  const problem = useApp((s) => s.formProblem?.sentence)
  const controller = useController()
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
      <h2>Join a channel</h2>
      <Field field="channel" disabled={inCall} />
      <Field field="uid" disabled={inCall} />
      <Field
        field="token"
        disabled={inCall}
        placeholder={embedded ? 'filled in for you on this computer' : 'paste your join token'}
      />
      {problem ? (
        <p className="problem" role="alert" data-testid="join-error">
          {problem}
        </p>
      ) : null}
      {inCall ? (
        <button type="submit" className="danger" data-testid="leave-button">
          Leave
        </button>
      ) : (
        <button type="submit" className="primary" data-testid="join-button" disabled={busy || !ready}>
          {busy ? 'Joining…' : 'Join'}
        </button>
      )}
    </form>
  )
}
