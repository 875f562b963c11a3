// @ts-check
/**
 * What bin/pinhole-server.js and bin/pinhole.js share: make sure Node is new enough, then run the compiled
 * CLI from out/node/ (`npm run build`, scripts/buildNode.ts) or, in a source checkout without a current
 * build, the TypeScript source through tsx, saying so in one line on stderr. Plain JavaScript with nothing
 * but Node built-ins, so that any Node reaches the version check (docs/operations.md "Compiled server").
 */
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
/**
 * The oldest Node the compiled code targets (scripts/buildNode.ts `target`). Checked here rather than in
 * package.json `engines`, where npm would print its multi-line EBADENGINE warning before every `npx` run.
 */
const [MIN_MAJOR, MIN_MINOR] = /** @type {const} */ ([22, 12])
/** The node@22 devDependency's binary: present in a checkout, absent with `npm ci --omit=dev`. */
const BUNDLED_NODE = join(ROOT, 'node_modules/node/bin/node')
/** Set on the child when re-running on the bundled Node, so that a broken one cannot loop. */
const REEXEC_ENV = 'PINHOLE_BUNDLED_NODE'

/**
 * @typedef {object} Cli
 * @property {string} name      the command's name, first on every line it prints
 * @property {string} compiled  the bundle in out/node/
 * @property {string} source    the TypeScript entry, from the repository root
 */

/** @param {Cli} cli */
export async function launch(cli) {
  if (!nodeIsNewEnough(process.versions.node)) return runOnBundledNode(cli)
  const compiled = join(ROOT, 'out/node', cli.compiled)
  const stale = existsSync(compiled) ? staleSource(compiled) : 'no build in out/node'
  /** @type {{ runCli(argv: string[]): void }} */
  let entry
  if (stale === undefined) {
    // Stack traces name the TypeScript files (the bundles carry source maps).
    process.setSourceMapsEnabled(true)
    entry = await import(pathToFileURL(compiled).href)
  } else {
    entry = await fromSource(cli, stale)
  }
  entry.runCli(process.argv.slice(2))
}

/** @param {string} version */
function nodeIsNewEnough(version) {
  const [major = 0, minor = 0] = version.split('.').map(Number)
  return major > MIN_MAJOR || (major === MIN_MAJOR && minor >= MIN_MINOR)
}

/**
 * An older Node: in a checkout, run again on the bundled node@22 (with a notice); elsewhere one line that
 * says what is needed, exit 1.
 * @param {Cli} cli
 */
function runOnBundledNode(cli) {
  const wanted = `${MIN_MAJOR}.${MIN_MINOR}`
  if (!existsSync(BUNDLED_NODE) || process.env[REEXEC_ENV] !== undefined) {
    process.stderr.write(
      `${cli.name}: needs Node.js ${wanted} or newer; this is ${process.version} (${process.execPath})\n`,
    )
    process.exit(1)
  }
  process.stderr.write(
    `${cli.name}: Node.js ${process.version} is older than ${wanted}; running on node_modules/node\n`,
  )
  const child = spawn(BUNDLED_NODE, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, [REEXEC_ENV]: '1' },
  })
  // The child is the server: it drains on SIGTERM/SIGINT and exits with its own code, which we pass on.
  for (const signal of /** @type {const} */ (['SIGTERM', 'SIGINT', 'SIGHUP'])) {
    process.on(signal, () => child.kill(signal))
  }
  child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' ? 130 : 1)))
}

/**
 * Why the build cannot be used in this checkout, or undefined when it can. Only in a source checkout
 * (src/ beside bin/): a source file newer than the build, or gone, means the build is not what the
 * source says. A release without src/ always runs its build.
 * @param {string} compiled
 * @returns {string | undefined}
 */
function staleSource(compiled) {
  if (!existsSync(join(ROOT, 'src'))) return undefined
  const infoFile = join(compiled, '../build.json')
  if (!existsSync(infoFile)) return 'out/node has no build.json'
  /** @type {{ builtAt: number, inputs: string[] }} */
  const info = JSON.parse(readFileSync(infoFile, 'utf8'))
  for (const input of info.inputs) {
    const path = join(ROOT, input)
    if (!existsSync(path)) return `out/node was built from ${input}, which is gone`
    if (statSync(path).mtimeMs > info.builtAt) return `out/node is older than ${input}`
  }
  return undefined
}

/**
 * @param {Cli} cli
 * @param {string} why
 * @returns {Promise<{ runCli(argv: string[]): void }>}
 */
async function fromSource(cli, why) {
  const source = join(ROOT, cli.source)
  if (!existsSync(source)) {
    process.stderr.write(`${cli.name}: ${why} and no source to run; run \`npm run build\`\n`)
    process.exit(1)
  }
  /** @type {typeof import('tsx/esm/api')} */
  let tsx
  try {
    tsx = await import('tsx/esm/api')
  } catch {
    process.stderr.write(`${cli.name}: ${why} and no tsx to run ${cli.source}; run \`npm run build\`\n`)
    process.exit(1)
  }
  process.stderr.write(
    `${cli.name}: ${why}; running ${cli.source} through tsx (\`npm run build\` compiles it)\n`,
  )
  tsx.register({ tsconfig: join(ROOT, 'tsconfig.node.json') })
  return import(pathToFileURL(source).href)
}
