import { useEffect, useLayoutEffect, useRef, useState, type ReactNode } from 'react'
import { useTranslation } from 'react-i18next'
import { ConnectionState } from '../../shared/engine'
import { createActiveSpeaker } from '../logic/activeSpeaker'
import { arrange, placeTiles, SELF, type LayoutMode, type Rect } from '../logic/callLayout'
import { useApp, useAppShallow, useMediaView } from './context'
import './callStage.css'

/**
 * The call's video (docs/meeting.md "Layouts, active speaker, reconnecting"): every tile in one box,
 * placed by logic/callLayout.ts — speaker view, grid, or a screen share on the stage. Tiles keep their DOM
 * node when the layout moves them (one parent, absolute boxes), so a canvas keeps its last frame.
 */

/**
 * Each participant's audio level, 10 times a second (the levels slice; uid 0 = this user's microphone),
 * for the users in the call only: a level measured just before someone left does not make them speak.
 */
function useLevels(): Record<number, number> {
  return useAppShallow((s) => {
    const levels: Record<number, number> = { [SELF]: s.audioLevels[SELF] ?? 0 }
    for (const uid of Object.keys(s.remotes).map(Number)) levels[uid] = s.audioLevels[uid] ?? 0
    return levels
  })
}

/** The active speaker (logic/activeSpeaker.ts), fed each time the levels change. */
export function useActiveSpeaker(): number | null {
  const levels = useLevels()
  const detector = useRef(createActiveSpeaker())
  const [speaker, setSpeaker] = useState<number | null>(null)
  useEffect(() => setSpeaker(detector.current.update(levels, Date.now())), [levels])
  return speaker
}

function useBoxSize(): [React.RefObject<HTMLDivElement | null>, { width: number; height: number }] {
  const ref = useRef<HTMLDivElement>(null)
  const [size, setSize] = useState({ width: 0, height: 0 })
  useLayoutEffect(() => {
    const element = ref.current
    if (!element) return
    const measure = (): void => setSize({ width: element.clientWidth, height: element.clientHeight })
    measure()
    const observer = new ResizeObserver(measure)
    observer.observe(element)
    return () => observer.disconnect()
  }, [])
  return [ref, size]
}

const boxStyle = (r: Rect | undefined): React.CSSProperties =>
  r
    ? { left: r.x, top: r.y, width: r.width, height: r.height }
    : { left: 0, top: 0, width: 0, height: 0, visibility: 'hidden' }

export function CallStage(props: {
  mode: LayoutMode
  speaker: number | null
  /** The screen share's view (ScreenStage), shown on the stage while someone shares. */
  screen?: (uid: number) => ReactNode
}): React.JSX.Element {
  const { t } = useTranslation('layout')
  const remotes = useAppShallow((s) => Object.keys(s.remotes).map(Number))
  const sharers = useAppShallow((s) =>
    props.screen ? Object.values(s.remotes).flatMap((r) => (r.screen ? [r.uid] : [])) : [],
  )
  // Out of a call (before joining, after leaving, after a failed join) there is nobody to show: the camera
  // preview lives in the join panel, so the stage says so instead of showing a black "You" tile.
  const inCall = useApp(
    (s) => s.connectionState !== ConnectionState.Disconnected && s.connectionState !== ConnectionState.Failed,
  )
  const [ref, size] = useBoxSize()
  const arrangement = arrange({ mode: props.mode, remotes, sharers, speaker: props.speaker })
  const placement = placeTiles(arrangement, size.width, size.height)
  const onStage = arrangement.kind === 'speaker' ? arrangement.stage : null
  return (
    <div
      ref={ref}
      className={inCall ? 'stage' : 'stage empty'}
      role="region"
      aria-label={t('stageLabel')}
      data-testid="call-stage"
      data-layout={arrangement.kind}
      data-speaker={props.speaker ?? ''}
    >
      {arrangement.kind === 'screen' && props.screen ? (
        <div className="stage-screen" style={boxStyle(placement.screen)} data-testid="stage-screen">
          {props.screen(arrangement.sharer)}
        </div>
      ) : null}
      {inCall ? (
        <Tile uid={SELF} rect={placement.tiles[SELF]} onStage={onStage === SELF} speaker={props.speaker} />
      ) : (
        <p className="stage-empty" data-testid="stage-empty">
          {t('stageEmpty')}
        </p>
      )}
      {remotes.map((uid) => (
        <Tile
          key={uid}
          uid={uid}
          rect={placement.tiles[uid]}
          onStage={onStage === uid}
          speaker={props.speaker}
        />
      ))}
    </div>
  )
}

