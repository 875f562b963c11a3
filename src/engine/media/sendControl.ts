import { randomInt } from 'node:crypto'
import { RtpHeader, RtpPacket, type RTCPeerConnection, type RTCRtpTransceiver } from 'werift'
import { BandwidthEstimator } from '../../protocol/media/bwe/estimator'
import { SendHistory } from '../../protocol/media/bwe/sendHistory'
import type { TwccFeedback } from '../../protocol/media/bwe/twcc'
import type { EstimatorOptions } from '../../protocol/media/bwe/types'
import { onTwccFeedback, twccExtensionId, writeTwccSequence } from '../../protocol/media/twccTransport'
import type { SendTarget } from '../../shared/mediaPort'
import type { MediaKind } from '../../shared/signaling'
import type { Clock, EngineLogger } from '../defaults'
import { fromWeriftStats } from '../stats/stats'
import { ProbeSender } from './probeSender'

/**
 * The send side's congestion control (docs/media.md "Bandwidth estimation"): every packet leaving the
 * pacer gets a transport-wide sequence number and a line in the send history; the conference server's
 * reports come back through werift's RTCP and feed the estimator; the pacer runs at `PACING_FACTOR` × the
 * estimate; probes go out when the estimator asks; the target goes to the caller when it moves by more
 * than `TARGET_STEP` or `TARGET_HEARTBEAT_MS` after the last one (and once at the start). All of it starts
 * once the far end has agreed to the transport-wide extension: a server that never reports must not hold
 * the call at the start value.
 */

/** As GCC: the pacer drains a frame's burst faster than the target, so it never becomes the bottleneck. */
export const PACING_FACTOR = 2.5
/** The pacer never runs slower than this, whatever the estimate: audio and a small key frame must pass. */
export const MIN_PACING_BPS = 100_000
export const TARGET_STEP = 0.05
export const TARGET_HEARTBEAT_MS = 2000
const TICK_MS = 250
const RTT_EVERY_MS = 2000
/** What a packet adds on the wire to its RTP payload: header 12, transport-wide extension 8, SRTP tag 10. */
export const WIRE_OVERHEAD_BYTES = 30
/**
 * The one target a far end that does not agree to the extension gets (no estimate will ever come): what
 * the app sent before there were estimates, 800 kbit/s of VP8 and 32 kbit/s of Opus with their packets'
 * overhead (the renderer's split, renderer/logic/sendLadder.ts). Until a first target the renderer sends
 * at the estimate's start value, and would stay there.
 */
export const UNESTIMATED_TARGET_BPS = 870_000
/** Probe packets: an unnegotiated payload type on an SSRC no m-line names (see `sendProbePacket`). */
const PROBE_PAYLOAD_TYPE = 127

export interface SendControlDeps {
  pc: RTCPeerConnection
  /** The screen's is absent where nothing shares a screen (tests). */
  senders: Record<'audio' | 'video', RTCRtpTransceiver> & { screen?: RTCRtpTransceiver }
  clock: Clock
  logger: EngineLogger
  setPacingRate(bps: number): void
  /** The send target moved (or the heartbeat): what the encoders should aim at. */
  target(target: SendTarget): void
  estimator?: Partial<EstimatorOptions>
}

export class SendControl {
  private readonly estimator: BandwidthEstimator
  private readonly history = new SendHistory(randomInt(0, 0x10000))
  private readonly probes: ProbeSender
  private readonly ids: Partial<Record<MediaKind, number>> = {}
  private readonly offFeedback: () => void
  private readonly probeSsrc = randomInt(1, 0xffffffff)
  private probeSequence = 0
  private lastTarget: { bps: number; atMs: number } | null = null
  private lastRttAtMs = -Infinity
  private rttMs: number | undefined
  private timer: unknown
  private closed = false
  private unestimated = false
  /** Reports used, probe clusters started and probe packets sent (logged at close). */
  readonly counts = { feedback: 0, probes: 0, probePackets: 0 }

  constructor(private readonly deps: SendControlDeps) {
    this.estimator = new BandwidthEstimator(deps.estimator)
    this.probes = new ProbeSender(deps.clock, (id, bytes) => this.sendProbePacket(id, bytes))
    this.offFeedback = onTwccFeedback(deps.pc, (feedback) => this.onFeedback(feedback))
    this.schedule()
  }

  /** What the pacer and the encoders aim at now, bit/s. */
  targetBps(): number {
    return this.estimator.targetBitrate()
  }

  /**
   * Writes the next transport-wide sequence number into a packet about to go to werift and records its
   * send time (now) and size. Before the extension is negotiated there is nothing to write.
   */
  stamp(kind: MediaKind, packet: RtpPacket): void {
    const sender = this.deps.senders[kind]
    const id = sender && (this.ids[kind] ??= twccExtensionId(sender))
    if (id === undefined) return
    const size = packet.payload.length + WIRE_OVERHEAD_BYTES
    writeTwccSequence(packet, id, this.history.add(this.deps.clock.now(), size))
  }

