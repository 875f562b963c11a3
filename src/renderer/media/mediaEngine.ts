import { captureProblem, mediaProblem, type MediaProblem } from '../logic/mediaProblems'
import { parseMediaDown } from '../logic/mediaDown'
import type { MediaUp, SendTarget, VideoTrack } from '../../shared/mediaPort'
import type { CaptureProblem, MediaControl } from '../controller'
import type { RemoteMediaFigures, ShareProblem } from '../state/types'
import { AudioSender } from './audioSender'
import { AudioPlayback, AudioReceiver } from './audioPlayback'
import { listenForMediaPort } from './port'
import { DEVICE_OF, withDevice } from './captureDevices'
import type { DeviceChoice } from '../logic/devices'
import { ScreenMedia, type ShareSendFigures } from './screenMedia'
import { VIDEO_FPS, VIDEO_HEIGHT, VIDEO_WIDTH, VideoSender } from './videoSender'
import { VideoReceiver } from './videoReceiver'

/** What the components use: the local preview and one canvas per remote tile. */
export interface MediaView {
  attachPreview(video: HTMLVideoElement | null): void
  attachRemoteCanvas(uid: number, canvas: HTMLCanvasElement | null): void
  /** A remote user's screen share (the stage), decoded apart from their camera. */
  attachScreenCanvas(uid: number, canvas: HTMLCanvasElement | null): void
  /** The local share's preview. */
  attachSharePreview(video: HTMLVideoElement | null): void
  /** Frames decoded of `uid`'s share and their rate; undefined before any arrived. */
  screenFigures(uid: number): { framesDecoded: number; fps: number } | undefined
  /** What the local share has sent and its encoder's settings; undefined when not sharing. */
  shareSendFigures(): ShareSendFigures | undefined
}

export type MediaEngine = MediaControl & MediaView

type Kind = 'audio' | 'video'

const CONSTRAINTS: Record<Kind, MediaStreamConstraints> = {
  video: { video: { width: VIDEO_WIDTH, height: VIDEO_HEIGHT, frameRate: VIDEO_FPS } },
  audio: { audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true } },
}

/**
 * The renderer's media: capture and encode (MediaUp over the host's port), decode and play what arrives
 * (MediaDown). No host-specific code: the port comes by window message in every host.
 */
export function createMediaEngine(target: Window, onProblem: (problem: MediaProblem) => void): MediaEngine {
  return new RendererMedia(target, onProblem)
}

class RendererMedia implements MediaEngine {
  private port: MessagePort | null = null
  private stopListening: (() => void) | null = null
  /** Between startSending and stopSending: capture may run. */
  private sending = false
  private readonly senders: { video: VideoSender | null; audio: AudioSender | null } = {
    video: null,
    audio: null,
  }
  /** The camera, microphone and speaker to use (docs/app.md "Devices"); absent: the system default. */
  private devices: DeviceChoice = {}
  /** The engine's latest send target: a sender started later begins from it. */
  private sendTarget: SendTarget | null = null
  private preview: HTMLVideoElement | null = null
  private previewStream: MediaStream | null = null
  private readonly playback = new AudioPlayback()
  private readonly videos = new Map<number, VideoReceiver>()
  private readonly audios = new Map<number, AudioReceiver>()
  private readonly canvases = new Map<number, HTMLCanvasElement>()
  /** Screen shares, ours and theirs: the second video track, keyed apart from the camera's by uid. */
  private readonly screen: ScreenMedia

  constructor(
    private readonly target: Window,
    private readonly onProblem: (problem: MediaProblem) => void,
  ) {
    this.screen = new ScreenMedia(target, (message, transfer) => this.post(message, transfer), onProblem)
  }

  async connect(connectMedia: () => Promise<unknown>): Promise<void> {
    // Listen first: the port may arrive before connectMedia() resolves (docs/app.md).
    this.stopListening ??= listenForMediaPort(this.target, (next) => this.usePort(next))
    await connectMedia()
  }

  async startSending(kinds: { audio: boolean; video: boolean }): Promise<CaptureProblem[]> {
    this.sending = true
    const wanted = (['video', 'audio'] as const).filter((kind) => kinds[kind])
    const problems = await Promise.all(wanted.map((kind) => this.start(kind)))
    return problems.filter((p): p is CaptureProblem => p !== null)
  }

  async setSending(kind: Kind, on: boolean): Promise<CaptureProblem[]> {
    if (!on) {
      this.stop(kind)
      return []
    }
    if (!this.sending) return []
    const problem = await this.start(kind)
    return problem ? [problem] : []
  }

