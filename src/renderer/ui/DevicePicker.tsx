import { useTranslation } from 'react-i18next'
import { DEVICE_KINDS, type DeviceKind } from '../../shared/devices'
import { allowedDevices } from '../logic/devices'
import { useApp, useController } from './context'
import './devices.css'

/** Whether this browser can choose where audio plays (`setSinkId`); Chromium and Electron can. */
function canChooseSpeaker(): boolean {
  const withSink = (proto: object | undefined): boolean => proto !== undefined && 'setSinkId' in proto
  return withSink(globalThis.AudioContext?.prototype) || withSink(globalThis.HTMLMediaElement?.prototype)
}

function DeviceSelect(props: { kind: DeviceKind; idPrefix: string }): React.JSX.Element {
  const { kind, idPrefix } = props
  const { t } = useTranslation('devices')
  const all = useApp((s) => s.deviceLists[kind])
  const rule = useApp((s) => s.settings?.devicePolicy?.[kind])
  const chosen = useApp((s) => s.deviceChoice[kind] ?? '')
  const controller = useController()
  const devices = allowedDevices(all, rule)
  const id = `${idPrefix}-${kind}`
  return (
    <div className="field device-field">
      <label htmlFor={id}>{t(`kind.${kind}`)}</label>
      <select
        id={id}
        data-testid={`device-${kind}`}
        value={chosen}
        onChange={(e) =>
          void controller.devices.choose({ [kind]: e.target.value === '' ? null : e.target.value })
        }
      >
        <option value="">{t('systemDefault')}</option>
        {devices.map((device) => (
          <option key={device.id} value={device.id}>
            {device.label !== '' ? device.label : t(`unnamed.${kind}`)}
          </option>
        ))}
      </select>
    </div>
  )
}

/**
 * The camera, microphone and speaker pickers (docs/app.md "Devices"), in the preview and in the call's
 * device panel: a pick is used at once (mid-call too) and remembered.
 */
export function DevicePicker(props: { idPrefix: string }): React.JSX.Element {
  const { t } = useTranslation('devices')
  const limited = useApp((s) => s.settings?.devicePolicy !== undefined)
  const speaker = canChooseSpeaker()
  return (
    <div className="device-picker" data-testid="device-picker">
      {DEVICE_KINDS.filter((kind) => speaker || kind !== 'speaker').map((kind) => (
        <DeviceSelect key={kind} kind={kind} idPrefix={props.idPrefix} />
      ))}
      {speaker ? null : <p className="muted">{t('speakerUnsupported')}</p>}
      {limited ? <p className="muted">{t('policyLimited')}</p> : null}
    </div>
  )
}
