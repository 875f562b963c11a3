import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { ConnectionState } from '../../shared/engine'
import type { LayoutMode } from '../logic/callLayout'
import { CallStage, useActiveSpeaker } from './CallStage'
import { useApp, useController } from './context'
import { DeviceSettings } from './DeviceSettings'
import { ReconnectBanner } from './ReconnectBanner'
import { ScreenStage } from './ScreenStage'
import { ShareControl } from './ShareControl'
import { useShortcutProps } from './useShortcuts'

function Controls(): React.JSX.Element {
  const micOn = useApp((s) => s.micOn)
  const camOn = useApp((s) => s.camOn)
  const controller = useController()
  const { t } = useTranslation('a11y')
  const micKeys = useShortcutProps('toggleMic')
  const camKeys = useShortcutProps('toggleCam')
  return (
    <div className="controls" role="group" aria-label={t('callControls')}>
      <button
        type="button"
        data-testid="toggle-mic"
        {...micKeys}
        aria-pressed={micOn}
        onClick={() => void controller.toggleMic()}
      >
        {micOn ? t('common:call.muteMic') : t('common:call.unmuteMic')}
      </button>
      <button
        type="button"
        data-testid="toggle-cam"
        {...camKeys}
        aria-pressed={camOn}
        onClick={() => void controller.toggleCam()}
      >
        {camOn ? t('common:call.cameraTurnOff') : t('common:call.cameraTurnOn')}
      </button>
      <ShareControl />
      <DeviceSettings />
    </div>
  )
}

/** Speaker view or grid: a switch of two radio-like buttons (the choice lasts while the window is open). */
function LayoutSwitch(props: { mode: LayoutMode; onChange(mode: LayoutMode): void }): React.JSX.Element {
  const { t } = useTranslation('layout')
  const modes = [
    { mode: 'speaker', label: t('speakerView') },
    { mode: 'grid', label: t('gridView') },
  ] as const
  return (
    <div className="layout-switch" role="group" aria-label={t('switchLabel')}>
      {modes.map((m) => (
        <button
          key={m.mode}
          type="button"
          aria-pressed={props.mode === m.mode}
          data-testid={`layout-${m.mode}`}
          onClick={() => props.onChange(m.mode)}
        >
          {m.label}
        </button>
      ))}
    </div>
  )
}

function Participants(props: { speaker: number | null }): React.JSX.Element {
  const { t } = useTranslation('layout')
  // The remotes object itself: a list made in the selector would be new on every render.
  const remotes = useApp((s) => s.remotes)
  const people = Object.values(remotes).map(
    (r) => [r.uid, r.displayName ?? t('uidName', { uid: r.uid })] as const,
  )
  const selfUid = useApp((s) => s.joined?.uid)
  const selfName = useApp((s) => s.joinedName)
  const inCall = useApp((s) => s.connectionState !== ConnectionState.Disconnected)
  return (
    <>
      <h3>{t('participants')}</h3>
      <ul className="participants" data-testid="participants">
        {selfUid === undefined ? null : (
          <li data-testid="participant" data-uid={selfUid}>
            {t('youNamed', { name: selfName ?? t('uidName', { uid: selfUid }) })}
          </li>
        )}
        {people.map(([uid, name]) => (
          <li key={uid} data-testid="participant" data-uid={uid} data-speaking={props.speaker === uid}>
            {name}
            {props.speaker === uid ? <span className="speaking-mark">{t('speaking')}</span> : null}
          </li>
        ))}
        {!inCall ? <li className="muted">{t('notInCall')}</li> : null}
      </ul>
    </>
  )
}

/** The reconnecting banner, mute toggles, the layout switch, the stage with every tile, the participants. */
export function CallView(): React.JSX.Element {
  const { t } = useTranslation('layout')
  const [mode, setMode] = useState<LayoutMode>('speaker')
  const speaker = useActiveSpeaker()
  return (
    <section className="panel call" aria-labelledby="call-title" data-testid="call-view">
      <div className="call-head">
        <h2 id="call-title">{t('callTitle')}</h2>
        <LayoutSwitch mode={mode} onChange={setMode} />
      </div>
      <ReconnectBanner />
      <Controls />
      <CallStage mode={mode} speaker={speaker} screen={(uid) => <ScreenStage sharer={uid} />} />
      <Participants speaker={speaker} />
    </section>
  )
}
