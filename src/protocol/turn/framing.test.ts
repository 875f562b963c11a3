import { describe, expect, it } from 'vitest'
import { Method, StunClass } from '../stun/constants'
import { decodeMessage, encodeMessage } from '../stun/message'
import { TcpFramer, decodeChannelData, encodeChannelData } from './framing'

const TID = Buffer.from('0102030405060708090a0b0c', 'hex')
const MAX = 4096

function stun(dataLength: number): Buffer {
  return encodeMessage(
    {
      cls: StunClass.Indication,
      method: Method.Send,
      transactionId: TID,
      attributes: [{ name: 'DATA', value: Buffer.alloc(dataLength, 0x5a) }],
    },
    { fingerprint: true },
  )
}

/** A ChannelData frame as the framer returns it (no padding) and as it travels on a stream (padded). */
function channel(number: number, dataLength: number): { frame: Buffer; wire: Buffer } {
  const data = Buffer.alloc(dataLength)
  for (let i = 0; i < dataLength; i++) data[i] = (i * 7 + number) & 0xff
  return { frame: encodeChannelData(number, data, false), wire: encodeChannelData(number, data, true) }
}

/** A mixed stream: STUN, ChannelData of every padding size, an empty ChannelData, STUN again. */
function mixed(): { frames: Buffer[]; wire: Buffer } {
  const parts = [
    { frame: stun(5), wire: stun(5) },
    channel(0x4000, 1),
    channel(0x4001, 2),
    channel(0x4fff, 3),
    channel(0x4abc, 4),
    channel(0x4002, 0),
    { frame: stun(0), wire: stun(0) },
    channel(0x4003, 13),
  ]
  return { frames: parts.map((p) => p.frame), wire: Buffer.concat(parts.map((p) => p.wire)) }
}

/** Pushes the pieces in turn and gathers every frame; fails the test on an error. */
function run(framer: TcpFramer, pieces: Buffer[], now = 0): Buffer[] {
  const out: Buffer[] = []
  for (const piece of pieces) {
    const result = framer.push(piece, now)
    expect(result.error).toBeUndefined()
    out.push(...result.frames)
  }
  return out
}

const hexes = (frames: readonly Buffer[]): string[] => frames.map((f) => f.toString('hex'))

