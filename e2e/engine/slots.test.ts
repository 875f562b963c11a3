/**
 * Issue 10 item 4: one address holds 10,000 idle TCP connections (each sent a STUN Binding) and 2,000 idle
 * signaling WebSockets on the proxy's TCP port, reopening whatever is closed at 200/s; a desktop from
 * another address still gets its proxy session and joins through the proxy, because unauthenticated
 * connections are limited per address and to a share of the slots. The attacker runs in its own process
 * (e2e/engine/slotFlood.ts) bound to 127.0.0.2; the desktop is a real engine on 127.0.0.1.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCallStack, type CallStack } from '../support/callStack'
import { ConnectionState as S, TransportType } from '../../src/shared/engine'
import { stopChild } from '../support/process'
import { makePeer, until } from './harness'

const ATTACKER = '127.0.0.2'
const TCP_CONNECTIONS = 10_000
const SIGNAL_SOCKETS = 2_000
const REOPEN_PER_SECOND = 200

interface FloodStats {
  tcpOpen: number
  wsOpen: number
  tcpAttempts: number
  wsAttempts: number
  initialDone: boolean
}

let stack: CallStack
let attacker: ChildProcess | undefined
let flood: FloodStats = { tcpOpen: 0, wsOpen: 0, tcpAttempts: 0, wsAttempts: 0, initialDone: false }

beforeAll(async () => {
  // Every default limit (proxy and conference server) as shipped: the numbers are the bar.
  stack = await startCallStack()
})
afterAll(async () => {
  if (attacker) await stopChild(attacker)
  await stack?.close()
})

function startAttacker(tcp: number, ws: number): ChildProcess {
  flood = { tcpOpen: 0, wsOpen: 0, tcpAttempts: 0, wsAttempts: 0, initialDone: false }
  const script = join(import.meta.dirname, 'slotFlood.ts')
  const args = [String(stack.region.ports.tcp), ATTACKER, String(tcp), String(ws), String(REOPEN_PER_SECOND)]
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
    detached: true,
  })
  createInterface({ input: child.stdout! }).on('line', (line) => {
    flood = JSON.parse(line) as FloodStats
  })
  return child
}

describe('connection slots under a flood from one address', () => {
  it.each([
    ['idle signaling sockets only (they used to fill the conference server)', 0, SIGNAL_SOCKETS, 7],
    [
      'idle TCP connections with a STUN Binding and idle signaling sockets',
      TCP_CONNECTIONS,
      SIGNAL_SOCKETS,
      8,
    ],
  ])(
    '%s: a desktop from another address gets its session and joins',
    async (_name, tcp, ws, uid) => {
      attacker = startAttacker(tcp, ws)
      try {
        await until(() => flood.initialDone, 'the attacker to open its connections', 40_000)
        expect(flood.tcpAttempts).toBeGreaterThanOrEqual(tcp)
        expect(flood.wsAttempts).toBeGreaterThanOrEqual(ws)

        const desktop = makePeer(stack, uid, TransportType.TCPProxy)
        try {
          // Bounded by the engine's own join budget; no duration is asserted.
          const channel = `office-${uid}`
          expect(await desktop.engine.joinChannel(await stack.token(channel, uid), channel, uid)).toBe(0)
          expect(desktop.states.at(-1)?.[0]).toBe(S.Connected)
          expect(desktop.proxyConnected.map((info) => info.transport)).toEqual(['tls'])
        } finally {
          await desktop.engine.release()
        }
        // The attack was on while the desktop joined, and the limits are what held it off.
        const refused = stack.proxyMetrics.snapshot().connectionsRefused
        expect((refused.unauthenticated_per_ip ?? 0) + (refused.signal_unjoined_per_ip ?? 0)).toBeGreaterThan(
          0,
        )
        expect(flood.tcpOpen + flood.wsOpen).toBeGreaterThan(0)
      } finally {
        await stopChild(attacker)
        attacker = undefined
      }
    },
    90_000,
  ) // the attacker's 40 s bound plus the engine's 20 s join budget, on a busy machine
})
