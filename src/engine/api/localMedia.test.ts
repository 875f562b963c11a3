import { describe, expect, it } from 'vitest'
import { ErrorCode } from '../../shared/errors'
import type { CallHandle } from '../call/call'
import { LocalMedia } from './localMedia'

function fakeCall(accepts = true): CallHandle & { calls: string[] } {
  const calls: string[] = []
  return {
    calls,
    close: () => Promise.resolve(),
    setLocalMedia: (kind, enabled) => void calls.push(`${kind} ${enabled}`),
    pushVideoFrame: (frame) => (calls.push(`video ${frame.data.length}`), accepts),
    pushAudioFrame: (frame) => (calls.push(`audio ${frame.data.length}`), accepts),
  }
}

const video = { data: Uint8Array.of(0x10, 1), timestamp: 0, keyframe: true }
const audio = { data: Uint8Array.of(0xf8), timestamp: 20_000 }

describe('LocalMedia', () => {
  it('starts with audio on and video off, and tells the call about changes', () => {
    const media = new LocalMedia()
    const call = fakeCall()
    expect(media.current()).toEqual({ audio: true, video: false, screen: false })
    expect(media.pushVideo(video, call)).toBe(ErrorCode.InvalidState)
    expect(media.enable('video', true, call)).toBe(ErrorCode.Ok)
    expect(media.pushVideo(video, call)).toBe(ErrorCode.Ok)
    expect(media.pushAudio(audio, call)).toBe(ErrorCode.Ok)
    expect(call.calls).toEqual(['video true', 'video 2', 'audio 1'])
    expect(media.enable('audio', false, undefined)).toBe(ErrorCode.Ok)
    expect(media.current()).toEqual({ audio: false, video: true, screen: false })
  })

  it.each([
    ['empty data', { data: new Uint8Array(0), timestamp: 0, keyframe: false }],
    ['not bytes', { data: [1, 2] as unknown as Uint8Array, timestamp: 0, keyframe: false }],
    ['NaN timestamp', { data: Uint8Array.of(1), timestamp: Number.NaN, keyframe: false }],
    ['no keyframe flag', { data: Uint8Array.of(1), timestamp: 0 } as never],
  ])('a malformed frame (%s) is 414', (_name, frame) => {
    const media = new LocalMedia()
    media.enable('video', true, undefined)
    expect(media.pushVideo(frame, fakeCall())).toBe(ErrorCode.RequestParameter)
  })

  it('no call, or a call that cannot send now: InvalidState', () => {
    const media = new LocalMedia()
    expect(media.pushAudio(audio, undefined)).toBe(ErrorCode.InvalidState)
    expect(media.pushAudio(audio, fakeCall(false))).toBe(ErrorCode.InvalidState)
  })

  it('screen share: start/stop once each (InvalidState when repeated), screen frames only while sharing', () => {
    const media = new LocalMedia()
    const call = fakeCall()
    const screen = { ...video, track: 'screen' as const }
    expect(media.pushVideo(screen, call)).toBe(ErrorCode.InvalidState)
    expect(media.screen(false, call)).toBe(ErrorCode.InvalidState)
    expect(media.screen(true, call)).toBe(ErrorCode.Ok)
    expect(media.screen(true, call)).toBe(ErrorCode.InvalidState)
    expect(media.pushVideo(screen, call)).toBe(ErrorCode.Ok)
    // The camera is off: only the screen's frames go.
    expect(media.pushVideo(video, call)).toBe(ErrorCode.InvalidState)
    expect(media.pushVideo({ ...video, track: 'window' as never }, call)).toBe(ErrorCode.RequestParameter)
    media.endScreen()
    expect(media.current().screen).toBe(false)
    expect(call.calls).toEqual(['screen true', 'video 2'])
  })
})
