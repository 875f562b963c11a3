/**
 * bench:cluster's receiver reports: one RTCP receiver report a second per participant with a block for each
 * stream it receives, as a browser sends them (one compound per transport), in place of werift's one report
 * per received stream, each with its own timer, promise chain and encryption — the largest part of what a
 * generator spent per participant once its media path was native (docs/scaling.md "Workers"). The blocks
 * carry what the participant really received (RFC 3550 §6.4.1, A.3: highest sequence, cumulative and
 * interval loss, from the headers HeaderCounter reads), where werift's, which saw only each stream's first
 * packet, reported none. Jitter is not measured (0); LSR and DLSR come from the node's sender reports, which
 * werift still receives.
 */
import { RtcpReceiverInfo, RtcpRrPacket } from 'werift'
import type { TestClient } from '../../e2e/sfu/client'
import type { HeaderCounter } from './cheapMedia'
import { every } from './ticker'

/** One received stream's counts in the receiver's own sequence numbers (extended to 32 bits). */
export interface Reception {
  base: number
  highest: number
  received: number
  expectedPrior: number
  receivedPrior: number
}

/** Counts a packet with 16-bit sequence number `seq` into `reception` (a new one for the first). */
export function receive(reception: Reception | undefined, seq: number): Reception {
  if (!reception) return { base: seq, highest: seq, received: 1, expectedPrior: 0, receivedPrior: 0 }
  const ahead = (seq - reception.highest) & 0xffff
  if (ahead !== 0 && ahead < 0x8000) reception.highest += ahead // newer (an older one is out of order)
  reception.received++
  return reception
}

/** The report block's loss fields for the interval since the last call (RFC 3550 A.3). */
export function lossSince(reception: Reception): {
  fractionLost: number
  packetsLost: number
  highestSequence: number
} {
  const expected = reception.highest - reception.base + 1
  const expectedInterval = expected - reception.expectedPrior
  const lostInterval = expectedInterval - (reception.received - reception.receivedPrior)
  reception.expectedPrior = expected
  reception.receivedPrior = reception.received
  return {
    fractionLost:
      expectedInterval <= 0 || lostInterval <= 0
        ? 0
        : Math.min(255, Math.floor((lostInterval * 256) / expectedInterval)),
    packetsLost: Math.min(0x7fffff, Math.max(0, expected - reception.received)),
    highestSequence: reception.highest >>> 0,
  }
}

/** werift's (0.25) receiver fields used here: its report loop, and what it keeps of the sender reports. */
interface ReceiverInternals {
  rtcpSsrc: number
  rtcpRunning: boolean
  rtcpCancel: AbortController
  runRtcp: () => Promise<void>
  lastSRtimestamp: Record<number, number>
  receiveLastSRTimestamp: Record<number, number>
}

/**
 * Replaces the client's per-stream receiver reports by one a second from `counter`'s counts (`send` false:
 * the addon sends them, nativePublisher.ts; werift's loops are silenced all the same); returns stop.
 */
export function startReceiverReports(client: TestClient, counter: HeaderCounter, send = true): () => void {
  const quiet = new WeakSet<object>()
  const receivers = (): ReceiverInternals[] => {
    const all = client.pc.getTransceivers().map((t) => t.receiver as unknown as ReceiverInternals)
    for (const receiver of all) {
      if (quiet.has(receiver)) continue
      quiet.add(receiver)
      // werift restarts its loop on each RTP packet it handles (a stream's first): make that a no-op.
      receiver.runRtcp = () => Promise.resolve()
      receiver.rtcpRunning = false
      receiver.rtcpCancel.abort()
    }
    return all
  }
  receivers()
  const job = every(1000, () => {
    const all = receivers()
    if (!send) return
    const rtcpSsrc = all[0]?.rtcpSsrc
    const dtls = client.pc.dtlsTransports[0]
    if (rtcpSsrc === undefined || !dtls) return
    const now = Date.now() / 1000
    const native = counter.senderReports()?.bySsrc
    const reports = [...counter.receptions()].slice(0, 31).map(([ssrc, reception]) => {
      const { lsr, received } = lastSenderReport(all, native, ssrc)
      return new RtcpReceiverInfo({
        ssrc,
        ...lossSince(reception),
        jitter: 0,
        lsr,
        dlsr: received === undefined ? 0 : Math.max(0, Math.floor((now - received) * 65536)),
      })
    })
    if (reports.length > 0) dtls.sendRtcp([new RtcpRrPacket({ ssrc: rtcpSsrc, reports })]).catch(() => {})
  })
  return () => {
    job.stopped = true
  }
}

/** The node's last sender report of `ssrc` (LSR, arrival in Unix seconds): from the addon, else werift's. */
function lastSenderReport(
  receivers: readonly ReceiverInternals[],
  native: ReadonlyMap<number, { lsr: number; arrivalUnixMs: number }> | undefined,
  ssrc: number,
): { lsr: number; received: number | undefined } {
  const seen = native?.get(ssrc)
  if (seen) return { lsr: seen.lsr, received: seen.arrivalUnixMs / 1000 }
  const sr = receivers.find((r) => r.lastSRtimestamp[ssrc] !== undefined)
  return { lsr: sr?.lastSRtimestamp[ssrc] ?? 0, received: sr?.receiveLastSRTimestamp[ssrc] }
}
