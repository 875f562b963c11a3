/**
 * Who is speaking (issue 13 item 3): audio levels over time in, one speaker's uid out. Levels are RMS 0..1
 * per uid (uid 0 = this user), fed as often as they are measured. The choice has hysteresis so the stage
 * does not jump between two people talking over each other or at every breath:
 * - a level at or under `threshold` is silence; silence keeps the last speaker (the stage stays put
 *   while everyone listens);
 * - with no speaker yet, the first one heard above the threshold takes it at once;
 * - a challenger takes it from the speaker only after being the loudest, by `margin` times the
 *   speaker's level, for `switchMs` without a break, and not before the speaker has held it `holdMs`;
 * - a speaker who leaves (absent from the levels) is forgotten at once.
 */

export interface ActiveSpeakerOptions {
  /** RMS at or under which a participant counts as silent (room noise, a muted mic's comfort noise). */
  threshold: number
  /** How many times the speaker's level a challenger must reach. */
  margin: number
  /** How long a challenger must stay the loudest before taking over. */
  switchMs: number
  /** How long a new speaker keeps the stage whatever the others do. */
  holdMs: number
}

export const ACTIVE_SPEAKER_DEFAULTS: ActiveSpeakerOptions = {
  threshold: 0.01,
  margin: 1.5,
  switchMs: 600,
  holdMs: 1500,
}

export interface ActiveSpeaker {
  /** One measurement of everyone's level at `nowMs`; returns the speaker (null until anyone spoke). */
  update(levels: Readonly<Record<number, number>>, nowMs: number): number | null
  readonly speaker: number | null
}

export function createActiveSpeaker(options: Partial<ActiveSpeakerOptions> = {}): ActiveSpeaker {
  const o = { ...ACTIVE_SPEAKER_DEFAULTS, ...options }
  let speaker: number | null = null
  let since = 0
  let challenger: { uid: number; since: number } | null = null

  const take = (uid: number, nowMs: number): void => {
    speaker = uid
    since = nowMs
    challenger = null
  }

  return {
    get speaker() {
      return speaker
    },
    update(levels, nowMs) {
      if (speaker !== null && !(speaker in levels)) speaker = null
      const loudest = loudestOf(levels, o.threshold)
      if (loudest === null) {
        challenger = null
        return speaker
      }
      if (speaker === null) {
        take(loudest, nowMs)
        return speaker
      }
      const current = levels[speaker] ?? 0
      if (loudest === speaker || levels[loudest]! < current * o.margin) {
        challenger = null
        return speaker
      }
      if (challenger?.uid !== loudest) challenger = { uid: loudest, since: nowMs }
      if (nowMs - challenger.since >= o.switchMs && nowMs - since >= o.holdMs) take(loudest, nowMs)
      return speaker
    },
  }
}

/** The uid with the highest level above `threshold` (the lower uid on a tie); null when all are silent. */
function loudestOf(levels: Readonly<Record<number, number>>, threshold: number): number | null {
  let best: number | null = null
  let bestLevel = threshold
  for (const [key, level] of Object.entries(levels)) {
    if (level > bestLevel) {
      best = Number(key)
      bestLevel = level
    }
  }
  return best
}
