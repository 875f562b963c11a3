import type { ChildProcess } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { chmodSync, existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { chromium, type Browser } from 'playwright-core'
import type { Lab } from '../../e2e/lab/lab'
import { REPO } from '../../e2e/lab/lab'
import type { LabProxy } from '../../e2e/lab/labProxy'
import { WHITELIST } from '../../e2e/lab/topology'
import type { TestCert } from '../../e2e/support/certs'
import { stopChild } from '../../e2e/support/process'
import { restCredentials } from '../../e2e/support/serverUnderTest'
import { requireTool, sleep } from '../../e2e/support/tools'
import type { Region } from '../../src/shared/engine'

/** The pieces of bench:network that live in the firewall lab: the host and browsers in lan, coturn in dmz. */

/** The lab's one region: the proxy in dmz, its whitelisted ports, its certificate pinned. */
export function labRegion(lab: Lab, proxy: LabProxy): Region {
  const pem = proxy.turn('tls-443', 'bench').turnTlsCa
  if (pem === undefined) throw new Error('labProxy gave no certificate for tls-443')
  return {
    id: 'lab',
    name: 'Lab DMZ',
    proxyHost: lab.addresses.dmz,
    ports: {
      udp: WHITELIST.filter((w) => w.proto === 'udp').map((w) => w.port) as [number, number],
      tcp: WHITELIST.find((w) => w.proto === 'tcp')!.port,
    },
    tlsFingerprintSha256: new X509Certificate(pem).fingerprint256,
  }
}

export interface LanHost {
  url: string
  stop(): Promise<void>
}

/** The browser host (bench/network/hostProcess.ts) inside `lan`; resolves with the URL it prints. */
export async function startLanHost(lab: Lab, options: object): Promise<LanHost> {
  const child = lab.spawnNode('lan', join(REPO, 'bench/network/hostProcess.ts'), [JSON.stringify(options)])
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bench host did not start in 60 s: ${stderr}`)), 60_000)
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer)
      resolve((JSON.parse(line) as { url: string }).url)
    })
    child.once('exit', (code) => reject(new Error(`bench host exited ${code}: ${stderr}`)))
  })
  return {
    url,
    async stop() {
      child.stdin?.end()
      await stopChild(child, 5000)
    },
  }
}

function ipTool(): string {
  return ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip'].find((path) => existsSync(path)) ?? 'ip'
}

/**
 * Chromium inside `lan` through a wrapper executable (`ip netns exec <lan> chromium "$@"`, which keeps
 * Playwright's pipe): its media goes through the router and the emulated link, and it reaches the host on
 * lan's own 127.0.0.1.
 */
export function lanChromium(lab: Lab, dir: string): (args: string[]) => Promise<Browser> {
  const wrapper = join(dir, 'chromium-in-lan')
  writeFileSync(
    wrapper,
    `#!/bin/sh\nexec ${ipTool()} netns exec ${lab.names.lan} ${requireTool('chromium')} "$@"\n`,
  )
  chmodSync(wrapper, 0o755)
  return (args) => chromium.launch({ executablePath: wrapper, headless: true, args })
}

export interface DmzCoturn {
  /** An RTCIceServer for Chromium: UDP 3478, or TURN over TLS on 443 (`turns:`). */
  iceServer(transport: 'udp' | 'tls', uid: string): { urls: string; username: string; credential: string }
  stop(): Promise<void>
}

const COTURN_SECRET = 'bench-network-coturn-secret'

/**
 * coturn inside `dmz` on the ports the lab's firewall opens (UDP 3478, and TLS on TCP 443 with `cert`), so
 * the native anchor's relay path crosses the same router and link as ours. Our proxy must not be running:
 * it owns those ports. Resolves once both listen (`ss` inside dmz).
 */
export async function startDmzCoturn(lab: Lab, dir: string, cert: TestCert): Promise<DmzCoturn> {
  const { dmz } = lab.addresses
  writeFileSync(join(dir, 'coturn.conf'), '')
  writeFileSync(join(dir, 'coturn-cert.pem'), cert.certPem)
  writeFileSync(join(dir, 'coturn-key.pem'), cert.keyPem, { mode: 0o600 })
  const args = [
    ...['-c', join(dir, 'coturn.conf'), '-L', dmz, '-E', dmz, '-p', '3478'],
    ...['--tls-listening-port', '443', '--cert', join(dir, 'coturn-cert.pem')],
    ...['--pkey', join(dir, 'coturn-key.pem'), '--realm', 'bench.lab', '--no-cli'],
    ...['--use-auth-secret', '--static-auth-secret', COTURN_SECRET],
    ...['--min-port', '49152', '--max-port', '49999', '--db', join(dir, 'coturn.sqlite')],
    ...['--log-file', join(dir, 'coturn.log'), '--simple-log', '--no-stdout-log'],
    ...['--pidfile', join(dir, 'coturn.pid')],
  ]
  const child: ChildProcess = lab.spawn('dmz', requireTool('turnserver'), args)
  let output = ''
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const deadline = Date.now() + 10_000
  for (;;) {
    const listening = await lab.exec('dmz', 'ss', ['-Hlnut'])
    if (listening.includes(`${dmz}:3478`) && listening.includes(`${dmz}:443`)) break
    if (child.exitCode !== null || Date.now() > deadline) {
      await stopChild(child, 1000)
      throw new Error(`coturn did not listen in dmz (exit ${child.exitCode}): ${output}`)
    }
    await sleep(100)
  }
  return {
    iceServer(transport, uid) {
      const { username, credential } = restCredentials(COTURN_SECRET, uid)
      const urls = transport === 'udp' ? `turn:${dmz}:3478?transport=udp` : `turns:${dmz}:443?transport=tcp`
      return { urls, username, credential }
    },
    stop: () => stopChild(child, 3000),
  }
}
