/**
 * The layers of src and their arrows are enforced by lint (eslint.config.js), not by hope: this test lints
 * small snippets as if they lived in each folder and checks each rule fires on a planted violation (and stays
 * quiet for what is allowed), and that the layer table itself has no cycle.
 */
import { ESLint } from 'eslint'
import { describe, expect, it } from 'vitest'
import { pathToFileURL } from 'node:url'
import { resolve } from 'node:path'

const eslint = new ESLint({ cwd: process.cwd() })
const boundaryRules = new Set(['pinhole/layers', 'no-restricted-imports', 'no-restricted-globals'])
const sizeRules = new Set(['max-lines', 'max-lines-per-function'])

async function messages(filePath: string, code: string, rules: Set<string>): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath })
  return (result?.messages ?? [])
    .filter((m) => m.ruleId !== null && rules.has(m.ruleId))
    .map((m) => m.message)
}

const boundaryMessages = (filePath: string, code: string) => messages(filePath, code, boundaryRules)
const importing = (what: string, from: string) =>
  `import { ${what} } from '${from}'\nexport const x = ${what}`
const importingType = (what: string, from: string) =>
  `import type { ${what} } from '${from}'\nexport type X = ${what}`

describe('import boundaries', () => {
  it.each([
    // src/shared: nothing else in src, no Node, no Electron, no process globals.
    ['src/shared/x.ts', importing('readFileSync', 'node:fs'), 'no Node'],
    ['src/shared/x.ts', importing('app', 'electron'), 'may not import electron'],
    ['src/shared/x.ts', importing('createEngine', '../engine/engine'), 'nothing else'],
    ['src/shared/x.ts', importing('encode', '../protocol/stun/message'), 'may not import src/protocol'],
    ['src/shared/x.ts', importing('logger', '../platform/logger'), 'may not import src/platform'],
    ['src/shared/x.ts', 'export const x = document.title', 'document'],
    // src/protocol: shared only.
    ['src/protocol/stun/x.ts', importing('logger', '../../platform/logger'), 'may not import src/platform'],
    ['src/protocol/x.ts', importing('ProxyServer', '../proxy'), 'may not import src/proxy'],
    ['src/protocol/x.ts', importing('createEngine', '../engine'), 'may not import src/engine'],
    // src/platform: shared only.
    ['src/platform/x.ts', importing('encode', '../protocol/stun/message'), 'may not import src/protocol'],
    ['src/platform/x.ts', importing('loadConfig', '../server/config'), 'may not import src/server'],
    // src/proxy, src/sfu, src/engine: shared, protocol, platform; never each other, the server, the app.
    ['src/proxy/x.ts', importing('ConferenceServer', '../sfu'), 'may not import src/sfu'],
    ['src/proxy/api/x.ts', importing('loadConfig', '../../server/config'), 'may not import src/server'],
    ['src/proxy/x.ts', importing('createEngine', '../engine'), 'may not import src/engine'],
    ['src/proxy/x.ts', importing('appCore', '../app/core/appCore'), 'may not import src/app'],
    ['src/proxy/x.ts', importing('main', '../cli/main'), 'may not import src/cli'],
    ['src/proxy/x.ts', importing('BrowserWindow', 'electron'), 'may not import electron'],
    ['src/sfu/x.ts', importing('ProxyServer', '../proxy'), 'may not import src/proxy'],
    ['src/sfu/room/x.ts', importing('verify', '../../proxy/net/tokens'), 'may not import src/proxy'],
    ['src/sfu/x.ts', importing('createWindow', '../main/window'), 'may not import src/main'],
    ['src/engine/media/x.ts', importing('guard', '../../sfu/media/mediaGuard'), 'may not import src/sfu'],
    ['src/engine/x.ts', importing('decode', '../proxy/stun/message'), 'may not import src/proxy'],
    ['src/engine/x.ts', importing('logger', '../server/logger'), 'may not import src/server'],
    ['src/engine/x.ts', importing('app', 'electron'), 'may not import electron'],
    // src/server: the proxy and the SFU through their index only.
    ['src/server/x.ts', importing('peerPolicy', '../proxy/turn/core/peerPolicy'), 'through index.ts only'],
    ['src/server/x.ts', importing('Channel', '../sfu/room/channel'), 'through index.ts or config.ts only'],
    ['src/server/x.ts', importing('createEngine', '../engine'), 'may not import src/engine'],
    ['src/server/x.ts', importing('NodeRegistry', '../cluster/nodeRegistry'), 'through index.ts only'],
    // src/cluster: a leaf like the services; only the server command imports it.
    ['src/cluster/x.ts', importing('ConferenceServer', '../sfu'), 'may not import src/sfu'],
    ['src/cluster/x.ts', importing('loadConfig', '../server/config'), 'may not import src/server'],
    ['src/proxy/x.ts', importing('createRedisPlacement', '../cluster'), 'may not import src/cluster'],
    ['src/sfu/x.ts', importing('NodeRegistry', '../cluster'), 'may not import src/cluster'],
    ['src/server/x.ts', importing('appCore', '../app'), 'may not import src/app'],
    // src/cli: the engine through its index only.
    ['src/cli/x.ts', importing('createEngine', '../engine/api/engine'), 'through index.ts only'],
    ['src/cli/x.ts', importing('logger', '../server/logger'), 'may not import src/server'],
    ['src/cli/x.ts', importing('verify', '../proxy'), 'may not import src/proxy'],
    ['src/cli/x.ts', importing('appCore', '../app'), 'may not import src/app'],
    // src/app: host-neutral, services through their index only.
    ['src/app/x.ts', importing('createWindow', '../main/window'), 'may not import src/main'],
    ['src/app/core/x.ts', importing('startWebHost', '../../webhost/server'), 'may not import src/webhost'],
    ['src/app/x.ts', importing('app', 'electron'), 'may not import electron'],
    ['src/app/stack/x.ts', importing('ProxyServer', '../../proxy/server'), 'through index.ts only'],
    ['src/app/stack/x.ts', importing('loadConfig', '../../server/config'), 'may not import src/server'],
    ['src/app/core/x.ts', importing('probeTls', '../../engine/route/probe'), 'through index.ts only'],
    // src/main: the engine only through the app core, not even as types; never the browser host.
    ['src/main/x.ts', importing('createEngine', '../engine'), 'may not import src/engine'],
    ['src/main/x.ts', importingType('Engine', '../engine'), 'may not import src/engine'],
    ['src/main/x.ts', "export type X = import('../engine').Engine", 'may not import src/engine'],
    ['src/main/x.ts', importing('startWebHost', '../webhost/server'), 'may not import src/webhost'],
    ['src/main/x.ts', importing('ProxyServer', '../proxy'), 'may not import src/proxy'],
    // src/webhost: the app core, never the Electron shell or Electron.
    ['src/webhost/x.ts', importing('createWindow', '../main/window'), 'may not import src/main'],
    ['src/webhost/x.ts', importing('app', 'electron'), 'may not import electron'],
    ['src/webhost/x.ts', importing('silentLogger', '../engine/defaults'), 'may not import src/engine'],
    [
      'src/webhost/x.ts',
      "import { type Engine } from '../engine'\nexport type X = Engine",
      'may not import src/engine',
    ],
    ['src/webhost/bridge/x.ts', importing('page', '../page'), 'may not import src/webhost'],
    ['src/webhost/bridge/x.ts', importing('appCore', '../../app'), 'may not import src/app'],
    ['src/webhost/bridge/x.ts', importing('readFileSync', 'node:fs'), 'no Node'],
    // src/renderer and src/preload: shared only.
    ['src/renderer/x.ts', importing('createEngine', '../engine/engine'), 'bridge'],
    ['src/renderer/x.ts', importing('ProxyServer', '../proxy/server'), 'bridge'],
    ['src/renderer/x.ts', importing('ConferenceServer', '../sfu'), 'bridge'],
    ['src/renderer/ui/x.ts', importing('appCore', '../../app/core/appCore'), 'may not import src/app'],
    ['src/renderer/x.ts', importing('ipcRenderer', 'electron'), 'preload'],
    ['src/renderer/x.ts', importing('readFileSync', 'node:fs'), 'no Node'],
    ['src/preload/x.ts', importing('createEngine', '../engine'), 'may not import src/engine'],
    ['src/preload/x.ts', importing('appCore', '../app/core/appCore'), 'may not import src/app'],
    // Product code never imports test support or test tooling; every folder of src belongs to a layer.
    ['src/engine/x.ts', importing('startProxy', '../../e2e/support/proxyFixture'), 'never imports e2e/'],
    ['src/proxy/net/x.ts', importing('expect', 'vitest'), 'test tooling'],
    ['src/sfu/x.ts', importing('fc', 'fast-check'), 'test tooling'],
    ['src/engine/x.ts', importing('thing', '../newFolder/thing'), 'in no layer'],
    [
      'src/newFolder/x.ts',
      importing('ConnectionState', '../shared/engine'),
      'src/newFolder/x.ts is in no layer',
    ],
    ['src/x.ts', 'export const x = 1', 'src/x.ts is in no layer'],
    // Every form of import is checked, not only `import … from`.
    ['src/proxy/x.ts', "export { ConferenceServer } from '../sfu'", 'may not import src/sfu'],
    ['src/proxy/x.ts', "export * from '../sfu'", 'may not import src/sfu'],
    ['src/proxy/x.ts', "export const x = () => import('../sfu')", 'may not import src/sfu'],
    ['src/proxy/x.ts', "export type X = import('../sfu').SfuConfig", 'may not import src/sfu'],
  ])('%s: refuses %j', async (file, code, fragment) => {
    expect((await boundaryMessages(file, code)).join('\n')).toContain(fragment)
  })

  it.each([
    ['src/engine/x.ts', importing('ConnectionState', '../shared/engine')],
    ['src/engine/route/x.ts', importing('decode', '../../protocol/stun/message')],
    ['src/engine/x.ts', importing('createLogger', '../platform/logger')],
    ['src/renderer/x.ts', importing('ConnectionState', '../shared/engine')],
    ['src/shared/x.ts', importing('z', 'zod')],
    ['src/protocol/x.ts', importing('createHmac', 'node:crypto')],
    ['src/server/x.ts', importing('ProxyServer', '../proxy')],
    ['src/server/x.ts', importing('ProxyServer', '../proxy/index')],
    ['src/server/x.ts', importing('ConferenceServer', '../sfu')],
    ['src/server/x.ts', importing('SfuConfigSchema', '../sfu/config')],
    ['src/server/x.ts', importing('NodeRegistry', '../cluster')],
    ['src/cluster/x.ts', importing('PlacementError', '../shared/cluster')],
    ['src/app/stack/x.ts', importing('SfuConfigSchema', '../../sfu/config.js')],
    ['src/cli/x.ts', importing('createEngine', '../engine')],
    ['src/cli/x.ts', importing('createEngine', '../engine/index')],
    ['src/app/core/x.ts', importing('createEngine', '../../engine')],
    ['src/app/stack/x.ts', importing('ProxyServer', '../../proxy')],
    ['src/main/x.ts', importing('createAppCore', '../app/core/appCore')],
    ['src/main/x.ts', importing('BrowserWindow', 'electron')],
    ['src/webhost/x.ts', importing('createAppCore', '../app/core/appCore')],
    ['src/preload/x.ts', importing('contextBridge', 'electron')],
    // A file inside a folder named like a layer is not that layer: src/proxy/server.ts is the proxy's.
    ['src/proxy/api/x.ts', importing('ProxyServer', '../server')],
    // Tests wire several layers together on purpose.
    ['src/engine/x.test.ts', importing('ConferenceServer', '../sfu/server')],
    ['src/engine/x.test.ts', importing('startProxy', '../../e2e/support/proxyFixture')],
    ['src/shared/x.test.ts', importing('readFileSync', 'node:fs')],
  ])('%s: allows %j', async (file, code) => {
    expect(await boundaryMessages(file, code)).toEqual([])
  })

  it('the layer table has no cycle', async () => {
    // Loaded by URL: the config is plain JavaScript, outside what tsc type-checks.
    const config = pathToFileURL(resolve('eslint.config.js')).href
    const { layers } = (await import(config)) as { layers: Record<string, { may: Record<string, string> }> }
    const visiting = new Set<string>()
    const done = new Set<string>()
    const visit = (name: string, trail: string[]): void => {
      if (done.has(name)) return
      expect(visiting.has(name), `cycle: ${[...trail, name].join(' -> ')}`).toBe(false)
      visiting.add(name)
      for (const next of Object.keys(layers[name]?.may ?? {}))
        if (next in layers) visit(next, [...trail, name])
      visiting.delete(name)
      done.add(name)
    }
    for (const name of Object.keys(layers)) visit(name, [])
    expect(done.size).toBe(Object.keys(layers).length)
  })
})

