import type { NetworkQuality, RemoteVideoStats } from '../../shared/engine'

/**
 * `remoteVideoStats` and each remote user's `networkQuality` (docs/engine.md "Statistics"): two snapshots of
 * the call's video ledger (media/remoteVideoLedger.ts) → one figure set per user whose video we receive.
 * Pure functions, plus a small holder of the previous snapshot that the call's statistics timer drives.
 */

/**
 * Cumulative figures of one user's video, as media/remoteVideoLedger.ts keeps them; `temporalLayer` is the
 * highest TID since the previous snapshot.
 */
export interface RemoteVideoTotals {
  uid: number
  /** RTP payload + 12-byte header, as the call's own counters. */
  bytes: number
  packets: number
  /** How many packets the sequence numbers say were sent (RFC 3550 §A.3): expected − packets are lost. */
  expected: number
  frames: number
  freezeCount: number
  /** Freezes that ended plus the one going on, if any. */
  frozenMs: number
  width?: number
  height?: number
  temporalLayer?: number
  /** The shortest RTP timestamp step (90 kHz) between two frames in a row since the previous snapshot. */
  frameIntervalTicks?: number
}

/**
 * Frame rate a publisher sends with each VP8 temporal layer and those below it (L1T3 at 30 fps: layer 0
 * alone is every 4th frame, 0–1 every 2nd). Without a TID (no temporal layers) the stream is the full 30.
 */
export const EXPECTED_FPS = [7.5, 15, 30] as const
const FULL_FPS = 30
/** VP8's RTP clock (RFC 7741 §4.1); stats/ imports no other group, so not from media/rtp/vp8.ts. */
const VP8_TICKS_PER_SECOND = 90_000

/** Two cumulative snapshots of one user (the previous undefined: their first interval) → the figures. */
export function computeRemoteVideoStats(
  previous: RemoteVideoTotals | undefined,
  current: RemoteVideoTotals,
  intervalMs: number,
): RemoteVideoStats {
  const seconds = Math.max(0.001, intervalMs / 1000)
  // Counts from another ledger entry would be larger than the current ones: take the interval from zero.
  const base = previous && previous.packets <= current.packets ? previous : undefined
  const delta = (key: 'bytes' | 'packets' | 'expected' | 'frames'): number =>
    Math.max(0, current[key] - (base?.[key] ?? 0))
  const expected = delta('expected')
  const lost = Math.max(0, expected - delta('packets'))
  return {
    uid: current.uid,
    rxKbps: round((delta('bytes') * 8) / 1000 / seconds),
    rxFps: round(delta('frames') / seconds),
    ...(current.width === undefined ? {} : { width: current.width, height: current.height! }),
    ...(isLayer(current.temporalLayer) ? { temporalLayer: current.temporalLayer } : {}),
    packetLoss: expected > 0 ? round(Math.min(1, lost / expected), 4) : 0,
    freezeCount: current.freezeCount,
    frozenMs: Math.round(current.frozenMs),
  }
}

/**
 * The frame rate this user's video should arrive at: one frame per shortest RTP timestamp step seen over the
 * interval (the sender's own rate — 30, or 15 when its estimate is low — thinned by the temporal layers the
 * conference server forwards). With fewer than two frames in a row to measure, EXPECTED_FPS of the highest
 * layer received, or 30 without layers.
 */
export function expectedFps(totals: Pick<RemoteVideoTotals, 'frameIntervalTicks' | 'temporalLayer'>): number {
  const ticks = totals.frameIntervalTicks
  if (ticks !== undefined && ticks > 0) return VP8_TICKS_PER_SECOND / ticks
  return isLayer(totals.temporalLayer) ? EXPECTED_FPS[totals.temporalLayer] : FULL_FPS
}

