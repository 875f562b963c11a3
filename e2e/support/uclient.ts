import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { exited, killOnExit, stopChild } from './process'
import { freePortFor, requireTool, sleep } from './tools'

export type UclientTransport = 'udp' | 'tcp' | 'tls'

export type UclientAuth =
  | { username: string; password: string }
  /** TURN REST: uclient builds `${now + ttl}:${username}` itself and signs it with the secret. */
  | { restSecret: string; username?: string }

export interface UclientOptions {
  host: string
  port: number
  transport: UclientTransport
  peerHost: string
  peerPort: number
  auth: UclientAuth
  /** -m: concurrent clients. Default 1. */
  clients?: number
  /** -n: messages per client. Default 5 (uclient's own default). */
  messages?: number
  /** -l: message length in bytes. Default 100. */
  length?: number
  /** -z: ms between messages per client (uclient default 20; 1 ≈ 1000 msg/s per client; 0 = flat out). */
  intervalMs?: number
  /** -c: no RTCP allocation, so clients = allocations. Default true. */
  noRtcp?: boolean
  /** -E: CA to verify the TLS server with (uclient does not verify without it). */
  caFile?: string
  /** Kill uclient after this long. Default: generous estimate from the load. */
  timeoutMs?: number
  extraArgs?: string[]
  /** Called on every once-a-second progress line, stamped with our own clock. */
  onProgress?: (sample: UclientProgress) => void
}

/** One of uclient's once-a-second progress lines, stamped with performance.now() when we read it. */
export interface UclientProgress {
  atMs: number
  /** uclient's own seconds counter (whole seconds since it started). */
  uclientSecond: number
  sent: number
  received: number
}

export interface UclientResult {
  exitCode: number | null
  /** Echo messages sent by all clients (tot_send_msgs). */
  sent: number
  /** Echoes received back (tot_recv_msgs). Each one crossed the relay twice. */
  received: number
  sentBytes: number
  receivedBytes: number
  /** "Total lost packets" as uclient counts it. */
  lost: number
  lossPercent: number
  /** Messages the client could not even hand to its socket. */
  sendDropped: number
  sendDroppedPercent: number
  /** uclient reports RTT in whole milliseconds (0 until queues build up). */
  rttAvgMs: number
  rttMinMs: number
  rttMaxMs: number
  jitterAvgMs: number
  /** uclient's "Total connect time" (s), the last one printed. */
  connectTimeS: number
  /** uclient's "Total transmit time" (s): includes 1–6 s random start delays and a 10 s wait after loss. */
  transmitTimeS: number
  /** Our wall clock around the whole run. */
  wallMs: number
  progress: UclientProgress[]
  output: string
}

export class UclientError extends Error {
  readonly code = 'uclient_failed'
  constructor(
    message: string,
    readonly output: string,
    readonly exitCode: number | null,
  ) {
    super(`${message} (exit ${exitCode})\n${output.slice(-3000)}`)
    this.name = 'UclientError'
  }
}

export function uclientArgs(options: UclientOptions): string[] {
  const args: string[] = []
  if (options.transport !== 'udp') args.push('-t')
  if (options.transport === 'tls') args.push('-S')
  if (options.noRtcp ?? true) args.push('-c')
  args.push('-p', String(options.port))
  args.push('-e', options.peerHost, '-r', String(options.peerPort))
  args.push('-m', String(options.clients ?? 1))
  args.push('-n', String(options.messages ?? 5))
  args.push('-l', String(options.length ?? 100))
  if (options.intervalMs !== undefined) args.push('-z', String(options.intervalMs))
  if (options.caFile !== undefined) args.push('-E', options.caFile)
  if ('restSecret' in options.auth) {
    args.push('-W', options.auth.restSecret, '-u', options.auth.username ?? 'uclient')
  } else {
    args.push('-u', options.auth.username, '-w', options.auth.password)
  }
  args.push(...(options.extraArgs ?? []))
  args.push(options.host)
  return args
}

const num = (text: string | undefined): number => {
  const value = Number(text)
  if (text === undefined || !Number.isFinite(value)) throw new Error(`not a number: ${text}`)
  return value
}

// Lines are prefixed "<seconds>: : " by coturn's logger; we match on the text after it.
const PROGRESS = /^(\d+): : start_mclient: msz=\d+, tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/
const TOTAL_MSGS = /start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/
const TOTAL_BYTES = /start_mclient: tot_send_bytes ~ (\d+), tot_recv_bytes ~ (\d+)/
const LOST = /Total lost packets (\d+) \(([\d.]+)%\), total send dropped (\d+) \(([\d.]+)%\)/
const RTT = /Average round trip delay ([\d.]+) ms; min = (\d+) ms, max = (\d+) ms/
const JITTER = /Average jitter ([\d.]+) ms/
const CONNECT = /Total connect time is (\d+)/
const TRANSMIT = /Total transmit time is (\d+)/

