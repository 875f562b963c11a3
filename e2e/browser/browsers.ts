import { chromium, type Browser } from 'playwright-core'
import { chromiumBaseArgs } from '../support/chromium'
import { requireTool } from '../support/tools'
import type { FakeMedia } from './fakeMedia'

/**
 * Fails first, and by name, when a system tool is missing: MissingToolError's message carries the
 * apt-get line of e2e/support/tools.ts (INSTALL_LINE). A skipped browser test would prove nothing.
 */
export function requireBrowserTools(): void {
  requireTool('chromium')
  requireTool('ffmpeg')
}

/** The flags of the brief: Debian Chromium, fake devices fed from this participant's own files. */
export function participantArgs(media: FakeMedia): string[] {
  return [...chromiumBaseArgs(), ...fakeMediaSwitches(media)]
}

/**
 * The Chromium switches that make this participant's camera and microphone its own files (and grant them
 * without a prompt); Electron honours them on its command line too (e2e/app/electron.test.ts).
 */
export function fakeMediaSwitches(media: FakeMedia): string[] {
  return [
    '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream',
    `--use-file-for-fake-video-capture=${media.video}`,
    `--use-file-for-fake-audio-capture=${media.audio}`,
    '--autoplay-policy=no-user-gesture-required',
  ]
}

/** The same flags for a page that only looks at the app (no call): the stock fake devices. */
export function viewBrowserArgs(): string[] {
  return [
    ...chromiumBaseArgs(),
    '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream',
    '--autoplay-policy=no-user-gesture-required',
  ]
}

/** One browser per participant: Chromium's fake camera is per browser, not per context. */
export function launchParticipant(media: FakeMedia): Promise<Browser> {
  return chromium.launch({
    executablePath: requireTool('chromium'),
    headless: true,
    args: participantArgs(media),
  })
}
