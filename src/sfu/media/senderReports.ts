import {
  RtcpSenderInfo,
  RtcpSourceDescriptionPacket,
  RtcpSrPacket,
  SourceDescriptionChunk,
  SourceDescriptionItem,
  type RtcpPacket,
} from 'werift'

/**
 * The conference server's RTCP sender reports (docs/sfu.md "Forwarding cost"): one timer for every sender
 * of the node, one compound packet per subscriber transport.
 *
 * werift runs a loop per RTCRtpSender from its first packet: an awaited `timers/promises` timeout with an
 * AbortSignal every 0.5–1.5 s, then a sender report and a CNAME, encrypted and sent on their own. A
 * subscriber has two senders (audio, video) per publisher it receives, so the server ran two loops, two
 * SRTCP encryptions and two datagrams a second per subscription. Here a sender is taken over before its
 * first packet (`rtcpRunning` set, so werift's loop never starts); one timer ticks every 100 ms, and each
 * transport whose turn has come gets one compound (RFC 3550 §6.1; several SSRCs in one compound as RFC 8108
 * §5.3 describes): the reports of its senders that have sent, then their CNAMEs, werift's fields as werift
 * fills them, encrypted and sent by werift's transport (`sendRtcp`). A transport's turn comes back after
 * 0.5–1.5 s, werift's interval; a compound that would outgrow a datagram is split. werift's sender reads
 * `lastSRtimestamp` and `lastSentSRTimestamp` (set here as werift sets them) to measure the round trip from
 * the subscriber's reports, which the downlink estimate uses.
 */

/** The werift (0.25) RTCRtpSender fields a report is made of (private in its typings). */
export interface ReportedSender {
  readonly ssrc: number
  readonly stopped: boolean
  rtcpRunning: boolean
  cname?: string
  ntpTimestamp: bigint
  rtpTimestamp: number
  packetCount: number
  octetCount: number
  lastSRtimestamp?: number
  lastSentSRTimestamp?: number
}

/** werift's DTLS transport, as far as reports go. */
export interface ReportingTransport {
  readonly state: string
  sendRtcp(packets: RtcpPacket[]): Promise<unknown>
}

const MIN_INTERVAL_MS = 500
const SPREAD_MS = 1000
const TICK_MS = 100
/** A compound's bytes before SRTCP's 20 (tag and index): well inside one datagram. */
const MAX_COMPOUND_BYTES = 1000
const SR_BYTES = 28
/** RFC 3550 §6.5: SDES type 1. */
const CNAME = 1

interface Entry {
  due: number
  readonly senders: Set<ReportedSender>
}

export class SenderReports {
  private readonly transports = new Map<ReportingTransport, Entry>()
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly now: () => number = () => performance.now(),
    private readonly random: () => number = Math.random,
  ) {}

  /** Transports with senders reported here (tests). */
  get size(): number {
    return this.transports.size
  }

  /**
   * Reports `sender` on `transport` from now on instead of werift's loop for it. Call it before the sender's
   * first packet (werift starts its loop there); a stopped sender is dropped at the next turn.
   */
  add(sender: ReportedSender, transport: ReportingTransport): void {
    if (sender.stopped || sender.rtcpRunning) return
    sender.rtcpRunning = true
    let entry = this.transports.get(transport)
    if (!entry) {
      entry = { due: this.nextDue(), senders: new Set() }
      this.transports.set(transport, entry)
    }
    entry.senders.add(sender)
    this.timer ??= setInterval(() => this.tick(), TICK_MS).unref()
  }

  /** Sends every compound that is due (the timer's work; tests call it too). */
  tick(): void {
    const now = this.now()
    for (const [transport, entry] of this.transports) {
      for (const sender of entry.senders) if (sender.stopped) entry.senders.delete(sender)
      if (entry.senders.size === 0 || transport.state === 'closed' || transport.state === 'failed') {
        this.transports.delete(transport)
        continue
      }
      if (entry.due > now) continue
      entry.due = this.nextDue(now)
      if (transport.state === 'connected') report(transport, entry.senders)
    }
    if (this.transports.size === 0 && this.timer) {
      clearInterval(this.timer)
      this.timer = undefined
    }
  }

  private nextDue(now = this.now()): number {
    return now + MIN_INTERVAL_MS + this.random() * SPREAD_MS
  }
}

/** The node's reports: every RtpOut's senders. */
export const nodeSenderReports = new SenderReports()

function report(transport: ReportingTransport, senders: Set<ReportedSender>): void {
  const at = Date.now() / 1000
  let reports: RtcpPacket[] = []
  let names: RtcpPacket[] = []
  let bytes = 0
  const flush = () => {
    if (reports.length === 0) return
    transport.sendRtcp([...reports, ...names]).catch(() => undefined)
    reports = []
    names = []
    bytes = 0
  }
  for (const sender of senders) {
    // werift's loop starts with the first packet: nothing to report before.
    if (sender.packetCount === 0 && sender.octetCount === 0) continue
    const name = sender.cname ? cnamePacket(sender.ssrc, sender.cname) : undefined
    const size = SR_BYTES + (name ? 4 + name.chunks[0]!.length : 0)
    if (bytes + size > MAX_COMPOUND_BYTES) flush()
    const { ssrc, ntpTimestamp, rtpTimestamp, packetCount, octetCount } = sender
    const senderInfo = new RtcpSenderInfo({ ntpTimestamp, rtpTimestamp, packetCount, octetCount })
    reports.push(new RtcpSrPacket({ ssrc, senderInfo }))
    if (name) names.push(name)
    bytes += size
    sender.lastSRtimestamp = compactNtp(ntpTimestamp)
    sender.lastSentSRTimestamp = at
  }
  flush()
}

/** The middle 32 bits of an NTP timestamp (RFC 3550 §6.4.1 LSR), as werift's `compactNtp` without its buffers. */
function compactNtp(ntp: bigint): number {
  return Number((ntp >> 16n) & 0xffffffffn)
}

/** One SDES packet per sender, one chunk each, as werift sends it. */
function cnamePacket(source: number, text: string): RtcpSourceDescriptionPacket {
  const item = new SourceDescriptionItem({ type: CNAME, text })
  return new RtcpSourceDescriptionPacket({ chunks: [new SourceDescriptionChunk({ source, items: [item] })] })
}
