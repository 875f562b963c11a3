import { useTranslation } from 'react-i18next'

/** "Set by IT policy" with a drawn padlock (no emoji: not every desktop has an emoji font). */
export function LockBadge(props: { testId: string }): React.JSX.Element {
  const { t } = useTranslation()
  return (
    <span className="lock" data-testid={props.testId} title={t('common:lock.title')}>
      <svg viewBox="0 0 16 16" width="12" height="12" aria-hidden="true">
        <path d="M4 7V5a4 4 0 0 1 8 0v2" fill="none" stroke="currentColor" strokeWidth="1.6" />
        <rect x="2.5" y="7" width="11" height="8" rx="1.5" fill="currentColor" />
      </svg>
      {t('common:lock.badge')}
    </span>
  )
}
