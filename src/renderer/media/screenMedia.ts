import { mediaProblem, type MediaProblem } from '../logic/mediaProblems'
import type { SendTarget } from '../../shared/mediaPort'
import type { ShareProblem } from '../state/types'
import { splitSendTarget, type SplitTarget } from '../logic/screenShare'
import type { EncoderSettings } from '../logic/sendLadder'
import { ScreenSender } from './screenSender'

/** The local share's output so far, and what the encoder runs at (null before the first frame). */
export interface ShareSendFigures {
  frames: number
  bytes: number
  settings: EncoderSettings | null
}
import type { PostMedia } from './videoSender'
import { VideoReceiver } from './videoReceiver'

/** What the browser's display capture is asked for: the encoder's limits (logic/screenShare.ts). */
const DISPLAY_CONSTRAINTS = {
  video: { width: { max: 1920 }, height: { max: 1080 }, frameRate: { max: 15 } },
  audio: false,
} satisfies DisplayMediaStreamOptions

function problemOf(error: unknown): ShareProblem {
  const name = error instanceof DOMException ? error.name : ''
  // Canceled in the browser's picker, or refused by the OS / the Electron handler.
  if (name === 'NotAllowedError' || name === 'AbortError') return 'notAllowed'
  if (name === 'NotFoundError') return 'notFound'
  return 'failed'
}

/**
 * The screen-share half of the renderer's media (mediaEngine.ts delegates to it): the local share
 * (getDisplayMedia → ScreenSender, its preview) and every remote user's share, decoded apart from their
 * camera (one VideoReceiver per uid here, the camera's in mediaEngine.ts) into the stage's canvas.
 */
export class ScreenMedia {
  private sender: ScreenSender | null = null
  private stream: MediaStream | null = null
  private preview: HTMLVideoElement | null = null
  private readonly receivers = new Map<number, VideoReceiver>()
  private readonly canvases = new Map<number, HTMLCanvasElement>()

  constructor(
    private readonly target: Window,
    private readonly post: PostMedia,
    private readonly onProblem: (problem: MediaProblem) => void,
  ) {}

  get sharing(): boolean {
    return this.sender !== null
  }

  /**
   * Asks for a screen or window (the browser's picker; Electron: main's handler answers with the source the
   * app's picker chose) and starts encoding it. `onEnded`: the source went away (the window closed, the
   * browser's own "Stop sharing").
   */
  async start(onEnded: () => void): Promise<ShareProblem | null> {
    if (this.sender) return null
    let stream: MediaStream
    try {
      stream = await this.target.navigator.mediaDevices.getDisplayMedia(DISPLAY_CONSTRAINTS)
    } catch (error) {
      return problemOf(error)
    }
    const track = stream.getVideoTracks()[0]
    if (!track || this.sender) {
      stream.getTracks().forEach((t) => t.stop())
      return track ? null : 'failed'
    }
    track.addEventListener('ended', () => {
      if (this.stream !== stream) return
      this.stop()
      onEnded()
    })
    this.stream = stream
    this.sender = new ScreenSender(track, this.post, (error) =>
      this.onProblem(mediaProblem('screenEncoderStopped', { error })),
    )
    this.showPreview()
    return null
  }

  stop(): void {
    this.sender?.stop()
    this.sender = null
    this.stream = null
    this.showPreview()
  }

  requestKeyFrame(): void {
    this.sender?.requestKeyFrame()
  }

  /** The target split between the share and the camera (screen first); the camera's part is returned. */
  split(target: SendTarget): SplitTarget {
    const split = splitSendTarget(target, this.sharing, this.sender?.settings()?.fps)
    if (split.screenBps !== null) this.sender?.setBudget(split.screenBps)
    return split
  }

  /** The local share's preview (the stage shows it when you are the one sharing). */
  attachPreview(video: HTMLVideoElement | null): void {
    this.preview = video
    this.showPreview()
  }

  attachCanvas(uid: number, canvas: HTMLCanvasElement | null): void {
    if (canvas) this.canvases.set(uid, canvas)
    else this.canvases.delete(uid)
    this.receivers.get(uid)?.attach(canvas)
  }

  push(uid: number, data: ArrayBuffer, timestampUs: number, keyFrame: boolean): void {
    let receiver = this.receivers.get(uid)
    if (!receiver) {
      // Its decoder failed or waits for a key frame: the engine asks this user's share for one.
      receiver = new VideoReceiver(this.onProblem, () =>
        this.post({ kind: 'keyFrameRequest', uid, track: 'screen' }, []),
      )
      receiver.attach(this.canvases.get(uid) ?? null)
      this.receivers.set(uid, receiver)
    }
    receiver.push(data, timestampUs, keyFrame)
  }

  /** What our share has sent so far and the encoder's settings (undefined: not sharing). */
  sendFigures(): ShareSendFigures | undefined {
    const sender = this.sender
    if (!sender) return undefined
    return { frames: sender.sent.frames, bytes: sender.sent.bytes, settings: sender.settings() }
  }

  /** Frames decoded of `uid`'s share so far and their rate (undefined: none received). */
  figures(uid: number): { framesDecoded: number; fps: number } | undefined {
    return this.receivers.get(uid)?.figures(performance.now())
  }

  /** They stopped sharing or left: the decoder goes (a new share starts at its key frame). */
  dropRemote(uid: number): void {
    this.receivers.get(uid)?.close()
    this.receivers.delete(uid)
  }

  dropRemotes(): void {
    this.receivers.forEach((r) => r.close())
    this.receivers.clear()
  }

  private showPreview(): void {
    if (this.preview && this.preview.srcObject !== this.stream) this.preview.srcObject = this.stream
  }
}
