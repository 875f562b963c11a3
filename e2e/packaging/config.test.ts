/**
 * The electron-builder configuration (electron-builder.yml), checked by electron-builder's own code as far
 * as it runs without the Electron download (README.md "Desktop packages"): its schema validation, its
 * targets, and its file matcher run over a fresh `electron-vite build` plus the whole project tree, so the
 * test knows exactly which files the app would ship and that no source, test or benchmark is among them.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'

const run = promisify(execFile)
const root = process.cwd()
const require = createRequire(join(root, 'node_modules/app-builder-lib/package.json'))

interface BuilderConfig {
  appId?: string
  productName?: string
  files?: (string | object)[]
  extraResources?: { from: string; to: string }[]
  linux?: { target?: string[] }
  win?: { target?: string[] }
  nsis?: { perMachine?: boolean; oneClick?: boolean }
  directories?: { output?: string; buildResources?: string }
}
type Filter = (file: string, stat: { isDirectory(): boolean }) => boolean

const configModule = require('./out/util/config/config.js') as {
  getConfig(projectDir: string, configPath: string | null, fromOptions: null): Promise<BuilderConfig>
  validateConfiguration(config: BuilderConfig, debugLogger: unknown): Promise<void>
}
const { getMainFileMatchers } = require('./out/fileMatcher.js') as {
  getMainFileMatchers(...args: unknown[]): { createFilter(): Filter }[]
}
const { DebugLogger } = require('builder-util') as { DebugLogger: new (enabled: boolean) => unknown }

const COMPILED_SERVER = ['out/node/pinhole-server.js', 'out/node/proxy-worker.js', 'out/node/build.json']

let config: BuilderConfig
let buildDir: string

beforeAll(async () => {
  config = await configModule.getConfig(root, 'electron-builder.yml', null)
  // A real build, into a directory of its own (out/ may be in use by another build).
  buildDir = mkdtempSync(join(tmpdir(), 'pinhole-pack-'))
  const bin = join(root, 'node_modules/.bin/electron-vite')
  await run(process.execPath, [bin, 'build', '--outDir', join(buildDir, 'out')], {
    cwd: root,
    timeout: 120_000,
  })
}, 180_000)
afterAll(() => rmSync(buildDir, { recursive: true, force: true }))

function walk(dir: string, skip: (rel: string) => boolean, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = join(dir, entry.name)
    const rel = relative(base, full)
    if (skip(rel)) return []
    return entry.isDirectory() ? walk(full, skip, base) : [rel]
  })
}

/** The project-relative files electron-builder would put into app.asar (node_modules aside). */
function shippedFiles(): { shipped: string[]; considered: string[] } {
  const matchers = getMainFileMatchers(
    root,
    '/app',
    (s: string) => s,
    {},
    {
      info: {
        projectDir: root,
        buildResourcesDir: config.directories?.buildResources ?? 'build',
        config: structuredClone(config),
        isPrepackedAppAsar: false,
        debugLogger: new DebugLogger(false),
      },
    },
    join(root, config.directories?.output ?? 'dist'),
    false,
  )
  const filter = matchers[0]!.createFilter()
  // The tree as it is, with out/ replaced by the fresh build; node_modules is packed by its own rules.
  const tree = walk(root, (rel) => ['node_modules', '.git', 'out'].includes(rel))
  const built = walk(join(buildDir, 'out'), () => false).map((rel) => join('out', rel))
  // What `npm run build` adds beside it (scripts/buildNode.ts): the compiled server, not the app's.
  const considered = [...tree, ...built, ...COMPILED_SERVER]
  const accepts = (rel: string, isDir: boolean): boolean =>
    filter(join(root, rel), { isDirectory: () => isDir })
  const shipped = considered.filter((rel) => {
    const parts = rel.split('/')
    // electron-builder walks down only into directories its filter accepts.
    for (let i = 1; i < parts.length; i += 1) if (!accepts(parts.slice(0, i).join('/'), true)) return false
    return accepts(rel, false)
  })
  return { shipped: shipped.sort(), considered }
}

describe('electron-builder.yml', () => {
  it("passes electron-builder's own schema validation", async () => {
    await expect(configModule.validateConfiguration(config, new DebugLogger(false))).resolves.toBeUndefined()
  })

  it('is the file electron-builder loads, not a build key in package.json', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
    expect(pkg.build).toBeUndefined()
    expect(pkg.scripts.dist).toBe('electron-vite build && electron-builder --config electron-builder.yml')
    const onDisk = parseYaml(readFileSync(join(root, 'electron-builder.yml'), 'utf8')) as BuilderConfig
    expect({ appId: config.appId, linux: config.linux, nsis: config.nsis }).toEqual({
      appId: onDisk.appId,
      linux: onDisk.linux,
      nsis: onDisk.nsis,
    })
  })

  it('targets deb, rpm, AppImage and a per-machine NSIS installer', () => {
    expect(config.appId).toBe('com.pinhole.desktop')
    expect(config.productName).toBe('Pinhole')
    expect(config.linux?.target).toEqual(['deb', 'rpm', 'AppImage'])
    expect(config.win?.target).toEqual(['nsis'])
    expect(config.nsis).toMatchObject({ perMachine: true, oneClick: false })
  })

  it('ships the policy and regions examples as resources', () => {
    expect(config.extraResources).toEqual([
      { from: 'resources/policy.example.json', to: 'policy.example.json' },
      { from: 'resources/regions.example.json', to: 'regions.example.json' },
    ])
    for (const { from } of config.extraResources ?? []) expect(existsSync(join(root, from))).toBe(true)
  })

  it('packs exactly package.json and the electron-vite output, nothing else of the tree', () => {
    const { shipped, considered } = shippedFiles()
    const built = considered.filter(
      (rel) => rel.startsWith('out/') && !rel.endsWith('.map') && !COMPILED_SERVER.includes(rel),
    )
    expect(built).toEqual(
      expect.arrayContaining(['out/main/index.js', 'out/preload/index.cjs', 'out/renderer/index.html']),
    )
    expect(shipped).toEqual(['package.json', ...built].sort())

    // Spelled out: what must never be in the package, although it is in the tree.
    const unwanted = considered.filter((rel) =>
      /^(src|e2e|bench|testdata|docs|resources|bin|\.ci|\.vitest)\/|\.test\.ts$|^(tsconfig.*|electron-builder\.yml|.*\.log)$/.test(
        rel,
      ),
    )
    expect(unwanted.length).toBeGreaterThan(50)
    expect(shipped.filter((rel) => unwanted.includes(rel))).toEqual([])
  })
})
