import { loadavg } from 'node:os'
import type { Page } from 'playwright-core'
import { sleep } from '../../e2e/support/tools'
import type { Sighting, StepTimes } from './metrics'
import type { BenchLink } from './link'
import type { BenchProfile } from './profiles'
import { startPoller, stopPoller } from './pageScripts'

/** How a side's two pages show video: the preview (sender) and the remote picture (receiver). */
export interface CallView {
  page: Page
  local: string
  remote: string
}

export interface Timing {
  warmupS: number
  seconds: number
}

export interface Measured {
  fromMs: number
  toMs: number
  /** [A's preview, B's preview] and [what A rendered, what B rendered]. */
  previews: [Sighting[], Sighting[]]
  rendered: [Sighting[], Sighting[]]
  step?: StepTimes
  loadAverage: number
}

/**
 * The common part of both sides: pollers on (preview and remote picture in both pages), the warm-up, then
 * the measurement window with the profile's link changes at their times. The link is already at the
 * profile's start; it is left at the profile's last state.
 */
export async function measureCall(
  views: [CallView, CallView],
  profile: BenchProfile,
  link: BenchLink,
  timing: Timing,
  /** Called as the window opens and as it closes, for counters read at those two moments. */
  atEdge: (edge: 'start' | 'end') => Promise<void> = () => Promise.resolve(),
): Promise<Measured> {
  for (const view of views) {
    await startPoller(view.page, view.local, 'local')
    await startPoller(view.page, view.remote, 'remote')
  }
  await sleep(timing.warmupS * 1000)
  await atEdge('start')
  const fromMs = Date.now()
  const changes = profile.changes.map(async (change) => {
    await sleep(Math.max(0, fromMs + change.atS * 1000 - Date.now()))
    await link.set(change.link)
    return Date.now()
  })
  await sleep(timing.seconds * 1000)
  const changedAt = await Promise.all(changes)
  const toMs = Date.now()
  await atEdge('end')
  const loadAverage = loadavg()[0] ?? 0
  const [a, b] = views
  const previews: [Sighting[], Sighting[]] = [
    await stopPoller(a.page, 'local'),
    await stopPoller(b.page, 'local'),
  ]
  const rendered: [Sighting[], Sighting[]] = [
    await stopPoller(a.page, 'remote'),
    await stopPoller(b.page, 'remote'),
  ]
  const measured: Measured = { fromMs, toMs, previews, rendered, loadAverage }
  if (profile.step && changedAt.length === 2) {
    measured.step = {
      downAtMs: changedAt[0]!,
      upAtMs: changedAt[1]!,
      lowKbps: profile.step.lowKbps,
      highKbps: profile.step.highKbps,
    }
  }
  return measured
}

/** Polls `check` every 250 ms until it is true; throws with `what` after `timeoutMs`. */
export async function until(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(250)
  }
}
