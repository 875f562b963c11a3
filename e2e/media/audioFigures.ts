import { longestQuietRun, type AudioTap, type TappedPacket } from './audioTap'
import { hasLbrr, parseToc, silkFlags } from './opusPacket'

/** What e2e/media/audioLoss.test.ts reads from the taps of the two pages (audioTap.ts). */

/** A played 10 ms block quieter than this is silence (the tone plays at ~0.05–0.2 RMS, a dropout at 0). */
export const SILENCE_RMS = 0.003
export const BLOCK_MS = 10

const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / Math.max(values.length, 1)

/**
 * How many packets could carry FEC, and how many do: libopus codes an LBRR copy of a frame only when its VAD
 * called the frame active, so a packet counts when the packet 20 ms before it is there and was active.
 */
export function fecCarried(packets: TappedPacket[]): { eligible: number; carried: number } {
  let eligible = 0
  let carried = 0
  for (let i = 1; i < packets.length; i++) {
    const previous = silkFlags(Uint8Array.from(packets[i - 1]!.head))
    const step = packets[i]!.timestampUs - packets[i - 1]!.timestampUs
    if (!previous?.vad[0] || Math.abs(step - 20_000) > 1000) continue
    eligible++
    if (hasLbrr(Uint8Array.from(packets[i]!.head))) carried++
  }
  return { eligible, carried }
}

export const fecShare = (packets: TappedPacket[]): number => {
  const { eligible, carried } = fecCarried(packets)
  return eligible < 5 ? 0 : carried / eligible
}

/** Frames missing between consecutive timestamps (20 ms frames), gaps longer than 120 ms left out (DTX). */
export function missingFrames(packets: TappedPacket[]): number {
  let missing = 0
  for (let i = 1; i < packets.length; i++) {
    const frames = Math.round((packets[i]!.timestampUs - packets[i - 1]!.timestampUs) / 20_000) - 1
    if (frames > 0 && frames <= 6) missing += frames
  }
  return missing
}

/** The steps between consecutive packets' timestamps, ms (a steady tone: no DTX pause). */
export function frameSteps(packets: TappedPacket[]): number[] {
  return packets.slice(1).map((p, i) => Math.round((p.timestampUs - packets[i]!.timestampUs) / 100) / 10)
}

/** The `n` packets either side of the first one carrying LBRR (empty if none does). */
export function aroundFirstLbrr(packets: TappedPacket[], n: number): TappedPacket[] {
  const first = packets.findIndex((p) => hasLbrr(Uint8Array.from(p.head)))
  return first < 0 ? [] : packets.slice(Math.max(0, first - n), first + n + 1)
}

/** The longest pause between two packets a page sent, ms. */
export function longestGapMs(tap: AudioTap): number {
  let longest = 0
  for (let i = 1; i < tap.sent.length; i++) longest = Math.max(longest, tap.sent[i]!.at - tap.sent[i - 1]!.at)
  return Math.round(longest)
}

export interface LossRun {
  /** A's tap before the loss. */
  clean: AudioTap
  lossyA: AudioTap
  lossyB: AudioTap
  /** B's uid for A. */
  uidA: number
}

/** The figures the test asserts on and prints. */
export function lossFigures({ clean, lossyA, lossyB, uidA }: LossRun) {
  const fromA = lossyB.received.filter((p) => p.uid === uidA)
  const missing = missingFrames(fromA)
  const first = lossyB.reports[0]
  const last = lossyB.reports[lossyB.reports.length - 1]
  const delta = (key: 'concealedSamples' | 'receivedSamples' | 'concealmentEvents' | 'underruns'): number =>
    (last?.[key] ?? 0) - (first?.[key] ?? 0)
  const concealedSamples = delta('concealedSamples')
  return {
    missingFrames: missing,
    framesFromA: fromA.length,
    fecCleanSent: fecCarried(clean.sent),
    fecReceived: fecCarried(fromA),
    modesReceived: [...new Set(fromA.map((p) => parseToc(Uint8Array.from(p.head)).mode))],
    meanBytesClean: mean(clean.sent.map((p) => p.bytes)),
    meanBytesFec: mean(lossyA.sent.map((p) => p.bytes)),
    concealedSamples,
    concealedRatio: concealedSamples / Math.max(concealedSamples + delta('receivedSamples'), 1),
    concealmentEvents: delta('concealmentEvents'),
    underruns: delta('underruns'),
    longestSilenceMs: longestQuietRun(lossyB.played, SILENCE_RMS) * BLOCK_MS,
    playedBlocks: lossyB.played.length,
    sentA: lossyA.sent.length,
    sentB: lossyB.sent.length,
    longestGapB: longestGapMs(lossyB),
  }
}
