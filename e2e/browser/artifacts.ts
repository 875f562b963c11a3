import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'

/** Screenshots of the main screens, kept as test artifacts (test-results/ is gitignored). */
export const ARTIFACT_DIR = join(process.cwd(), 'test-results', 'browser')

/** `<dir>/<name>.png`; `dir` defaults to the browser tests' folder (the Electron tests keep their own). */
export async function screenshot(page: Page, name: string, dir = ARTIFACT_DIR): Promise<void> {
  mkdirSync(dir, { recursive: true })
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true })
}
