import { AckedRate } from './ackedRate'
import { AimdRateControl } from './aimd'
import { AlrDetector } from './alr'
import { InterArrival } from './interArrival'
import { LossBasedControl } from './lossBased'
import { OveruseDetector } from './overuse'
import { ProbeController } from './probe'
import { Trendline } from './trendline'
import {
  ESTIMATOR_DEFAULTS,
  clamp,
  type BandwidthUsage,
  type EstimatorOptions,
  type FeedbackReport,
} from './types'
import type { ProbeRequest } from './types'

/** The loss fraction from which an application-limited decrease may go below the start value. */
const APP_LIMITED_MAX_LOSS = 0.02
/** How long a probe's measured rate counts as evidence of the link's rate (just over one ALR interval). */
const PROBE_EVIDENCE_MS = 6_000

/**
 * The sender-side bandwidth estimator (docs/engine.md "Bandwidth estimation"), GCC-style
 * (draft-ietf-rmcat-gcc-02): a delay-based part (group delay variation → trendline → overuse detector →
 * AIMD) and a loss-based part; the target is the lower of the two. Pure: time comes in as `nowMs`.
 *
 * Why not werift's `SenderBandwidthEstimator`: it compares send and receive rates over 1 s windows and keeps
 * a congestion score, with no delay gradient (it only reacts once the queue overflows into loss or rate
 * collapse), no loss-based rule, no probing, and it reads the wall clock itself, so it cannot be driven by
 * a simulated link. werift's `ReceiverTWCC` is the receiver's half (it writes the feedback); the conference
 * server keeps using it; wiring the feedback it writes into `FeedbackReport`s for this class is the next step.
 */
export class BandwidthEstimator {
  private readonly options: EstimatorOptions
  private readonly interArrival = new InterArrival()
  private readonly trendline = new Trendline()
  private readonly detector = new OveruseDetector()
  private readonly acked = new AckedRate()
  private readonly aimd: AimdRateControl
  private readonly loss: LossBasedControl
  private readonly probes = new ProbeController()
  private readonly alr = new AlrDetector()
  private usage: BandwidthUsage = 'normal'
  private lastDecreaseMs = -Infinity
  private target: number

  constructor(options: Partial<EstimatorOptions> = {}) {
    this.options = { ...ESTIMATOR_DEFAULTS, ...options }
    const { startBps, minBps, maxBps } = this.options
    this.target = clamp(startBps, minBps, maxBps)
    this.aimd = new AimdRateControl(this.target, minBps, maxBps)
    this.loss = new LossBasedControl(this.target, minBps, maxBps)
  }

  onFeedback(report: FeedbackReport, nowMs: number): void {
    let lost = 0
    for (const packet of report.packets) {
      if (packet.arrivalTimeMs === null) {
        lost++
        continue
      }
      this.acked.add(packet.arrivalTimeMs, packet.sizeBytes)
      if (packet.probeId === undefined) this.alr.add(packet.arrivalTimeMs, packet.sizeBytes)
      const delta = this.interArrival.add({ ...packet, arrivalTimeMs: packet.arrivalTimeMs })
      if (delta === null) continue
      const trend = this.trendline.update(delta.delayDeltaMs, delta.arrivalMs)
      this.usage = this.detector.detect(trend, delta.sendDeltaMs, nowMs)
    }
    this.alr.update(this.target, nowMs)
    const before = this.aimd.bitrate()
    this.aimd.update(this.usage, this.acked.bitrate(), nowMs, this.appLimitedFloor(nowMs))
    if (this.aimd.bitrate() < before) this.lastDecreaseMs = nowMs
    const probed = this.probes.onPackets(report.packets, this.target)
    if (probed !== null) {
      this.aimd.setEstimate(probed)
      this.loss.raiseTo(probed)
    }
    this.loss.onPackets(report.packets.length, lost, nowMs)
    this.combine(nowMs)
  }

  /** The round-trip time, from RTCP or the transport: it sets the AIMD's response time. */
  onRtt(rttMs: number): void {
    this.aimd.setRtt(rttMs)
  }

  /** What the pacer and the encoder should aim at, bit/s. */
  targetBitrate(): number {
    return this.target
  }

  /** A probe the sender should send now (start-up, ramp-up after a drop, application-limited), or null. */
  probe(nowMs: number): ProbeRequest | null {
    const acked = this.acked.bitrate() ?? 0
    // At the maximum there is nothing more to find out: application-limited probes would go on for good.
    const alr = this.alr.active(nowMs) && this.target < this.options.maxBps
    return this.probes.decide(this.target, acked, this.lastDecreaseMs, nowMs, alr)
  }

  /** Whether the sender has been sending well under the target (alr.ts). */
  applicationLimited(nowMs: number): boolean {
    return this.alr.active(nowMs)
  }

  /** For statistics and tests: each part's view. */
  snapshot(): { delayBps: number; lossBps: number; usage: BandwidthUsage; loss: number; threshold: number } {
    return {
      delayBps: this.aimd.bitrate(),
      lossBps: this.loss.bitrate(),
      usage: this.usage,
      loss: this.loss.lossFraction(),
      threshold: this.detector.threshold(),
    }
  }

  /**
   * While application-limited on a link that shows no loss, a delay-based decrease stops at the start
   * value's share (aimd.ts): the acked rate there is what the content costs, and a delay bump on a loaded
   * machine is no evidence that the link carries less than what we would start a call at.
   */
  private appLimitedFloor(nowMs: number): number | undefined {
    if (!this.alr.active(nowMs) || this.loss.lossFraction() >= APP_LIMITED_MAX_LOSS) return undefined
    const probed = this.probes.measuredSince(nowMs - PROBE_EVIDENCE_MS) ?? 0
    return clamp(Math.max(this.options.startBps, probed), this.options.minBps, this.options.maxBps)
  }

  private combine(nowMs: number): void {
    const { minBps, maxBps } = this.options
    this.target = clamp(Math.min(this.aimd.bitrate(), this.loss.bitrate()), minBps, maxBps)
    this.loss.follow(Math.max(this.target, this.aimd.bitrate()))
    this.probes.onEstimate(this.target, this.acked.bitrate() ?? 0, nowMs)
  }
}
