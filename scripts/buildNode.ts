/**
 * `npm run build:node` (the second half of `npm run build`): compiles the server command, the desktop CLI
 * and the proxy worker to JavaScript in out/node/, which bin/pinhole-server.js and bin/pinhole.js run
 * without tsx (docs/operations.md "Compiled server").
 *
 * esbuild, not tsc: the sources import each other without file extensions (moduleResolution "bundler"),
 * which Node's ESM loader does not resolve and tsc does not rewrite; esbuild bundles from the entry points
 * below, so files moving inside src/ change nothing here. Packages stay imports of node_modules (the
 * production dependencies), and code-splitting keeps lazy imports lazy (`pinhole join` loads werift,
 * `pinhole doctor` does not). Every output file lands in out/node/ itself, so all compiled code shares one
 * import.meta.url folder: the proxy pool finds proxy-worker.js beside it.
 *
 *   tsx scripts/buildNode.ts [--outdir DIR]   (default out/node; the e2e/ops tests build into a temp copy)
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { build } from 'esbuild'

const ROOT = resolve(import.meta.dirname, '..')

/** Output name → source. The names are the contract with bin/launch.js and src/proxy/workers/workerPool.ts. */
const ENTRY_POINTS = {
  'pinhole-server': 'src/server/cli.ts',
  pinhole: 'src/cli/main.ts',
  'proxy-worker': 'src/proxy/workers/worker.ts',
}

/** Written beside the bundles: when they were built and from which files (bin/launch.js checks both). */
const BUILD_INFO = 'build.json'

const { values } = parseArgs({ options: { outdir: { type: 'string', default: 'out/node' } } })
const outdir = resolve(ROOT, values.outdir)
// Taken before esbuild reads a source, so that a file saved during the build counts as newer than it.
const builtAt = Date.now()

rmSync(outdir, { recursive: true, force: true })
mkdirSync(outdir, { recursive: true })
const result = await build({
  absWorkingDir: ROOT,
  entryPoints: ENTRY_POINTS,
  outdir,
  tsconfig: join(ROOT, 'tsconfig.node.json'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22.12',
  packages: 'external',
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
})
const inputs = Object.keys(result.metafile.inputs)
  .filter((path) => path.startsWith('src/'))
  .sort()
writeFileSync(join(outdir, BUILD_INFO), `${JSON.stringify({ builtAt, inputs }, null, 2)}\n`)
console.log(`${values.outdir}: ${Object.keys(ENTRY_POINTS).join(', ')} from ${inputs.length} source files`)
