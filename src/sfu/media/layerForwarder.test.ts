import { describe, expect, it } from 'vitest'
import { LayerForwarder, type LayerPacket, type TemporalLayer } from './layerForwarder'
import { parseVp8LayerInfo } from './vp8Layers'

/** One RTP packet of a VP8 L1T3 stream, as the publisher sends it. */
interface InPacket extends LayerPacket {
  frame: number
  temporalId: number
}

interface StreamOptions {
  frames: number
  packetsPerFrame?: number
  firstSeq?: number
  firstPictureId?: number
  firstTl0?: number
  /** Y on the first TL1 and TL2 frame after each TL0 (as libwebrtc sets it); default true. */
  layerSync?: boolean
  /** Frame indexes that are keyframes (default: frame 0). */
  keyframes?: number[]
}

const L1T3 = [0, 2, 1, 2]

/** A VP8 payload with X=1, I=1 (M=1, 15 bits), L=1, T=1 and a one-octet VP8 payload header. */
function vp8Payload(p: {
  start: boolean
  key: boolean
  pictureId: number
  tl0: number
  tid: number
  y: boolean
}) {
  return Uint8Array.from([
    0x80 | (p.start ? 0x10 : 0),
    0xe0,
    0x80 | (p.pictureId >> 8),
    p.pictureId & 0xff,
    p.tl0 & 0xff,
    (p.tid << 6) | (p.y ? 0x20 : 0),
    p.key ? 0x00 : 0x01,
    0xaa,
  ])
}

function l1t3Stream(options: StreamOptions): InPacket[] {
  const per = options.packetsPerFrame ?? 2
  const keyframes = new Set(options.keyframes ?? [0])
  const out: InPacket[] = []
  let seq = options.firstSeq ?? 1000
  let tl0 = (options.firstTl0 ?? 10) - 1
  for (let frame = 0; frame < options.frames; frame += 1) {
    const tid = L1T3[frame % 4] ?? 0
    if (tid === 0) tl0 += 1
    const y = (options.layerSync ?? true) && (frame % 4 === 1 || frame % 4 === 2)
    const pictureId = ((options.firstPictureId ?? 100) + frame) % 32768
    for (let i = 0; i < per; i += 1) {
      const payload = vp8Payload({ start: i === 0, key: keyframes.has(frame), pictureId, tl0, tid, y })
      out.push({ sequenceNumber: seq % 65536, payload, frame, temporalId: tid })
      seq += 1
    }
  }
  return out
}

interface OutPacket {
  frame: number
  temporalId: number
  sequenceNumber: number
  pictureId: number
  tl0: number
}

function run(forwarder: LayerForwarder, packets: InPacket[], reasons: string[] = []): OutPacket[] {
  const out: OutPacket[] = []
  for (const p of packets) {
    const decision = forwarder.handle(p)
    if (!decision.forward) {
      reasons.push(decision.reason)
      continue
    }
    const info = parseVp8LayerInfo(decision.packet.payload)
    out.push({
      frame: p.frame,
      temporalId: p.temporalId,
      sequenceNumber: decision.packet.sequenceNumber,
      pictureId: info?.pictureId ?? -1,
      tl0: info?.tl0PicIdx ?? -1,
    })
  }
  return out
}

/** Each step of the sequence numbers, mod 2^16 (1 everywhere means contiguous). */
const seqSteps = (out: OutPacket[]) =>
  out.slice(1).map((p, i) => (p.sequenceNumber - (out[i]?.sequenceNumber ?? 0) + 65536) % 65536)

/** The PictureID step at each frame change, mod 2^15. */
function pictureSteps(out: OutPacket[]): number[] {
  const steps: number[] = []
  for (let i = 1; i < out.length; i += 1) {
    const [a, b] = [out[i - 1], out[i]]
    if (a && b && a.frame !== b.frame) steps.push((b.pictureId - a.pictureId + 32768) % 32768)
  }
  return steps
}

const frames = (out: OutPacket[]) => [...new Set(out.map((p) => p.frame))]
const allOnes = (steps: number[]) => steps.every((s) => s === 1)