function Tile(props: {
  uid: number
  rect: Rect | undefined
  onStage: boolean
  speaker: number | null
}): React.JSX.Element {
  const speaking = props.speaker === props.uid
  const common = {
    style: boxStyle(props.rect),
    className: `tile${props.onStage ? ' on-stage' : ''}${speaking ? ' speaking' : ''}`,
    'data-speaking': speaking,
    'data-stage': props.onStage,
  }
  return props.uid === SELF ? (
    <LocalTile {...common} speaking={speaking} />
  ) : (
    <RemoteTile {...common} uid={props.uid} speaking={speaking} />
  )
}

interface TileFrameProps {
  style: React.CSSProperties
  className: string
  'data-speaking': boolean
  'data-stage': boolean
  speaking: boolean
}

function LocalTile(props: TileFrameProps): React.JSX.Element {
  const { t } = useTranslation('layout')
  const media = useMediaView()
  const camOn = useApp((s) => s.camOn)
  const micOn = useApp((s) => s.micOn)
  const joinedName = useApp((s) => s.joinedName)
  const ref = useRef<HTMLVideoElement>(null)
  useEffect(() => {
    media.attachPreview(ref.current)
    return () => media.attachPreview(null)
  }, [media])
  const { speaking, ...frame } = props
  // The name the others see, so you can check it; "You" when you joined without one.
  const name = joinedName === null ? t('you') : t('youNamed', { name: joinedName })
  return (
    <figure
      {...frame}
      className={`${frame.className} local`}
      data-testid="local-tile"
      aria-label={t(speaking ? 'tileLabelSpeaking' : 'tileLabel', { name })}
    >
      <video ref={ref} data-testid="local-preview" autoPlay muted playsInline />
      {camOn ? null : <div className="tile-off">{t('cameraOff')}</div>}
      <figcaption>
        <span className="tile-name" data-testid="tile-name">
          {name}
        </span>
        {micOn ? null : <MicOff />}
      </figcaption>
    </figure>
  )
}

function MicOff(): React.JSX.Element {
  const { t } = useTranslation('layout')
  return (
    <span className="tile-muted" data-testid="tile-mic-off" title={t('micOff')}>
      {/* A crossed-out microphone, drawn: emoji fonts are not on every system (headless Linux). */}
      <svg aria-hidden="true" width="14" height="14" viewBox="0 0 24 24" fill="none" stroke="currentColor">
        <rect x="9" y="3" width="6" height="11" rx="3" strokeWidth="2" />
        <path d="M5 11a7 7 0 0 0 14 0M12 18v3" strokeWidth="2" />
        <path d="M4 3l16 18" strokeWidth="2.5" stroke="#ff6b6b" />
      </svg>
      <span className="visually-hidden">{t('micOff')}</span>
    </span>
  )
}

function RemoteTile(props: TileFrameProps & { uid: number }): React.JSX.Element {
  const { uid, speaking, ...frame } = props
  const { t } = useTranslation(['layout', 'reconnect'])
  const media = useMediaView()
  const user = useApp((s) => s.remotes[uid])
  const figures = useApp((s) => s.remoteFigures[uid])
  const reconnecting = useApp((s) => s.connectionState === ConnectionState.Reconnecting)
  const ref = useRef<HTMLCanvasElement>(null)
  useEffect(() => {
    media.attachRemoteCanvas(uid, ref.current)
    return () => media.attachRemoteCanvas(uid, null)
  }, [media, uid])
  const name = user?.displayName ?? t('layout:uidName', { uid })
  return (
    <figure
      {...frame}
      data-testid="remote-tile"
      data-uid={uid}
      data-name={name}
      data-reconnecting={reconnecting}
      data-frames={figures?.framesDecoded ?? 0}
      data-fps={Math.round(figures?.fps ?? 0)}
      data-audio-level={(figures?.audioLevel ?? 0).toFixed(4)}
      data-audio-received={figures?.audioReceivedSamples ?? 0}
      data-audio-concealed={figures?.audioConcealedSamples ?? 0}
      aria-label={t(speaking ? 'layout:tileLabelSpeaking' : 'layout:tileLabel', { name })}
    >
      <canvas ref={ref} data-testid={`remote-video-${uid}`} width={640} height={360} />
      {user?.video ? null : <div className="tile-off">{t('layout:cameraOff')}</div>}
      {reconnecting ? (
        <div className="tile-reconnecting" data-testid="tile-reconnecting">
          {t('reconnect:tileOverlay')}
        </div>
      ) : null}
      <figcaption>
        <span className="tile-name" data-testid="tile-name">
          {name}
        </span>
        {user?.audio ? null : <MicOff />}
        <meter min={0} max={0.5} value={figures?.audioLevel ?? 0} aria-label={t('layout:audioLevel')} />
      </figcaption>
    </figure>
  )
}
