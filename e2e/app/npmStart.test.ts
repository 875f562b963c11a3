import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { electronBinary } from './electronApp'

/**
 * `npm start` without the Electron binary (issue 10 item 13): electron-vite alone stops with "Error:
 * Electron uninstall"; the check that runs before it (scripts/requireElectron.mjs) says what to do.
 */

const SCRIPT = join(process.cwd(), 'scripts', 'requireElectron.mjs')
const dir = mkdtempSync(join(tmpdir(), 'pinhole-start-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function check(env: Record<string, string | undefined>): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, [SCRIPT], { env: { ...process.env, ...env }, encoding: 'utf8' })
  return { status: result.status, stderr: result.stderr }
}

function expectAdvice(stderr: string): void {
  expect(stderr).toContain('the Electron binary is not installed')
  expect(stderr).toContain('npm run dev:web')
  expect(stderr).toContain('node node_modules/electron/install.js')
  expect(stderr).not.toContain('Electron uninstall')
}

describe('npm start without Electron', () => {
  it('a missing binary: exit 1 and what to do (the browser host, or how to get Electron)', () => {
    const { status, stderr } = check({ ELECTRON_EXEC_PATH: join(dir, 'no-electron') })
    expect(status).toBe(1)
    expectAdvice(stderr)
    expect(stderr).toContain(`ELECTRON_EXEC_PATH=${join(dir, 'no-electron')} does not exist`)
  })

  it('a binary there: exit 0 and nothing said, so electron-vite preview runs as before', () => {
    const binary = join(dir, 'electron')
    writeFileSync(binary, '')
    expect(check({ ELECTRON_EXEC_PATH: binary })).toEqual({ status: 0, stderr: '' })
  })

  it('this checkout’s node_modules/electron decides it as the Electron tests do', () => {
    const { status, stderr } = check({ ELECTRON_EXEC_PATH: undefined })
    if ('path' in electronBinary({})) expect(status).toBe(0)
    else {
      expect(status).toBe(1)
      expectAdvice(stderr)
    }
  })

  it('npm start runs the check before electron-vite preview', () => {
    const result = spawnSync('npm', ['start'], {
      env: { ...process.env, ELECTRON_EXEC_PATH: join(dir, 'no-electron') },
      encoding: 'utf8',
      timeout: 60_000,
    })
    expect(result.status).not.toBe(0)
    expectAdvice(result.stderr)
  })
})
