import { describe, expect, it } from 'vitest'
import type { RemoteFrame } from '../../shared/engine'
import { RemoteStreams } from './remoteMedia'
import { Vp8Sender } from './rtp/vp8'
import type { AssemblerOptions } from './rtp/vp8Assembler'

function setup(assembler: AssemblerOptions = { maxWaitMs: 50 }) {
  let now = 0
  const frames: (RemoteFrame & { kind: string })[] = []
  const plis: string[] = []
  const streams = new RemoteStreams({
    frame: (kind, frame) => frames.push({ kind, ...frame }),
    requestKeyFrame: (mid) => plis.push(mid),
    now: () => now,
    assembler,
  })
  return { streams, frames, plis, at: (ms: number) => (now = ms) }
}

const packetsOf = (sender: Vp8Sender, bytes: number[], ts: number) =>
  sender.packetize(Uint8Array.from(bytes), ts).map((p) => ({
    sequenceNumber: p.header.sequenceNumber,
    timestamp: p.header.timestamp,
    marker: p.header.marker,
    payload: p.payload,
  }))

describe('RemoteStreams', () => {
  it('routes each m-line to its publisher; unknown m-lines are counted, not emitted', () => {
    const { streams, frames } = setup()
    streams.setSubscriptions([
      { mid: '2', uid: 5, trackId: '5:audio', kind: 'audio' },
      { mid: '3', uid: 5, trackId: '5:video', kind: 'video' },
    ])
    streams.handleRtp('2', {
      sequenceNumber: 1,
      timestamp: 960,
      marker: true,
      payload: Uint8Array.of(0xf8, 1),
    })
    streams.handleRtp('9', { sequenceNumber: 1, timestamp: 960, marker: true, payload: Uint8Array.of(0xf8) })
    for (const p of packetsOf(new Vp8Sender({ payloadType: 96 }), [0x10, 2, 3], 90_000))
      streams.handleRtp('3', p)
    expect(frames.map((f) => [f.kind, f.uid, [...f.data], f.keyFrame])).toEqual([
      ['audio', 5, [0xf8, 1], true],
      ['video', 5, [0x10, 2, 3], true],
    ])
    expect(streams.unrouted).toBe(1)
  })

  it('a screen is a video stream of its own: tagged track screen, key frames asked on its m-line, not in the ledger', () => {
    const { streams, frames, plis } = setup()
    streams.setSubscriptions([
      { mid: '3', uid: 5, trackId: '5:video', kind: 'video' },
      { mid: '4', uid: 5, trackId: '5:screen', kind: 'screen' },
    ])
    const [camera, screen] = [new Vp8Sender({ payloadType: 96 }), new Vp8Sender({ payloadType: 96 })]
    for (const p of packetsOf(camera, [0x10, 1], 0)) streams.handleRtp('3', p)
    for (const p of packetsOf(screen, [0x10, 9], 0)) streams.handleRtp('4', p)
    for (const p of packetsOf(screen, [0x11, 8], 9000)) streams.handleRtp('4', p)
    expect(frames.map((f) => [f.kind, f.track, [...f.data]])).toEqual([
      ['video', undefined, [0x10, 1]],
      ['screen', 'screen', [0x10, 9]],
      ['screen', 'screen', [0x11, 8]],
    ])
    expect(streams.videoUids()).toEqual([5])
    // The per-user figures are the camera's: one frame, not three.
    expect(streams.ledger.snapshot([5], 0)).toEqual([expect.objectContaining({ uid: 5, frames: 1 })])
    expect(streams.requestKeyFrameOf(5, 'screen')).toBe(true)
    expect(streams.requestKeyFrameOf(5)).toBe(true)
    expect(streams.requestKeyFrameOf(6, 'screen')).toBe(false)
    expect(plis).toEqual(['4', '3'])
  })

  it('an m-line reused for another publisher starts a fresh stream (waits for its key frame)', () => {
    const { streams, frames, plis } = setup()
    const sender = new Vp8Sender({ payloadType: 96 })
    streams.setSubscriptions([{ mid: '3', uid: 5, trackId: '5:video', kind: 'video' }])
    for (const p of packetsOf(sender, [0x10, 1], 0)) streams.handleRtp('3', p)
    streams.setSubscriptions([{ mid: '3', uid: 6, trackId: '6:video', kind: 'video' }])
    for (const p of packetsOf(sender, [0x11, 2], 3000)) streams.handleRtp('3', p)
    for (const p of packetsOf(sender, [0x10, 3], 6000)) streams.handleRtp('3', p)
    expect(frames.map((f) => [f.uid, [...f.data]])).toEqual([
      [5, [0x10, 1]],
      [6, [0x10, 3]],
    ])
    expect(plis).toEqual(['3'])
  })

  it('key frame requests are rate-limited per m-line', () => {
    const { streams, plis, at } = setup()
    const sender = new Vp8Sender({ payloadType: 96 })
    streams.setSubscriptions([{ mid: '3', uid: 5, trackId: '5:video', kind: 'video' }])
    for (const [i, t] of [0, 100, 200, 700].entries()) {
      at(t)
      for (const p of packetsOf(sender, [0x11, i], i * 3000)) streams.handleRtp('3', p)
    }
    expect(plis).toEqual(['3', '3'])
  })

  it('a frozen stream (packets, no frame for 500 ms) asks for a key frame at once, then at most every 500 ms', () => {
    // The assembler waits long for missing packets here: the requests below are the freeze detector's.
    const { streams, plis, at } = setup({ maxWaitMs: 10_000 })
    const sender = new Vp8Sender({ payloadType: 96 })
    streams.setSubscriptions([{ mid: '3', uid: 5, trackId: '5:video', kind: 'video' }])
    for (const p of packetsOf(sender, [0x10, 0], 0)) streams.handleRtp('3', p)
    // Then only the middle packets of frames whose other packets never come. Time in steps of 100 ms.
    const requested: number[] = []
    for (let t = 100; t <= 1500; t += 100) {
      at(t)
      const [, middle] = packetsOf(sender, Array(2000).fill(1), t * 90)
      streams.handleRtp('3', { ...middle!, marker: false })
      if (plis.length > requested.length) requested.push(t)
    }
    expect(requested).toEqual([500, 1000, 1500])
    expect(streams.ledger.snapshot([5], 1500)).toMatchObject([{ freezeCount: 1, frozenMs: 1500 }])
  })

  it("the renderer's request for a user: a PLI on that user's video m-line, rate-limited with the rest", () => {
    const { streams, plis, at } = setup()
    streams.setSubscriptions([
      { mid: '2', uid: 5, trackId: '5:audio', kind: 'audio' },
      { mid: '3', uid: 5, trackId: '5:video', kind: 'video' },
      { mid: '4', uid: 6, trackId: '6:video', kind: 'video' },
    ])
    expect(streams.requestKeyFrameOf(5)).toBe(true)
    expect(streams.requestKeyFrameOf(6)).toBe(true)
    at(100)
    expect(streams.requestKeyFrameOf(5)).toBe(true)
    at(600)
    expect(streams.requestKeyFrameOf(5)).toBe(true)
    expect(streams.requestKeyFrameOf(7)).toBe(false)
    expect(plis).toEqual(['3', '4', '3'])
  })

  it('enters packets, frames and TIDs in the ledger; a stream that ends is no longer listed', () => {
    const { streams } = setup()
    streams.setSubscriptions([{ mid: '3', uid: 5, trackId: '5:video', kind: 'video' }])
    // X=1, T=1: TID in the top two bits of the octet after the X octet; S=1 PID=0; one packet per frame.
    const key = [0x50, 0x2d, 0x01, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01, 0x00]
    const packet = (seq: number, tid: number, vp8: number[]) => ({
      sequenceNumber: seq,
      timestamp: seq * 3000,
      marker: true,
      payload: Uint8Array.from([0x90, 0x20, tid << 6, ...vp8]),
    })
    streams.handleRtp('3', packet(65535, 0, key))
    streams.handleRtp('3', packet(1, 2, [0x51, 1, 2]))
    streams.handleRtp('3', packet(0, 1, [0x51, 1, 2]))
    expect(streams.videoUids()).toEqual([5])
    expect(streams.ledger.snapshot([5], 0)).toEqual([
      {
        uid: 5,
        bytes: 3 * 12 + 14 + 6 + 6,
        packets: 3,
        expected: 3,
        frames: 3,
        freezeCount: 0,
        frozenMs: 0,
        width: 640,
        height: 360,
        temporalLayer: 2,
        frameIntervalTicks: 3000,
      },
    ])
    streams.setSubscriptions([])
    expect(streams.videoUids()).toEqual([])
  })
})