describe('LayerForwarder at a fixed target layer', () => {
  it.each([
    { target: 2, forwarded: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] },
    { target: 1, forwarded: [0, 2, 4, 6, 8, 10] },
    { target: 0, forwarded: [0, 4, 8] },
  ])('target $target: frames $forwarded, contiguous seq and PictureIDs', ({ target, forwarded }) => {
    const input = l1t3Stream({ frames: 12 })
    const out = run(new LayerForwarder(target as TemporalLayer), input)
    expect(frames(out)).toEqual(forwarded)
    expect(out).toHaveLength(forwarded.length * 2)
    expect(allOnes(seqSteps(out))).toBe(true)
    expect(allOnes(pictureSteps(out))).toBe(true)
    expect(out[0]).toMatchObject({ sequenceNumber: 1000, pictureId: 100 })
    // TL0PICIDX: +1 at each base-layer frame, and each upper-layer frame carries its TL0's index.
    const tl0s = out.map((p) => p.tl0)
    expect(tl0s).toEqual(out.map((p) => 10 + Math.floor(p.frame / 4)))
  })

  it('a stream without T and L (one layer, as the engine packetizes today) is all base layer', () => {
    const input = l1t3Stream({ frames: 8 }).map((p) => {
      const payload = Uint8Array.from([
        p.payload[0] ?? 0,
        0x80,
        p.payload[2] ?? 0,
        p.payload[3] ?? 0,
        p.payload[6] ?? 0,
      ])
      return { ...p, payload }
    })
    const out = run(new LayerForwarder(0), input)
    expect(out).toHaveLength(16)
    expect(allOnes(seqSteps(out))).toBe(true)
  })
})

