import type { LinkDirection, LinkProfile } from '../../e2e/lab/linkEmulator'

/**
 * The access-link profiles of `npm run bench:network` (docs/media.md "bench:network"). Each applies to both
 * directions of the desktops' link (lan ↔ router); RTT is split evenly, loss and jitter apply per direction.
 * Both desktops sit behind the one link, so each direction carries both participants' streams.
 */

/** A change of the link at `atS` seconds into the measurement (the `step` profile). */
export interface LinkChange {
  atS: number
  link: LinkProfile
}

export interface BenchProfile {
  name: string
  /** What the link is at the start of the warm-up. */
  link: LinkProfile
  /** Capacity each direction offers at the start (undefined: not capped). */
  capacityKbps: number | undefined
  /** UDP blocked at the router: both sides must take TLS on 443. */
  tlsOnly: boolean
  changes: LinkChange[]
  /** `step`: the low capacity, when it starts and ends (s into the measurement). */
  step?: { lowKbps: number; highKbps: number; downAtS: number; upAtS: number }
}

const both = (direction: LinkDirection): LinkProfile => ({ up: direction, down: { ...direction } })

/** RTT, rate, loss and jitter as the issue states them; the delay line gets half the RTT each way. */
function link(rttMs: number, rateKbps?: number, lossPct?: number, jitterMs?: number): LinkProfile {
  return both({
    delayMs: rttMs / 2,
    ...(rateKbps === undefined ? {} : { rateKbps }),
    ...(lossPct === undefined ? {} : { lossPct }),
    ...(jitterMs === undefined ? {} : { jitterMs }),
  })
}

/** `step` keeps a small RTT (20 ms): an office line, so the change is the rate alone. */
const STEP_RTT_MS = 20
const STEP_HIGH_KBPS = 3000
const STEP_LOW_KBPS = 400

export const PROFILE_NAMES = ['clean', 'office', 'poor', 'step', 'tls-lossy'] as const
export type ProfileName = (typeof PROFILE_NAMES)[number]

/**
 * The profiles for a measurement of `seconds`. `step` drops at a third of it and comes back 20 s later (or
 * at two thirds, when the measurement is shorter than 60 s).
 */
export function benchProfiles(seconds: number): Record<ProfileName, BenchProfile> {
  const downAtS = seconds / 3
  const upAtS = downAtS + Math.min(20, seconds / 3)
  const high = link(STEP_RTT_MS, STEP_HIGH_KBPS)
  return {
    clean: { name: 'clean', link: link(0), capacityKbps: undefined, tlsOnly: false, changes: [] },
    office: { name: 'office', link: link(40, 2000, 1), capacityKbps: 2000, tlsOnly: false, changes: [] },
    poor: { name: 'poor', link: link(120, 600, 3, 20), capacityKbps: 600, tlsOnly: false, changes: [] },
    step: {
      name: 'step',
      link: high,
      capacityKbps: STEP_HIGH_KBPS,
      tlsOnly: false,
      changes: [
        { atS: downAtS, link: link(STEP_RTT_MS, STEP_LOW_KBPS) },
        { atS: upAtS, link: high },
      ],
      step: { lowKbps: STEP_LOW_KBPS, highKbps: STEP_HIGH_KBPS, downAtS, upAtS },
    },
    'tls-lossy': {
      name: 'tls-lossy',
      link: link(60, 1500, 1),
      capacityKbps: 1500,
      tlsOnly: true,
      changes: [],
    },
  }
}

/** `BENCH_PROFILES=clean,step` → those, in the canonical order; unset → all. Throws on an unknown name. */
export function pickProfiles(spec: string | undefined): ProfileName[] {
  if (spec === undefined || spec.trim() === '') return [...PROFILE_NAMES]
  const wanted = spec.split(',').map((name) => name.trim())
  for (const name of wanted) {
    if (!(PROFILE_NAMES as readonly string[]).includes(name))
      throw new Error(`BENCH_PROFILES: unknown profile "${name}" (known: ${PROFILE_NAMES.join(', ')})`)
  }
  return PROFILE_NAMES.filter((name) => wanted.includes(name))
}
