import { createLab, type Lab } from '../../e2e/lab/lab'
import type { LinkProfile } from './profiles'

/**
 * The lab with its access-link emulator (e2e/lab: `createLab({ emulateLink: true })` → `lab.link`), seen
 * through the one call the bench needs. Without an emulator in this checkout the bench still runs, with the
 * plain link, and says so: every profile but `clean` is then not what its name says.
 */
export interface BenchLink {
  set(profile: LinkProfile): Promise<void>
  /** False when the lab has no emulator (the profiles are not applied). */
  emulated: boolean
}

type MaybeEmulatedLab = Omit<Lab, 'link'> & { link?: { set(profile: LinkProfile): Promise<void> } }

export async function createBenchLab(): Promise<{ lab: Lab; link: BenchLink }> {
  const create = createLab as unknown as (options?: { emulateLink?: boolean }) => Promise<MaybeEmulatedLab>
  const made = await create({ emulateLink: true })
  const lab = made as unknown as Lab
  const emulator = made.link
  if (emulator === undefined) return { lab, link: { emulated: false, set: () => Promise.resolve() } }
  return { lab, link: { emulated: true, set: (profile) => emulator.set(profile) } }
}
