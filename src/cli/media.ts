/**
 * Test media for `pinhole join --send-video/--send-audio`: VP8 in IVF and Opus in Ogg, read into encoded
 * frames with timestamps in µs (what WebCodecs would hand the engine), and a player that pushes them at
 * their timestamps, looping the file.
 */

/** One encoded frame of a test file; `timestampUs` from the start of the file. */
export interface MediaFrame {
  data: Uint8Array
  timestampUs: number
  keyframe: boolean
}

export interface MediaTrack {
  frames: MediaFrame[]
  /** Length of one pass of the file: the last frame's timestamp plus its duration. */
  durationUs: number
}

const IVF_HEADER_BYTES = 32
const IVF_FRAME_HEADER_BYTES = 12

/** A VP8 keyframe: P bit (frame tag bit 0) clear and the start code 9d 01 2a after the tag (RFC 6386 §9.1). */
export function isVp8Keyframe(frame: Uint8Array): boolean {
  return (
    frame.length >= 10 &&
    (frame[0]! & 0x01) === 0 &&
    frame[3] === 0x9d &&
    frame[4] === 0x01 &&
    frame[5] === 0x2a
  )
}

/** VP8 frames of an IVF file (32-byte header; per frame: u32 size, u64 pts, bytes), pts → µs. */
export function readIvf(buf: Buffer): MediaTrack {
  if (buf.length < IVF_HEADER_BYTES || buf.toString('latin1', 0, 4) !== 'DKIF')
    throw new Error('not an IVF file (no DKIF signature)')
  const fourcc = buf.toString('latin1', 8, 12)
  if (fourcc !== 'VP80') throw new Error(`IVF codec ${fourcc}: only VP8 (VP80) can be sent`)
  const den = buf.readUInt32LE(16)
  const num = buf.readUInt32LE(20)
  if (den === 0 || num === 0) throw new Error('IVF time base is zero')
  const usPerTick = (num / den) * 1e6
  const frames: MediaFrame[] = []
  let offset = Math.max(buf.readUInt16LE(6), IVF_HEADER_BYTES)
  while (offset + IVF_FRAME_HEADER_BYTES <= buf.length) {
    const size = buf.readUInt32LE(offset)
    const pts = Number(buf.readBigUInt64LE(offset + 4))
    const start = offset + IVF_FRAME_HEADER_BYTES
    if (start + size > buf.length) throw new Error(`IVF frame ${frames.length} is truncated`)
    const data = buf.subarray(start, start + size)
    frames.push({ data, timestampUs: Math.round(pts * usPerTick), keyframe: isVp8Keyframe(data) })
    offset = start + size
  }
  if (frames.length === 0) throw new Error('IVF file has no frames')
  const first = frames[0]!.timestampUs
  for (const frame of frames) frame.timestampUs -= first
  const last = frames[frames.length - 1]!.timestampUs
  const step = frames.length > 1 ? last / (frames.length - 1) : 33_333
  return { frames, durationUs: Math.round(last + (step > 0 ? step : 33_333)) }
}

/** Duration of an Opus packet from its TOC byte (RFC 6716 §3.1), µs. */
export function opusPacketDurationUs(packet: Uint8Array): number {
  if (packet.length === 0) throw new Error('empty Opus packet')
  const toc = packet[0]!
  const config = toc >> 3
  let frameUs: number
  if (config < 12) frameUs = [10_000, 20_000, 40_000, 60_000][config % 4]!
  else if (config < 16) frameUs = [10_000, 20_000][config % 2]!
  else frameUs = [2_500, 5_000, 10_000, 20_000][config % 4]!
  const code = toc & 0x03
  let count: number
  if (code === 0) count = 1
  else if (code < 3) count = 2
  else {
    if (packet.length < 2) throw new Error('truncated Opus packet (code 3 without a frame count)')
    count = packet[1]! & 0x3f
  }
  return frameUs * count
}

/** The packets of an Ogg stream (RFC 3533): pages `OggS`, lacing values of 255 continue a packet. */
export function oggPackets(buf: Buffer): Buffer[] {
  const packets: Buffer[] = []
  let partial: Buffer[] = []
  let offset = 0
  while (offset < buf.length) {
    if (offset + 27 > buf.length || buf.toString('latin1', offset, offset + 4) !== 'OggS')
      throw new Error(`not an Ogg page at byte ${offset}`)
    const segments = buf[offset + 26]!
    const table = offset + 27
    if (table + segments > buf.length) throw new Error(`Ogg page at byte ${offset} is truncated`)
    let data = table + segments
    for (let i = 0; i < segments; i++) {
      const lacing = buf[table + i]!
      if (data + lacing > buf.length) throw new Error(`Ogg page at byte ${offset} is truncated`)
      partial.push(buf.subarray(data, data + lacing))
      data += lacing
      if (lacing < 255) {
        packets.push(Buffer.concat(partial))
        partial = []
      }
    }
    offset = data
  }
  return packets
}

