import { ErrorCode } from '../../shared/errors'
import type { MediaKind } from '../../shared/signaling'
import type { CallHandle, LocalMediaState } from '../call/call'
import type { EncodedAudioFrame, EncodedVideoFrame } from '../media/frames'

/**
 * enableLocalAudio / enableLocalVideo and the frames pushed in (docs/engine.md "API"). The setting lives for
 * the engine's lifetime, like NERTC's: audio on and video off until the app says otherwise; a change in a
 * call is passed to it (publish / unpublish), and the next join reads it.
 */
export class LocalMedia {
  private readonly state: LocalMediaState = { audio: true, video: false }

  current(): LocalMediaState {
    return { ...this.state }
  }

  enable(kind: MediaKind, enabled: boolean, call: CallHandle | undefined): number {
    if (typeof enabled !== 'boolean') return ErrorCode.RequestParameter
    this.state[kind] = enabled
    call?.setLocalMedia?.(kind, enabled)
    return ErrorCode.Ok
  }

  /** 0 once handed to the call; 414 for a malformed frame; InvalidState when not publishing or not in a call. */
  pushVideo(frame: EncodedVideoFrame, call: CallHandle | undefined): number {
    if (!validFrame(frame) || typeof frame.keyframe !== 'boolean') return ErrorCode.RequestParameter
    if (!this.state.video || !call?.pushVideoFrame?.(frame)) return ErrorCode.InvalidState
    return ErrorCode.Ok
  }

  pushAudio(frame: EncodedAudioFrame, call: CallHandle | undefined): number {
    if (!validFrame(frame)) return ErrorCode.RequestParameter
    if (!this.state.audio || !call?.pushAudioFrame?.(frame)) return ErrorCode.InvalidState
    return ErrorCode.Ok
  }
}

function validFrame(frame: EncodedAudioFrame): boolean {
  return (
    typeof frame === 'object' &&
    frame !== null &&
    frame.data instanceof Uint8Array &&
    frame.data.length > 0 &&
    Number.isFinite(frame.timestamp)
  )
}
