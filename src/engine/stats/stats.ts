import type { MediaTransport, NetworkQuality, RtcStats, RttSource } from '../../shared/engine'
import { systemClock, type Clock } from '../defaults'

/**
 * Call statistics (`rtcStats`, `networkQuality`, docs/engine.md "Statistics"). Counters are kept by the
 * call itself (RTP bytes and frames as they go out of the pacer and come out of reassembly), because werift
 * does not count packets we hand to `sendRtp` the way a browser would; loss and round trips come from
 * werift's RTCP and ICE state. Everything that turns samples into figures is a pure function here; the
 * collector only owns the timer.
 */

export const STATS_DEFAULTS = { intervalMs: 2000 } as const

/** Monotonic counters of one call; they survive a PeerConnection being replaced (a full rejoin). */
export interface MediaCounters {
  /** RTP bytes (payload + 12-byte header) handed to werift / received from it. */
  txBytes: number
  rxBytes: number
  txVideoFrames: number
  rxVideoFrames: number
  txAudioPackets: number
  rxAudioPackets: number
  /** The video part of `txBytes`. */
  txVideoBytes: number
}

export function newCounters(): MediaCounters {
  return {
    txBytes: 0,
    rxBytes: 0,
    txVideoFrames: 0,
    rxVideoFrames: 0,
    txAudioPackets: 0,
    rxAudioPackets: 0,
    txVideoBytes: 0,
  }
}

/** What werift knows, reduced to what the figures need (see `fromWeriftStats`). */
export interface PeerStatsSample {
  /** An authenticated TURN Refresh's round trip to the proxy, over media's own TURN connection, ms. */
  turnRttMs?: number
  /** The nominated ICE pair's round trip (consent checks through the relay), ms. */
  iceRttMs?: number
  /** RTCP SR/RR round trip of our senders, ms (mean over the senders that measured one). */
  rtcpRttMs?: number
  /** From the receiver reports about our streams: the latest fraction lost (0..1), worst sender. */
  txFractionLost?: number
  txPacketsLost?: number
  /** Our receivers, cumulative over this PeerConnection. */
  rxPacketsLost: number
  rxPacketsReceived: number
  /** The bandwidth estimator's send target, bit/s (docs/media.md "Bandwidth estimation"). */
  sendTargetBps?: number
  /** The size of the last VP8 key frame sent. */
  txVideoWidth?: number
  txVideoHeight?: number
}

/** One look at the call: counters, werift's figures, and the last signaling ping round trip. */
export interface StatsSample {
  atMs: number
  counters: MediaCounters
  peer?: PeerStatsSample
  signalingRttMs?: number
}

/** A werift stats entry, structurally (werift's RTCStats union has more fields; these are the ones used). */
export interface WeriftStat {
  type: string
  nominated?: boolean
  currentRoundTripTime?: number
  roundTripTime?: number
  fractionLost?: number
  packetsLost?: number
  packetsReceived?: number
}

/** werift's `getStats()` report → what the figures need. Round trips there are seconds. */
export function fromWeriftStats(stats: Iterable<WeriftStat>): PeerStatsSample {
  const sample: PeerStatsSample = { rxPacketsLost: 0, rxPacketsReceived: 0 }
  const rtcpRtts: number[] = []
  for (const stat of stats) {
    if (stat.type === 'candidate-pair' && stat.nominated && finite(stat.currentRoundTripTime)) {
      sample.iceRttMs = stat.currentRoundTripTime * 1000
    } else if (stat.type === 'remote-inbound-rtp') {
      if (finite(stat.roundTripTime)) rtcpRtts.push(stat.roundTripTime * 1000)
      if (finite(stat.fractionLost))
        sample.txFractionLost = Math.max(sample.txFractionLost ?? 0, stat.fractionLost)
      if (finite(stat.packetsLost))
        sample.txPacketsLost = (sample.txPacketsLost ?? 0) + Math.max(0, stat.packetsLost)
    } else if (stat.type === 'inbound-rtp') {
      sample.rxPacketsLost += finite(stat.packetsLost) ? Math.max(0, stat.packetsLost) : 0
      sample.rxPacketsReceived += finite(stat.packetsReceived) ? stat.packetsReceived : 0
    }
  }
  if (rtcpRtts.length > 0) sample.rtcpRttMs = rtcpRtts.reduce((a, b) => a + b, 0) / rtcpRtts.length
  return sample
}

