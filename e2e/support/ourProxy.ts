import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { generateTestCert } from './certs'
import { killOnExit, stopChild } from './process'
import { restCredentials, type TurnServerUnderTest } from './serverUnderTest'
import { stunBindingTcp, stunBindingUdp } from './stunProbe'
import { freePort, waitFor } from './tools'

const REPO = resolve(import.meta.dirname, '../..')

export interface OurProxyOptions {
  /** Relay port range; keep it apart from coturn's when both run at once. */
  relayPorts?: [number, number]
  logLevel?: 'warn' | 'info' | 'error'
  /** Worker processes sharing the ports (proxy.workers). */
  workers?: number
}

/**
 * Starts Pinhole's proxy as a CHILD PROCESS (`bin/pinhole-server.js start`) on loopback, so benchmarks
 * measure its CPU by pid and the load generator never shares its event loop: UDP on two ports, TCP 443's
 * stand-in on a free port (TLS, TURN over TCP and HTTP demultiplexed on it), loopback peers allowed, limits
 * raised so that load tests measure the relay rather than the quotas. Waits until every listener answers.
 */
export async function startOurProxy(options: OurProxyOptions = {}): Promise<TurnServerUnderTest> {
  const dir = mkdtempSync(join(tmpdir(), 'pinhole-proxy-'))
  const cert = await generateTestCert()
  const secret = 'interop-turn-secret-0123456789'
  const udp = [await freePort('udp'), await freePort('udp')]
  const tcp = await freePort('tcp')
  const admin = await freePort('tcp')
  const config = {
    log: { level: options.logLevel ?? 'warn' },
    apps: [{ appKey: 'interop', secret: 'interop-app-secret-0123456789' }],
    proxy: {
      region: 'loopback',
      workers: options.workers ?? 1,
      publicAddress: '127.0.0.1',
      listenHost: '127.0.0.1',
      ports: { udp, tcp },
      relay: { listenHost: '127.0.0.1', portRange: options.relayPorts ?? [40000, 44999] },
      tls: { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') },
      turnSecret: secret,
      allocations: { perUser: 1000, total: 10_000, bandwidthBytesPerSecond: 0 },
      peers: { allow: ['127.0.0.0/8'], allowLoopback: true },
      rateLimit: { unauthenticatedPerSecond: 100_000, burst: 100_000, allocationsPerSecond: 100_000 },
      signal: { upstream: 'ws://127.0.0.1:9/v1/signal' },
    },
    admin: { host: '127.0.0.1', port: admin },
  }
  writeFileSync(join(dir, 'cert.pem'), cert.certPem)
  writeFileSync(join(dir, 'key.pem'), cert.keyPem, { mode: 0o600 })
  writeFileSync(join(dir, 'server.json'), JSON.stringify(config, null, 2))

  const child = spawn(
    process.execPath,
    [join(REPO, 'bin/pinhole-server.js'), 'start', '--config', join(dir, 'server.json')],
    {
      cwd: REPO,
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  )
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true })
  killOnExit(child, cleanup)
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null)
          throw new Error(`pinhole-server exited with ${child.exitCode}: ${stderr}`)
        const answers = await Promise.all([
          ...udp.map((p) => stunBindingUdp('127.0.0.1', p)),
          stunBindingTcp('127.0.0.1', tcp),
        ])
        return answers.every(Boolean)
      },
      'pinhole-server to answer on every port',
      30_000,
    )
  } catch (err) {
    await stopChild(child)
    cleanup()
    throw err
  }

  return {
    name: 'pinhole',
    host: '127.0.0.1',
    udpPorts: udp,
    tcpPort: tcp,
    tlsPort: tcp,
    tlsCaPem: cert.certPem,
    credentials: (uid = 'interop') => restCredentials(secret, uid),
    restSecret: secret,
    peerHost: '127.0.0.1',
    pid: child.pid,
    async stop() {
      await stopChild(child)
      cleanup()
    },
  }
}
