import { expect, it } from 'vitest'
import { screenshot } from './artifacts'
import {
  chooseProxyMode,
  ensureLeft,
  join,
  lastJoinTimeline,
  leave,
  receiveFrom,
  waitForState,
  type Participant,
} from './participant'

/**
 * Issue 5's call scenarios (acceptance 2 and 3), one definition for every host: the browser host in
 * Chromium (call.test.ts) and the built Electron app (e2e/app/electron.test.ts). Call
 * `callScenarios(...)` inside a describe whose beforeAll opens the two participants: A sends the red fake
 * video, B the blue one.
 */

export const UID_A = 1001
export const UID_B = 2002
const JOIN_SEQUENCE = [
  { state: 2, reason: 5 },
  { state: 2, reason: 13 },
  { state: 3, reason: 6 },
]

export interface CallScenarioOptions {
  /** The folder for screenshots (default test-results/browser). */
  artifactDir?: string
}

/** Registers the scenarios (`it`s); `participants()` is read when they run, after beforeAll. */
export function callScenarios(
  participants: () => { a: Participant; b: Participant },
  options: CallScenarioOptions = {},
): void {
  const shot = (p: Participant, name: string): Promise<void> => screenshot(p.page, name, options.artifactDir)

  it('refuses uid 0 with a proxy on: its own sentence, and no join or token request is sent', async () => {
    const { a } = participants()
    await chooseProxyMode(a, 1)
    const sent = await a.watchInvokes(['joinChannel', 'getDevToken'])
    await join(a, 'pinhole-e2e', 0)
    await expect(a.page.getByTestId('join-uid-problem').textContent()).resolves.toBe(
      'uid 0 cannot join while a cloud proxy is on: choose a uid other than 0, or set the proxy mode to None.',
    )
    await shot(a, 'uid0-refused')
    expect(await sent()).toEqual([])
    await expect(a.page.getByTestId('connection-state').getAttribute('data-state')).resolves.toBe('1')
  })

  it.each([
    { mode: 1, name: 'UDP', transport: 'udp' },
    { mode: 2, name: 'TCP (TLS 443)', transport: 'tls' },
  ])(
    "$name: each sees the other's video and hears audio; Connecting → Connected; leave → Disconnected",
    async ({ mode, transport }) => {
      const { a, b } = participants()
      await Promise.all([ensureLeft(a), ensureLeft(b)])
      await Promise.all([chooseProxyMode(a, mode), chooseProxyMode(b, mode)])
      const channel = `pinhole-e2e-${transport}`
      await Promise.all([join(a, channel, UID_A), join(b, channel, UID_B)])
      await Promise.all([waitForState(a, 3), waitForState(b, 3)])
      for (const p of [a, b]) {
        expect(await lastJoinTimeline(p)).toEqual(JOIN_SEQUENCE)
        await expect(p.page.getByTestId('proxy-path').getAttribute('data-transport')).resolves.toBe(transport)
      }

      const [atA, atB] = await Promise.all([receiveFrom(a, UID_B), receiveFrom(b, UID_A)])
      expect(atA).toMatchObject({ color: 'blue', changed: true })
      expect(atB).toMatchObject({ color: 'red', changed: true })
      await a.page.getByTestId('stat-transport').waitFor({ timeout: 10_000 })
      await expect(a.page.getByTestId('stat-transport').getAttribute('data-transport')).resolves.toBe(
        transport,
      )
      await shot(a, `in-call-${transport}-A`)
      await shot(b, `in-call-${transport}-B`)

      const other = mode === 1 ? 2 : 1
      await a.page.getByTestId(`proxy-mode-${other}`).click()
      await a.page.getByTestId('proxy-next-join').waitFor()
      await shot(a, `next-join-${transport}`)
      await chooseProxyMode(a, mode)

      await Promise.all([leave(a), leave(b)])
      for (const p of [a, b]) {
        await expect(p.page.getByTestId('connection-reason').getAttribute('data-reason')).resolves.toBe('1')
        await expect(p.page.getByTestId('remote-tile').count()).resolves.toBe(0)
      }
    },
    120_000,
  )
}
