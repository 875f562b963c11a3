import { useEffect, useRef } from 'react'
import { useTranslation } from 'react-i18next'
import { ConnectionState } from '../../shared/engine'
import { formatFps } from '../logic/format'
import { useApp, useAppShallow, useController, useMediaView } from './context'
import { useShortcutProps } from './useShortcuts'

function LocalPreview(): React.JSX.Element {
  const media = useMediaView()
  const camOn = useApp((s) => s.camOn)
  const uid = useApp((s) => s.joined?.uid)
  const ref = useRef<HTMLVideoElement>(null)
  useEffect(() => {
    media.attachPreview(ref.current)
    return () => media.attachPreview(null)
  }, [media])
  return (
    <figure className="tile local" data-testid="local-tile">
      <video ref={ref} data-testid="local-preview" autoPlay muted playsInline />
      {camOn ? null : <div className="tile-off">Camera off</div>}
      <figcaption>You{uid === undefined ? '' : ` · uid ${uid}`}</figcaption>
    </figure>
  )
}

function RemoteTile(props: { uid: number }): React.JSX.Element {
  const { uid } = props
  const media = useMediaView()
  const video = useApp((s) => s.remotes[uid]?.video ?? false)
  const audio = useApp((s) => s.remotes[uid]?.audio ?? false)
  const figures = useApp((s) => s.remoteFigures[uid])
  const ref = useRef<HTMLCanvasElement>(null)
  useEffect(() => {
    media.attachRemoteCanvas(uid, ref.current)
    return () => media.attachRemoteCanvas(uid, null)
  }, [media, uid])
  return (
    <figure
      className="tile"
      data-testid="remote-tile"
      data-uid={uid}
      data-frames={figures?.framesDecoded ?? 0}
      data-fps={Math.round(figures?.fps ?? 0)}
      data-audio-level={(figures?.audioLevel ?? 0).toFixed(4)}
      data-audio-received={figures?.audioReceivedSamples ?? 0}
      data-audio-concealed={figures?.audioConcealedSamples ?? 0}
    >
      <canvas ref={ref} data-testid={`remote-video-${uid}`} width={640} height={360} />
      {video ? null : <div className="tile-off">Camera off</div>}
      <figcaption>
        uid {uid} · {audio ? 'mic on' : 'mic off'} · {formatFps(figures?.fps)}
        <meter min={0} max={0.5} value={figures?.audioLevel ?? 0} aria-label="audio level" />
      </figcaption>
    </figure>
  )
}

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
        {micOn ? 'Mute microphone' : 'Unmute microphone'}
      </button>
      <button
        type="button"
        data-testid="toggle-cam"
        {...camKeys}
        aria-pressed={camOn}
        onClick={() => void controller.toggleCam()}
      >
        {camOn ? 'Turn camera off' : 'Turn camera on'}
      </button>
    </div>
  )
}

/** Local preview, a tile per remote participant, mute toggles, the participant list. */
export function CallView(): React.JSX.Element {
  const uids = useAppShallow((s) => Object.keys(s.remotes).map(Number))
  const selfUid = useApp((s) => s.joined?.uid)
  const inCall = useApp((s) => s.connectionState !== ConnectionState.Disconnected)
  return (
    <section className="panel call" aria-labelledby="call-title" data-testid="call-view">
      <h2 id="call-title">Call</h2>
      <Controls />
      <div className="tiles">
        <LocalPreview />
        {uids.map((uid) => (
          <RemoteTile key={uid} uid={uid} />
        ))}
      </div>
      <h3>Participants</h3>
      <ul className="participants" data-testid="participants">
        {selfUid === undefined ? null : (
          <li data-testid="participant" data-uid={selfUid}>
            uid {selfUid} (you)
          </li>
        )}
        {uids.map((uid) => (
          <li key={uid} data-testid="participant" data-uid={uid}>
            uid {uid}
          </li>
        ))}
        {!inCall ? <li className="muted">Not in a call.</li> : null}
      </ul>
    </section>
  )
}
