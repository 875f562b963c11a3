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
 * - The bitrate is 32 kbit/s while the estimate reaches 64 kbit/s, lower in steps below it. libopus adds
 *   LBRR only above ~18 kbit/s at 10 % expected loss, so the lowest step gives up FEC in practice.
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
    const next: OpusSettings = {
      bitrate: bitrateFor(budget),
      fec,
      packetLossPerc: fec ? lossStep(worstLoss) : 0,
      dtx: true,
    }
    if (sameSettings(next, this.settings)) return null
    const fecChanged = next.fec !== this.settings.fec
    if (!fecChanged && nowMs - this.lastSwitchMs < OPUS_POLICY.minSwitchIntervalMs) return null
    this.settings = next
    this.lastSwitchMs = nowMs
    return next
  }
}

function sameSettings(a: OpusSettings, b: OpusSettings): boolean {
  return (
    a.bitrate === b.bitrate && a.fec === b.fec && a.packetLossPerc === b.packetLossPerc && a.dtx === b.dtx
  )
}
