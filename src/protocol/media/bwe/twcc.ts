/**
 * Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1): an
 * RTCP transport-layer feedback packet (PT 205, FMT 15) that reports, for a run of transport-wide sequence
 * numbers, which packets arrived and when, on the receiver's clock. Pure: bytes in, bytes out.
 *
 * Why our own: werift's `TransportWideCC.packetResults` reads only run-length chunks (a report with a
 * status-vector chunk loses its packets), and werift's receiver side (`ReceiverTWCC`) writes reports the
 * draft's readers cannot use (docs/media.md "Bandwidth estimation").
 *
 *  header (4) | sender SSRC (4) | media SSRC (4) | base seq (2) | status count (2) | ref time (3) | fb count (1)
 *  packet chunks (2 bytes each) | recv deltas (1 byte small, 2 bytes large, 250 µs units) | zero padding
 *
 * A chunk is run-length (T=0: 2-bit status, 13-bit run) or a status vector (T=1; S=0: 14 one-bit symbols,
 * 0 lost / 1 small delta; S=1: 7 two-bit symbols). Statuses: 0 not received, 1 small delta (0..63.75 ms),
 * 2 large or negative delta (signed 16 bits), 3 received without a delta. The first delta counts from the
 * reference time (24 bits, 64 ms units), each next one from the previous received packet.
 */

export const TWCC_PAYLOAD_TYPE = 205
export const TWCC_FMT = 15
const HEADER_BYTES = 20
const DELTA_US = 250
const REFERENCE_US = 64_000

/** A packet's status symbol (§3.1.1). */
export const TwccStatus = { NotReceived: 0, SmallDelta: 1, LargeDelta: 2, NoDelta: 3 } as const
export type TwccStatus = (typeof TwccStatus)[keyof typeof TwccStatus]

export interface TwccPacketStatus {
  /** The packet's transport-wide sequence number (16 bits). */
  sequence: number
  received: boolean
  /** Arrival time in µs from the start of the reference time (may be negative); absent without a delta. */
  arrivalUs?: number
}

export interface TwccFeedback {
  senderSsrc: number
  mediaSsrc: number
  baseSequence: number
  /** The reference time as sent: 24 bits, in 64 ms units (it wraps: see SendHistory). */
  referenceTime: number
  /** The feedback packet counter (8 bits). */
  feedbackCount: number
  packets: TwccPacketStatus[]
}

/** One RTCP packet (a compound's first one); null if it is no well-formed transport-wide feedback. */
export function parseTwcc(data: Uint8Array): TwccFeedback | null {
  if (data.length < HEADER_BYTES) return null
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  if (data[0]! >> 6 !== 2 || (data[0]! & 0x1f) !== TWCC_FMT || data[1] !== TWCC_PAYLOAD_TYPE) return null
  // The length field bounds the packet (the caller hands us one packet of a compound). werift rounds its
  // length field down when it leaves the zero padding out, so up to 3 bytes past it still belong to it.
  const declared = (view.getUint16(2) + 1) * 4
  const end =
    data.length > declared && data.length - declared < 4 ? data.length : Math.min(data.length, declared)
  const count = view.getUint16(14)
  const statuses = readChunks(view, end, count)
  if (statuses === null) return null
  const baseSequence = view.getUint16(12)
  const packets: TwccPacketStatus[] = []
  let offset = HEADER_BYTES + statuses.chunkBytes
  let timeUs = 0
  for (let i = 0; i < count; i++) {
    const status = statuses.symbols[i]!
    const sequence = (baseSequence + i) & 0xffff
    if (status === TwccStatus.NotReceived) {
      packets.push({ sequence, received: false })
      continue
    }
    if (status === TwccStatus.NoDelta) {
      packets.push({ sequence, received: true })
      continue
    }
    const size = status === TwccStatus.SmallDelta ? 1 : 2
    if (offset + size > end) return null
    timeUs += (size === 1 ? view.getUint8(offset) : view.getInt16(offset)) * DELTA_US
    offset += size
    packets.push({ sequence, received: true, arrivalUs: timeUs })
  }
  return {
    senderSsrc: view.getUint32(4),
    mediaSsrc: view.getUint32(8),
    baseSequence,
    referenceTime: (view.getUint16(16) << 8) | view.getUint8(18),
    feedbackCount: view.getUint8(19),
    packets,
  }
}

/** The packet chunks: one status per reported packet, and how many bytes the chunks took. */
function readChunks(
  view: DataView,
  end: number,
  count: number,
): { symbols: TwccStatus[]; chunkBytes: number } | null {
  const symbols: TwccStatus[] = []
  let offset = HEADER_BYTES
  while (symbols.length < count) {
    if (offset + 2 > end) return null
    const chunk = view.getUint16(offset)
    offset += 2
    if ((chunk & 0x8000) === 0) {
      const status = ((chunk >> 13) & 0x3) as TwccStatus
      const run = chunk & 0x1fff
      if (run === 0) return null
      for (let i = 0; i < run && symbols.length < count; i++) symbols.push(status)
    } else if ((chunk & 0x4000) === 0) {
      for (let i = 13; i >= 0 && symbols.length < count; i--) symbols.push(((chunk >> i) & 1) as TwccStatus)
    } else {
      for (let i = 6; i >= 0 && symbols.length < count; i--)
        symbols.push(((chunk >> (2 * i)) & 3) as TwccStatus)
    }
  }
  return { symbols, chunkBytes: offset - HEADER_BYTES }
}