  /** Whether the offer and answer are both applied: negotiated() says then what the far end agreed to. */
  private answered(): boolean {
    return this.deps.pc.signalingState === 'stable' && this.deps.pc.remoteDescription !== null
  }

  /** Whether the far end agreed to transport-wide sequence numbers (on video; audio's agree with it). */
  private negotiated(): boolean {
    return (this.ids.video ??= twccExtensionId(this.deps.senders.video)) !== undefined
  }

  close(): void {
    if (this.closed) return
    this.deps.logger.debug({ ...this.counts, targetBps: this.targetBps() }, 'send control closed')
    this.closed = true
    this.probes.stop()
    this.offFeedback()
    this.deps.clock.clearTimeout(this.timer)
  }

  private onFeedback(feedback: TwccFeedback): void {
    if (this.closed) return
    const report = this.history.onFeedback(feedback)
    if (report.packets.length === 0) return
    this.counts.feedback++
    const now = this.deps.clock.now()
    this.estimator.onFeedback(report, now)
    this.deps.setPacingRate(pacingRate(this.estimator.targetBitrate()))
    this.publish(now, false)
    const probe = this.estimator.probe(now)
    if (probe !== null) {
      this.counts.probes++
      this.deps.logger.debug({ probe }, 'bandwidth probe')
      this.probes.start(probe)
    }
  }

  /** The target to the caller when it moved enough, when the heartbeat is due, or when `force`d. */
  private publish(now: number, force: boolean): void {
    const bps = Math.round(this.estimator.targetBitrate())
    const last = this.lastTarget
    const moved = last === null || Math.abs(bps - last.bps) > TARGET_STEP * last.bps
    if (!force && !moved && now - last!.atMs < TARGET_HEARTBEAT_MS) return
    this.lastTarget = { bps, atMs: now }
    const lossFraction = Math.round(this.estimator.snapshot().loss * 10_000) / 10_000
    this.deps.target({
      bitrateBps: bps,
      lossFraction,
      ...(this.rttMs === undefined ? {} : { rttMs: Math.round(this.rttMs) }),
    })
  }

  private schedule(): void {
    this.timer = this.deps.clock.setTimeout(() => {
      if (this.closed) return
      const now = this.deps.clock.now()
      if (this.lastTarget === null && !this.negotiated()) {
        if (!this.unestimated && this.answered()) {
          this.unestimated = true
          this.deps.target({ bitrateBps: UNESTIMATED_TARGET_BPS, lossFraction: 0 })
        }
        return this.schedule()
      }
      if (this.lastTarget === null) this.deps.setPacingRate(pacingRate(this.estimator.targetBitrate()))
      this.publish(now, this.lastTarget === null)
      if (now - this.lastRttAtMs >= RTT_EVERY_MS) {
        this.lastRttAtMs = now
        void this.measureRtt()
      }
      this.schedule()
    }, TICK_MS)
  }

  /** The RTCP round trip werift measured for our video (else audio) stream, into the estimator. */
  private async measureRtt(): Promise<void> {
    for (const kind of ['video', 'audio'] as const) {
      const stats = await this.deps.senders[kind].sender.getStats().catch(() => undefined)
      const rtt = stats ? fromWeriftStats(stats.values()).rtcpRttMs : undefined
      if (rtt === undefined || this.closed) continue
      this.rttMs = rtt
      this.estimator.onRtt(rtt)
      return
    }
  }

  /**
   * One probe packet. Probes are padding, not media: an SSRC that no m-line names, so the far end's
   * transport-wide feedback counts them (it reads every packet the transport decrypts) while werift's
   * router finds no receiver and drops them; nothing is forwarded, no stream's sequence numbers move, and
   * no media is sent twice (duplicates would reach every subscriber through the conference server).
   */
  private sendProbePacket(probeId: number, bytes: number): void {
    const dtls = this.deps.senders.video.sender.dtlsTransport
    const id = (this.ids.video ??= twccExtensionId(this.deps.senders.video))
    if (this.closed || id === undefined || dtls.state !== 'connected') return
    const header = new RtpHeader({
      ssrc: this.probeSsrc,
      payloadType: PROBE_PAYLOAD_TYPE,
      sequenceNumber: this.probeSequence++ & 0xffff,
      timestamp: 0,
    })
    const packet = new RtpPacket(header, Buffer.alloc(Math.max(1, bytes - WIRE_OVERHEAD_BYTES)))
    writeTwccSequence(packet, id, this.history.add(this.deps.clock.now(), bytes, probeId))
    this.counts.probePackets++
    dtls.sendRtp(packet.payload, packet.header).catch(() => undefined)
  }
}

export function pacingRate(targetBps: number): number {
  return Math.max(MIN_PACING_BPS, PACING_FACTOR * targetBps)
}