/**
 * A remote user's quality as their video reaches us, on NERTC's scale: the worst of four grades (0 unknown
 * until a first frame; 6 when our own media path is down).
 *
 * | grade | loss below | fps / expected at least | frozen share of the interval | our downlink |
 * | ----- | ---------- | ----------------------- | ---------------------------- | ------------ |
 * | 1     | 1 %        | 80 %                    | none                         | 1            |
 * | 2     | 3 %        | 60 %                    | —                            | 2            |
 * | 3     | 8 %        | 40 %                    | below 25 %                   | 3            |
 * | 4     | 15 %       | 20 %                    | below 50 %                   | 4            |
 * | 5     | otherwise  | otherwise               | otherwise                    | 5            |
 *
 * Against the expected rate (`expectedFps`), a subscriber the server keeps on layer 0 is not marked down
 * for getting 7.5 fps, nor a sender that chose 15 fps: what counts is frames missing from what was sent.
 */
export function remoteQuality(interval: RemoteVideoInterval, ownDownlink: NetworkQuality): NetworkQuality {
  const { stats, frozenInIntervalMs, intervalMs, totalFrames } = interval
  if (ownDownlink === 6) return 6
  if (totalFrames === 0) return 0
  const lossGrade = gradeBelow(stats.packetLoss, [0.01, 0.03, 0.08, 0.15])
  const fpsGrade = gradeAtLeast(stats.rxFps / interval.expectedFps, [0.8, 0.6, 0.4, 0.2])
  const frozenShare = intervalMs > 0 ? frozenInIntervalMs / intervalMs : 0
  const freezeGrade = frozenShare <= 0 ? 1 : frozenShare < 0.25 ? 3 : frozenShare < 0.5 ? 4 : 5
  return Math.max(lossGrade, fpsGrade, freezeGrade, ownDownlink) as NetworkQuality
}

/** 1 + the number of limits `value` is not above (limits descending). */
function gradeAtLeast(value: number, limits: readonly number[]): number {
  const index = limits.findIndex((limit) => value >= limit)
  return index === -1 ? limits.length + 1 : index + 1
}

/** 1 + the number of limits `value` is not below (limits ascending). */
function gradeBelow(value: number, limits: readonly number[]): number {
  if (!Number.isFinite(value)) return 5
  const index = limits.findIndex((limit) => value < limit)
  return index === -1 ? limits.length + 1 : index + 1
}

/** One user's figures over one interval, and what their quality needs besides. */
export interface RemoteVideoInterval {
  stats: RemoteVideoStats
  frozenInIntervalMs: number
  intervalMs: number
  /** Frames since joining: none yet means the quality is unknown. */
  totalFrames: number
  expectedFps: number
}

/** Keeps the previous snapshot per user; `next` turns a new one into the interval's figures. */
export class RemoteVideoReporter {
  private previous = new Map<number, RemoteVideoTotals>()
  private previousAtMs: number | undefined

  /** Users absent from the previous snapshot (they just started) have no interval yet and are left out. */
  next(snapshot: RemoteVideoTotals[], atMs: number): RemoteVideoInterval[] {
    const intervalMs = this.previousAtMs === undefined ? 0 : atMs - this.previousAtMs
    const result: RemoteVideoInterval[] = []
    for (const totals of snapshot) {
      const before = this.previous.get(totals.uid)
      if (before === undefined || intervalMs <= 0) continue
      result.push({
        stats: computeRemoteVideoStats(before, totals, intervalMs),
        frozenInIntervalMs: Math.max(0, totals.frozenMs - before.frozenMs),
        intervalMs,
        totalFrames: totals.frames,
        expectedFps: expectedFps(totals),
      })
    }
    this.previous = new Map(snapshot.map((totals) => [totals.uid, totals]))
    this.previousAtMs = atMs
    return result
  }
}

function isLayer(value: number | undefined): value is 0 | 1 | 2 {
  return value === 0 || value === 1 || value === 2
}

function round(value: number, digits = 1): number {
  const scale = 10 ** digits
  return Math.round(value * scale) / scale
}
