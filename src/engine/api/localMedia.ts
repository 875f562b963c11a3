import { ErrorCode } from '../../shared/errors'
import { isUid } from '../../shared/joinRules'
import type { VideoTrack } from '../../shared/mediaPort'
import type { MediaKind } from '../../shared/signaling'
import type { CallHandle, LocalMediaState } from '../call/call'
import type { EncodedAudioFrame, EncodedVideoFrame } from '../media/frames'

/**
 * enableLocalAudio / enableLocalVideo and the frames pushed in (docs/engine.md "API"). The setting lives for
 * the engine's lifetime, like NERTC's: audio on and video off until the app says otherwise; a change in a
 * call is passed to it (publish / unpublish), and the next join reads it.
 */
export class LocalMedia {
  private readonly state: LocalMediaState = { audio: true, video: false, screen: false }

  current(): LocalMediaState {
    return { ...this.state }
  }

  enable(kind: MediaKind, enabled: boolean, call: CallHandle | undefined): number {
    if (typeof enabled !== 'boolean') return ErrorCode.RequestParameter
    this.state[kind] = enabled
    call?.setLocalMedia?.(kind, enabled)
    return ErrorCode.Ok
  }

  /**
   * startScreenCapture / stopScreenCapture: InvalidState when already in that state (NERTC). The share ends
   * with the call (`endScreen` at leaveChannel): the next call does not start by sharing a screen.
   */
  screen(sharing: boolean, call: CallHandle | undefined): number {
    if (this.state.screen === sharing) return ErrorCode.InvalidState
    return this.enable('screen', sharing, call)
  }

  endScreen(): void {
    this.state.screen = false
  }

  /**
   * 0 once handed to the call; 414 for a malformed frame; InvalidState when not publishing that track
   * (the camera, or the screen for `track: 'screen'`) or not in a call.
   */
  pushVideo(frame: EncodedVideoFrame, call: CallHandle | undefined): number {
    if (!validFrame(frame) || typeof frame.keyframe !== 'boolean') return ErrorCode.RequestParameter
    const track: unknown = frame.track
    if (track !== undefined && track !== 'camera' && track !== 'screen') return ErrorCode.RequestParameter
    const publishing = track === 'screen' ? this.state.screen : this.state.video
    if (!publishing || !call?.pushVideoFrame?.(frame)) return ErrorCode.InvalidState
    return ErrorCode.Ok
  }

  /** requestRemoteKeyFrame: 414 for a uid or track that is not one; InvalidState when no such video arrives. */
  requestRemoteKeyFrame(uid: number, track: VideoTrack = 'camera', call: CallHandle | undefined): number {
    if (!isUid(uid) || uid === 0 || (track !== 'camera' && track !== 'screen'))
      return ErrorCode.RequestParameter
    return call?.requestRemoteKeyFrame?.(uid, track) ? ErrorCode.Ok : ErrorCode.InvalidState
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
