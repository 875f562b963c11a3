/**
 * RTP sequence numbers (16 bits) and timestamps (32 bits) wrap; receivers compare them as extended
 * (unwrapped) numbers, choosing the value nearest the highest seen (RFC 3550 §A.1 does the same for
 * sequence numbers).
 */

export class Unwrapper {
  private highest: number | undefined

  constructor(private readonly bits: 16 | 32) {}

  /** The extended value of `value`; the first value is taken as is. */
  unwrap(value: number): number {
    const cycle = 2 ** this.bits
    if (this.highest === undefined) {
      this.highest = value
      return value
    }
    const base = this.highest - (this.highest % cycle)
    let extended = base + value
    if (extended - this.highest > cycle / 2) extended -= cycle
    else if (this.highest - extended > cycle / 2) extended += cycle
    if (extended > this.highest) this.highest = extended
    return extended
  }
}

/**
 * Maps a remote stream's RTP timestamps onto the receiver's clock in microseconds: the first packet is
 * anchored at its arrival time, later ones follow the sender's media clock (RFC 3550 §5.1), so frame
 * spacing is the sender's and the timeline is monotonic on the receiver.
 */
export class RemoteMediaClock {
  private readonly unwrapper = new Unwrapper(32)
  private anchor: { rtp: number; us: number } | undefined

  constructor(private readonly clockRate: number) {}

  toMicroseconds(rtpTimestamp: number, nowUs: number): number {
    const extended = this.unwrapper.unwrap(rtpTimestamp)
    this.anchor ??= { rtp: extended, us: nowUs }
    return Math.round(this.anchor.us + ((extended - this.anchor.rtp) * 1_000_000) / this.clockRate)
  }
}

/**
 * The sender's side: WebCodecs timestamps (microseconds) → RTP timestamps on the codec's clock, starting at
 * a random offset (RFC 3550 §5.1) so that streams are not predictable.
 */
export class LocalMediaClock {
  private origin: number | undefined

  constructor(
    private readonly clockRate: number,
    private readonly offset: number = Math.floor(Math.random() * 2 ** 32),
  ) {}

  toRtp(timestampUs: number): number {
    this.origin ??= timestampUs
    const ticks = Math.round(((timestampUs - this.origin) * this.clockRate) / 1_000_000)
    return (((this.offset + ticks) % 2 ** 32) + 2 ** 32) % 2 ** 32
  }
}