export interface TwccBuildInput {
  senderSsrc: number
  mediaSsrc: number
  baseSequence: number
  feedbackCount: number
  /** 64 ms units; arrivals count from `referenceTime` × 64 ms on the same clock. */
  referenceTime: number
  /** One per sequence number from `baseSequence` on: the arrival time in µs, or null when not received. */
  arrivalsUs: readonly (number | null)[]
}

/**
 * Writes one feedback packet. Arrivals are rounded to 250 µs ticks as they accumulate (no drift); a delta
 * that does not fit 16 signed bits throws RangeError: the caller starts a new packet there
 * (`deltaFits`).
 */
export function buildTwcc(input: TwccBuildInput): Uint8Array {
  const { arrivalsUs } = input
  const statuses: TwccStatus[] = []
  const deltas: number[] = []
  let ticks = Math.round((input.referenceTime * REFERENCE_US) / DELTA_US)
  for (const arrival of arrivalsUs) {
    if (arrival === null) {
      statuses.push(TwccStatus.NotReceived)
      continue
    }
    const at = Math.round(arrival / DELTA_US)
    const delta = at - ticks
    if (!deltaFitsTicks(delta)) throw new RangeError(`receive delta of ${delta} ticks does not fit`)
    statuses.push(delta >= 0 && delta <= 0xff ? TwccStatus.SmallDelta : TwccStatus.LargeDelta)
    deltas.push(delta)
    ticks = at
  }
  const chunks = writeChunks(statuses)
  const deltaBytes = deltas.reduce<number>((n, d) => n + (d >= 0 && d <= 0xff ? 1 : 2), 0)
  const unpadded = HEADER_BYTES + chunks.length * 2 + deltaBytes
  const length = Math.ceil(unpadded / 4) * 4
  const out = new Uint8Array(length)
  const view = new DataView(out.buffer)
  view.setUint8(0, 0x80 | TWCC_FMT)
  view.setUint8(1, TWCC_PAYLOAD_TYPE)
  view.setUint16(2, length / 4 - 1)
  view.setUint32(4, input.senderSsrc >>> 0)
  view.setUint32(8, input.mediaSsrc >>> 0)
  view.setUint16(12, input.baseSequence & 0xffff)
  view.setUint16(14, arrivalsUs.length)
  view.setUint16(16, (input.referenceTime >> 8) & 0xffff)
  view.setUint8(18, input.referenceTime & 0xff)
  view.setUint8(19, input.feedbackCount & 0xff)
  let offset = HEADER_BYTES
  for (const chunk of chunks) {
    view.setUint16(offset, chunk)
    offset += 2
  }
  let d = 0
  for (const status of statuses) {
    if (status === TwccStatus.NotReceived) continue
    const delta = deltas[d++]!
    if (status === TwccStatus.SmallDelta) view.setUint8(offset++, delta)
    else {
      view.setInt16(offset, delta)
      offset += 2
    }
  }
  return out
}

/** Whether an arrival `toUs` can follow one at `fromUs` in the same packet (a signed 16-bit delta). */
export function deltaFits(fromUs: number, toUs: number): boolean {
  return deltaFitsTicks(Math.round(toUs / DELTA_US) - Math.round(fromUs / DELTA_US))
}

function deltaFitsTicks(ticks: number): boolean {
  return ticks >= -0x8000 && ticks <= 0x7fff
}

/** The 64 ms reference-time unit for an arrival (24 bits, wrapping), µs → units. */
export function referenceTimeFor(arrivalUs: number): number {
  return Math.floor(arrivalUs / REFERENCE_US) & 0xffffff
}

/**
 * Statuses → chunks: a run of 7 or more equal statuses (or the rest being one status) becomes a run-length
 * chunk; otherwise 14 one-bit symbols when the next 14 are all lost/small, else 7 two-bit symbols. A vector
 * past the end is padded with "not received", which the reader ignores (it stops at the status count).
 */
function writeChunks(statuses: readonly TwccStatus[]): number[] {
  const chunks: number[] = []
  let i = 0
  while (i < statuses.length) {
    let run = 1
    while (i + run < statuses.length && statuses[i + run] === statuses[i] && run < 0x1fff) run++
    if (run >= 7 || i + run === statuses.length) {
      chunks.push((statuses[i]! << 13) | run)
      i += run
      continue
    }
    const next14 = statuses.slice(i, i + 14)
    if (next14.every((s) => s <= TwccStatus.SmallDelta)) {
      let chunk = 0x8000
      next14.forEach((s, k) => (chunk |= s << (13 - k)))
      chunks.push(chunk)
      i += 14
    } else {
      let chunk = 0xc000
      statuses.slice(i, i + 7).forEach((s, k) => (chunk |= s << (2 * (6 - k))))
      chunks.push(chunk)
      i += 7
    }
  }
  return chunks
}
