import { useEffect, useId, useRef, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { DevicePicker } from './DevicePicker'
import './devices.css'

/**
 * The call's device panel: a button that opens the pickers in a popover (Escape or the button closes it,
 * and focus goes back to the button). A pick switches the device without leaving the call.
 */
export function DeviceSettings(): React.JSX.Element {
  const { t } = useTranslation('devices')
  const [open, setOpen] = useState(false)
  const button = useRef<HTMLButtonElement>(null)
  const panelId = useId()
  useEffect(() => {
    if (!open) return
    const onKey = (event: KeyboardEvent): void => {
      if (event.key !== 'Escape') return
      setOpen(false)
      button.current?.focus()
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [open])
  return (
    <div className="device-settings">
      <button
        ref={button}
        type="button"
        data-testid="device-settings"
        aria-expanded={open}
        aria-controls={panelId}
        onClick={() => setOpen(!open)}
      >
        {t('settings.open')}
      </button>
      {open ? (
        <div className="popover" id={panelId} role="group" aria-labelledby={`${panelId}-title`}>
          <h3 id={`${panelId}-title`}>{t('settings.title')}</h3>
          <DevicePicker idPrefix="call-device" />
          <button type="button" onClick={() => setOpen(false)}>
            {t('settings.close')}
          </button>
        </div>
      ) : null}
    </div>
  )
}
