import { useEffect, useRef, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { useApp, useAppShallow, useMediaView } from './context'
import './screenStage.css'

/** A share on the stage: a remote user's uid, or this user's own. */
type Sharer = number | 'self'

/** A remote user's share, decoded apart from their camera (media/screenMedia.ts) into this canvas. */
function RemoteShare(props: { uid: number }): React.JSX.Element {
  const { uid } = props
  const media = useMediaView()
  const ref = useRef<HTMLCanvasElement>(null)
  const [figures, setFigures] = useState({ framesDecoded: 0, fps: 0 })
  useEffect(() => {
    media.attachScreenCanvas(uid, ref.current)
    // The decoder's count, for the stage's data attributes (tests read the frame rate there).
    const timer = setInterval(() => setFigures(media.screenFigures(uid) ?? { framesDecoded: 0, fps: 0 }), 250)
    return () => {
      clearInterval(timer)
      media.attachScreenCanvas(uid, null)
    }
  }, [media, uid])
  return (
    <canvas
      ref={ref}
      className="screen-view"
      data-testid="screen-canvas"
      data-uid={uid}
      data-frames={figures.framesDecoded}
      data-fps={Math.round(figures.fps)}
      width={1280}
      height={720}
    />
  )
}

/** Your own share as it is captured (what the others are sent). */
function LocalShare(): React.JSX.Element {
  const media = useMediaView()
  const ref = useRef<HTMLVideoElement>(null)
  useEffect(() => {
    media.attachSharePreview(ref.current)
    return () => media.attachSharePreview(null)
  }, [media])
  return <video ref={ref} className="screen-view" data-testid="screen-preview" autoPlay muted playsInline />
}

/** Remote sharers first, in the order they started; your own share last. */
function useSharers(): Sharer[] {
  const remote = useAppShallow((s) => Object.values(s.remotes).flatMap((r) => (r.screen ? [r.uid] : [])))
  const sharing = useApp((s) => s.sharing)
  const order = useRef<number[]>([])
  order.current = [
    ...order.current.filter((uid) => remote.includes(uid)),
    ...remote.filter((uid) => !order.current.includes(uid)),
  ]
  return sharing ? [...order.current, 'self'] : [...order.current]
}

/**
 * The screen share, large (docs/media.md "Screen sharing"): a remote user's share, or your own share's
 * preview, and while several people share, a choice of whose to show. `sharer`: the one the layout puts on
 * the stage (the latest remote share by default); the user's choice wins while that share lasts.
 * Nothing is rendered while nobody shares.
 */
export function ScreenStage(props: { sharer?: number }): React.JSX.Element | null {
  const { t } = useTranslation('share')
  const sharers = useSharers()
  const names = useAppShallow((s) =>
    Object.fromEntries(Object.values(s.remotes).map((r) => [r.uid, r.displayName ?? ''])),
  )
  const [chosen, setChosen] = useState<Sharer | null>(null)
  if (sharers.length === 0) return null
  const latestRemote = sharers.filter((s) => s !== 'self').at(-1)
  const active: Sharer =
    chosen !== null && sharers.includes(chosen)
      ? chosen
      : props.sharer !== undefined && sharers.includes(props.sharer)
        ? props.sharer
        : (latestRemote ?? 'self')
  const nameOf = (sharer: Sharer): string =>
    sharer === 'self' ? t('stage.you') : names[sharer] || t('stage.uidName', { uid: sharer })
  return (
    <section
      className="screen-stage"
      aria-label={t('stage.label')}
      data-testid="screen-stage"
      data-sharer={active}
    >
      {sharers.length > 1 ? (
        <div className="share-selector" role="group" aria-label={t('stage.whoIsSharing')}>
          {sharers.map((sharer) => (
            <button
              key={sharer}
              type="button"
              aria-pressed={sharer === active}
              data-testid="share-choice"
              data-sharer={sharer}
              onClick={() => setChosen(sharer)}
            >
              {nameOf(sharer)}
            </button>
          ))}
        </div>
      ) : null}
      <div className="screen-frame">
        {active === 'self' ? <LocalShare /> : <RemoteShare key={active} uid={active} />}
      </div>
      <p className="screen-caption" data-testid="screen-caption">
        {active === 'self' ? t('stage.youAreSharing') : t('stage.isSharing', { name: nameOf(active) })}
      </p>
    </section>
  )
}
