import type { SendTarget } from '../../shared/mediaPort'

/**
 * How the microphone's Opus encoder follows the engine's send target (docs/media.md "Audio: FEC, DTX,
 * concealment"). Pure, with injected time; media/audioSender.ts applies what it returns.
 *
 * The engine's figures jump from report to report (at 5 % random loss the reported loss ran 0–19 % and the
 * estimate 30–300 kbit/s, audio only), so the policy looks at the worst loss and the highest estimate of the
 * last `windowMs`: the link carried that much recently (an audio-only call never asks for more, so its
 * estimate stays near what it sends), and it lost that much.
 *
 * - In-band FEC (LBRR: each packet carries a low-bitrate copy of the previous frame) goes on when that loss
 *   exceeds 1 %, and off when it is under 0.5 % — so only after 10 s without loss. `packetlossperc`
 *   (libopus's expected loss, which sizes the LBRR copy) is the loss rounded up to a step of LOSS_STEPS.
 * - DTX is always on: in silence the encoder stops sending after ~200 ms.
 * - The bitrate is 32 kbit/s while the estimate reaches 64 kbit/s, lower in steps below it.
 * - FEC on must mean LBRR in the packets, and libopus codes none in two cases (its `decide_fec`; measured in
 *   Chromium 156, e2e/media/opusFec.test.ts): below 32 kbit/s (28 measured) it has no room for the copy at
 *   the fullband it picks for 'voice', and it narrows the band to make room only when the expected loss is over 5 %; at
 *   16 kbit/s there is no room at any band. So with FEC on, below 32 kbit/s the expected loss is at least
 *   10 % (FEC_NARROW_LOSS) and the bitrate at least 20 kbit/s (FEC_MIN_BITRATE). Before, 24 kbit/s at an
 *   expected 2 or 5 % — an audio-only call's estimate sits near 64 kbit/s — sent FEC-on packets without it.
 * - Chromium's AudioEncoder ignores new `opus` options on `configure()` and reorders its output when the
 *   bitrate changes there (measured, Chromium 156), so each change means a fresh encoder, and a switch can
 *   cost a short hiccup: a change other than FEC on/off waits `minSwitchIntervalMs` after the last one.
 */

export interface OpusSettings {
  bitrate: number
  fec: boolean
  /** libopus's expected packet loss, percent; 0 with FEC off. */
  packetLossPerc: number
  dtx: boolean
}

export const OPUS_START: OpusSettings = { bitrate: 32_000, fec: false, packetLossPerc: 0, dtx: true }

export const OPUS_POLICY = {
  windowMs: 10_000,
  fecOnLoss: 0.01,
  fecOffLoss: 0.005,
  minSwitchIntervalMs: 10_000,
} as const

/** With FEC on: the lowest bitrate at which libopus codes LBRR (at FEC_NARROW_LOSS). */
export const FEC_MIN_BITRATE = 20_000
/** With FEC on below FEC_FULLBAND_BITRATE: the expected loss, percent, at which libopus narrows its band for LBRR. */
export const FEC_NARROW_LOSS = 10
/** The bitrate from which libopus codes LBRR at its fullband, whatever the expected loss. */
export const FEC_FULLBAND_BITRATE = 32_000

/** Expected-loss steps, percent (libopus accepts 0..100; beyond 30 % a call is lost anyway). */
export const LOSS_STEPS = [2, 5, 10, 20, 30] as const

/** Bitrate by whole media budget: the first row whose budget the target reaches. */
export const BITRATE_STEPS: readonly { budgetBps: number; bitrate: number }[] = [
  { budgetBps: 64_000, bitrate: 32_000 },
  { budgetBps: 40_000, bitrate: 24_000 },
  { budgetBps: 0, bitrate: 16_000 },
]

export function lossStep(lossFraction: number): number {
  const percent = lossFraction * 100
  return LOSS_STEPS.find((step) => percent <= step) ?? LOSS_STEPS[LOSS_STEPS.length - 1]!
}

export function bitrateFor(budgetBps: number): number {
  return (BITRATE_STEPS.find((row) => budgetBps >= row.budgetBps) ?? BITRATE_STEPS[BITRATE_STEPS.length - 1]!)
    .bitrate
}

export class OpusPolicy {
  private settings: OpusSettings = OPUS_START
  private lastSwitchMs = -Infinity
  /** The reports of the last `windowMs`, oldest first. */
  private recent: { ms: number; bps: number; loss: number }[] = []

  get current(): OpusSettings {
    return this.settings
  }

  /** The settings to switch the encoder to now, or null to keep the running one. */
  update(target: SendTarget, nowMs: number): OpusSettings | null {
    const loss = Number.isFinite(target.lossFraction) ? Math.min(Math.max(target.lossFraction, 0), 1) : 0
    const bps = Number.isFinite(target.bitrateBps) ? target.bitrateBps : 0
    this.recent = this.recent.filter((r) => nowMs - r.ms < OPUS_POLICY.windowMs)
    this.recent.push({ ms: nowMs, bps, loss })
    const worstLoss = Math.max(...this.recent.map((r) => r.loss))
    const budget = Math.max(...this.recent.map((r) => r.bps))
    const fec =
      worstLoss > OPUS_POLICY.fecOnLoss || (this.settings.fec && worstLoss >= OPUS_POLICY.fecOffLoss)
    const next = fec ? withFec(bitrateFor(budget), lossStep(worstLoss)) : noFec(bitrateFor(budget))
    if (sameSettings(next, this.settings)) return null
    const fecChanged = next.fec !== this.settings.fec
    if (!fecChanged && nowMs - this.lastSwitchMs < OPUS_POLICY.minSwitchIntervalMs) return null
    this.settings = next
    this.lastSwitchMs = nowMs
    return next
  }
}

/**
 * The `opus` options of WebCodecs' AudioEncoderConfig for these settings (media/audioSender.ts). 'voice'
 * keeps libopus in SILK/hybrid mode, the modes that carry FEC (a tone would otherwise go CELT).
 */
export function opusOptions(settings: OpusSettings, frameUs: number) {
  return {
    frameDuration: frameUs,
    application: 'voip' as const,
    signal: 'voice' as const,
    useinbandfec: settings.fec,
    usedtx: settings.dtx,
    packetlossperc: settings.packetLossPerc,
  }
}

/** Settings with FEC on that libopus honours (see the comment at the top). */
function withFec(bitrate: number, expectedLoss: number): OpusSettings {
  const narrow = bitrate < FEC_FULLBAND_BITRATE
  return {
    bitrate: Math.max(bitrate, FEC_MIN_BITRATE),
    fec: true,
    packetLossPerc: narrow ? Math.max(expectedLoss, FEC_NARROW_LOSS) : expectedLoss,
    dtx: true,
  }
}

function noFec(bitrate: number): OpusSettings {
  return { bitrate, fec: false, packetLossPerc: 0, dtx: true }
}

function sameSettings(a: OpusSettings, b: OpusSettings): boolean {
  return (
    a.bitrate === b.bitrate && a.fec === b.fec && a.packetLossPerc === b.packetLossPerc && a.dtx === b.dtx
  )
}
