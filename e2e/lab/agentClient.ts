import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { exited, stopChild } from '../support/process'
import type { Lab } from './lab'
import type { AgentEvent, OpTable, PeerOps, ProbeOps, Reply } from './agents/protocol'
import type { LabNs } from './topology'

const AGENTS = join(import.meta.dirname, 'agents')

interface Pending {
  resolve(result: unknown): void
  reject(err: Error): void
}

/**
 * Test side of agents/protocol.ts: a typed request/reply channel over an agent's stdin/stdout, plus the
 * events it emits. The agent runs inside a lab namespace; this object lives in the test process.
 */
export class AgentClient<Ops extends OpTable<Ops>> {
  readonly events: AgentEvent[] = []
  private readonly pending = new Map<number, Pending>()
  private readonly listeners = new Set<(event: AgentEvent) => void>()
  private nextId = 1
  private stderr = ''
  private readonly gone: Promise<void>

  constructor(
    readonly label: string,
    private readonly child: ChildProcess,
  ) {
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000)
    })
    if (!child.stdout) throw new Error(`${label}: agent stdout is not piped`)
    createInterface({ input: child.stdout }).on('line', (line) => this.onLine(line))
    this.gone = exited(child).then(() => {
      const why = new Error(`${label}: agent exited (${child.exitCode ?? child.signalCode}): ${this.stderr}`)
      for (const p of this.pending.values()) p.reject(why)
      this.pending.clear()
    })
  }

  private onLine(line: string): void {
    let parsed: Reply | AgentEvent
    try {
      parsed = JSON.parse(line) as Reply | AgentEvent
    } catch (err) {
      // Not protocol: a library writing to stdout. Keep it with stderr for the failure message.
      this.stderr += `[stdout] ${line}\n`
      if (!(err instanceof SyntaxError)) throw err
      return
    }
    if ('event' in parsed) {
      this.events.push(parsed)
      for (const listener of this.listeners) listener(parsed)
      return
    }
    const waiter = this.pending.get(parsed.id)
    if (!waiter) return
    this.pending.delete(parsed.id)
    if (parsed.ok) waiter.resolve(parsed.result)
    else waiter.reject(new Error(`${this.label}: ${parsed.error}`))
  }

  request<K extends keyof Ops & string>(op: K, args: Ops[K][0]): Promise<Ops[K][1]> {
    const id = this.nextId++
    return new Promise<Ops[K][1]>((resolve, reject) => {
      this.pending.set(id, { resolve: (r) => resolve(r as Ops[K][1]), reject })
      this.child.stdin?.write(`${JSON.stringify({ id, op, args })}\n`)
    })
  }

  /** Resolves with the first event (already received or not) named `name`; rejects on timeout or exit. */
  waitEvent(name: string, timeoutMs: number): Promise<AgentEvent> {
    const seen = this.events.find((e) => e.event === name)
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer)
        this.listeners.delete(listener)
      }
      const listener = (event: AgentEvent): void => {
        if (event.event !== name) return
        done()
        resolve(event)
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`${this.label}: no '${name}' event after ${timeoutMs} ms: ${this.stderr}`))
      }, timeoutMs)
      this.listeners.add(listener)
      void this.gone.then(() => {
        done()
        reject(new Error(`${this.label}: agent exited before '${name}': ${this.stderr}`))
      })
    })
  }

  /** Closes stdin (the agent cleans up and exits), then makes sure it is gone. */
  async close(): Promise<void> {
    this.child.stdin?.end()
    const done = await Promise.race([this.gone.then(() => true), sleepMs(2000).then(() => false)])
    if (!done) await stopChild(this.child, 1000)
  }
}

function sleepMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}

/** Starts an agent script from e2e/lab/agents inside `ns` and waits for its `ready` event. */
async function startAgent<Ops extends OpTable<Ops>>(
  lab: Lab,
  ns: LabNs,
  script: string,
  label: string,
): Promise<AgentClient<Ops>> {
  const client = new AgentClient<Ops>(label, lab.spawnNode(ns, join(AGENTS, script)))
  await client.waitEvent('ready', 20_000)
  return client
}

export const startProbeAgent = (lab: Lab, ns: LabNs): Promise<AgentClient<ProbeOps>> =>
  startAgent<ProbeOps>(lab, ns, 'probe.mts', `probe@${ns}`)

export const startPeerAgent = (lab: Lab, ns: LabNs): Promise<AgentClient<PeerOps>> =>
  startAgent<PeerOps>(lab, ns, 'weriftPeer.mts', `peer@${ns}`)
