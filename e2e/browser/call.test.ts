import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join as joinPath } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ErrorCode, errorMessage } from '../../src/shared/errors'
import { startWebHost, type WebHost } from '../../src/webhost/server'
import { screenshot } from './artifacts'
import { requireBrowserTools } from './browsers'
import { buildRenderer } from './buildRenderer'
import { makeFakeMedia } from './fakeMedia'
import {
  chooseProxyMode,
  closeParticipant,
  ensureLeft,
  join,
  lastJoinTimeline,
  leave,
  openParticipant,
  receiveFrom,
  waitForState,
  type Participant,
} from './participant'

/**
 * Issue 5, acceptance 2: two Debian Chromium instances, each with its own fake camera (red / blue, a white
 * square moving) and microphone (a tone), open the built renderer through the browser host (src/webhost)
 * on its embedded stack, and call each other through the cloud proxy in UDP mode, then TCP (TLS 443).
 */

const UID_A = 1001
const UID_B = 2002
const JOIN_SEQUENCE = [
  { state: 2, reason: 5 },
  { state: 2, reason: 13 },
  { state: 3, reason: 6 },
]

describe('two participants through the browser host (Chromium)', () => {
  let dir: string
  let host: WebHost
  let a: Participant
  let b: Participant

  beforeAll(async () => {
    requireBrowserTools()
    dir = mkdtempSync(joinPath(tmpdir(), 'pinhole-browser-'))
    const [redMedia, blueMedia] = await Promise.all([
      makeFakeMedia(dir, 'red', 440),
      makeFakeMedia(dir, 'blue', 660),
    ])
    const rendererDir = joinPath(dir, 'renderer')
    await buildRenderer(rendererDir)
    host = await startWebHost({ dataDir: joinPath(dir, 'data'), rendererDir })
    a = await openParticipant('A', redMedia, host.url)
    b = await openParticipant('B', blueMedia, host.url)
  }, 120_000)

  afterAll(async () => {
    await closeParticipant(a)
    await closeParticipant(b)
    await host?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('refuses uid 0 with a proxy on: the 414 sentence, and no join or token request is sent', async () => {
    await chooseProxyMode(a, 1)
    const before = a.sentFrames.length
    await join(a, 'pinhole-e2e', 0)
    await expect(a.page.getByTestId('join-error').textContent()).resolves.toContain(
      errorMessage(ErrorCode.RequestParameter),
    )
    await screenshot(a.page, 'uid0-refused')
    const sent = a.sentFrames.slice(before).join('\n')
    expect(sent).not.toContain('"joinChannel"')
    expect(sent).not.toContain('"getDevToken"')
    await expect(a.page.getByTestId('connection-state').getAttribute('data-state')).resolves.toBe('1')
  })

  it.each([
    { mode: 1, name: 'UDP', transport: 'udp' },
    { mode: 2, name: 'TCP (TLS 443)', transport: 'tls' },
  ])(
    "$name: each sees the other's video and hears audio; Connecting → Connected; leave → Disconnected",
    async ({ mode, transport }) => {
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
      await screenshot(a.page, `in-call-${transport}-A`)
      await screenshot(b.page, `in-call-${transport}-B`)

      const other = mode === 1 ? 2 : 1
      await a.page.getByTestId(`proxy-mode-${other}`).click()
      await a.page.getByTestId('proxy-next-join').waitFor()
      await screenshot(a.page, `next-join-${transport}`)
      await chooseProxyMode(a, mode)

      await Promise.all([leave(a), leave(b)])
      for (const p of [a, b]) {
        await expect(p.page.getByTestId('connection-reason').getAttribute('data-reason')).resolves.toBe('1')
        await expect(p.page.getByTestId('remote-tile').count()).resolves.toBe(0)
      }
    },
    120_000,
  )
})