  /**
   * The devices to use from now on. A camera or microphone that changed while sending is replaced under the
   * running encoder (no rejoin); the speaker goes to the playback's output. Resolves with what failed.
   */
  async useDevices(devices: DeviceChoice): Promise<CaptureProblem[]> {
    const before = this.devices
    this.devices = { ...devices }
    if (devices.speaker !== before.speaker) {
      this.playback
        .setOutputDevice(devices.speaker ?? '')
        .catch((error: unknown) => this.onProblem(mediaProblem('devicesFailed', { error })))
    }
    const changed = (['video', 'audio'] as const).filter(
      (kind) => this.senders[kind] && devices[DEVICE_OF[kind]] !== before[DEVICE_OF[kind]],
    )
    const problems = await Promise.all(changed.map((kind) => this.switchCapture(kind)))
    return problems.filter((p): p is CaptureProblem => p !== null)
  }

  stopSending(): void {
    this.sending = false
    this.stop('video')
    this.stop('audio')
    this.stopShare()
    this.dropRemotes()
  }

  requestKeyFrame(track?: VideoTrack): void {
    if (track === 'screen') this.screen.requestKeyFrame()
    else this.senders.video?.requestKeyFrame()
  }

  async startShare(onEnded: () => void): Promise<ShareProblem | null> {
    const problem = await this.screen.start(() => {
      this.reapplyTarget()
      onEnded()
    })
    this.reapplyTarget()
    return problem
  }

  stopShare(): void {
    if (!this.screen.sharing) return
    this.screen.stop()
    this.reapplyTarget()
  }

  dropScreen(uid: number): void {
    this.screen.dropRemote(uid)
  }

  dropRemote(uid: number): void {
    this.screen.dropRemote(uid)
    this.videos.get(uid)?.close()
    this.audios.get(uid)?.close()
    this.videos.delete(uid)
    this.audios.delete(uid)
  }

  resumePlayback(): void {
    this.playback.resume()
  }

  /** The speaker remote audio plays on ('' for the default): see AudioPlayback.setOutputDevice. */
  setOutputDevice(deviceId: string): Promise<void> {
    return this.playback.setOutputDevice(deviceId)
  }

  levels(): Record<number, number> {
    const result: Record<number, number> = { 0: this.senders.audio?.level() ?? 0 }
    for (const [uid, audio] of this.audios) result[uid] = audio.currentLevel()
    return result
  }

  figures(): Record<number, RemoteMediaFigures> {
    const now = performance.now()
    const result: Record<number, RemoteMediaFigures> = {}
    for (const uid of new Set([...this.videos.keys(), ...this.audios.keys()])) {
      const video = this.videos.get(uid)?.figures(now) ?? { framesDecoded: 0, fps: 0 }
      const audio = this.audios.get(uid)
      const counts = audio?.stats()
      result[uid] = {
        ...video,
        audioLevel: audio?.takeLevel() ?? 0,
        audioReceivedSamples: counts?.receivedSamples ?? 0,
        audioConcealedSamples: counts?.concealedSamples ?? 0,
      }
    }
    return result
  }

  close(): void {
    this.stopSending()
    this.playback.close()
    this.stopListening?.()
    this.port?.close()
  }

  attachPreview(video: HTMLVideoElement | null): void {
    this.preview = video
    this.showPreview()
  }

  attachRemoteCanvas(uid: number, canvas: HTMLCanvasElement | null): void {
    if (canvas) this.canvases.set(uid, canvas)
    else this.canvases.delete(uid)
    this.videos.get(uid)?.attach(canvas)
  }

  attachScreenCanvas(uid: number, canvas: HTMLCanvasElement | null): void {
    this.screen.attachCanvas(uid, canvas)
  }

  attachSharePreview(video: HTMLVideoElement | null): void {
    this.screen.attachPreview(video)
  }

  screenFigures(uid: number): { framesDecoded: number; fps: number } | undefined {
    return this.screen.figures(uid)
  }

  shareSendFigures(): ShareSendFigures | undefined {
    return this.screen.sendFigures()
  }

  private usePort(next: MessagePort): void {
    this.port?.close()
    this.port = next
    next.onmessage = (event: MessageEvent) => this.onDown(event.data)
    next.start()
  }

  private readonly post = (message: MediaUp, transfer: Transferable[]): void => {
    this.port?.postMessage(message, transfer)
  }

  private showPreview(): void {
    if (this.preview && this.preview.srcObject !== this.previewStream)
      this.preview.srcObject = this.previewStream
  }

