import { createInterface } from 'node:readline'
import type { AgentEvent, OpTable, Reply, Request } from './protocol'

export type Handlers<Ops extends OpTable<Ops>> = {
  [K in keyof Ops]: (args: Ops[K][0]) => Promise<Ops[K][1]> | Ops[K][1]
}

function write(line: Reply | AgentEvent): void {
  process.stdout.write(`${JSON.stringify(line)}\n`)
}

/** Unsolicited event to the test process. */
export function emit(event: string, data: Record<string, unknown> = {}): void {
  write({ event, ...data })
}

/**
 * Agent side of protocol.ts: one handler per op, requests served concurrently, replies matched by id.
 * Stdin closing (the test finished or died) ends the agent, after `onEnd` releases what it holds.
 */
export function serveRpc<Ops extends OpTable<Ops>>(
  handlers: Handlers<Ops>,
  onEnd?: () => Promise<void>,
): void {
  const lines = createInterface({ input: process.stdin })
  lines.on('line', (line) => {
    if (line.trim() === '') return
    // The boundary: lines come from our own test process, so shape-checking id/op is enough.
    const request = JSON.parse(line) as Request
    const table = handlers as Record<string, (args: unknown) => unknown>
    const handler = Object.hasOwn(table, request.op) ? table[request.op] : undefined
    if (handler === undefined) {
      write({ id: request.id, ok: false, error: `unknown op '${request.op}'` })
      return
    }
    Promise.resolve()
      .then(() => handler(request.args))
      .then(
        (result) => write({ id: request.id, ok: true, result: result ?? {} }),
        (err: unknown) =>
          write({ id: request.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
      )
  })
  lines.on('close', () => {
    const finish = (): never => process.exit(0)
    if (onEnd) onEnd().then(finish, finish)
    else finish()
  })
}