/** Parses uclient's final summary; throws UclientError when the summary is missing (e.g. failed Allocate). */
export function parseUclientOutput(
  output: string,
  exitCode: number | null,
  wallMs = 0,
  progress: UclientProgress[] = [],
): UclientResult {
  const last = (re: RegExp): RegExpMatchArray | undefined => {
    let found: RegExpMatchArray | undefined
    for (const line of output.split('\n')) {
      const match = re.exec(line)
      if (match) found = match
    }
    return found
  }
  const msgs = last(TOTAL_MSGS)
  const lost = last(LOST)
  if (!msgs || !lost) throw new UclientError('turnutils_uclient printed no summary', output, exitCode)
  const bytes = last(TOTAL_BYTES)
  const rtt = last(RTT)
  const jitter = last(JITTER)
  return {
    exitCode,
    sent: num(msgs[1]),
    received: num(msgs[2]),
    sentBytes: bytes ? num(bytes[1]) : 0,
    receivedBytes: bytes ? num(bytes[2]) : 0,
    lost: num(lost[1]),
    lossPercent: num(lost[2]),
    sendDropped: num(lost[3]),
    sendDroppedPercent: num(lost[4]),
    rttAvgMs: rtt ? num(rtt[1]) : 0,
    rttMinMs: rtt ? num(rtt[2]) : 0,
    rttMaxMs: rtt ? num(rtt[3]) : 0,
    jitterAvgMs: jitter ? num(jitter[1]) : 0,
    connectTimeS: num(last(CONNECT)?.[1] ?? '0'),
    transmitTimeS: num(last(TRANSMIT)?.[1] ?? '0'),
    wallMs,
    progress,
    output,
  }
}

function defaultTimeoutMs(options: UclientOptions): number {
  const clients = options.clients ?? 1
  const sendMs = (options.messages ?? 5) * Math.max(options.intervalMs ?? 20, 1)
  // ~100 ms per client connect (sequential), up to 6 s random start delay, 10 s settle wait after loss.
  return 30_000 + clients * 150 + sendMs * 3
}

/** Runs turnutils_uclient to completion and parses its summary. */
export async function runUclient(options: UclientOptions): Promise<UclientResult> {
  const binary = requireTool('turnutils_uclient')
  const args = uclientArgs(options)
  const started = performance.now()
  const child = spawn(binary, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  killOnExit(child)
  let output = ''
  let pendingLine = ''
  const progress: UclientProgress[] = []
  child.stdout?.on('data', (chunk: Buffer) => {
    const atMs = performance.now()
    const text = chunk.toString()
    output += text
    const lines = (pendingLine + text).split('\n')
    pendingLine = lines.pop() ?? ''
    for (const line of lines) {
      const match = PROGRESS.exec(line)
      if (!match) continue
      const sample = { atMs, uclientSecond: num(match[1]), sent: num(match[2]), received: num(match[3]) }
      progress.push(sample)
      options.onProgress?.(sample)
    }
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  const spawnFailed = new Promise<Error>((resolve) => child.once('error', resolve))
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs(options)
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs)
  })
  const outcome = await Promise.race([exited(child).then(() => 'exited' as const), spawnFailed, timedOut])
  clearTimeout(timer)
  if (outcome instanceof Error) throw outcome
  if (outcome === 'timeout') {
    await stopChild(child, 500)
    throw new UclientError(`turnutils_uclient still running after ${timeoutMs} ms`, output, null)
  }
  // stdout may still hold the summary after 'exit'; 'close' fires once the pipes are drained.
  await new Promise<void>((resolve) =>
    child.stdout?.readableEnded ? resolve() : child.once('close', resolve),
  )
  return parseUclientOutput(output, child.exitCode, performance.now() - started, progress)
}

export interface EchoPeer {
  host: string
  /** uclient's -r; turnutils_peer also binds port + 1 (the RTCP port of uclient's RTP/RTCP pairs). */
  port: number
  pid: number
  stop(): Promise<void>
}

/** Starts `turnutils_peer -L host -p port` (UDP echo) and waits until it echoes. */
export async function startEchoPeer(options: { host?: string; port?: number } = {}): Promise<EchoPeer> {
  const binary = requireTool('turnutils_peer')
  const host = options.host ?? '127.0.0.1'
  const port = options.port ?? (await freePortFor(['udp'], 2, host))
  const child: ChildProcess = spawn(binary, ['-L', host, '-p', String(port)], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  killOnExit(child)
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 5000) stderr += chunk.toString()
  })
  const deadline = Date.now() + 5000
  while (!(await echoes(host, port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stopChild(child, 500)
      throw new Error(`turnutils_peer did not echo on ${host}:${port} (exit ${child.exitCode}): ${stderr}`)
    }
    await sleep(50)
  }
  if (child.pid === undefined) throw new Error('internal: turnutils_peer has no pid')
  return { host, port, pid: child.pid, stop: () => stopChild(child, 1000) }
}

function echoes(host: string, port: number, timeoutMs = 200): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4')
    const probe = Buffer.from('pinhole-echo-probe')
    const finish = (ok: boolean): void => {
      clearTimeout(timer)
      socket.close()
      resolve(ok)
    }
    const timer = setTimeout(() => finish(false), timeoutMs)
    socket.on('message', (data) => finish(data.equals(probe)))
    socket.on('error', () => finish(false))
    socket.connect(port, host, () => socket.send(probe))
  })
}
