// @ts-check
import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'
import { builtinModules } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/*
 * The layers of src and the arrows between them (docs/architecture.md draws the same picture), enforced here
 * rather than hoped for. Each folder lists the folders its product files may import; anything else in src is
 * refused, so a new arrow is a one-line change here that a reviewer sees. Test files (*.test.ts) are exempt:
 * they wire real components of several layers together on purpose.
 *
 *   ANY    any file of that folder
 *   INDEX  only the folder's index.ts (`../proxy`, `../proxy/index`): its inside may move freely; a list such
 *          as ['index', 'config'] names the only files that may be imported
 */
const ANY = 'any'
const INDEX = ['index']
const base = { shared: ANY, protocol: ANY, platform: ANY }
// The SFU's config section is a second way in, so checking a config file does not load werift.
const SFU = ['index', 'config']
/**
 * Exported for e2e/lint/boundaries.test.ts, which also checks the table has no cycle.
 * @type {Record<string, { why: string, may: Record<string, string | string[]> }>}
 */
export const layers = {
  shared: { why: 'src/shared runs in every process and depends on nothing else in src', may: {} },
  protocol: { why: 'wire formats sit under every client and server', may: { shared: ANY } },
  platform: { why: 'logger, clock and process helpers sit under all Node code', may: { shared: ANY } },
  proxy: { why: 'the proxy is a leaf service: shared, protocol and platform only', may: base },
  sfu: { why: 'the SFU is a leaf service: shared, protocol and platform only', may: base },
  cluster: { why: 'the Redis cluster registry is a leaf: shared, protocol and platform only', may: base },
  engine: { why: 'the client engine never reaches into the servers or the app', may: base },
  server: {
    why: 'the server command wires the proxy, the SFU and the cluster through their index only',
    may: { ...base, proxy: INDEX, sfu: SFU, cluster: INDEX },
  },
  cli: { why: 'the CLI drives the engine through its index only', may: { ...base, engine: INDEX } },
  // The app's embedded local stack runs a proxy and an SFU in process, through their index like the server.
  app: {
    why: 'the app core is host-neutral: no Electron, no host; the engine and the services through their index only',
    may: { ...base, engine: INDEX, proxy: INDEX, sfu: SFU },
  },
  main: {
    why: 'the Electron shell talks to the engine through the app core',
    may: { shared: ANY, platform: ANY, app: ANY, electron: ANY },
  },
  webhost: {
    why: 'the browser host talks to the engine through the app core',
    may: { shared: ANY, platform: ANY, app: ANY },
  },
  'webhost/bridge': { why: 'the bridge runs in the page: it imports src/shared only', may: { shared: ANY } },
  renderer: {
    why: "the renderer talks to the engine through the preload's typed bridge only",
    may: { shared: ANY },
  },
  preload: {
    why: 'the preload is a thin bridge: src/shared and Electron only',
    may: { shared: ANY, electron: ANY },
  },
}
/** Packages only the layers that list them may import. */
const gatedPackages = ['electron']
/** Test tooling and test support: product code never imports them. */
const testOnly = /^(vitest|@vitest\/|fast-check)(\/|$)/
const testFolders = ['e2e', 'test', 'bench']

const root = path.dirname(fileURLToPath(import.meta.url))
const srcDir = path.join(root, 'src')

/** The layer an absolute path under src belongs to (the longest matching folder), and the path inside it. */
function layerOf(absolute) {
  const rel = path.relative(srcDir, absolute).split(path.sep).join('/')
  const name = Object.keys(layers)
    .filter((key) => rel === key || rel.startsWith(`${key}/`))
    .sort((a, b) => b.length - a.length)[0]
  return name === undefined ? undefined : { name, inside: rel.slice(name.length + 1) }
}

/** The file an import inside a folder names, without extension: `` and `index.js` are both `index`. */
function entryOf(inside) {
  return inside === '' ? 'index' : inside.replace(/\.[jt]s$/, '')
}

