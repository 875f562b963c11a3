/**
 * Traffic agent (runs inside a lab namespace) that measures the link emulator (linkEmulator.test.ts): on the
 * server side a UDP echo, a UDP sink that counts, and a TCP server streaming a known byte pattern; on the
 * client side numbered pings, a paced UDP blast and a checked TCP download. Protocol: linkProtocol.ts.
 */
import { createSocket, type Socket } from 'node:dgram'
import { connect, createServer, type Server } from 'node:net'
import {
  patternByte,
  type DownloadResult,
  type PingResult,
  type SinkCount,
  type TrafficOps,
} from './linkProtocol'
import { emit, serveRpc } from './rpc'

const now = (): number => performance.timeOrigin + performance.now()
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

const sockets: Socket[] = []
const servers: Server[] = []
let echoed = 0
const emptySink = (): SinkCount => ({ packets: 0, bytes: 0, firstAt: null, lastAt: null, firstBytes: 0 })
let sink = emptySink()

/** A socket with room for a few seconds of a test's traffic, so a busy event loop does not drop datagrams. */
function udpSocket(): Socket {
  return createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 })
}

function bindUdp(socket: Socket, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(port, host, () => {
      sockets.push(socket)
      resolve()
    })
  })
}

/** Streams `n` pattern bytes to each connection after reading its 4-byte request (n, big-endian). */
function streamServer(host: string, port: number): Promise<void> {
  const server = createServer((conn) => {
    conn.on('error', (err) => process.stderr.write(`tcp server: ${err.message}\n`))
    conn.once('data', (request: Buffer) => {
      const total = request.readUInt32BE(0)
      let offset = 0
      const more = (): void => {
        while (offset < total) {
          const chunk = Buffer.alloc(Math.min(64 * 1024, total - offset))
          for (let i = 0; i < chunk.length; i++) chunk[i] = patternByte(offset + i)
          offset += chunk.length
          if (!conn.write(chunk)) return void conn.once('drain', more)
        }
        conn.end()
      }
      more()
    })
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      servers.push(server)
      resolve()
    })
  })
}

async function ping(args: TrafficOps['ping'][0]): Promise<PingResult> {
  const socket = udpSocket()
  const sentAt: number[] = []
  const rtts: (number | null)[] = Array.from({ length: args.count }, () => null)
  const arrivalOrder: number[] = []
  socket.on('message', (data) => {
    const seq = data.readUInt32BE(0)
    const at = sentAt[seq]
    if (at === undefined || rtts[seq] !== null) return
    rtts[seq] = now() - at
    arrivalOrder.push(seq)
  })
  await new Promise<void>((resolve) => socket.connect(args.port, args.host, resolve))
  const payload = Buffer.alloc(Math.max(4, args.bytes))
  for (let seq = 0; seq < args.count;) {
    for (let i = 0; i < args.perTick && seq < args.count; i++, seq++) {
      payload.writeUInt32BE(seq, 0)
      sentAt[seq] = now()
      socket.send(payload)
    }
    await sleep(args.tickMs)
  }
  await sleep(args.settleMs)
  socket.close()
  return { sent: args.count, rtts, arrivalOrder }
}

/** Paced by bytes due since the start, so timer jitter changes burstiness, never the average rate. */
async function blast(args: TrafficOps['blast'][0]): Promise<{ sent: number }> {
  const socket = udpSocket()
  await new Promise<void>((resolve) => socket.connect(args.port, args.host, resolve))
  const payload = Buffer.alloc(args.bytes)
  const start = now()
  let sent = 0
  for (let elapsed = 0; elapsed < args.durationMs; elapsed = now() - start) {
    const due = Math.floor((elapsed * args.kbps) / 8 / args.bytes)
    for (; sent < due; sent++) socket.send(payload)
    await sleep(2)
  }
  await sleep(50)
  socket.close()
  return { sent }
}

function download(args: TrafficOps['download'][0]): Promise<DownloadResult> {
  return new Promise((resolve, reject) => {
    const start = now()
    const samples: [number, number][] = []
    let bytes = 0
    let corrupt = 0
    const conn = connect({ host: args.host, port: args.port }, () => {
      const request = Buffer.alloc(4)
      request.writeUInt32BE(args.bytes, 0)
      conn.write(request)
    })
    conn.on('data', (chunk: Buffer) => {
      for (let i = 0; i < chunk.length; i++) if (chunk[i] !== patternByte(bytes + i)) corrupt++
      bytes += chunk.length
      samples.push([now() - start, bytes])
    })
    conn.once('error', reject)
    conn.once('close', () => resolve({ bytes, corrupt, samples }))
  })
}

serveRpc<TrafficOps>(
  {
    async serve({ host, echoPort, sinkPort, tcpPort }) {
      const echo = udpSocket()
      echo.on('message', (data, from) => {
        echoed++
        echo.send(data, from.port, from.address)
      })
      await bindUdp(echo, host, echoPort)
      const counter = udpSocket()
      counter.on('message', (data) => {
        const at = now()
        if (sink.firstAt === null) {
          sink.firstAt = at
          sink.firstBytes = data.length
        }
        sink.lastAt = at
        sink.packets++
        sink.bytes += data.length
      })
      await bindUdp(counter, host, sinkPort)
      await streamServer(host, tcpPort)
      return {}
    },
    served({ reset }) {
      const result = { echoed, sink }
      if (reset) sink = emptySink()
      return result
    },
    ping,
    blast,
    download,
  },
  async () => {
    for (const socket of sockets.splice(0)) socket.close()
    await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
  },
)
emit('ready')
