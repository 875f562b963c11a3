// @ts-check
import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'
import { builtinModules } from 'node:module'

// Process boundaries (DESIGN.md §2), enforced here rather than hoped for.
const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)]
const noNode = nodeBuiltins.map((name) => ({
  name,
  message: 'src/shared runs in every process: no Node imports.',
}))
/**
 * Relative imports that climb into one of these src folders: `../sfu` (its index) and `../../sfu/server`,
 * but not `../shared/engine` (a file that happens to share a folder's name).
 */
const folders = (...names) => `^(\\.\\./)+(${names.join('|')})(/|$)`
const serverSide = folders('engine', 'proxy', 'sfu', 'server', 'main')

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
    files: ['src/shared/**'],
    languageOptions: { globals: {} },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...noNode, { name: 'electron', message: 'src/shared imports no Electron.' }],
          patterns: [
            {
              regex: serverSide,
              message: 'src/shared depends on nothing else in src.',
            },
            {
              regex: folders('renderer', 'preload'),
              message: 'src/shared depends on nothing else in src.',
            },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'window', 'document', 'navigator', 'process', 'Buffer', 'require'],
    },
  },
  {
    files: ['src/renderer/**'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.map((name) => ({ name, message: 'The renderer is sandboxed: no Node.' })),
            { name: 'electron', message: 'Use the preload bridge.' },
          ],
          patterns: [
            { regex: serverSide, message: 'The renderer talks to the engine through the typed bridge only.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/engine/**', 'src/cli/**', 'src/proxy/**', 'src/sfu/**', 'src/server/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: 'Engine and servers run in any Node process: no Electron.' }],
          patterns: [
            {
              regex: folders('renderer', 'preload', 'main'),
              message: 'Only the Electron app imports its own processes.',
            },
          ],
        },
      ],
    },
  },
  // The app core and the browser host run in any Node process (docs/app.md): no Electron there.
  {
    files: ['src/main/core/**', 'src/webhost/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'electron', message: 'The app core is host-neutral: Electron wiring goes in src/main.' },
          ],
          patterns: [
            {
              regex: folders('renderer', 'preload'),
              message: 'Hosts reach the renderer through the contract only.',
            },
          ],
        },
      ],
    },
  },
  // The browser host's page-side bridge runs in the page, like the renderer: shared code only.
  {
    files: ['src/webhost/bridge/**'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.map((name) => ({ name, message: 'The bridge runs in the page: no Node.' })),
            { name: 'electron', message: 'The bridge runs in the page: no Electron.' },
          ],
          patterns: [
            {
              regex: folders('engine', 'proxy', 'sfu', 'server', 'main', 'renderer', 'preload'),
              message: 'The bridge imports src/shared only.',
            },
          ],
        },
      ],
    },
  },
)
