import { createHash } from 'node:crypto'
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import react from '@vitejs/plugin-react'
import { build } from 'vite'

/** What the renderer bundle is made of: its sources, the shared contracts it imports, and the lock file. */
const INPUTS = ['src/renderer', 'src/shared', 'package-lock.json']

function hashInputs(): string {
  const hash = createHash('sha256')
  for (const input of INPUTS) {
    const full = resolve(process.cwd(), input)
    const files = statSync(full).isDirectory()
      ? readdirSync(full, { withFileTypes: true, recursive: true })
          .filter((entry) => entry.isFile())
          .map((entry) => join(entry.parentPath, entry.name))
          .sort()
      : [full]
    for (const file of files) hash.update(file).update(readFileSync(file))
  }
  return hash.digest('hex').slice(0, 16)
}

/**
 * Builds the renderer alone (what electron-vite's renderer step makes) into `outDir`: the browser tests serve
 * it without touching `out/`, which other builds own. A build takes ~20 s and a dozen test files need one,
 * so the bundle is kept under the system's temporary directory keyed by a hash of its inputs and copied
 * from there while the sources do not change.
 */
export async function buildRenderer(outDir: string): Promise<void> {
  const cached = join(tmpdir(), `pinhole-renderer-${hashInputs()}`)
  if (!existsSync(join(cached, 'index.html'))) {
    const fresh = mkdtempSync(`${cached}.build-`)
    await build({
      root: resolve(process.cwd(), 'src/renderer'),
      base: './',
      configFile: false,
      logLevel: 'warn',
      mode: 'production',
      plugins: [react()],
      build: { outDir: fresh, emptyOutDir: true, sourcemap: false },
    })
    try {
      renameSync(fresh, cached)
    } catch {
      // Another test file built the same inputs first: keep theirs.
      rmSync(fresh, { recursive: true, force: true })
    }
  }
  cpSync(cached, outDir, { recursive: true })
}
