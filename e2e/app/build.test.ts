/**
 * The Electron app builds without the Electron binary (which cannot be downloaded here), and the sandboxed
 * preload comes out as one CommonJS file that loads nothing but `electron`.
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)

describe('electron-vite build', () => {
  it('builds main, a CommonJS preload requiring only electron, and the renderer', async () => {
    const bin = join(process.cwd(), 'node_modules/.bin/electron-vite')
    await run(process.execPath, [bin, 'build'], { cwd: process.cwd(), timeout: 120_000 })
    const preload = readFileSync(join(process.cwd(), 'out/preload/index.cjs'), 'utf8')
    const required = [...preload.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1])
    expect(new Set(required)).toEqual(new Set(['electron']))
    expect(preload).not.toMatch(/^\s*import\s/m)
    expect(readFileSync(join(process.cwd(), 'out/main/index.js'), 'utf8')).toContain('BrowserWindow')
    expect(readFileSync(join(process.cwd(), 'out/renderer/index.html'), 'utf8')).toContain(
      'Content-Security-Policy',
    )
  })
})
