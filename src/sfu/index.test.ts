import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

/**
 * Imports the index in a fresh Node process (this one has loaded werift already) and counts the werift
 * modules resolved at import time and after a server has started.
 */
const PROBE = `
import { registerHooks } from 'node:module'
let werift = 0
registerHooks({
  resolve(specifier, context, next) {
    const result = next(specifier, context)
    if (result.url.includes('/node_modules/werift/')) werift++
    return result
  },
})
const sfu = await import(process.argv[1])
const atImport = werift
const { pino } = await import('pino')
const server = await sfu.ConferenceServer.start(sfu.SfuConfigSchema.parse({ port: 0 }), {
  apps: [],
  logger: pino({ level: 'silent' }),
})
await server.close()
console.log(JSON.stringify({ atImport, afterStart: werift }))
`

function probe(): Promise<{ atImport: number; afterStart: number }> {
  const index = fileURLToPath(new URL('./index.ts', import.meta.url))
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', PROBE, index], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('exit', (code) => {
      if (code === 0) resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '') as never)
      else reject(new Error(`probe exited ${code}: ${out}`))
    })
  })
}

describe('src/sfu/index.ts', () => {
  it('loads no werift until a server starts, so checking a config through the index stays quick', async () => {
    const counts = await probe()
    expect(counts.atImport).toBe(0)
    expect(counts.afterStart).toBeGreaterThan(0)
  }, 30_000)
})
