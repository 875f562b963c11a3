/** requestRemoteKeyFrame through the public API: its codes, and the call it reaches (docs/engine.md "API"). */
import { describe, expect, it } from 'vitest'
import { TransportType, type Region } from '../../shared/engine'
import { ErrorCode } from '../../shared/errors'
import { createEngine, type CallHandle } from '..'

const REGION: Region = { id: 'test', name: 'Test', proxyHost: '127.0.0.1', ports: { udp: [9, 9], tcp: 9 } }

describe('requestRemoteKeyFrame', () => {
  it('0 when the call asks that user; 414 for a non-uid; InvalidState without their video or a call', async () => {
    const asked: number[] = []
    const handle: CallHandle = {
      close: () => Promise.resolve(),
      // The call receives uid 2002's video only.
      requestRemoteKeyFrame: (uid) => (asked.push(uid), uid === 2002),
    }
    const engine = createEngine({
      regions: [REGION],
      connectCall: () => Promise.resolve(handle),
      direct: { signalUrl: 'ws://127.0.0.1:9/v1/signal' },
    })
    engine.setCloudProxy(TransportType.None)
    expect(engine.requestRemoteKeyFrame(2002)).toBe(ErrorCode.InvalidState)
    expect(await engine.joinChannel('t', 'room-1', 5)).toBe(0)
    expect(engine.requestRemoteKeyFrame(2002)).toBe(ErrorCode.Ok)
    expect(engine.requestRemoteKeyFrame(3003)).toBe(ErrorCode.InvalidState)
    for (const bad of [0, -1, 1.5, Number.NaN, '2002' as unknown as number]) {
      expect(engine.requestRemoteKeyFrame(bad)).toBe(ErrorCode.RequestParameter)
    }
    expect(asked).toEqual([2002, 3003])
    expect(await engine.leaveChannel()).toBe(0)
    expect(engine.requestRemoteKeyFrame(2002)).toBe(ErrorCode.InvalidState)
    await engine.release()
    expect(engine.requestRemoteKeyFrame(2002)).toBe(ErrorCode.EngineReleased)
  })
})
