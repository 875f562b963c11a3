import { fileURLToPath } from 'node:url'
import { build } from 'vite'

/**
 * Builds the page-side bridge (bridge/index.ts) into one classic script (IIFE) in memory, once per
 * process: the host serves it at BRIDGE_SCRIPT_PATH. Built at host start rather than shipped in out/, so
 * the browser host needs nothing beyond `electron-vite build`'s renderer output.
 */

const ENTRY = fileURLToPath(new URL('./bridge/index.ts', import.meta.url))
let built: Promise<string> | undefined

export function bridgeScript(): Promise<string> {
  built ??= buildBridge().catch((error: unknown) => {
    built = undefined
    throw error
  })
  return built
}

async function buildBridge(): Promise<string> {
  const result = await build({
    configFile: false,
    logLevel: 'silent',
    publicDir: false,
    build: {
      write: false,
      emptyOutDir: false,
      minify: false,
      sourcemap: false,
      lib: { entry: ENTRY, formats: ['iife'], name: 'pinholeBridge', fileName: () => 'pinhole-bridge.js' },
    },
  })
  const outputs = Array.isArray(result) ? result : [result]
  for (const output of outputs) {
    if (!('output' in output)) continue
    const chunk = output.output.find((item) => item.type === 'chunk' && item.isEntry)
    if (chunk && chunk.type === 'chunk') return chunk.code
  }
  throw new Error('building the web bridge produced no script')
}
