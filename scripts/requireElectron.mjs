#!/usr/bin/env node
// Runs before `electron-vite preview` in `npm start`. Without the Electron binary electron-vite stops
// with only "Error: Electron uninstall"; this says what a person can do instead. It finds the binary the
// way electron-vite does ($ELECTRON_EXEC_PATH, else node_modules/electron's path.txt under its dist/),
// without require('electron'), which would start a download.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** The binary's path, or why there is none. */
function findElectron(env) {
  const fromEnv = env.ELECTRON_EXEC_PATH
  if (fromEnv) {
    return existsSync(fromEnv)
      ? { path: fromEnv }
      : { missing: `ELECTRON_EXEC_PATH=${fromEnv} does not exist` }
  }
  const dir = join(root, 'node_modules', 'electron')
  const pathFile = join(dir, 'path.txt')
  if (!existsSync(pathFile)) {
    return { missing: 'node_modules/electron has no binary (its download did not run or failed)' }
  }
  const binary = join(dir, 'dist', readFileSync(pathFile, 'utf8').trim())
  return existsSync(binary) ? { path: binary } : { missing: `${binary} is missing` }
}

const found = findElectron(process.env)
if ('missing' in found) {
  process.stderr.write(
    [
      `npm start opens the desktop app in Electron, and the Electron binary is not installed: ${found.missing}.`,
      '',
      'Without Electron, the same app runs in your browser:',
      '  npm run dev:web            (builds, starts the engine in Node, prints the URL to open)',
      '',
      'To get Electron:',
      '  node node_modules/electron/install.js   (downloads it from GitHub; ELECTRON_MIRROR=<url> for a mirror)',
      '  or ELECTRON_EXEC_PATH=/path/to/electron npm start   (an Electron you already have)',
      '',
    ].join('\n'),
  )
  process.exit(1)
}
