import { createSocket, type RemoteInfo } from 'node:dgram'
import type { NativeFastPath, NativeListener, PacketHandler, RelayOut } from './fastPath'

/** Where an allocation's relay socket binds (proxy.relay) and how. */
export interface RelayPlace {
  listenHost: string
  portRange: readonly [number, number]
  bufferBytes: number
  /** EVEN-PORT (RFC 8656 §14.6): an even port, without reserving the next one. */
  evenPort: boolean
}

const ATTEMPTS = 32

/** A random port of the range, even when asked; undefined when the draw falls outside. */
export function randomRelayPort(place: RelayPlace): number | undefined {
  const [min, max] = place.portRange
  let port = min + Math.floor(Math.random() * (max - min + 1))
  if (place.evenPort && port % 2 === 1) port = port - 1 >= min ? port - 1 : port + 1
  return port > max ? undefined : port
}

/** Binds a Node dgram relay socket on a random port of the range (the JS path, and TCP/TLS clients). */
export async function bindDgramRelay(
  place: RelayPlace,
  onPeer: PacketHandler,
  onError: (err: Error) => void,
): Promise<RelayOut> {
  let lastError: unknown
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const port = randomRelayPort(place)
    if (port === undefined) continue
    const socket = createSocket({
      type: 'udp4',
      recvBufferSize: place.bufferBytes,
      sendBufferSize: place.bufferBytes,
    })
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject)
        socket.bind({ port, address: place.listenHost, exclusive: true }, () => {
          socket.off('error', reject)
          resolve()
        })
      })
    } catch (err) {
      lastError = err
      socket.close()
      continue
    }
    socket.on('message', (data: Buffer, rinfo: RemoteInfo) => onPeer(data, rinfo.address, rinfo.port))
    socket.on('error', onError)
    return {
      port: socket.address().port,
      send: (data, toPort, address) => socket.send(data, toPort, address),
      close: () => socket.close(),
    }
  }
  throw lastError instanceof Error ? lastError : new Error('no free relay port')
}

/**
 * The native twin of bindDgramRelay: same port choice, the socket owned by the fast path and linked to
 * the client's 5-tuple on `listener`.
 */
export async function bindNativeRelay(
  native: NativeFastPath,
  place: RelayPlace,
  allocationId: number,
  listener: NativeListener,
  client: { address: string; port: number },
  onPeer: PacketHandler,
): Promise<RelayOut> {
  // Asynchronous like the dgram path: the core hears of the relay after the Allocate's actions ran.
  await Promise.resolve()
  let lastError: unknown
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const port = randomRelayPort(place)
    if (port === undefined) continue
    try {
      return native.openRelay(
        allocationId,
        place.listenHost,
        port,
        place.bufferBytes,
        listener,
        client,
        onPeer,
      )
    } catch (err) {
      lastError = err
      // Only a taken port is worth another draw.
      if ((err as { code?: unknown }).code !== 'EADDRINUSE') break
    }
  }
  throw lastError instanceof Error ? lastError : new Error('no free relay port')
}
