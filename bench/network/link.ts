import { createLab, type Lab } from '../../e2e/lab/lab'
import type { LinkProfile } from '../../e2e/lab/linkEmulator'

/** The lab with its access-link emulator (`createLab({ emulateLink: true })`, docs/lab.md), as the bench uses it. */
export interface BenchLink {
  set(profile: LinkProfile): Promise<void>
}

export async function createBenchLab(): Promise<{ lab: Lab; link: BenchLink }> {
  const lab = await createLab({ emulateLink: true })
  return { lab, link: { set: (profile) => lab.link.set(profile) } }
}