describe('TcpFramer', () => {
  it('hands out a whole STUN message from one chunk, as a view of that chunk', () => {
    const message = stun(10)
    const chunk = Buffer.concat([message])

    const result = new TcpFramer({ maxFrameBytes: MAX }).push(chunk, 0)

    expect(hexes(result.frames)).toEqual([message.toString('hex')])
    expect(result.frames[0]!.buffer).toBe(chunk.buffer)
    expect(decodeMessage(result.frames[0]!).ok).toBe(true)
  })

  it.each([0, 1, 2, 3, 4, 5, 6, 7, 8])(
    'ChannelData of %i bytes: padding consumed, not part of the frame',
    (n) => {
      const { frame, wire } = channel(0x4000, n)
      const after = stun(1)
      const framer = new TcpFramer({ maxFrameBytes: MAX })

      const frames = run(framer, [Buffer.concat([wire, after])])

      expect(wire.length % 4).toBe(0)
      expect(hexes(frames)).toEqual([frame.toString('hex'), after.toString('hex')])
      expect(framer.pendingSince()).toBeUndefined()
    },
  )

  it('many frames in one chunk come out in order without copying', () => {
    const { frames, wire } = mixed()

    const out = run(new TcpFramer({ maxFrameBytes: MAX }), [wire])

    expect(hexes(out)).toEqual(hexes(frames))
    expect(out.every((f) => f.buffer === wire.buffer)).toBe(true)
  })

  it('a stream split at every byte boundary yields the same frames', () => {
    const { frames, wire } = mixed()
    for (let cut = 0; cut <= wire.length; cut++) {
      const framer = new TcpFramer({ maxFrameBytes: MAX })

      const out = run(framer, [wire.subarray(0, cut), wire.subarray(cut)])

      expect(hexes(out), `cut at ${cut}`).toEqual(hexes(frames))
      expect(framer.pendingSince()).toBeUndefined()
    }
  })

  it('a stream cut at every pair of boundaries yields the same frames', () => {
    const { frames, wire } = mixed()
    for (let a = 0; a <= wire.length; a += 1) {
      for (let b = a; b <= wire.length; b += 3) {
        const out = run(new TcpFramer({ maxFrameBytes: MAX }), [
          wire.subarray(0, a),
          wire.subarray(a, b),
          wire.subarray(b),
        ])
        expect(hexes(out), `cuts at ${a}, ${b}`).toEqual(hexes(frames))
      }
    }
  })

  it('a stream fed one byte at a time yields the same frames', () => {
    const { frames, wire } = mixed()
    const pieces = [...wire].map((byte) => Buffer.from([byte]))

    expect(hexes(run(new TcpFramer({ maxFrameBytes: MAX }), pieces))).toEqual(hexes(frames))
  })

  it('a frame assembled from pieces is its own copy, safe from later changes to the chunks', () => {
    const message = stun(8)
    const first = Buffer.from(message.subarray(0, 10))
    const second = Buffer.from(message.subarray(10))
    const framer = new TcpFramer({ maxFrameBytes: MAX })

    const out = run(framer, [first, second])
    first.fill(0)
    second.fill(0)

    expect(hexes(out)).toEqual([message.toString('hex')])
  })

  it('empty chunks are harmless', () => {
    const framer = new TcpFramer({ maxFrameBytes: MAX })

    expect(
      run(framer, [Buffer.alloc(0), stun(0).subarray(0, 2), Buffer.alloc(0), stun(0).subarray(2)]),
    ).toHaveLength(1)
  })

  describe('limits', () => {
    it.each([
      ['STUN at the limit', stun(0).length, stun(0), undefined],
      ['STUN one word over', stun(0).length - 4, stun(0), 'oversized frame'],
      ['ChannelData at the limit (padding not counted)', 29, channel(0x4000, 25).wire, undefined],
      ['ChannelData one byte over', 28, channel(0x4000, 25).wire, 'oversized frame'],
    ] as const)('%s', (_name, maxFrameBytes, wire, error) => {
      const result = new TcpFramer({ maxFrameBytes }).push(wire, 0)

      expect(result.error).toBe(error)
    })

    it('an oversized frame is refused from its four-byte header, before the body arrives', () => {
      const header = Buffer.from([0x40, 0x00, 0xff, 0xff])

      expect(new TcpFramer({ maxFrameBytes: 1500 }).push(header, 0)).toEqual({
        frames: [],
        error: 'oversized frame',
      })
    })

    it('an oversized frame whose header is split is refused once the header is complete', () => {
      const framer = new TcpFramer({ maxFrameBytes: 1500 })

      expect(framer.push(Buffer.from([0x00, 0x01]), 0).error).toBeUndefined()
      expect(framer.push(Buffer.from([0x10, 0x00]), 0).error).toBe('oversized frame')
    })

    it.each([0, 19, 1.5, Number.NaN])('maxFrameBytes %s throws a RangeError', (maxFrameBytes) => {
      expect(() => new TcpFramer({ maxFrameBytes })).toThrow(RangeError)
    })
  })

  describe('invalid frames', () => {
    it.each<[string, number[]]>([
      ['first bits 10', [0x80, 0x00, 0x00, 0x00]],
      ['first bits 11', [0xc0, 0x00, 0x00, 0x04]],
      ['0xff', [0xff, 0xff, 0xff, 0xff]],
      ['a TLS header read as STUN: length 0x0102 is not a multiple of 4', [0x16, 0x03, 0x01, 0x02]],
      ['STUN length not a multiple of 4', [0x00, 0x01, 0x00, 0x05]],
    ])('%s → invalid frame', (_name, bytes) => {
      expect(new TcpFramer({ maxFrameBytes: MAX }).push(Buffer.from(bytes), 0).error).toBe('invalid frame')
    })

    it('frames before the bad one are still returned, and the error is sticky', () => {
      const good = stun(3)
      const framer = new TcpFramer({ maxFrameBytes: MAX })

      const result = framer.push(Buffer.concat([good, Buffer.from([0x80, 0, 0, 0])]), 0)

      expect(result.error).toBe('invalid frame')
      expect(hexes(result.frames)).toEqual([good.toString('hex')])
      expect(framer.push(stun(0), 1)).toEqual({ frames: [], error: 'invalid frame' })
      expect(framer.pendingSince()).toBeUndefined()
    })
  })

  describe('pendingSince', () => {
    it('is undefined at a frame boundary and the arrival time of a partial frame otherwise', () => {
      const message = stun(16)
      const framer = new TcpFramer({ maxFrameBytes: MAX })
      expect(framer.pendingSince()).toBeUndefined()

      framer.push(message.subarray(0, 2), 10) // partial header
      expect(framer.pendingSince()).toBe(10)
      framer.push(message.subarray(2, 30), 20) // partial body: still the same frame
      expect(framer.pendingSince()).toBe(10)
      framer.push(message.subarray(30), 30)
      expect(framer.pendingSince()).toBeUndefined()
    })

    it('restarts when a frame completes and the next one starts in the same chunk', () => {
      const a = stun(4)
      const b = stun(4)
      const framer = new TcpFramer({ maxFrameBytes: MAX })

      framer.push(a.subarray(0, 5), 10)
      framer.push(Buffer.concat([a.subarray(5), b.subarray(0, 5)]), 50)

      expect(framer.pendingSince()).toBe(50)
    })

    it('counts missing padding as pending (the frame is not finished on the wire)', () => {
      const { wire } = channel(0x4000, 1)
      const framer = new TcpFramer({ maxFrameBytes: MAX })

      const result = framer.push(wire.subarray(0, 5), 7)

      expect(result.frames).toHaveLength(1)
      expect(framer.pendingSince()).toBe(7)
      framer.push(wire.subarray(5), 8)
      expect(framer.pendingSince()).toBeUndefined()
    })

    it('does not move while a slow client drips one byte at a time', () => {
      const message = stun(40)
      const framer = new TcpFramer({ maxFrameBytes: MAX })
      for (let i = 0; i < message.length - 1; i++) framer.push(message.subarray(i, i + 1), 1000 + i * 100)

      expect(framer.pendingSince()).toBe(1000)
    })
  })
})