  private async start(kind: Kind): Promise<CaptureProblem | null> {
    if (this.senders[kind]) return null
    let stream: MediaStream
    try {
      stream = await this.target.navigator.mediaDevices.getUserMedia(
        withDevice(CONSTRAINTS[kind], kind, this.devices),
      )
    } catch (error) {
      return { kind, ...captureProblem(kind, error) }
    }
    const track = kind === 'video' ? stream.getVideoTracks()[0] : stream.getAudioTracks()[0]
    // Left (or turned off) while the device was opening: release it at once.
    if (!track || !this.sending || this.senders[kind]) {
      stream.getTracks().forEach((t) => t.stop())
      return track ? null : { kind, ...captureProblem(kind, 'no track') }
    }
    if (kind === 'video') {
      this.previewStream = new MediaStream([track])
      this.showPreview()
      const sender = new VideoSender(track, this.post, this.onProblem)
      if (this.sendTarget) sender.applyTarget(this.screen.split(this.sendTarget).camera)
      this.senders.video = sender
    } else {
      const sender = new AudioSender(track, this.post, this.onProblem)
      if (this.sendTarget) sender.applyTarget(this.sendTarget)
      this.senders.audio = sender
    }
    return null
  }

  /** Opens the chosen device and hands its track to the running sender (useDevices). */
  private async switchCapture(kind: Kind): Promise<CaptureProblem | null> {
    let stream: MediaStream
    try {
      stream = await this.target.navigator.mediaDevices.getUserMedia(
        withDevice(CONSTRAINTS[kind], kind, this.devices),
      )
    } catch (error) {
      return { kind, ...captureProblem(kind, error) }
    }
    const track = kind === 'video' ? stream.getVideoTracks()[0] : stream.getAudioTracks()[0]
    const sender = this.senders[kind]
    if (!track || !sender) {
      stream.getTracks().forEach((t) => t.stop())
      return null
    }
    sender.replaceTrack(track)
    if (kind === 'video') {
      this.previewStream = new MediaStream([track])
      this.showPreview()
    }
    return null
  }

  private stop(kind: Kind): void {
    this.senders[kind]?.stop()
    this.senders[kind] = null
    if (kind === 'video') {
      this.previewStream = null
      this.showPreview()
    }
  }

  private onDown(raw: unknown): void {
    const message = parseMediaDown(raw)
    if (!message) return
    if (message.kind === 'keyFrameRequested') {
      this.requestKeyFrame(message.track)
    } else if (message.kind === 'remoteVideo' && message.track === 'screen') {
      this.screen.push(message.uid, message.data, message.timestampUs, message.keyFrame)
    } else if (message.kind === 'remoteVideo') {
      this.videoFor(message.uid).push(message.data, message.timestampUs, message.keyFrame)
    } else if (message.kind === 'sendTarget') {
      const { kind: _kind, ...target } = message
      this.applyTarget(target)
    } else {
      this.audioFor(message.uid).push(message.data, message.timestampUs)
    }
  }

  /** Each sender splits the target its own way (docs/media.md "Encoders that follow the target"). */
  private applyTarget(target: SendTarget): void {
    this.sendTarget = target
    // While sharing, the screen takes its part first and the camera gets the rest (logic/screenShare.ts).
    this.senders.video?.applyTarget(this.screen.split(target).camera)
    this.senders.audio?.applyTarget(target)
  }

  /** A share started or stopped: the same target, split anew. */
  private reapplyTarget(): void {
    if (this.sendTarget) this.applyTarget(this.sendTarget)
  }

  private videoFor(uid: number): VideoReceiver {
    let receiver = this.videos.get(uid)
    if (!receiver) {
      // Its decoder failed or waits for a key frame: the engine asks this user for one (PLI).
      receiver = new VideoReceiver(this.onProblem, () => this.post({ kind: 'keyFrameRequest', uid }, []))
      receiver.attach(this.canvases.get(uid) ?? null)
      this.videos.set(uid, receiver)
    }
    return receiver
  }

  private audioFor(uid: number): AudioReceiver {
    let receiver = this.audios.get(uid)
    if (!receiver) {
      receiver = new AudioReceiver(this.playback, this.onProblem)
      this.audios.set(uid, receiver)
    }
    return receiver
  }

  private dropRemotes(): void {
    this.videos.forEach((r) => r.close())
    this.audios.forEach((r) => r.close())
    this.videos.clear()
    this.audios.clear()
  }
}
