/**
 * The layer boundaries of docs/architecture.md are enforced by lint (eslint.config.js), not by hope: this test
 * lints small snippets as if they lived in each folder and checks the rule fires (and stays quiet for
 * what is allowed).
 */
import { ESLint } from 'eslint'
import { describe, expect, it } from 'vitest'

const eslint = new ESLint({ cwd: process.cwd() })

async function restrictedImports(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath })
  return (result?.messages ?? [])
    .filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-globals')
    .map((m) => m.message)
}

describe('import boundaries', () => {
  it.each([
    ['src/shared/x.ts', "import { readFileSync } from 'node:fs'\nexport const x = readFileSync", 'no Node'],
    ['src/shared/x.ts', "import { app } from 'electron'\nexport const x = app", 'no Electron'],
    [
      'src/shared/x.ts',
      "import { createEngine } from '../engine/engine'\nexport const x = createEngine",
      'nothing else',
    ],
    ['src/shared/x.ts', 'export const x = document.title', 'document'],
    [
      'src/renderer/x.ts',
      "import { createEngine } from '../engine/engine'\nexport const x = createEngine",
      'bridge',
    ],
    [
      'src/renderer/x.ts',
      "import { ProxyServer } from '../proxy/server'\nexport const x = ProxyServer",
      'bridge',
    ],
    [
      'src/renderer/x.ts',
      "import { ConferenceServer } from '../sfu'\nexport const x = ConferenceServer",
      'bridge',
    ],
    ['src/renderer/x.ts', "import { ipcRenderer } from 'electron'\nexport const x = ipcRenderer", 'preload'],
    ['src/engine/x.ts', "import { app } from 'electron'\nexport const x = app", 'no Electron'],
    [
      'src/proxy/x.ts',
      "import { BrowserWindow } from 'electron'\nexport const x = BrowserWindow",
      'no Electron',
    ],
  ])('%s: refuses %j', async (file, code, fragment) => {
    const messages = await restrictedImports(file, code)
    expect(messages.join('\n')).toContain(fragment)
  })

  it.each([
    [
      'src/engine/x.ts',
      "import { ConnectionState } from '../shared/engine'\nexport const x = ConnectionState",
    ],
    [
      'src/renderer/x.ts',
      "import { ConnectionState } from '../shared/engine'\nexport const x = ConnectionState",
    ],
    ['src/shared/x.ts', "import { z } from 'zod'\nexport const x = z"],
  ])('%s: allows %j', async (file, code) => {
    expect(await restrictedImports(file, code)).toEqual([])
  })
})