/**
 * The round trip and where it came from: TURN (to the proxy itself) first, then ICE (proxy + relay leg
 * to the server), then RTCP, then the signaling ping.
 */
export function pickRtt(sample: StatsSample): { rttMs: number; rttSource: RttSource } | undefined {
  const { peer, signalingRttMs } = sample
  if (peer?.turnRttMs !== undefined) return { rttMs: round(peer.turnRttMs), rttSource: 'turn' }
  if (peer?.iceRttMs !== undefined) return { rttMs: round(peer.iceRttMs), rttSource: 'ice' }
  if (peer?.rtcpRttMs !== undefined) return { rttMs: round(peer.rtcpRttMs), rttSource: 'rtcp' }
  if (signalingRttMs !== undefined) return { rttMs: round(signalingRttMs), rttSource: 'signaling' }
  return undefined
}

/**
 * Received loss over the interval: lost / (lost + received) from the change in werift's cumulative counts.
 * A count that went down means a new PeerConnection: its counts are the interval's.
 */
export function intervalLoss(
  previous: PeerStatsSample | undefined,
  current: PeerStatsSample | undefined,
): number {
  if (!current) return 0
  const reset =
    !previous ||
    current.rxPacketsLost < previous.rxPacketsLost ||
    current.rxPacketsReceived < previous.rxPacketsReceived
  const lost = reset ? current.rxPacketsLost : current.rxPacketsLost - previous.rxPacketsLost
  const received = reset ? current.rxPacketsReceived : current.rxPacketsReceived - previous.rxPacketsReceived
  return lost + received > 0 ? lost / (lost + received) : 0
}

export interface StatsContext {
  transport: MediaTransport
  /** host:port media goes through (the proxy's TURN port), or undefined when direct. */
  proxyAddress?: string
  /** When the call (this join) started, for durationSeconds. */
  startedAtMs: number
}

/** Two samples → the `rtcStats` payload. Rates are per second over the samples' actual spacing. */
export function computeStats(previous: StatsSample, current: StatsSample, context: StatsContext): RtcStats {
  const seconds = Math.max(0.001, (current.atMs - previous.atMs) / 1000)
  const delta = (key: keyof MediaCounters): number =>
    Math.max(0, current.counters[key] - previous.counters[key])
  const rtt = pickRtt(current)
  return {
    transport: context.transport,
    ...(context.proxyAddress === undefined ? {} : { proxyAddress: context.proxyAddress }),
    ...(rtt ?? {}),
    txKbps: round((delta('txBytes') * 8) / 1000 / seconds),
    rxKbps: round((delta('rxBytes') * 8) / 1000 / seconds),
    txPacketLoss: current.peer?.txFractionLost ?? 0,
    rxPacketLoss: round(intervalLoss(previous.peer, current.peer), 4),
    ...(current.peer?.txPacketsLost === undefined ? {} : { txPacketsLost: current.peer.txPacketsLost }),
    rxPacketsLost: current.peer?.rxPacketsLost ?? 0,
    txVideoFps: round(delta('txVideoFrames') / seconds),
    rxVideoFps: round(delta('rxVideoFrames') / seconds),
    txAudioPackets: delta('txAudioPackets'),
    rxAudioPackets: delta('rxAudioPackets'),
    ...sendFigures(current.peer),
    txVideoKbps: round((delta('txVideoBytes') * 8) / 1000 / seconds),
    intervalMs: Math.round(current.atMs - previous.atMs),
    durationSeconds: Math.max(0, Math.round((current.atMs - context.startedAtMs) / 1000)),
  }
}