describe('encodeChannelData', () => {
  it.each([
    [0, false, '40010000'],
    [0, true, '40010000'],
    [1, false, '4001000111'],
    [1, true, '4001000111000000'],
    [3, true, '4001000311111100'],
    [4, false, '4001000411111111'],
    [4, true, '4001000411111111'],
    [5, true, '400100051111111111000000'],
  ] as const)('%i bytes, padForStream %s → %s', (n, pad, expected) => {
    expect(encodeChannelData(0x4001, Buffer.alloc(n, 0x11), pad).toString('hex')).toBe(expected)
  })

  it.each([0x3fff, 0x8000, 0x0000, 0xffff, 0x4000 + 0.5])('channel %s throws a RangeError', (channel) => {
    expect(() => encodeChannelData(channel, Buffer.alloc(1), false)).toThrow(RangeError)
  })

  it('more than 65535 bytes throws a RangeError', () => {
    expect(() => encodeChannelData(0x4000, Buffer.alloc(65536), true)).toThrow(RangeError)
    expect(encodeChannelData(0x4000, Buffer.alloc(65535), true)).toHaveLength(65540)
  })
})

describe('decodeChannelData (datagrams, RFC 8656 §12.4–12.6)', () => {
  it.each([
    ['exact length', '4001000311111100'.slice(0, 14), { channel: 0x4001, data: '111111' }],
    ['with padding', '4001000311111100', { channel: 0x4001, data: '111111' }],
    ['empty', '4fff0000', { channel: 0x4fff, data: '' }],
    ['a multiple of 4, no padding needed', '4000000411223344', { channel: 0x4000, data: '11223344' }],
    ['shorter than the length field', '4001000311', undefined],
    ['longer than the padding allows', '400100031111110000', undefined],
    ['extra word after an aligned frame', '400000041122334400000000', undefined],
    ['channel below 0x4000', '3fff000111', undefined],
    ['RFC 5766 channel 0x7fff', '7fff000111', { channel: 0x7fff, data: '11' }],
    ['STUN, not ChannelData', '000100000000', undefined],
    ['three bytes', '400000', undefined],
    ['nothing', '', undefined],
  ] as const)('%s', (_name, hex, expected) => {
    const decoded = decodeChannelData(Buffer.from(hex, 'hex'))

    expect(decoded && { channel: decoded.channel, data: decoded.data.toString('hex') }).toEqual(expected)
  })

  it.each([0, 1, 2, 3, 4, 100, 1201])('%i bytes round-trip padded and unpadded', (n) => {
    const data = Buffer.alloc(n, 0xab)
    for (const pad of [false, true]) {
      expect(decodeChannelData(encodeChannelData(0x4123, data, pad))).toEqual({ channel: 0x4123, data })
    }
  })

  it('decodes the frames TcpFramer hands out', () => {
    const { wire } = channel(0x4444, 7)
    const [frame] = new TcpFramer({ maxFrameBytes: MAX }).push(wire, 0).frames

    expect(decodeChannelData(frame!)?.channel).toBe(0x4444)
    expect(decodeChannelData(frame!)?.data).toHaveLength(7)
  })
})
