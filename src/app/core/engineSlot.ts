import { type Engine, type JoinChannelOptions, TypedEmitter } from '../../engine'
import { ConnectionReason, ConnectionState, type EngineEvents, type TransportType } from '../../shared/engine'
import { IPC_EVENTS, type IpcEvents } from '../../shared/ipc'
import type { MediaEngine } from '../mediaBridge'

/** What only the media bridge takes (never the page's IPC): frames, key-frame requests, the send target. */
const MEDIA_EVENTS = [
  'remoteVideoFrame',
  'remoteAudioFrame',
  'keyFrameRequested',
  'sendTargetChanged',
] as const

/**
 * The core's current engine behind stable handles: contract events and media events are re-emitted from
 * whichever engine is in the slot, and `media` is what the media bridge binds to, so the engine can be
 * replaced (the embedded stack of another instance went away) without the page or its port noticing.
 * Also tracks what the engine does not report: the proxy mode of the call in progress, local media flags.
 */
export class EngineSlot {
  readonly events = new TypedEmitter<IpcEvents>()
  /** The media bridge's engine: pushes go to the current engine, frames come from it. */
  readonly media: MediaEngine
  /** The proxy mode the current call was joined with; null outside a call. */
  activeCloudProxy: TransportType | null = null
  private joiningWith: TransportType | null = null
  /** NERTC defaults: audio on, video off; re-applied to a replacement engine. */
  private readonly local = { audio: true, video: false }
  private readonly mediaEvents = new TypedEmitter<EngineEvents>()
  private current: Engine
  private unwire: Array<() => void> = []

  constructor(engine: Engine) {
    this.current = engine
    this.wire(engine)
    this.media = {
      on: (event, listener) => {
        this.mediaEvents.on(event, listener)
        return this.current
      },
      off: (event, listener) => {
        this.mediaEvents.off(event, listener)
        return this.current
      },
      pushVideoFrame: (frame) => this.current.pushVideoFrame(frame),
      pushAudioFrame: (frame) => this.current.pushAudioFrame(frame),
      requestRemoteKeyFrame: (uid, track) => this.current.requestRemoteKeyFrame(uid, track),
    }
  }

  get engine(): Engine {
    return this.current
  }

  /** Joins with the engine's current proxy mode, remembered for `activeCloudProxy`. */
  join(token: string, channel: string, uid: number, options?: JoinChannelOptions): Promise<number> {
    this.joiningWith = this.current.getCloudProxy()
    return this.current.joinChannel(token, channel, uid, options)
  }

  enableLocal(kind: 'audio' | 'video', enabled: boolean): number {
    const code =
      kind === 'audio' ? this.current.enableLocalAudio(enabled) : this.current.enableLocalVideo(enabled)
    if (code === 0) this.local[kind] = enabled
    return code
  }

  /** Puts `next` in the slot (with the proxy mode and local media of the old one); returns the old one. */
  replace(next: Engine): Engine {
    const old = this.current
    this.unwire.splice(0).forEach((undo) => undo())
    next.setCloudProxy(old.getCloudProxy())
    next.enableLocalAudio(this.local.audio)
    next.enableLocalVideo(this.local.video)
    this.current = next
    this.activeCloudProxy = null
    this.wire(next)
    return old
  }

  /** Detaches and releases the engine; drops every listener. */
  async release(): Promise<void> {
    this.unwire.splice(0).forEach((undo) => undo())
    this.events.removeAllListeners()
    this.mediaEvents.removeAllListeners()
    await this.current.release()
  }

  private wire(engine: Engine): void {
    for (const name of IPC_EVENTS) this.unwire.push(forward(engine, name, this.events))
    for (const name of MEDIA_EVENTS) this.unwire.push(forward(engine, name, this.mediaEvents))
    const onState = (state: ConnectionState, reason: ConnectionReason): void => {
      if (state === ConnectionState.Connecting && reason === ConnectionReason.JoinChannel) {
        this.activeCloudProxy = this.joiningWith
      } else if (state === ConnectionState.Disconnected || state === ConnectionState.Failed) {
        this.activeCloudProxy = null
      }
    }
    engine.on('connectionStateChanged', onState)
    this.unwire.push(() => void engine.off('connectionStateChanged', onState))
  }
}

/** Re-emits one engine event on `to`; returns the undo. */
function forward<E extends keyof EngineEvents>(
  engine: Engine,
  name: E,
  to: { emit(event: E, ...args: EngineEvents[E]): boolean },
): () => void {
  const listener = (...args: EngineEvents[E]): void => void to.emit(name, ...args)
  engine.on(name, listener)
  return () => void engine.off(name, listener)
}
