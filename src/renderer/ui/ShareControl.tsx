import { useEffect, useRef, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { ConnectionState } from '../../shared/engine'
import type { ShareSource } from '../../shared/shareSources'
import { useApp, useController, useMediaView } from './context'
import { useShortcutProps } from './useShortcuts'

type Kind = ShareSource['kind']
const KINDS: readonly Kind[] = ['screen', 'window']

/** Screens / Windows: two tabs, the arrow keys move between them (the WAI-ARIA tabs pattern). */
function SourceTabs(props: { kind: Kind; onChange(kind: Kind): void }): React.JSX.Element {
  const { t } = useTranslation('share')
  const tabs = useRef<Record<Kind, HTMLButtonElement | null>>({ screen: null, window: null })
  const onKeyDown = (event: React.KeyboardEvent): void => {
    if (event.key !== 'ArrowLeft' && event.key !== 'ArrowRight') return
    const next = KINDS[(KINDS.indexOf(props.kind) + 1) % KINDS.length]!
    props.onChange(next)
    tabs.current[next]?.focus()
    event.preventDefault()
  }
  return (
    <div role="tablist" aria-label={t('picker.tabsLabel')} onKeyDown={onKeyDown}>
      {KINDS.map((k) => (
        <button
          key={k}
          ref={(element) => void (tabs.current[k] = element)}
          type="button"
          role="tab"
          id={`share-tab-${k}`}
          aria-selected={props.kind === k}
          aria-controls="share-sources"
          tabIndex={props.kind === k ? 0 : -1}
          data-testid={`share-tab-${k}`}
          onClick={() => props.onChange(k)}
        >
          {t(k === 'screen' ? 'picker.screens' : 'picker.windows')}
        </button>
      ))}
    </div>
  )
}

/**
 * The app's own source picker (Electron: desktopCapturer's screens and windows, src/main/sharePicker.ts):
 * a modal dialog with Screens / Windows tabs, one button per source with its thumbnail (double-click
 * shares it), Share and Cancel; Escape cancels. The browser host never opens it (the browser has its own).
 */
function SharePicker(props: { sources: ShareSource[] }): React.JSX.Element {
  const { t } = useTranslation('share')
  const controller = useController()
  const dialog = useRef<HTMLDialogElement>(null)
  const [kind, setKind] = useState<Kind>(props.sources.some((s) => s.kind === 'screen') ? 'screen' : 'window')
  const [picked, setPicked] = useState<string | null>(null)
  useEffect(() => {
    const element = dialog.current
    if (element && !element.open) element.showModal()
  }, [])
  const shown = props.sources.filter((s) => s.kind === kind)
  const choose = (id: string | null): void => void controller.chooseShareSource(id)
  return (
    <dialog
      ref={dialog}
      className="share-picker"
      aria-labelledby="share-picker-title"
      data-testid="share-picker"
      onCancel={(event) => {
        event.preventDefault()
        choose(null)
      }}
    >
      <h2 id="share-picker-title">{t('picker.title')}</h2>
      <SourceTabs kind={kind} onChange={setKind} />
      <div id="share-sources" role="tabpanel" aria-labelledby={`share-tab-${kind}`} className="share-sources">
        {shown.length === 0 ? <p>{t('picker.none')}</p> : null}
        {shown.map((source) => (
          <button
            key={source.id}
            type="button"
            className="share-source"
            aria-pressed={picked === source.id}
            data-testid="share-source"
            data-id={source.id}
            onClick={() => setPicked(source.id)}
            onDoubleClick={() => choose(source.id)}
          >
            <img src={source.thumbnailDataUrl} alt={t('picker.thumbnail', { name: source.name })} />
            <span>{source.name}</span>
          </button>
        ))}
      </div>
      <div className="share-actions">
        <button type="button" data-testid="share-cancel" onClick={() => choose(null)}>
          {t('picker.cancel')}
        </button>
        <button
          type="button"
          data-testid="share-confirm"
          disabled={picked === null || !shown.some((s) => s.id === picked)}
          onClick={() => choose(picked)}
        >
          {t('picker.share')}
        </button>
      </div>
    </dialog>
  )
}

/**
 * While sharing, what has been sent and the encoder's size and rate, as data attributes of the control
 * (tests and the docs' figures read them); refreshed twice a second.
 */
function useSendFigures(sharing: boolean): Record<string, string | number> {
  const media = useMediaView()
  const [figures, setFigures] = useState<Record<string, string | number>>({})
  useEffect(() => {
    if (!sharing) return
    const timer = setInterval(() => {
      const f = media.shareSendFigures()
      if (!f) return
      const s = f.settings
      setFigures({
        'data-sent-frames': f.frames,
        'data-sent-bytes': f.bytes,
        'data-encoder': s ? `${s.width}x${s.height}@${s.fps}/${s.bitrateBps}` : '',
      })
    }, 500)
    return () => clearInterval(timer)
  }, [media, sharing])
  return sharing ? figures : {}
}

/** Share screen / Stop sharing in the call's controls, why the last share did not start, and the picker. */
export function ShareControl(): React.JSX.Element {
  const { t } = useTranslation('share')
  const controller = useController()
  const sharing = useApp((s) => s.sharing)
  const picker = useApp((s) => s.sharePicker)
  const problem = useApp((s) => s.shareProblem)
  const keys = useShortcutProps('toggleShare')
  const sendFigures = useSendFigures(sharing)
  // A share goes to a call: outside one there is no one to share with.
  const inCall = useApp(
    (s) => s.connectionState !== ConnectionState.Disconnected && s.connectionState !== ConnectionState.Failed,
  )
  return (
    <>
      <button
        type="button"
        data-testid="toggle-share"
        {...keys}
        {...sendFigures}
        disabled={!inCall && !sharing}
        aria-pressed={sharing}
        onClick={() => void controller.toggleShare()}
      >
        {sharing ? t('stop') : t('start')}
      </button>
      {problem ? (
        <p className="share-problem" role="status" data-testid="share-problem" data-problem={problem}>
          {t(`problem.${problem}`)}
        </p>
      ) : null}
      {picker ? <SharePicker sources={picker} /> : null}
    </>
  )
}
