import { describe, expect, it } from 'vitest'
import type { RemoteFrame } from '../../shared/engine'
import { RemoteStreams } from './remoteMedia'
import { Vp8Sender } from './rtp/vp8'

function setup() {
  let now = 0
  const frames: (RemoteFrame & { kind: string })[] = []
  const plis: string[] = []
  const streams = new RemoteStreams({
    frame: (kind, frame) => frames.push({ kind, ...frame }),
    requestKeyFrame: (mid) => plis.push(mid),
    now: () => now,
    assembler: { maxWaitMs: 50 },
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
})
