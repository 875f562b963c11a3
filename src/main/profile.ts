import { join } from 'node:path'

/**
 * Where a window keeps its settings. One Electron instance per profile: `PINHOLE_PROFILE=name` gives an
 * instance its own userData (`<appData>/Pinhole-name`), so a second instance makes a second participant.
 * Extra windows of one instance, and an instance started on a profile another instance already holds, get
 * their own settings folder under userData (own uid, same Chromium profile).
 */

export const PROFILE_ENV = 'PINHOLE_PROFILE'
const PROFILE_NAME = /^[A-Za-z0-9_-]{1,32}$/

/** userData for `PINHOLE_PROFILE`, or undefined to keep Electron's. */
export function profileUserData(
  appData: string,
  env: Record<string, string | undefined>,
): string | undefined {
  const name = env[PROFILE_ENV]
  if (name === undefined || name === '') return undefined
  if (!PROFILE_NAME.test(name))
    throw new Error(`${PROFILE_ENV} must be 1-32 of A-Z a-z 0-9 _ - (got '${name}')`)
  return join(appData, `Pinhole-${name}`)
}

/**
 * The settings folder of window `index` (0 = the first). `sharedProfile`: another instance holds this
 * userData (the single-instance lock was refused), so even the first window keeps to a folder of its own.
 */
export function windowDataDir(userData: string, index: number, sharedProfile: boolean): string {
  if (index === 0 && !sharedProfile) return userData
  return join(userData, sharedProfile ? 'other-instance' : 'windows', String(index + 1))
}
