import { MessageChannel } from 'node:worker_threads'
import { describe, expect, it, vi } from 'vitest'
import { TypedEmitter } from '../engine'
import type { EngineEvents } from '../shared/engine'
import { ErrorCode } from '../shared/errors'
import type { MediaDown } from '../shared/mediaPort'
import { attachMediaBridge, nodeMediaPort, type MediaEngine } from './mediaBridge'

function fakeEngine(): MediaEngine & { emitter: TypedEmitter<EngineEvents> } {
  const emitter = new TypedEmitter<EngineEvents>()
  const engine = {
    emitter,
    on: vi.fn((event, listener) => (emitter.on(event, listener), engine)),
    off: vi.fn((event, listener) => (emitter.off(event, listener), engine)),
    pushVideoFrame: vi.fn(() => 0),
    pushAudioFrame: vi.fn(() => 0),
    requestRemoteKeyFrame: vi.fn(() => 0),
  } as unknown as MediaEngine & { emitter: TypedEmitter<EngineEvents> }
  return engine
}

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20))

function setup() {
  const engine = fakeEngine()
  const { port1, port2: page } = new MessageChannel()
  const bridge = attachMediaBridge(engine, nodeMediaPort(port1))
  const received: MediaDown[] = []
  page.on('message', (message: MediaDown) => received.push(message))
  return { engine, page, bridge, received }
}

