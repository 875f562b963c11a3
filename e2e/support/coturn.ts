import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateTestCert } from './certs'
import type { TestCert } from './certs'
import { restCredentials } from './serverUnderTest'
import type { TurnServerUnderTest } from './serverUnderTest'
import { stunBindingTcp, stunBindingUdp, tcpAccepts } from './stunProbe'
import { exited, killOnExit, stopChild } from './process'
import { freePorts, requireTool, sleep } from './tools'

export interface CoturnUser {
  username: string
  password: string
}

export interface CoturnOptions {
  /** Listener and relay address. Default 127.0.0.1. */
  host?: string
  /** Main listener (UDP + TCP). Default: a free port. */
  port?: number
  /** Extra full listeners (`--aux-server`), UDP + TCP each. Default: one free port. Pass [] for none. */
  auxPorts?: number[]
  /** TLS (and DTLS) listener; `false` for none. Default: a free port with a generated certificate. */
  tlsPort?: number | false
  /** Certificate for the TLS listener. Default: generateTestCert() for 127.0.0.1/::1/localhost. */
  cert?: TestCert
  /**
   * TURN REST secret (`--use-auth-secret`). Default: random, unless `users` are given. coturn 4.6.1 cannot
   * mix the two ("Shared secret overrides username/password"), so passing both throws.
   */
  restSecret?: string
  /** Static long-term users (`--lt-cred-mech --user`); replaces REST auth. */
  users?: CoturnUser[]
  realm?: string
  /** Relay port range (`--min-port/--max-port`). Default: coturn's own, 49152–65535. */
  relayPorts?: { min: number; max: number }
  /** `--allow-loopback-peers` (with `--no-cli`, which coturn requires for it). Default true. */
  allowLoopbackPeers?: boolean
  /** Anything else, appended verbatim. */
  extraArgs?: string[]
  /** How long to wait for every listener to answer. Default 10 s. */
  startTimeoutMs?: number
}

export interface CoturnServer {
  host: string
  port: number
  auxPorts: number[]
  /** Undefined when started without TLS. */
  tlsPort: number | undefined
  cert: TestCert | undefined
  restSecret: string | undefined
  realm: string
  pid: number
  /** Temporary directory holding config, database, certificate and log. */
  dir: string
  logFile: string
  args: string[]
  readLog(): Promise<string>
  /** SIGTERM to the process group, SIGKILL after 3 s; removes the temporary directory. */
  stop(): Promise<void>
}

