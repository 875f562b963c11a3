import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { parseConfig, type ServerConfigInput } from '../../src/server/config'
import { generateTestCert } from '../support/certs'
import { exited, killGroup, stopChild } from '../support/process'
import { restCredentials } from '../support/serverUnderTest'
import type { WeriftTurnOptions } from '../support/weriftPeers'
import { REPO, type Lab } from './lab'

/** The four ways a desktop in `lan` reaches the proxy, each through one whitelisted port. */
export const LAB_TRANSPORTS = ['udp-3478', 'udp-7070', 'tcp-443', 'tls-443'] as const
export type LabTransport = (typeof LAB_TRANSPORTS)[number]

export interface LabProxy {
  /** werift TURN options for one transport; a fresh REST credential per call (uid distinct per caller). */
  turn(transport: LabTransport, uid: string): WeriftTurnOptions
  /** The config it runs (certificate paths included), e.g. for `pinhole-server whitelist`. */
  config: ServerConfigInput
  /** Log lines the proxy wrote (JSON), for failure messages. */
  log(): string
  /** SIGKILLs the proxy (its whole process group) and resolves once it is gone: no drain, no goodbye. */
  kill(): Promise<void>
  /** Starts it again after `kill`, with the same config and certificate files (the pinned fingerprint holds). */
  restart(): Promise<void>
  stop(): Promise<void>
}

const TURN_SECRET = 'lab-turn-secret-0123456789abcdef'
/** The app the proxy (and the lab's conference server) accept; `pinhole join` mints its token from it. */
export const LAB_APP = { appKey: 'lab', secret: 'lab-app-secret-0123456789' } as const

export interface LabProxyOptions {
  /** Where the proxy relays signaling; default `ws://srv:9/v1/signal`, where nothing listens. */
  signalUpstream?: string
  /**
   * Places channels on the conference nodes of this cluster section instead (docs/scaling.md): the
   * config then has no `signal.upstream`, each session's route ticket names the node.
   */
  cluster?: NonNullable<ServerConfigInput['cluster']>
}

/**
 * Starts Pinhole's proxy inside `dmz` through its real CLI (`bin/pinhole-server.js start --config FILE`),
 * listening on the dmz address with the production ports (UDP 3478 and 7070, TCP 443), a certificate whose
 * SAN is that address, and relaying only to the `srv` subnet. Resolves on its `started` log line.
 */
export async function startLabProxy(lab: Lab, options: LabProxyOptions = {}): Promise<LabProxy> {
  const { dmz, subnets, srv } = lab.addresses
  const dir = mkdtempSync(join(tmpdir(), 'pinhole-lab-proxy-'))
  const cert = await generateTestCert({ ips: [dmz], dnsNames: [] })
  const input: ServerConfigInput = {
    log: { level: 'info' },
    apps: [{ ...LAB_APP }],
    proxy: {
      region: 'lab',
      publicAddress: dmz,
      listenHost: dmz,
      ports: { udp: [3478, 7070], tcp: 443 },
      // Bound to the public address, so relayed packets toward srv carry the address srv was told about.
      relay: { listenHost: dmz, portRange: [50000, 50999] },
      tls: { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') },
      turnSecret: TURN_SECRET,
      peers: { allow: [subnets.srv], allowLoopback: false },
      // By default nothing listens there; call.test.ts points it at the conference server in srv.
      ...(options.cluster
        ? {}
        : { signal: { upstream: options.signalUpstream ?? `ws://${srv}:9/v1/signal` } }),
    },
    ...(options.cluster ? { cluster: options.cluster } : {}),
    admin: { host: '127.0.0.1', port: 0 },
  }
  parseConfig(input) // Fail here, with the field named, rather than in the child's stderr.
  writeFileSync(join(dir, 'cert.pem'), cert.certPem)
  writeFileSync(join(dir, 'key.pem'), cert.keyPem, { mode: 0o600 })
  writeFileSync(join(dir, 'server.json'), JSON.stringify(input, null, 2))
  const cleanup = (): void => {
    rmSync(dir, { recursive: true, force: true })
    process.off('exit', cleanup)
  }
  process.once('exit', cleanup)

  let log = ''
  /** Spawns the proxy with the config above and resolves on its `started` line (rejects within 20 s). */
  const launch = async (): Promise<ChildProcess> => {
    const child = lab.spawn('dmz', process.execPath, [
      join(REPO, 'bin/pinhole-server.js'),
      'start',
      '--config',
      join(dir, 'server.json'),
    ])
    child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()))
    const started = new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        log += `${line}\n`
        if (line.includes('"msg":"started"')) resolve()
      })
      child.once('exit', (code) => reject(new Error(`pinhole-server exited with ${code}: ${log}`)))
    })
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`pinhole-server did not start within 20 s: ${log}`)), 20_000)
    })
    try {
      await Promise.race([started, timeout])
    } catch (err) {
      await stopChild(child, 1000)
      throw err
    } finally {
      clearTimeout(timer)
    }
    return child
  }
  let child: ChildProcess
  try {
    child = await launch()
  } catch (err) {
    cleanup()
    throw err
  }

  const urls: Record<LabTransport, string> = {
    'udp-3478': `turn:${dmz}:3478?transport=udp`,
    'udp-7070': `turn:${dmz}:7070?transport=udp`,
    'tcp-443': `turn:${dmz}:443?transport=tcp`,
    'tls-443': `turns:${dmz}:443?transport=tcp`,
  }
  return {
    turn: (transport, uid) => ({
      turnUrl: urls[transport],
      ...restCredentials(TURN_SECRET, uid),
      ...(transport === 'tls-443' ? { turnTlsCa: cert.certPem } : {}),
    }),
    config: input,
    log: () => log,
    async kill() {
      killGroup(child, 'SIGKILL')
      if (child.exitCode === null && child.signalCode === null) await exited(child)
    },
    async restart() {
      if (child.exitCode === null && child.signalCode === null)
        throw new Error('the lab proxy is still running')
      child = await launch()
    },
    async stop() {
      // Allocations werift never releases would hold a graceful drain for its whole budget: do not wait.
      await stopChild(child, 500)
      cleanup()
    },
  }
}
