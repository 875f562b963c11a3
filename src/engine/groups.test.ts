import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

/**
 * The engine's feature groups import one way (docs/engine.md "Modules"): `api/` on top, the call below it,
 * media and routes below the call, statistics at the bottom, and `defaults.ts` / `events.ts` at the root
 * for everyone. A new arrow between groups is a design change: it goes into this table on purpose.
 */
const MAY_IMPORT: Record<string, readonly string[]> = {
  api: ['call', 'route', 'media', 'stats'],
  call: ['route', 'media', 'stats'],
  media: ['stats'],
  route: [],
  stats: [],
}
const ROOT_MODULES = new Set(['defaults.ts', 'events.ts'])

const engineDir = dirname(fileURLToPath(import.meta.url))

function productFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return productFiles(path)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : []
  })
}

/** The group of a path inside src/engine: its first folder, or '' for a file at the root. */
function groupOf(path: string): string {
  const parts = relative(engineDir, path).split('/')
  return parts.length > 1 ? parts[0]! : ''
}

/** Every relative import of a file that lands inside src/engine, as [specifier, target path]. */
function engineImports(file: string): [string, string][] {
  const text = readFileSync(file, 'utf8')
  return [...text.matchAll(/from '(\.{1,2}\/[^']*)'/g)]
    .map((m): [string, string] => [m[1]!, resolve(dirname(file), m[1]!)])
    .filter(([, target]) => !relative(engineDir, target).startsWith('..'))
}

describe('engine groups', () => {
  const files = productFiles(engineDir)

  it('every product file lives in a known group, or is index.ts, defaults.ts or events.ts at the root', () => {
    const misplaced = files.filter((file) => {
      const group = groupOf(file)
      return group === ''
        ? !ROOT_MODULES.has(relative(engineDir, file)) && !file.endsWith('index.ts')
        : !(group in MAY_IMPORT)
    })
    expect(misplaced.map((file) => relative(engineDir, file))).toEqual([])
  })

  it('imports between groups follow the table; the root modules import no group', () => {
    const wrong: string[] = []
    for (const file of files) {
      if (relative(engineDir, file) === 'index.ts') continue
      const from = groupOf(file)
      for (const [specifier, target] of engineImports(file)) {
        const to = groupOf(target)
        if (to === from || (to === '' && ROOT_MODULES.has(relative(engineDir, target) + '.ts'))) continue
        if (from !== '' && MAY_IMPORT[from]!.includes(to)) continue
        wrong.push(`${relative(engineDir, file)} imports ${specifier}`)
      }
    }
    expect(wrong).toEqual([])
  })
})
