import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join as joinPath } from 'node:path'
import { startWebHost, type WebHost } from '../../src/webhost/server'
import { requireBrowserTools } from '../browser/browsers'
import { buildRenderer } from '../browser/buildRenderer'
import { makeFakeMedia, type FakeMedia } from '../browser/fakeMedia'
import { closeParticipant, openParticipant, type BrowserParticipant } from '../browser/participant'

/**
 * The set-up most meeting tests share: the built renderer served by one browser host on its embedded local
 * stack, and two Chromium participants A (red camera, 440 Hz microphone) and B (blue, 660 Hz) on its page,
 * not yet joined. `close()` stops them all and removes the temporary directory.
 */
export interface TwoPeople {
  dir: string
  host: WebHost
  a: BrowserParticipant
  b: BrowserParticipant
  media: { a: FakeMedia; b: FakeMedia }
  close(): Promise<void>
}

export async function openTwoPeople(
  name: string,
  /** Plain JS each page runs before its own (stand-in devices, taps): openParticipant's initScripts. */
  scripts: { a?: readonly string[]; b?: readonly string[] } = {},
): Promise<TwoPeople> {
  requireBrowserTools()
  const dir = mkdtempSync(joinPath(tmpdir(), `pinhole-${name}-`))
  const rendererDir = joinPath(dir, 'renderer')
  const [red, blue] = await Promise.all([
    makeFakeMedia(dir, 'red', 440),
    makeFakeMedia(dir, 'blue', 660),
    buildRenderer(rendererDir),
  ])
  const host = await startWebHost({ dataDir: joinPath(dir, 'data'), rendererDir })
  const [a, b] = await Promise.all([
    openParticipant('A', red, host.url, scripts.a),
    openParticipant('B', blue, host.url, scripts.b),
  ])
  return {
    dir,
    host,
    a,
    b,
    media: { a: red, b: blue },
    close: async () => {
      await Promise.all([closeParticipant(a), closeParticipant(b)])
      await host.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