/** The estimate and the size of the video we send, when the PeerConnection knows them. */
function sendFigures(
  peer: PeerStatsSample | undefined,
): Pick<RtcStats, 'estimatedBandwidthKbps' | 'txVideoWidth' | 'txVideoHeight'> {
  if (!peer) return {}
  const { sendTargetBps, txVideoWidth, txVideoHeight } = peer
  return {
    ...(sendTargetBps === undefined ? {} : { estimatedBandwidthKbps: round(sendTargetBps / 1000) }),
    ...(txVideoWidth === undefined || txVideoHeight === undefined ? {} : { txVideoWidth, txVideoHeight }),
  }
}

/**
 * NERTC-style quality, 1 excellent … 5 very bad, from loss (a fraction) and RTT (ms): the worse of the two
 * grades below; 0 (unknown) when neither is known. 6 (down) is for a call without a media path, which is
 * not a function of these figures (the call reports it while reconnecting).
 *
 * | grade | loss below | RTT below |
 * | ----- | ---------- | --------- |
 * | 1     | 1 %        | 100 ms    |
 * | 2     | 3 %        | 200 ms    |
 * | 3     | 8 %        | 400 ms    |
 * | 4     | 15 %       | 800 ms    |
 * | 5     | otherwise  | otherwise |
 */
export function networkQuality(loss: number | undefined, rttMs: number | undefined): NetworkQuality {
  if (loss === undefined && rttMs === undefined) return 0
  const lossGrade = loss === undefined ? 1 : gradeOf(loss, [0.01, 0.03, 0.08, 0.15])
  const rttGrade = rttMs === undefined ? 1 : gradeOf(rttMs, [100, 200, 400, 800])
  return Math.max(lossGrade, rttGrade) as NetworkQuality
}

function gradeOf(value: number, limits: readonly number[]): number {
  if (!Number.isFinite(value) || value < 0) return 5
  const index = limits.findIndex((limit) => value < limit)
  return index === -1 ? limits.length + 1 : index + 1
}

/** Up (tx) and down (rx) quality: each direction's loss with the shared RTT. */
export function qualityOf(stats: RtcStats): { tx: NetworkQuality; rx: NetworkQuality } {
  return {
    tx: networkQuality(stats.txPacketLoss, stats.rttMs),
    rx: networkQuality(stats.rxPacketLoss, stats.rttMs),
  }
}

export interface StatsCollectorOptions {
  intervalMs?: number
  clock?: Clock
  sample(): Promise<StatsSample>
  /** A function when it can change during the call (the transport after a failover). */
  context: StatsContext | (() => StatsContext)
  /** One figure set per interval. */
  report(stats: RtcStats, quality: { tx: NetworkQuality; rx: NetworkQuality }): void
  /** A sample that threw (werift closing under us); the interval is skipped. */
  onError?(error: unknown): void
}

/** Samples every `intervalMs` (on the injected clock) and reports the figures between two samples. */
export class StatsCollector {
  private previous: StatsSample | undefined
  private timer: unknown
  private running = false
  private readonly clock: Clock
  private readonly intervalMs: number

  constructor(private readonly options: StatsCollectorOptions) {
    this.clock = options.clock ?? systemClock
    this.intervalMs = options.intervalMs ?? STATS_DEFAULTS.intervalMs
  }

  /** Takes the first sample now; the first report comes one interval later. */
  start(): void {
    if (this.running) return
    this.running = true
    void this.tick()
  }

  stop(): void {
    this.running = false
    this.clock.clearTimeout(this.timer)
    this.timer = undefined
  }

  private async tick(): Promise<void> {
    this.timer = undefined
    try {
      const current = await this.options.sample()
      if (!this.running) return
      if (this.previous) {
        const { context } = this.options
        const stats = computeStats(
          this.previous,
          current,
          typeof context === 'function' ? context() : context,
        )
        this.options.report(stats, qualityOf(stats))
      }
      this.previous = current
    } catch (error) {
      this.options.onError?.(error)
    }
    if (this.running) this.timer = this.clock.setTimeout(() => void this.tick(), this.intervalMs)
  }
}

function finite(value: number | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}

function round(value: number, digits = 1): number {
  const scale = 10 ** digits
  return Math.round(value * scale) / scale
}
