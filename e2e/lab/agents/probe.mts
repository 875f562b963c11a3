/**
 * Probe agent (runs inside a lab namespace): `serve` opens UDP echo sockets and TCP listeners, `probe` sends
 * one datagram / one connection attempt per port and reports which answered. Protocol: protocol.ts.
 */
import { createSocket, type Socket } from 'node:dgram'
import { connect, createServer, type Server } from 'node:net'
import type { PortSet, ProbeOps, ProbeResult } from './protocol'
import { emit, serveRpc } from './rpc'

const udpServers: Socket[] = []
const tcpServers: Server[] = []

function serveUdp(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4')
    socket.once('error', reject)
    socket.on('message', (data, from) => socket.send(data, from.port, from.address))
    socket.bind(port, host, () => {
      udpServers.push(socket)
      resolve()
    })
  })
}

function serveTcp(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer((conn) => {
      // Probers hang up (RST) as soon as they are connected: a reset here is the expected end.
      conn.on('error', (err) => {
        if (!('code' in err && err.code === 'ECONNRESET')) process.stderr.write(`${err.message}\n`)
      })
      conn.end('ok')
    })
    server.once('error', reject)
    server.listen(port, host, () => {
      tcpServers.push(server)
      resolve()
    })
  })
}

function probeUdp(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4')
    let done = false
    const finish = (ok: boolean): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.close()
      resolve(ok)
    }
    const timer = setTimeout(() => finish(false), timeoutMs)
    socket.on('message', () => finish(true))
    // ICMP unreachable (no listener, no route) on a connected socket: not reachable.
    socket.on('error', () => finish(false))
    socket.connect(port, host, () => socket.send(`probe ${port}`))
  })
}

function probeTcp(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    let done = false
    const finish = (ok: boolean): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      resolve(ok)
    }
    const timer = setTimeout(() => finish(false), timeoutMs)
    socket.once('connect', () => finish(true))
    socket.on('error', () => finish(false))
  })
}

async function stop(): Promise<Record<string, never>> {
  await Promise.all([
    ...udpServers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
    ...tcpServers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
  ])
  return {}
}

async function probe(args: PortSet & { host: string; timeoutMs: number }): Promise<ProbeResult> {
  const [udp, tcp] = await Promise.all([
    Promise.all(args.udp.map((p) => probeUdp(args.host, p, args.timeoutMs))),
    Promise.all(args.tcp.map((p) => probeTcp(args.host, p, args.timeoutMs))),
  ])
  return {
    udp: Object.fromEntries(args.udp.map((p, i) => [String(p), udp[i] ?? false])),
    tcp: Object.fromEntries(args.tcp.map((p, i) => [String(p), tcp[i] ?? false])),
  }
}

serveRpc<ProbeOps>(
  {
    serve: async ({ host, udp, tcp }) => {
      await Promise.all([...udp.map((p) => serveUdp(host, p)), ...tcp.map((p) => serveTcp(host, p))])
      return {}
    },
    probe,
    stop,
  },
  async () => {
    await stop()
  },
)
emit('ready')
