import { systemClock, type Clock } from '../../defaults'

/**
 * Paces outgoing RTP (docs/architecture.md "Why werift"): a key frame handed over at once is dozens of
 * packets, and a burst like that overflows socket buffers on the way through the TURN relay. A token bucket
 * at `rateBps` lets `burstMs` of the rate (at most `burstBytes`) out at once and spreads the rest; audio
 * goes before video. The burst follows the rate as libwebrtc's pacer's (40 ms): a fixed 24 kB let a whole
 * key frame onto a 600 kbit/s link at once, 320 ms of that link, which filled its queue past what it holds
 * and lost the key frame's tail and everything behind it (bench:network `poor`). A video queue
 * longer than `maxQueueMs` at the pacing rate is dropped whole (late video is useless) and `onVideoDropped`
 * tells the caller the next frame must be a key frame. The bandwidth estimate moves the rate (`setRate`,
 * docs/media.md "Bandwidth estimation"); `rateBps` is then the ceiling. The limit never goes below
 * `minQueueBytes`: at a low rate one key frame alone is longer than `maxQueueMs`, and dropping it would only
 * ask for the next key frame, which would be dropped too.
 */

export interface PacerOptions {
  rateBps?: number
  burstBytes?: number
  /** The bucket holds this much of the pacing rate (at most `burstBytes`). */
  burstMs?: number
  maxQueueMs?: number
  /** The video queue limit's floor, bytes (a 640x360 VP8 key frame is 15–40 kB). */
  minQueueBytes?: number
  clock?: Clock
  onVideoDropped?: (packets: number) => void
}

export const PACER_DEFAULTS = {
  rateBps: 20_000_000,
  burstBytes: 24_000,
  burstMs: 40,
  maxQueueMs: 500,
  minQueueBytes: 64_000,
} as const

export type PacedKind = 'audio' | 'video'

interface Item<T> {
  item: T
  bytes: number
}

export class Pacer<T> {
  private rateBps: number
  private readonly maxRateBps: number
  private readonly burstBytes: number
  private readonly burstMs: number
  private readonly maxQueueMs: number
  private readonly minQueueBytes: number
  private maxQueueBytes: number
  private readonly clock: Clock
  private readonly queues: Record<PacedKind, Item<T>[]> = { audio: [], video: [] }
  private queuedVideoBytes = 0
  private tokens: number
  private lastRefill: number
  private timer: unknown
  private closed = false

  constructor(
    private readonly send: (item: T) => void,
    private readonly options: PacerOptions = {},
  ) {
    this.maxRateBps = options.rateBps ?? PACER_DEFAULTS.rateBps
    this.rateBps = this.maxRateBps
    this.burstBytes = options.burstBytes ?? PACER_DEFAULTS.burstBytes
    this.burstMs = options.burstMs ?? PACER_DEFAULTS.burstMs
    this.maxQueueMs = options.maxQueueMs ?? PACER_DEFAULTS.maxQueueMs
    this.minQueueBytes = options.minQueueBytes ?? PACER_DEFAULTS.minQueueBytes
    this.maxQueueBytes = this.queueLimit()
    this.clock = options.clock ?? systemClock
    this.tokens = this.burst()
    this.lastRefill = this.clock.now()
  }

  /** Queues one frame's packets; whatever the bucket allows goes out before this returns. */
  enqueue(kind: PacedKind, items: readonly T[], sizeOf: (item: T) => number): void {
    if (this.closed) return
    const queue = this.queues[kind]
    for (const item of items) {
      const bytes = sizeOf(item)
      queue.push({ item, bytes })
      if (kind === 'video') this.queuedVideoBytes += bytes
    }
    if (kind === 'video' && this.queuedVideoBytes > this.maxQueueBytes) this.dropVideo()
    this.drain()
  }

  /**
   * Paces at `rateBps` from now on (at most the configured rate); the video queue limit stays `maxQueueMs`
   * at the new rate (at least `minQueueBytes`). Tokens earned so far at the old rate are kept.
   */
  setRate(rateBps: number): void {
    this.refill()
    this.rateBps = Math.max(1, Math.min(rateBps, this.maxRateBps))
    this.maxQueueBytes = this.queueLimit()
  }

  /** What the bucket holds at the current rate. */
  private burst(): number {
    return Math.min(this.burstBytes, (this.burstMs * this.rateBps) / 8000)
  }

  private queueLimit(): number {
    return Math.max(this.minQueueBytes, (this.maxQueueMs * this.rateBps) / 8000)
  }

  get rate(): number {
    return this.rateBps
  }

  get queued(): number {
    return this.queues.audio.length + this.queues.video.length
  }

  close(): void {
    this.closed = true
    this.queues.audio = []
    this.queues.video = []
    this.queuedVideoBytes = 0
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer)
    this.timer = undefined
  }

  private dropVideo(): void {
    const dropped = this.queues.video.length
    this.queues.video = []
    this.queuedVideoBytes = 0
    this.options.onVideoDropped?.(dropped)
  }

  private refill(): void {
    const now = this.clock.now()
    this.tokens = Math.min(this.burst(), this.tokens + ((now - this.lastRefill) * this.rateBps) / 8000)
    this.lastRefill = now
  }

  private drain(): void {
    if (this.timer !== undefined) return
    this.refill()
    const burst = this.burst()
    for (;;) {
      const kind: PacedKind | undefined =
        this.queues.audio.length > 0 ? 'audio' : this.queues.video.length > 0 ? 'video' : undefined
      if (kind === undefined) return
      const next = this.queues[kind][0]!
      // A packet bigger than the whole bucket still goes out once the bucket is full.
      if (this.tokens < Math.min(next.bytes, burst)) break
      this.queues[kind].shift()
      if (kind === 'video') this.queuedVideoBytes -= next.bytes
      this.tokens -= next.bytes
      this.send(next.item)
    }
    const head = this.queues.audio[0] ?? this.queues.video[0]
    const missing = Math.min(head?.bytes ?? 0, burst) - this.tokens
    const waitMs = Math.max(1, Math.ceil((missing * 8000) / this.rateBps))
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined
      this.drain()
    }, waitMs)
  }
}