describe('size limits for product code', () => {
  const lines = (n: number, line: (i: number) => string) => Array.from({ length: n }, (_, i) => line(i))
  const file = (n: number) => lines(n, (i) => `export const v${i} = ${i}`).join('\n') + '\n'
  const fn = (length: number) =>
    ['export function f() {', '  let x = 0', ...lines(length - 4, () => '  x += 1'), '  return x', '}'].join(
      '\n',
    ) + '\n'
  const sizeMessages = (filePath: string, code: string) => messages(filePath, code, sizeRules)

  it('refuses a product file over 400 lines and a product function over 80, in src and bin', async () => {
    expect((await sizeMessages('src/engine/x.ts', file(401))).join('\n')).toContain('too many lines (401)')
    expect((await sizeMessages('src/renderer/x.ts', fn(81))).join('\n')).toContain('too many lines (81)')
    expect((await sizeMessages('bin/x.js', fn(81))).join('\n')).toContain('too many lines (81)')
  })

  it('allows 400 lines, 80-line functions, and tests of any size', async () => {
    expect(await sizeMessages('src/engine/x.ts', file(400))).toEqual([])
    expect(await sizeMessages('src/engine/x.ts', fn(80))).toEqual([])
    expect(await sizeMessages('src/engine/x.test.ts', file(401) + fn(81))).toEqual([])
  })
})