describe('media bridge', () => {
  it('MediaUp → pushVideoFrame / pushAudioFrame with the bytes and timestamps', async () => {
    const { engine, page, bridge } = setup()
    const video = new Uint8Array([1, 2, 3]).buffer
    page.postMessage({ kind: 'video', data: video, timestampUs: 33_000, keyFrame: true }, [video])
    const audio = new Uint8Array([9]).buffer
    page.postMessage({ kind: 'audio', data: audio, timestampUs: 20_000 }, [audio])
    await tick()
    expect(engine.pushVideoFrame).toHaveBeenCalledWith({
      data: new Uint8Array([1, 2, 3]),
      timestamp: 33_000,
      keyframe: true,
    })
    expect(engine.pushAudioFrame).toHaveBeenCalledWith({ data: new Uint8Array([9]), timestamp: 20_000 })
    expect(bridge.stats().pushed).toEqual({ video: 1, audio: 1 })
    bridge.close()
    page.close()
  })

  it('the VP8 temporal layer of a video frame reaches pushVideoFrame', async () => {
    const { engine, page, bridge } = setup()
    for (const temporalLayerId of [0, 2, 1]) {
      const data = new Uint8Array([temporalLayerId + 1]).buffer
      page.postMessage({ kind: 'video', data, timestampUs: 0, keyFrame: false, temporalLayerId }, [data])
    }
    await tick()
    expect(vi.mocked(engine.pushVideoFrame).mock.calls.map(([frame]) => frame.temporalLayerId)).toEqual([
      0, 2, 1,
    ])
    bridge.close()
    page.close()
  })

  it.each([
    ['not an object', 'hello'],
    ['no data', { kind: 'audio', timestampUs: 0 }],
    ['empty data', { kind: 'audio', data: new ArrayBuffer(0), timestampUs: 0 }],
    ['a typed array, not an ArrayBuffer', { kind: 'audio', data: new Uint8Array(3), timestampUs: 0 }],
    ['video without keyFrame', { kind: 'video', data: new ArrayBuffer(3), timestampUs: 0 }],
    ['a negative timestamp', { kind: 'audio', data: new ArrayBuffer(3), timestampUs: -1 }],
    ['an unknown kind', { kind: 'screen', data: new ArrayBuffer(3), timestampUs: 0 }],
    ['too large', { kind: 'audio', data: new ArrayBuffer((1 << 20) + 1), timestampUs: 0 }],
  ])('%s is counted and dropped', async (_what, message) => {
    const { engine, page, bridge } = setup()
    page.postMessage(message)
    await tick()
    expect(bridge.stats().malformed).toBe(1)
    expect(engine.pushAudioFrame).not.toHaveBeenCalled()
    expect(engine.pushVideoFrame).not.toHaveBeenCalled()
    bridge.close()
    page.close()
  })

  it("the page's key-frame request for a user → requestRemoteKeyFrame(uid), counted by result", async () => {
    const { engine, page, bridge } = setup()
    vi.mocked(engine.requestRemoteKeyFrame).mockReturnValueOnce(0).mockReturnValueOnce(ErrorCode.InvalidState)
    page.postMessage({ kind: 'keyFrameRequest', uid: 2002 })
    page.postMessage({ kind: 'keyFrameRequest', uid: 3003 })
    page.postMessage({ kind: 'keyFrameRequest', uid: 0 })
    await tick()
    expect(vi.mocked(engine.requestRemoteKeyFrame).mock.calls).toEqual([[2002], [3003]])
    expect(bridge.stats()).toMatchObject({
      remoteKeyFrameRequests: 1,
      refused: { [ErrorCode.InvalidState]: 1 },
      malformed: 1,
    })
    expect(engine.pushVideoFrame).not.toHaveBeenCalled()
    bridge.close()
    page.close()
  })

  it('the screen track goes both ways: pushed screen frames, screen key-frame requests, remote screen frames', async () => {
    const { engine, page, bridge, received } = setup()
    const data = new Uint8Array([4]).buffer
    page.postMessage({ kind: 'video', data, timestampUs: 5, keyFrame: true, track: 'screen' }, [data])
    page.postMessage({ kind: 'keyFrameRequest', uid: 2002, track: 'screen' })
    page.postMessage({ kind: 'keyFrameRequest', uid: 2002, track: 'window' })
    page.postMessage({ kind: 'video', data: new ArrayBuffer(1), timestampUs: 5, keyFrame: true, track: 1 })
    engine.emitter.emit('remoteVideoFrame', {
      uid: 3,
      data: new Uint8Array([1]),
      timestampUs: 10,
      keyFrame: true,
      track: 'screen',
    })
    engine.emitter.emit('keyFrameRequested', 'screen')
    await tick()
    expect(vi.mocked(engine.pushVideoFrame).mock.calls).toEqual([
      [{ data: new Uint8Array([4]), timestamp: 5, keyframe: true, track: 'screen' }],
    ])
    expect(vi.mocked(engine.requestRemoteKeyFrame).mock.calls).toEqual([[2002, 'screen']])
    expect(bridge.stats().malformed).toBe(2)
    expect(received).toEqual([
      expect.objectContaining({ kind: 'remoteVideo', uid: 3, track: 'screen' }),
      { kind: 'keyFrameRequested', track: 'screen' },
    ])
    bridge.close()
    page.close()
  })

  it('a frame the engine refuses is counted by its code', async () => {
    const { engine, page, bridge } = setup()
    vi.mocked(engine.pushAudioFrame).mockReturnValue(ErrorCode.InvalidState)
    page.postMessage({ kind: 'audio', data: new ArrayBuffer(2), timestampUs: 0 })
    await tick()
    expect(bridge.stats().refused).toEqual({ [ErrorCode.InvalidState]: 1 })
    bridge.close()
    page.close()
  })

  it('remote frames and key-frame requests go down, each in an ArrayBuffer of its own', async () => {
    const { engine, received, bridge, page } = setup()
    const shared = new Uint8Array([0, 5, 6, 7, 0])
    engine.emitter.emit('remoteVideoFrame', {
      uid: 3,
      data: shared.subarray(1, 4),
      timestampUs: 10,
      keyFrame: true,
    })
    engine.emitter.emit('remoteAudioFrame', {
      uid: 3,
      data: new Uint8Array([8]),
      timestampUs: 11,
      keyFrame: false,
    })
    engine.emitter.emit('keyFrameRequested')
    await tick()
    expect(received.map((m) => m.kind)).toEqual(['remoteVideo', 'remoteAudio', 'keyFrameRequested'])
    const [video, audio] = received as [
      Extract<MediaDown, { kind: 'remoteVideo' }>,
      Extract<MediaDown, { kind: 'remoteAudio' }>,
    ]
    expect(video).toMatchObject({ uid: 3, timestampUs: 10, keyFrame: true })
    expect([...new Uint8Array(video.data)]).toEqual([5, 6, 7])
    expect([...new Uint8Array(audio.data)]).toEqual([8])
    expect(shared.byteLength).toBe(5) // the engine's memory was copied, not detached
    expect(bridge.stats().sent).toEqual({ video: 1, audio: 1, keyFrameRequests: 1, sendTargets: 0 })
    bridge.close()
    page.close()
  })

  it("the engine's send target goes down as a sendTarget message, each change", async () => {
    const { engine, received, bridge, page } = setup()
    engine.emitter.emit('sendTargetChanged', { bitrateBps: 300_000, lossFraction: 0 })
    engine.emitter.emit('sendTargetChanged', { bitrateBps: 180_000, lossFraction: 0.12, rttMs: 45 })
    await tick()
    expect(received).toEqual([
      { kind: 'sendTarget', bitrateBps: 300_000, lossFraction: 0 },
      { kind: 'sendTarget', bitrateBps: 180_000, lossFraction: 0.12, rttMs: 45 },
    ])
    expect(bridge.stats().sent.sendTargets).toBe(2)
    bridge.close()
    expect(engine.emitter.listenerCount('sendTargetChanged')).toBe(0)
    page.close()
  })

  it('close detaches from the engine; the page closing closes the bridge', async () => {
    const { engine, bridge, page } = setup()
    bridge.close()
    expect(engine.emitter.listenerCount('remoteVideoFrame')).toBe(0)
    expect(engine.emitter.listenerCount('keyFrameRequested')).toBe(0)
    const second = setup()
    second.page.close()
    await tick()
    expect(second.bridge.closed).toBe(true)
    expect(second.engine.emitter.listenerCount('remoteAudioFrame')).toBe(0)
    page.close()
  })
})