describe('LayerForwarder switching layers', () => {
  it('switches down at the next frame', () => {
    const input = l1t3Stream({ frames: 12 })
    const forwarder = new LayerForwarder(2)
    const out = run(forwarder, input.slice(0, 6)) // frames 0-2
    forwarder.setTarget(0)
    out.push(...run(forwarder, input.slice(6)))
    expect(frames(out)).toEqual([0, 1, 2, 4, 8])
    expect(forwarder.layer).toBe(0)
    expect(allOnes(seqSteps(out))).toBe(true)
    expect(allOnes(pictureSteps(out))).toBe(true)
  })

  it('switches up only at a base-layer frame when no frame has Y set', () => {
    const input = l1t3Stream({ frames: 12, layerSync: false })
    const forwarder = new LayerForwarder(0)
    const out = run(forwarder, input.slice(0, 2)) // frame 0
    forwarder.setTarget(2)
    out.push(...run(forwarder, input.slice(2)))
    expect(frames(out)).toEqual([0, 4, 5, 6, 7, 8, 9, 10, 11])
    expect(forwarder.layer).toBe(2)
    expect(allOnes(seqSteps(out))).toBe(true)
    expect(allOnes(pictureSteps(out))).toBe(true)
  })

  it('switches up at a frame with Y set for a layer up to the target, one layer at a time', () => {
    const input = l1t3Stream({ frames: 12 })
    const forwarder = new LayerForwarder(0)
    const out = run(forwarder, input.slice(0, 4)) // frames 0, 1 (frame 1 dropped)
    forwarder.setTarget(2)
    // Frame 2 is TL1 with Y: up to 1; frame 3 is TL2 without Y: still dropped; frame 4 (TL0): up to 2.
    out.push(...run(forwarder, input.slice(4)))
    expect(frames(out)).toEqual([0, 2, 4, 5, 6, 7, 8, 9, 10, 11])
    expect(allOnes(seqSteps(out))).toBe(true)
    expect(allOnes(pictureSteps(out))).toBe(true)
  })

  it('a TL2 frame with Y switches straight up to 2', () => {
    const input = l1t3Stream({ frames: 8 })
    const forwarder = new LayerForwarder(0)
    const out = run(forwarder, input.slice(0, 2))
    forwarder.setTarget(2)
    out.push(...run(forwarder, input.slice(2)))
    expect(frames(out)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
  })
})

describe('LayerForwarder numbering', () => {
  it.each([
    { name: 'sequence numbers', firstSeq: 65530, firstPictureId: 100 },
    { name: 'PictureIDs', firstSeq: 1000, firstPictureId: 32760 },
  ])('wraps $name at target 1', ({ firstSeq, firstPictureId }) => {
    const input = l1t3Stream({ frames: 24, firstSeq, firstPictureId })
    const out = run(new LayerForwarder(1), input)
    expect(out).toHaveLength(24)
    expect(allOnes(seqSteps(out))).toBe(true)
    expect(allOnes(pictureSteps(out))).toBe(true)
    expect(out.some((p) => p.sequenceNumber < 100) || out.some((p) => p.pictureId < 100)).toBe(true)
  })

  it('keeps a packet lost upstream as a gap, so the subscriber NACKs it', () => {
    const input = l1t3Stream({ frames: 12 })
    const lost = input.findIndex((p) => p.frame === 4) + 1 // second packet of a TL0 frame
    const out = run(
      new LayerForwarder(1),
      input.filter((_, i) => i !== lost),
    )
    const steps = seqSteps(out)
    expect(steps.filter((s) => s === 2)).toHaveLength(1)
    expect(steps.filter((s) => s !== 1 && s !== 2)).toEqual([])
    expect(allOnes(pictureSteps(out))).toBe(true)
    // The gap sits where the lost packet would have been numbered.
    const inOrder = run(new LayerForwarder(1), input)
    const missing = inOrder.find((p) => !out.some((q) => q.sequenceNumber === p.sequenceNumber))
    expect(missing).toMatchObject({ frame: 4 })
  })

  it('hides a packet lost upstream inside a frame it drops', () => {
    const input = l1t3Stream({ frames: 12, packetsPerFrame: 3 })
    const lost = input.findIndex((p) => p.frame === 5) + 1 // middle packet of a TL2 frame
    const reasons: string[] = []
    const out = run(
      new LayerForwarder(1),
      input.filter((_, i) => i !== lost),
      reasons,
    )
    expect(frames(out)).toEqual([0, 2, 4, 6, 8, 10])
    expect(allOnes(seqSteps(out))).toBe(true)
    // Its retransmission, arriving later, is dropped without shifting anything.
    const forwarder = new LayerForwarder(1)
    const late = [
      ...input.filter((_, i) => i !== lost && i < 24),
      input[lost] as InPacket,
      ...input.slice(24),
    ]
    const again = run(forwarder, late)
    expect(again.map((p) => p.sequenceNumber)).toEqual(out.map((p) => p.sequenceNumber))
  })

  it('gives a reordered packet the number it would have had in order', () => {
    const input = l1t3Stream({ frames: 12 })
    const inOrder = run(new LayerForwarder(1), input)
    // Swap inside a forwarded frame and across a dropped/forwarded frame boundary.
    const reordered = [...input]
    for (const at of [8, 13]) {
      const [a, b] = [reordered[at], reordered[at + 1]]
      if (a && b) [reordered[at], reordered[at + 1]] = [b, a]
    }
    const out = run(new LayerForwarder(1), reordered)
    const key = (p: OutPacket) => `${p.frame}:${p.sequenceNumber}:${p.pictureId}`
    expect(out.map(key).sort()).toEqual(inOrder.map(key).sort())
  })

  it('leaves a late packet of a dropped frame as a gap rather than renumber packets already sent', () => {
    const input = l1t3Stream({ frames: 12 })
    // Frame 7 (TL2, dropped at target 1) ends after frame 8 (TL0) has started.
    const at = input.findIndex((p) => p.frame === 8)
    const reordered = [...input]
    const [a, b] = [reordered[at - 1], reordered[at]]
    if (a && b) [reordered[at - 1], reordered[at]] = [b, a]
    const out = run(new LayerForwarder(1), reordered)
    const steps = seqSteps(out)
    expect(steps.filter((s) => s === 2)).toHaveLength(1)
    expect(steps.filter((s) => s !== 1 && s !== 2)).toEqual([])
    expect(allOnes(pictureSteps(out))).toBe(true)
  })

  it('renumbers 7-bit PictureIDs within their width', () => {
    const input = l1t3Stream({ frames: 300, firstPictureId: 120 }).map((p) => {
      const bytes = Array.from(p.payload)
      const short = (((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0)) & 0x7f
      return { ...p, payload: Uint8Array.from([bytes[0] ?? 0, 0xe0, short, ...bytes.slice(4)]) }
    })
    const out = run(new LayerForwarder(1), input)
    expect(out).toHaveLength(300)
    expect(out.every((p) => p.pictureId < 128)).toBe(true)
    // Steps mod 2^7: 1 from each forwarded frame to the next, also across the wrap 127 → 0.
    expect(pictureSteps(out).every((s) => s % 128 === 1)).toBe(true)
    expect(out.some((p) => p.pictureId === 0)).toBe(true)
  })

  it('drops duplicates, and anything before the first keyframe', () => {
    const input = l1t3Stream({ frames: 12, keyframes: [4] })
    const withDuplicates = input.flatMap((p) => (p.frame === 5 || p.frame === 6 ? [p, p] : [p]))
    const reasons: string[] = []
    const out = run(new LayerForwarder(2), withDuplicates, reasons)
    expect(frames(out)).toEqual([4, 5, 6, 7, 8, 9, 10, 11])
    expect(reasons.filter((r) => r === 'duplicate')).toHaveLength(4)
    expect(reasons.filter((r) => r === 'beforeKeyframe')).toHaveLength(8)
    expect(allOnes(seqSteps(out))).toBe(true)
    expect(out[0]).toMatchObject({ sequenceNumber: 1008, pictureId: 104 })
  })

  it('leaves timestamps and every payload byte but the PictureID as they were', () => {
    const input = l1t3Stream({ frames: 8 })
    const forwarder = new LayerForwarder(0)
    for (const p of input) {
      const decision = forwarder.handle(p)
      if (!decision.forward) continue
      const a = Array.from(p.payload)
      const b = Array.from(decision.packet.payload)
      expect([...b.slice(0, 2), ...b.slice(4)]).toEqual([...a.slice(0, 2), ...a.slice(4)])
    }
  })
})