/** Why `from` may not import `specifier`, or undefined when it may. */
function refusal(from, specifier) {
  const rule = layers[from.name]
  if (!specifier.startsWith('.')) {
    if (testOnly.test(specifier)) return `product code never imports test tooling (${specifier})`
    const pkg = gatedPackages.find((p) => specifier === p || specifier.startsWith(`${p}/`))
    return pkg && rule.may[pkg] !== ANY ? `src/${from.name} may not import ${pkg}: ${rule.why}` : undefined
  }
  const target = path.resolve(path.join(srcDir, from.name, path.dirname(from.inside)), specifier)
  const outside = path.relative(root, target).split(path.sep)[0]
  if (!target.startsWith(srcDir + path.sep)) {
    return outside && testFolders.includes(outside) ? `product code never imports ${outside}/` : undefined
  }
  const to = layerOf(target)
  if (to === undefined) return `${specifier} is in no layer: add its folder to eslint.config.js`
  if (to.name === from.name) return undefined
  const access = rule.may[to.name]
  if (access === ANY) return undefined
  if (Array.isArray(access) && access.includes(entryOf(to.inside))) return undefined
  const how = Array.isArray(access) ? ` (through ${access.join('.ts or ')}.ts only)` : ''
  return `src/${from.name} may not import src/${to.name}/${to.inside}${how}: ${rule.why}`
}

/** @type {import('eslint').Rule.RuleModule} */
const layerRule = {
  meta: { type: 'problem', docs: { description: 'Imports follow the layers of src' }, schema: [] },
  create(context) {
    const from = layerOf(context.filename)
    if (from === undefined) {
      // The rule runs on src only, so a file here outside every layer is a new folder nobody placed yet.
      const where = path.relative(root, context.filename)
      const message = `${where} is in no layer: add its folder to eslint.config.js`
      return { Program: (node) => context.report({ node, message }) }
    }
    const check = (node, source) => {
      if (source?.type !== 'Literal' || typeof source.value !== 'string') return
      const message = refusal(from, source.value)
      if (message) context.report({ node: source, message })
    }
    return {
      ImportDeclaration: (node) => check(node, node.source),
      ExportNamedDeclaration: (node) => check(node, node.source),
      ExportAllDeclaration: (node) => check(node, node.source),
      ImportExpression: (node) => check(node, node.source),
      // `type T = import('../sfu').X` names another layer as surely as an import does.
      TSImportType: (node) => check(node, node.source ?? node.argument?.literal),
      TSImportEqualsDeclaration: (node) => check(node, node.moduleReference.expression),
    }
  },
}

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)]
const noNode = (message) => nodeBuiltins.map((name) => ({ name, message }))
const testFiles = ['src/**/*.test.ts', 'src/**/*.test.tsx']
/**
 * Product code stays small. A file is counted as `wc -l` counts it, the measure everyone reads; a function
 * is counted without blank lines and comments, so explaining why inside a function never pushes it over.
 */
const sizeLimits = {
  'max-lines': ['error', { max: 400, skipBlankLines: false, skipComments: false }],
  'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true, IIFEs: true }],
}

export default tseslint.config(
  { ignores: ['node_modules/', 'out/', 'dist/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-empty': ['error', { allowEmptyCatch: false }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['src/**/*.ts', 'src/**/*.tsx'],
    ignores: testFiles,
    plugins: { pinhole: { rules: { layers: layerRule } } },
    rules: { 'pinhole/layers': 'error', ...sizeLimits },
  },
  // The launchers ship too.
  { files: ['bin/**/*.js'], rules: sizeLimits },
  // Where code runs decides its globals, for tests too; the import and global bans below cover product files
  // only, because tests run under vitest on Node (e.g. src/shared/errors.test.ts reads docs/errors.md).
  { files: ['src/shared/**'], languageOptions: { globals: {} } },
  {
    files: ['src/renderer/**', 'src/webhost/bridge/**'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['src/shared/**'],
    ignores: testFiles,
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: noNode('src/shared runs in every process: no Node imports.') },
      ],
      'no-restricted-globals': ['error', 'window', 'document', 'navigator', 'process', 'Buffer', 'require'],
    },
  },
  {
    files: ['src/renderer/**'],
    ignores: testFiles,
    rules: { 'no-restricted-imports': ['error', { paths: noNode('The renderer is sandboxed: no Node.') }] },
  },
  // The browser host's page-side bridge runs in the page, like the renderer.
  {
    files: ['src/webhost/bridge/**'],
    ignores: testFiles,
    rules: { 'no-restricted-imports': ['error', { paths: noNode('The bridge runs in the page: no Node.') }] },
  },
)