/** Opus packets of an Ogg Opus file (RFC 7845), the OpusHead and OpusTags header packets skipped. */
export function readOggOpus(buf: Buffer): MediaTrack {
  const packets = oggPackets(buf)
  if (packets.length < 2 || packets[0]!.toString('latin1', 0, 8) !== 'OpusHead')
    throw new Error('not an Ogg Opus file (no OpusHead)')
  if (packets[1]!.toString('latin1', 0, 8) !== 'OpusTags') throw new Error('Ogg Opus file: no OpusTags')
  const frames: MediaFrame[] = []
  let timestampUs = 0
  for (const data of packets.slice(2)) {
    if (data.length === 0) continue
    frames.push({ data, timestampUs, keyframe: true })
    timestampUs += opusPacketDurationUs(data)
  }
  if (frames.length === 0) throw new Error('Ogg Opus file has no audio packets')
  return { frames, durationUs: timestampUs }
}

/** Timers a player uses; tests pass fakes. */
export interface PlayerClock {
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

const systemClock: PlayerClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
}

export interface MediaPlayer {
  /** Sends the next keyframe of the file next (if the file has more than one); false if it cannot. */
  requestKeyframe(): boolean
  stop(): void
  /** Frames pushed so far. */
  readonly sent: number
}

/**
 * Pushes a track's frames at their timestamps, looping: `push` gets each frame with its timestamp on one
 * clock that keeps running across loops and keyframe jumps (µs since start).
 */
export function playTrack(
  track: MediaTrack,
  push: (frame: MediaFrame) => void,
  clock: PlayerClock = systemClock,
): MediaPlayer {
  const { frames } = track
  const keyframes = frames.flatMap((frame, i) => (frame.keyframe ? [i] : []))
  const startedMs = clock.now()
  let index = 0
  let mediaUs = 0
  let sent = 0
  let stopped = false
  let handle: unknown
  const frameDurationUs = (i: number): number => {
    const next = i + 1 < frames.length ? frames[i + 1]!.timestampUs : track.durationUs
    return Math.max(0, next - frames[i]!.timestampUs)
  }
  const tick = (): void => {
    handle = undefined
    if (stopped) return
    // Catch up on anything due (a late timer), then wait for the next frame.
    while (!stopped && startedMs + mediaUs / 1000 <= clock.now()) {
      const frame = frames[index]!
      push({ data: frame.data, keyframe: frame.keyframe, timestampUs: mediaUs })
      sent++
      mediaUs += frameDurationUs(index) || 1000
      index = (index + 1) % frames.length
    }
    if (!stopped) handle = clock.setTimeout(tick, Math.max(0, startedMs + mediaUs / 1000 - clock.now()))
  }
  tick()
  return {
    requestKeyframe() {
      if (frames[index]!.keyframe) return true
      if (keyframes.length < 2) return false
      index = keyframes.find((i) => i > index) ?? keyframes[0]!
      return true
    },
    stop() {
      stopped = true
      if (handle !== undefined) clock.clearTimeout(handle)
    },
    get sent() {
      return sent
    },
  }
}

export interface ReceivedCounts {
  frames: number
  keyframes: number
  bytes: number
}

/** Per-uid counts of remote frames, for the summary line. */
export class ReceivedMedia {
  private readonly byUid = new Map<number, { video: ReceivedCounts; audio: ReceivedCounts }>()

  add(kind: 'video' | 'audio', frame: { uid: number; data: Uint8Array; keyFrame: boolean }): void {
    let entry = this.byUid.get(frame.uid)
    if (!entry) {
      entry = { video: emptyCounts(), audio: emptyCounts() }
      this.byUid.set(frame.uid, entry)
    }
    const counts = entry[kind]
    counts.frames++
    if (frame.keyFrame) counts.keyframes++
    counts.bytes += frame.data.byteLength
  }

  summary(): Record<string, { video: ReceivedCounts; audio: ReceivedCounts }> {
    return Object.fromEntries([...this.byUid].map(([uid, entry]) => [String(uid), entry]))
  }
}

function emptyCounts(): ReceivedCounts {
  return { frames: 0, keyframes: 0, bytes: 0 }
}
