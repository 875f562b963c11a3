import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { parseConfig, type ServerConfigInput } from '../../src/server/config'
import { stopChild } from '../support/process'
import { REPO, type Lab } from './lab'
import { LAB_APP } from './labProxy'

export const LAB_CONFERENCE_PORT = 7880

export interface LabConference {
  /** The signaling URL the proxy relays to (and a direct join would dial). */
  signalUrl: string
  log(): string
  stop(): Promise<void>
}

/**
 * Starts the conference server inside `srv` through the real CLI (`bin/pinhole-server.js start`) with an
 * sfu-only config: listening and announcing srv's address (the relay in dmz sends media there), the lab's
 * app, no dev tokens. Resolves on its `started` log line.
 */
export async function startLabConference(lab: Lab): Promise<LabConference> {
  const { srv } = lab.addresses
  const dir = mkdtempSync(join(tmpdir(), 'pinhole-lab-sfu-'))
  const input: ServerConfigInput = {
    log: { level: 'info' },
    apps: [{ ...LAB_APP }],
    sfu: {
      enabled: true,
      listenHost: srv,
      port: LAB_CONFERENCE_PORT,
      announcedAddress: srv,
      devTokens: false,
    },
    admin: { host: '127.0.0.1', port: 0 },
  }
  parseConfig(input) // Fail here, with the field named, rather than in the child's stderr.
  writeFileSync(join(dir, 'server.json'), JSON.stringify(input, null, 2))
  const cleanup = (): void => {
    rmSync(dir, { recursive: true, force: true })
    process.off('exit', cleanup)
  }
  process.once('exit', cleanup)

  const child = lab.spawn('srv', process.execPath, [
    join(REPO, 'bin/pinhole-server.js'),
    'start',
    '--config',
    join(dir, 'server.json'),
  ])
  let log = ''
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()))
  const started = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      log += `${line}\n`
      if (line.includes('"msg":"started"')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`pinhole-server (sfu) exited with ${code}: ${log}`)))
  })
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`conference server did not start within 20 s: ${log}`)), 20_000)
  })
  try {
    await Promise.race([started, timeout])
  } catch (err) {
    await stopChild(child, 1000)
    cleanup()
    throw err
  } finally {
    clearTimeout(timer)
  }
  return {
    signalUrl: `ws://${srv}:${LAB_CONFERENCE_PORT}/v1/signal`,
    log: () => log,
    async stop() {
      await stopChild(child, 1000)
      cleanup()
    },
  }
}
