import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'

/** Screenshots of the main screens, kept as test artifacts (test-results/ is gitignored). */
export const ARTIFACT_DIR = join(process.cwd(), 'test-results', 'browser')

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACT_DIR, { recursive: true })
  await page.screenshot({ path: join(ARTIFACT_DIR, `${name}.png`), fullPage: true })
}
