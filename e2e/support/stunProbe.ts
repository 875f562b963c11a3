import { randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { connect } from 'node:net'

// RFC 8489 §5: Binding request, no attributes; the response echoes the 96-bit transaction id.
const MAGIC_COOKIE = 0x2112a442
const BINDING_REQUEST = 0x0001
const BINDING_SUCCESS = 0x0101

function bindingRequest(): { packet: Buffer; transactionId: Buffer } {
  const transactionId = randomBytes(12)
  const packet = Buffer.alloc(20)
  packet.writeUInt16BE(BINDING_REQUEST, 0)
  packet.writeUInt16BE(0, 2)
  packet.writeUInt32BE(MAGIC_COOKIE, 4)
  transactionId.copy(packet, 8)
  return { packet, transactionId }
}

function isBindingSuccess(data: Buffer, transactionId: Buffer): boolean {
  return (
    data.length >= 20 &&
    data.readUInt16BE(0) === BINDING_SUCCESS &&
    data.readUInt32BE(4) === MAGIC_COOKIE &&
    data.subarray(8, 20).equals(transactionId)
  )
}

/** One STUN Binding over UDP; resolves true on a matching success response within timeoutMs. */
export function stunBindingUdp(host: string, port: number, timeoutMs = 300): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4')
    const { packet, transactionId } = bindingRequest()
    const finish = (ok: boolean): void => {
      clearTimeout(timer)
      socket.close()
      resolve(ok)
    }
    const timer = setTimeout(() => finish(false), timeoutMs)
    socket.on('message', (data) => {
      if (isBindingSuccess(data, transactionId)) finish(true)
    })
    // ICMP port unreachable surfaces as ECONNREFUSED on a connected socket: not up yet.
    socket.on('error', (err) => {
      if ('code' in err && err.code === 'ECONNREFUSED') return finish(false)
      clearTimeout(timer)
      socket.close()
      reject(err)
    })
    socket.connect(port, host, () => socket.send(packet))
  })
}

/** One STUN Binding over plain TCP (RFC 8489 §6.2.2: messages back to back on the stream). */
export function stunBindingTcp(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const { packet, transactionId } = bindingRequest()
    const socket = connect({ host, port })
    let received = Buffer.alloc(0)
    const finish = (ok: boolean): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve(ok)
    }
    const timer = setTimeout(() => finish(false), timeoutMs)
    socket.on('connect', () => socket.write(packet))
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      if (received.length >= 20) finish(isBindingSuccess(received, transactionId))
    })
    socket.on('error', () => finish(false))
  })
}

/** True when a TCP connection to host:port is accepted within timeoutMs. */
export function tcpAccepts(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    const finish = (ok: boolean): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve(ok)
    }
    const timer = setTimeout(() => finish(false), timeoutMs)
    socket.once('connect', () => finish(true))
    socket.once('error', () => finish(false))
  })
}
