/**
 * An attacker for slots.test.ts, in its own process (its own file descriptors, as another host would
 * have): from `source`, holds `ws` idle signaling WebSockets (wss://…/v1/signal, never a join) and `tcp`
 * TCP connections that each send one STUN Binding, to the proxy's TCP port. Whatever the proxy closes is
 * opened again, at most `rate` per second, as a client keeping the slots full would. Prints a JSON line
 * with its counts every 250 ms; runs until killed or its stdin closes.
 *
 * Usage: node --import tsx slotFlood.ts <port> <source> <tcp> <ws> <rate>
 */
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import { WebSocket } from 'ws'

const [port, source, tcpTarget, wsTarget, rate] = process.argv
  .slice(2)
  .map((a, i) => (i === 1 ? a : Number(a))) as [number, string, number, number, number]
/** Connects in flight at once: the listener's accept backlog is 511. */
const MAX_IN_FLIGHT = 256

const stats = { tcpOpen: 0, wsOpen: 0, tcpAttempts: 0, wsAttempts: 0, initialDone: false }
let inFlight = 0
let reopenBudget = rate
const reopenQueue: (() => void)[] = []

function binding(): Buffer {
  return Buffer.concat([Buffer.from('000100002112a442', 'hex'), randomBytes(12)])
}

function openTcp(): void {
  stats.tcpAttempts++
  inFlight++
  const socket = net.connect({ host: '127.0.0.1', port, localAddress: source })
  let open = false
  socket.on('connect', () => {
    inFlight--
    open = true
    stats.tcpOpen++
    socket.write(binding())
  })
  socket.on('data', () => undefined)
  socket.on('error', () => undefined)
  socket.on('close', () => {
    if (open) stats.tcpOpen--
    else inFlight--
    reopenQueue.push(openTcp)
  })
}

function openWs(): void {
  stats.wsAttempts++
  inFlight++
  const ws = new WebSocket(`wss://127.0.0.1:${port}/v1/signal`, {
    localAddress: source,
    rejectUnauthorized: false,
    perMessageDeflate: false,
  })
  let open = false
  ws.on('open', () => {
    inFlight--
    open = true
    stats.wsOpen++
  })
  ws.on('error', () => undefined)
  ws.on('close', () => {
    if (open) stats.wsOpen--
    else inFlight--
    reopenQueue.push(openWs)
  })
}

async function initial(): Promise<void> {
  for (const [count, open] of [
    [wsTarget, openWs],
    [tcpTarget, openTcp],
  ] as const) {
    for (let i = 0; i < count; i++) {
      while (inFlight >= MAX_IN_FLIGHT) await new Promise((resolve) => setTimeout(resolve, 5))
      open()
    }
  }
  while (inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 5))
  stats.initialDone = true
}

setInterval(() => {
  reopenBudget = rate
}, 1000)
setInterval(() => {
  if (!stats.initialDone) return
  while (reopenBudget > 0 && reopenQueue.length > 0 && inFlight < MAX_IN_FLIGHT) {
    reopenBudget--
    reopenQueue.shift()!()
  }
}, 20)
setInterval(() => process.stdout.write(`${JSON.stringify(stats)}\n`), 250)
// Never outlive the test: stdin closes when the parent goes, whatever way it goes; and a hard bound.
process.stdin.on('end', () => process.exit(0)).resume()
process.stdout.on('error', () => process.exit(0))
setTimeout(() => process.exit(0), 120_000).unref()
void initial()
