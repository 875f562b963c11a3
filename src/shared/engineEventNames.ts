import type { EngineEventName } from './engine'

/**
 * Every event of the engine's map, at run time (the CLI prints them all; the IPC bridge forwards all but the
 * media frames). A full Record: adding or removing an event in EngineEvents fails to compile here. Kept
 * apart from engine.ts, which imports zod, so a sandboxed preload can import it.
 */
const ALL_EVENTS: Record<EngineEventName, true> = {
  connectionStateChanged: true,
  proxyConnected: true,
  joinChannel: true,
  rejoinChannel: true,
  leaveChannel: true,
  userJoined: true,
  userLeft: true,
  userAudioStart: true,
  userAudioStop: true,
  userVideoStart: true,
  userVideoStop: true,
  userSubStreamVideoStart: true,
  userSubStreamVideoStop: true,
  remoteVideoFrame: true,
  remoteAudioFrame: true,
  keyFrameRequested: true,
  sendTargetChanged: true,
  rtcStats: true,
  remoteVideoStats: true,
  networkQuality: true,
  regionProbe: true,
  error: true,
  warning: true,
}

export const ENGINE_EVENT_NAMES = Object.keys(ALL_EVENTS) as EngineEventName[]
