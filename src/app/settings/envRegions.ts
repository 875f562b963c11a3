import { readFileSync } from 'node:fs'
import { parseRegions } from '../../engine'
import type { Region } from '../../shared/engine'

/**
 * Regions from configuration (the lab, a deployment without a policy file): `PINHOLE_REGIONS` is either
 * a JSON array of regions (or `{ "regions": [...] }`) or the path of a file holding that JSON. Unset → no
 * configured regions (the core then starts the embedded local stack). A bad value throws with the reason:
 * a host should refuse to start rather than silently fall back to the local stack.
 */
export const REGIONS_ENV = 'PINHOLE_REGIONS'

export function regionsFromEnv(env: Record<string, string | undefined> = process.env): Region[] | undefined {
  const value = env[REGIONS_ENV]?.trim()
  if (!value) return undefined
  const text = value.startsWith('[') || value.startsWith('{') ? value : readFileSync(value, 'utf8')
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new Error(`${REGIONS_ENV}: not valid JSON`, { cause: error })
  }
  const list =
    typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && 'regions' in parsed
      ? (parsed as { regions: unknown }).regions
      : parsed
  try {
    return parseRegions(list)
  } catch (error) {
    throw new Error(`${REGIONS_ENV}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    })
  }
}
