import { GenericNack, RtcpTransportLayerFeedback, type RTCRtpSender } from 'werift'

/**
 * Retransmissions from a werift sender (the conference server's to a subscriber, the engine's to the
 * server), at most one per packet per `MIN_RETRANSMIT_INTERVAL_MS` (as libwebrtc's sender keeps one per
 * round trip). werift's sender answers every NACK with every packet it names, and a werift receiver
 * repeats its NACK of a lost packet every 5 ms, ten times: on a full link each loss became ten
 * retransmissions in 50 ms, which filled the link further (seen on the 300 kbit/s link of
 * e2e/media/layerForwarding.test.ts: more retransmissions than media, and no frame got through; and on
 * bench:network's 400 kbit/s step, where the engines' uplink carried 0.7-1.2 Mbit/s for 2 x 105 kbit/s of
 * video: ten retransmissions of each lost packet, whose overflow lost more).
 */

export const MIN_RETRANSMIT_INTERVAL_MS = 100
/** Sequence numbers remembered: well beyond what one interval can name. */
const REMEMBERED = 2048

export class RetransmitPacer {
  private readonly last = new Map<number, number>()

  /** The sequence numbers of `lost` to retransmit now. */
  allow(lost: readonly number[], nowMs: number): number[] {
    const out = lost.filter((seq) => {
      const at = this.last.get(seq)
      if (at !== undefined && nowMs - at < MIN_RETRANSMIT_INTERVAL_MS) return false
      this.last.delete(seq) // re-insert: the map stays in time order
      this.last.set(seq, nowMs)
      return true
    })
    for (const seq of this.last.keys()) {
      if (this.last.size <= REMEMBERED) break
      this.last.delete(seq)
    }
    return out
  }
}

/**
 * Lets `filter` see (and shorten) the list of every NACK `sender` receives before werift retransmits.
 * werift has no hook for it; the router calls `handleRtcpPacket` by property, so it is wrapped.
 */
export function interceptNacks(sender: RTCRtpSender, filter: (lost: number[]) => number[]): void {
  const handle = sender.handleRtcpPacket.bind(sender)
  sender.handleRtcpPacket = (packet) => {
    if (packet instanceof RtcpTransportLayerFeedback && packet.feedback instanceof GenericNack) {
      packet.feedback.lost = filter(packet.feedback.lost)
    }
    handle(packet)
  }
}
