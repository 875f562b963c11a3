/**
 * Makes the README's screenshot (docs/images/call.png): three people in a call through the browser host, one
 * sharing a screen, seen in speaker view at 1280x800. Root not needed; needs Debian chromium and ffmpeg, like
 * the browser tests whose helpers it uses. Run: `npx tsx scripts/readmeScreenshot.ts [out.png]`.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { buildRenderer } from '../e2e/browser/buildRenderer'
import { makeFakeMedia, makeSilence, type FakeMedia } from '../e2e/browser/fakeMedia'
import { closeParticipant, openParticipant, type BrowserParticipant } from '../e2e/browser/participant'
import { joinConnected } from '../e2e/meeting/publishers'
import { waitFor } from '../e2e/support/tools'
import { startWebHost } from '../src/webhost/server'

const out = resolve(process.argv[2] ?? 'docs/images/call.png')
const CHANNEL = 'weekly-review'
const PEOPLE = [
  { key: 'A', uid: 7101, name: 'Li Wei 李伟', colour: 'red' as const, tone: 440 },
  { key: 'B', uid: 7102, name: '王芳', colour: 'blue' as const, tone: 660 },
  { key: 'C', uid: 7103, name: 'Ana Lima', colour: 'red' as const, tone: 550 },
]

const dir = mkdtempSync(join(tmpdir(), 'pinhole-shot-'))
const people: BrowserParticipant[] = []
try {
  const rendererDir = join(dir, 'renderer')
  await buildRenderer(rendererDir)
  const host = await startWebHost({ dataDir: join(dir, 'data'), rendererDir })
  try {
    for (const person of PEOPLE) {
      const media: FakeMedia = await makeFakeMedia(dir, person.colour, person.tone)
      // Only the sharer speaks: the others' microphones hear silence, so the speaker stays put.
      const audio = person.key === 'B' ? media.audio : await makeSilence(dir, person.key)
      const p = await openParticipant(person.key, { ...media, audio }, host.url)
      await p.page.setViewportSize({ width: 1280, height: 800 })
      await p.page.getByTestId('join-displayName').fill(person.name)
      await joinConnected(p, CHANNEL, person.uid)
      people.push(p)
    }
    const [a, , c] = people as [BrowserParticipant, BrowserParticipant, BrowserParticipant]
    await a.page.getByTestId('toggle-share').click()
    const stage = `[data-testid="screen-stage"] [data-testid="screen-canvas"][data-uid="${PEOPLE[0]!.uid}"]`
    await waitFor(
      async () => Number((await c.page.locator(stage).getAttribute('data-frames')) ?? 0) > 30,
      'the share on C’s stage',
      30_000,
    )
    await c.page.screenshot({ path: out })
    console.info(`wrote ${out}`)
  } finally {
    for (const p of people) await closeParticipant(p)
    await host.close()
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