/** Starts a loopback coturn reference server and waits until every listener answers a STUN Binding. */
export async function startCoturn(options: CoturnOptions = {}): Promise<CoturnServer> {
  const binary = requireTool('turnserver')
  const host = options.host ?? '127.0.0.1'
  const realm = options.realm ?? 'pinhole.test'
  const wantTls = options.tlsPort !== false
  // coturn binds UDP and TCP on every listener port; pick ports free for both.
  const needed =
    1 + (options.auxPorts === undefined ? 1 : 0) + (wantTls && options.tlsPort === undefined ? 1 : 0)
  const spare = await freePorts(needed, ['udp', 'tcp'], 1, host)
  const take = (): number => {
    const next = spare.shift()
    if (next === undefined) throw new Error('internal: ran out of reserved ports')
    return next
  }
  const port = options.port ?? take()
  const auxPorts = options.auxPorts ?? [take()]
  const tlsPort = wantTls ? (typeof options.tlsPort === 'number' ? options.tlsPort : take()) : undefined
  const users = options.users ?? []
  if (options.restSecret !== undefined && users.length > 0) {
    throw new Error('coturn cannot mix --use-auth-secret and --lt-cred-mech users: pass one of them')
  }
  const restSecret = users.length > 0 ? undefined : (options.restSecret ?? randomBytes(16).toString('hex'))

  const dir = await mkdtemp(join(tmpdir(), 'pinhole-coturn-'))
  const configFile = join(dir, 'empty.conf')
  const logFile = join(dir, 'turn.log')
  await writeFile(configFile, '')
  const args = [
    '-c',
    configFile, // an empty config: never read /etc/turnserver.conf
    '-L',
    host,
    '-E',
    host,
    '-p',
    String(port),
    '--realm',
    realm,
    '--no-cli',
    '--db',
    join(dir, 'turndb.sqlite'),
    '--log-file',
    logFile,
    '--simple-log',
    '--no-stdout-log',
    '--pidfile',
    join(dir, 'turnserver.pid'),
  ]
  for (const aux of auxPorts) args.push('--aux-server', `${host}:${aux}`)
  if (options.allowLoopbackPeers ?? true) args.push('--allow-loopback-peers')
  if (restSecret !== undefined) args.push('--use-auth-secret', '--static-auth-secret', restSecret)
  if (users.length > 0) {
    args.push('--lt-cred-mech')
    for (const user of users) args.push('--user', `${user.username}:${user.password}`)
  }
  if (options.relayPorts) {
    args.push('--min-port', String(options.relayPorts.min), '--max-port', String(options.relayPorts.max))
  }
  let cert: TestCert | undefined
  if (tlsPort !== undefined) {
    cert = options.cert ?? (await generateTestCert())
    const certFile = join(dir, 'cert.pem')
    const keyFile = join(dir, 'key.pem')
    await writeFile(certFile, cert.certPem)
    await writeFile(keyFile, cert.keyPem, { mode: 0o600 })
    args.push('--tls-listening-port', String(tlsPort), '--cert', certFile, '--pkey', keyFile)
  } else {
    args.push('--no-tls', '--no-dtls')
  }
  args.push(...(options.extraArgs ?? []))

  // detached: its own process group, so stop() reaches anything it spawns.
  const child = spawn(binary, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  killOnExit(child, () => rmSync(dir, { recursive: true, force: true }))
  let output = ''
  const collect = (chunk: Buffer): void => {
    if (output.length < 20_000) output += chunk.toString()
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve))

  const readLog = (): Promise<string> =>
    readFile(logFile, 'utf8').catch((err: unknown) => {
      if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return ''
      throw err
    })
  const stop = async (): Promise<void> => {
    await stopChild(child)
    await rm(dir, { recursive: true, force: true })
  }

  try {
    await waitUntilAnswering(child, spawnError, host, [port, ...auxPorts], tlsPort, options.startTimeoutMs)
  } catch (err) {
    const log = await readLog()
    await stop()
    throw new Error(
      `coturn did not start: ${err instanceof Error ? err.message : String(err)}\n` +
        `args: ${args.join(' ')}\noutput: ${output.slice(-2000)}\nlog tail: ${log.slice(-3000)}`,
      { cause: err },
    )
  }
  if (child.pid === undefined) throw new Error('internal: coturn has no pid')
  return {
    host,
    port,
    auxPorts,
    tlsPort,
    cert,
    restSecret,
    realm,
    pid: child.pid,
    dir,
    logFile,
    args,
    readLog,
    stop,
  }
}

async function waitUntilAnswering(
  child: ChildProcess,
  spawnError: Promise<Error>,
  host: string,
  plainPorts: number[],
  tlsPort: number | undefined,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  const pending = new Set<string>([...plainPorts.flatMap((p) => [`udp:${p}`, `tcp:${p}`])])
  if (tlsPort !== undefined) pending.add(`tcpconnect:${tlsPort}`)
  const failure = Promise.race([
    spawnError,
    exited(child).then(() => new Error(`turnserver exited (code ${child.exitCode}, ${child.signalCode})`)),
  ])
  while (pending.size > 0) {
    if (Date.now() > deadline) throw new Error(`timed out; still silent: ${[...pending].join(', ')}`)
    const round = Promise.all(
      [...pending].map(async (key) => {
        const [kind, portText] = key.split(':')
        const port = Number(portText)
        // TLS listener: a plain Binding on it is not TURN-over-TLS; a TCP-level probe proves it listens.
        const ok =
          kind === 'udp'
            ? await stunBindingUdp(host, port)
            : kind === 'tcp'
              ? await stunBindingTcp(host, port)
              : await tcpAccepts(host, port)
        if (ok) pending.delete(key)
      }),
    )
    const outcome = await Promise.race([round.then(() => undefined), failure])
    if (outcome instanceof Error) throw outcome
    if (pending.size > 0) await sleep(50)
  }
}

export interface CoturnUnderTestOptions extends CoturnOptions {
  name?: string
}

/** coturn wrapped as the generic server-under-test of the interop suite and the benchmark. */
export async function startCoturnUnderTest(
  options: CoturnUnderTestOptions = {},
): Promise<TurnServerUnderTest> {
  const server = await startCoturn(options)
  const { restSecret, tlsPort, cert } = server
  if (restSecret === undefined || tlsPort === undefined || cert === undefined) {
    await server.stop()
    throw new Error('the interop suite needs coturn with a REST secret and a TLS listener')
  }
  return {
    name: options.name ?? 'coturn',
    host: server.host,
    udpPorts: [server.port, ...server.auxPorts],
    tcpPort: server.port,
    tlsPort,
    tlsCaPem: cert.certPem,
    credentials: (uid = 'interop') => restCredentials(restSecret, uid),
    restSecret,
    peerHost: '127.0.0.1',
    pid: server.pid,
    stop: () => server.stop(),
  }
}
