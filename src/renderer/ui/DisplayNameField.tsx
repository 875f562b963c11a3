import { useTranslation } from 'react-i18next'
import { useSay } from '../i18n/phrase'
import { displayNameProblem } from '../logic/displayName'
import { useApp } from './context'

/**
 * "Your name" in the join form (optional): what the others see on this user's tiles instead of the uid.
 * Checked as it is typed with the rules the host and the server apply (logic/displayName.ts); the last
 * join's name comes back from the settings.
 */
export function DisplayNameField(props: { disabled: boolean }): React.JSX.Element {
  const { t } = useTranslation('layout')
  const say = useSay()
  const value = useApp((s) => s.displayName)
  const setDisplayName = useApp((s) => s.setDisplayName)
  const problem = displayNameProblem(value)
  const describedBy = problem ? 'join-displayName-hint join-displayName-problem' : 'join-displayName-hint'
  return (
    <label className="field">
      <span>{t('displayName')}</span>
      <input
        data-testid="join-displayName"
        value={value}
        disabled={props.disabled}
        maxLength={128}
        autoComplete="name"
        aria-invalid={problem !== null}
        aria-describedby={describedBy}
        onChange={(e) => setDisplayName(e.target.value)}
      />
      <small className="hint" id="join-displayName-hint">
        {t('displayNameHint')}
      </small>
      {problem ? (
        <small
          className="problem"
          role="alert"
          id="join-displayName-problem"
          data-testid="join-displayName-problem"
        >
          {say(problem)}
        </small>
      ) : null}
    </label>
  )
}
