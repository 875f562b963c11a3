/**
 * The queue on one participant's uplink, as the conference server sees it from that participant's own audio
 * (docs/sfu.md "The round trip's two halves"). Pure: time comes in.
 *
 * Why: a subscriber's downlink estimate (downlink.ts) reads a queue from the RTCP round trip, server →
 * subscriber → server, and the return half of that round trip is the subscriber's **uplink**. A subscriber
 * that also publishes over a full uplink (bench:network's `step`: 400 kbit/s both ways, its own camera
 * filling the way up) shows a round trip 110–180 ms above its floor with an empty downlink, which read as a
 * downlink queue held its estimate where the drop had set it, and so its layer, for the rest of the stretch.
 *
 * How: an audio packet's RTP timestamp is its capture time on the sender's sample clock (Opus: 48 kHz), so
 * arrival time − timestamp is the one-way delay plus a constant (the two clocks' offset): its floor is the
 * path without a queue, and what a packet has above the floor is the queue it met (and the sender's own
 * delays before it sent: encoding, its pacer; those make the figure larger, never smaller). The least over
 * the last `WINDOW_MS` is taken, so one packet the sender's page sent late does not count as a queue. The
 * floor rises `FLOOR_RISE_MS_PER_S` so that the clocks' drift does not build up; a jump of more than
 * `RESET_MS` is a new timeline (a restarted encoder), not a queue, and the floor starts again there.
 * No packet within the window (muted, video only): 0, nothing known, nothing taken off the round trip.
 */

const DEFAULT_CLOCK_RATE = 48_000
const WINDOW_MS = 500
const FLOOR_RISE_MS_PER_S = 1
const RESET_MS = 2000
const WRAP = 2 ** 32

export class UplinkQueue {
  private lastTimestamp: number | undefined
  /** The RTP timestamp unwrapped (32-bit wrap every 24.9 h at 48 kHz). */
  private extended = 0
  private floorMs = Number.POSITIVE_INFINITY
  private floorAt: number | undefined
  /** Recent packets: arrival ms and delay above the floor's base (arrival − capture), oldest first. */
  private readonly recent: { at: number; delayMs: number }[] = []

  constructor(private readonly clockRate = DEFAULT_CLOCK_RATE) {}

  /** One packet of the participant's audio: its RTP timestamp and when it arrived (ms). */
  onPacket(rtpTimestamp: number, arrivalMs: number): void {
    if (this.lastTimestamp === undefined) this.extended = rtpTimestamp
    else {
      let step = (rtpTimestamp - this.lastTimestamp) % WRAP
      if (step > WRAP / 2) step -= WRAP
      else if (step < -WRAP / 2) step += WRAP
      this.extended += step
    }
    this.lastTimestamp = rtpTimestamp
    const delayMs = arrivalMs - (this.extended * 1000) / this.clockRate
    const rise = this.floorAt === undefined ? 0 : ((arrivalMs - this.floorAt) / 1000) * FLOOR_RISE_MS_PER_S
    this.floorAt = arrivalMs
    this.floorMs = Math.min(this.floorMs + rise, delayMs)
    if (delayMs - this.floorMs > RESET_MS) {
      this.floorMs = delayMs
      this.recent.length = 0
    }
    this.recent.push({ at: arrivalMs, delayMs })
    while (this.recent.length > 0 && this.recent[0]!.at <= arrivalMs - WINDOW_MS) this.recent.shift()
  }

  /** ms the participant's packets queue on the way up now (the least of the last `WINDOW_MS`); 0 when none came. */
  queueMs(nowMs: number): number {
    let least = Number.POSITIVE_INFINITY
    for (const { at, delayMs } of this.recent) {
      if (at > nowMs - WINDOW_MS) least = Math.min(least, delayMs)
    }
    return least === Number.POSITIVE_INFINITY ? 0 : Math.max(0, least - this.floorMs)
  }
}
