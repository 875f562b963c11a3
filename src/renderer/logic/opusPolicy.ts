import type { SendTarget } from '../../shared/mediaPort'

/**
 * How the microphone's Opus encoder follows the engine's send target (docs/media.md "Audio: FEC, DTX,
 * concealment"). Pure, with injected time; media/audioSender.ts applies what it returns.
 *
 * - In-band FEC (LBRR: each packet carries a low-bitrate copy of the previous frame) goes on when the reported
 *   loss exceeds 1 %, and off only after the loss has stayed under 0.5 % for `fecOffAfterMs`: one clean
 *   report after a lossy stretch is not a clean link. `packetlossperc` (libopus's expected loss, which sizes
 *   the LBRR copy and, above a few percent, keeps the encoder in SILK or hybrid mode where LBRR exists) is
 *   the loss rounded up to a step of LOSS_STEPS.
 * - DTX is always on: in silence the encoder stops sending after ~200 ms.
 * - The bitrate is 32 kbit/s while the whole media budget allows, lower in steps below it: audio is the
 *   last thing a call should lose.
 * - Chromium's AudioEncoder ignores new `opus` options on `configure()` and reorders its output when the
 *   bitrate changes there (measured, Chromium 156), so each change means a fresh encoder, and a fresh encoder
 *   costs a few milliseconds of audio at the switch: a change other than FEC on/off waits until
 *   `minSwitchIntervalMs` has passed since the last one.
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
  fecOnLoss: 0.01,
  fecOffLoss: 0.005,
  fecOffAfterMs: 10_000,
  minSwitchIntervalMs: 5_000,
} as const

/** Expected-loss steps, percent (libopus accepts 0..100; beyond 30 % a call is lost anyway). */
export const LOSS_STEPS = [2, 5, 10, 20, 30] as const

/** Bitrate by whole media budget: the first row whose budget the target reaches. */
export const BITRATE_STEPS: readonly { budgetBps: number; bitrate: number }[] = [
  { budgetBps: 150_000, bitrate: 32_000 },
  { budgetBps: 80_000, bitrate: 24_000 },
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
  /** Since when the loss has been under the off threshold (FEC on only). */
  private quietSinceMs: number | undefined

  get current(): OpusSettings {
    return this.settings
  }

  /** The settings to switch the encoder to now, or null to keep the running one. */
  update(target: SendTarget, nowMs: number): OpusSettings | null {
    const loss = Number.isFinite(target.lossFraction) ? Math.min(Math.max(target.lossFraction, 0), 1) : 0
    const fec = this.wantFec(loss, nowMs)
    const next: OpusSettings = {
      bitrate: bitrateFor(target.bitrateBps),
      fec,
      packetLossPerc: fec ? lossStep(loss) : 0,
      dtx: true,
    }
    if (sameSettings(next, this.settings)) return null
    const fecChanged = next.fec !== this.settings.fec
    if (!fecChanged && nowMs - this.lastSwitchMs < OPUS_POLICY.minSwitchIntervalMs) return null
    this.settings = next
    this.lastSwitchMs = nowMs
    if (fecChanged) this.quietSinceMs = undefined
    return next
  }

  private wantFec(loss: number, nowMs: number): boolean {
    if (!this.settings.fec) return loss > OPUS_POLICY.fecOnLoss
    if (loss >= OPUS_POLICY.fecOffLoss) {
      this.quietSinceMs = undefined
      return true
    }
    this.quietSinceMs ??= nowMs
    return nowMs - this.quietSinceMs < OPUS_POLICY.fecOffAfterMs
  }
}

function sameSettings(a: OpusSettings, b: OpusSettings): boolean {
  return (
    a.bitrate === b.bitrate && a.fec === b.fec && a.packetLossPerc === b.packetLossPerc && a.dtx === b.dtx
  )
}
