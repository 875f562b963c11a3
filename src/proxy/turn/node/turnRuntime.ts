import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import { loadRelayAddon, type NativeCounters } from './fastPathAddon'
import type { ConnectionAuth } from '../../../platform/connectionSlots'
import { NativeFastPath, type DatagramOut, type NativeListener, type RelayOut } from './fastPath'
import { bindDgramRelay, bindNativeRelay } from './relaySockets'
import type { TransportAddress } from '../../../protocol/stun/attributes/address'
import { TurnCore } from '../core/turnCore'
import { TcpFramer } from '../../../protocol/turn/framing'
import { TurnStats, type TurnStatsSink } from '../core/stats'
import type { Action, ClientRef, TurnCoreHooks, TurnCoreOptions } from '../core/types'

/**
 * Socket buffers: relaying is bursty and a short event-loop pause must not overflow the kernel queue
 * (that is where UDP loss comes from under load). The kernel caps them at net.core.rmem_max/wmem_max;
 * docs/proxy.md tells operators to raise those.
 */
const LISTENER_BUFFER_BYTES = 4 * 1024 * 1024
const RELAY_BUFFER_BYTES = 1024 * 1024

/** A client reached over one of the UDP listeners (a dgram socket, or a native one on the fast path). */
class UdpClient implements ClientRef {
  readonly transport = 'udp' as const
  constructor(
    readonly socket: DatagramOut,
    readonly remote: TransportAddress,
    readonly localPort: number,
  ) {}

  write(data: Buffer): void {
    this.socket.send(data, this.remote.port, this.remote.address)
  }
}

/** `proxy.fastPath`: the native ChannelData fast path when built (auto), required (native), or off (js). */
export type FastPathMode = 'auto' | 'native' | 'js'

/** A client on a TCP or TLS connection (RFC 8656 §3.1 framing). */
class StreamClient implements ClientRef {
  readonly framer: TcpFramer
  lastTraffic = 0
  constructor(
    readonly transport: 'tcp' | 'tls',
    readonly stream: Duplex,
    readonly remote: TransportAddress,
    readonly localPort: number,
    maxFrameBytes: number,
    /** The connection's slot on the TCP port: authenticated once an Allocate succeeded on it. */
    readonly auth: ConnectionAuth | undefined,
  ) {
    this.framer = new TcpFramer({ maxFrameBytes })
  }

  write(data: Buffer): void {
    if (!this.stream.destroyed) this.stream.write(data)
  }
}

type NodeClient = UdpClient | StreamClient

export interface TurnRuntimeOptions {
  core: TurnCoreOptions
  relay: { listenHost: string; address: string; portRange: readonly [number, number] }
  maxFrameBytes: number
  /** A stream client without an allocation is closed after this long without traffic. */
  tcpIdleMs: number
  /** A stream client stuck in the middle of a frame for this long is closed (slow-drip clients). */
  frameStallMs: number
  logger: Logger
  /** Where the core's counters go (ProxyMetrics in the server); in-memory when absent. */
  stats?: TurnStatsSink
  /** A stream we closed, and why (counted as malformed or slow input). */
  onStreamClosed?: (reason: StreamCloseReason, transport: 'tcp' | 'tls') => void
  /** UDP relaying through the native addon (docs/proxy.md §8); default 'auto'. */
  fastPath?: FastPathMode
  now?: () => number
}

export interface StreamInfo {
  transport: 'tcp' | 'tls'
  remoteAddress: string
  remotePort: number
  localPort: number
}

/** Why a stream client was closed by us; counted for /metrics. */
export type StreamCloseReason = 'invalid-frame' | 'oversized-frame' | 'idle' | 'stalled' | 'allocation-ended'

/**
 * The I/O half of the TURN server: owns the UDP listeners, the relay sockets and the TURN streams handed
 * over by the 443 listener, feeds everything to the core and carries out the actions it returns.
 */
export class TurnRuntime {
  readonly core: TurnCore<NodeClient>
  /** The path UDP datagrams take: the native fast path or Node's dgram sockets. */
  readonly fastPath: 'native' | 'js'
  private readonly native: NativeFastPath | undefined
  private readonly listeners: UdpSocket[] = []
  private readonly nativeListeners: NativeListener[] = []
  /** Per listener: client address → port → client, for clients that hold an allocation. */
  private readonly udpClients = new Map<DatagramOut, Map<string, Map<number, UdpClient>>>()
  private readonly relays = new Map<number, { socket: RelayOut | undefined; client: NodeClient }>()
  private readonly streams = new Set<StreamClient>()
  private readonly timer: NodeJS.Timeout
  private readonly now: () => number
  private closed = false

  constructor(private readonly options: TurnRuntimeOptions) {
    this.now = options.now ?? Date.now
    // One sink for both paths: the native engine's counters are added to the core's.
    const stats = options.stats ?? new TurnStats()
    this.native = startFastPath(options, stats)
    this.fastPath = this.native ? 'native' : 'js'
    this.core = new TurnCore<NodeClient>(
      options.core,
      stats,
      this.native ? this.nativeHooks(this.native) : {},
    )
    // One timer for everything: allocation lifetimes, and stream clients that stall or idle.
    this.timer = setInterval(() => this.tick(), Math.min(1000, options.frameStallMs))
    this.timer.unref()
  }

  private nativeHooks(native: NativeFastPath): TurnCoreHooks<NodeClient> {
    const isNative = (client: NodeClient): boolean =>
      client instanceof UdpClient && this.nativeListeners.includes(client.socket as NativeListener)
    return {
      bucketFor: (id, client, bytesPerSecond) =>
        isNative(client) ? native.allocate(id, bytesPerSecond) : undefined,
      channelBound: (id, channel, now) =>
        native.channelBound(id, channel.number, channel.peer, channel.expiresAt - now),
      channelExpired: (id, channel) => native.channelExpired(id, channel.number),
    }
  }

  /** What the native fast path relayed so far (undefined on the JS path). */
  fastPathCounters(): NativeCounters | undefined {
    return this.native?.counters()
  }

  /** Adds the fast path's counters to the stats sink now (the tick does it every second). */
  flushFastPath(): void {
    this.native?.flushCounters()
  }

  /** Binds one UDP STUN/TURN listener; resolves with the bound port (useful with port 0). */
  async listenUdp(host: string, port: number, reusePort = false): Promise<number> {
    if (this.native) return this.listenNative(this.native, host, port, reusePort)
    const socket = createSocket({
      type: host.includes(':') ? 'udp6' : 'udp4',
      reuseAddr: false,
      // SO_REUSEPORT: the kernel hashes each client's 4-tuple to one worker's socket, so a client's
      // allocation always lives in the same process (src/proxy/workers/workerPool.ts).
      reusePort,
      recvBufferSize: LISTENER_BUFFER_BYTES,
      sendBufferSize: LISTENER_BUFFER_BYTES,
    })
    const clients = new Map<string, Map<number, UdpClient>>()
    this.udpClients.set(socket, clients)
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.bind({ port, address: host, exclusive: true }, () => {
        socket.off('error', reject)
        resolve()
      })
    })
    const localPort = socket.address().port
    socket.on('error', (err) => this.options.logger.warn({ err, port: localPort }, 'udp listener error'))
    socket.on('message', (data: Buffer, rinfo: RemoteInfo) => {
      const client =
        clients.get(rinfo.address)?.get(rinfo.port) ??
        new UdpClient(
          socket,
          { family: rinfo.family === 'IPv6' ? 6 : 4, address: rinfo.address, port: rinfo.port },
          localPort,
        )
      this.run(this.core.clientData(client, data, this.now()))
    })
    this.listeners.push(socket)
    return localPort
  }

  private listenNative(native: NativeFastPath, host: string, port: number, reusePort: boolean): number {
    const clients = new Map<string, Map<number, UdpClient>>()
    const listener = native.listen(
      host,
      port,
      reusePort,
      LISTENER_BUFFER_BYTES,
      (data, address, remotePort) => {
        const client =
          clients.get(address)?.get(remotePort) ??
          new UdpClient(
            listener,
            { family: address.includes(':') ? 6 : 4, address, port: remotePort },
            listener.port,
          )
        this.run(this.core.clientData(client, data, this.now()))
      },
    )
    this.udpClients.set(listener, clients)
    this.nativeListeners.push(listener)
    return listener.port
  }

  /** Takes over a TCP/TLS connection whose bytes are TURN (RFC 8656 §3.1), from its first byte. */
  attachStream(stream: Duplex, info: StreamInfo, auth?: ConnectionAuth): void {
    if (this.closed) {
      stream.destroy()
      return
    }
    const family = info.remoteAddress.includes(':') ? 6 : 4
    const client = new StreamClient(
      info.transport,
      stream,
      { family, address: info.remoteAddress, port: info.remotePort },
      info.localPort,
      this.options.maxFrameBytes,
      auth,
    )
    this.streams.add(client)
    if (info.transport === 'tls') oneRecordPerWrite(stream)
    client.lastTraffic = this.now()
    stream.on('data', (chunk: Buffer) => {
      const now = (client.lastTraffic = this.now())
      const result = client.framer.push(chunk, now)
      for (const frame of result.frames) this.run(this.core.clientData(client, frame, now))
      if (result.error)
        this.closeStream(client, result.error === 'oversized frame' ? 'oversized-frame' : 'invalid-frame')
    })
    stream.on('error', () => stream.destroy())
    stream.once('close', () => {
      this.streams.delete(client)
      this.run(this.core.handle({ type: 'clientClosed', client }, this.now()))
    })
  }

  private closeStream(client: StreamClient, reason: StreamCloseReason): void {
    if (client.stream.destroyed) return
    this.options.onStreamClosed?.(reason, client.transport)
    client.stream.destroy()
  }

  streamCount(): { tcp: number; tls: number } {
    let tcp = 0
    let tls = 0
    for (const s of this.streams)
      if (s.transport === 'tcp') tcp++
      else tls++
    return { tcp, tls }
  }

  private tick(): void {
    const now = this.now()
    this.run(this.core.handle({ type: 'tick' }, now))
    this.native?.flushCounters()
    for (const client of this.streams) {
      const since = client.framer.pendingSince()
      if (since !== undefined && now - since > this.options.frameStallMs) this.closeStream(client, 'stalled')
      else if (now - client.lastTraffic > this.options.tcpIdleMs && !this.core.hasAllocation(client)) {
        this.closeStream(client, 'idle')
      }
    }
  }

  private run(actions: Action<NodeClient>[]): void {
    for (const action of actions) {
      switch (action.type) {
        case 'send':
          action.client.write(action.data)
          break
        case 'relay': {
          const socket = this.relays.get(action.allocationId)?.socket
          socket?.send(action.data, action.to.port, action.to.address)
          break
        }
        case 'openRelay':
          this.openRelay(action.allocationId, action.evenPort)
          break
        case 'closeRelay':
          this.closeRelay(action.allocationId)
          break
        case 'ignore':
          break
      }
    }
  }

  private openRelay(allocationId: number, evenPort: boolean): void {
    const client = this.core.clientOf(allocationId)
    if (!client) return
    // The core opens a relay only for an Allocate that authenticated.
    if (client instanceof StreamClient) client.auth?.authenticate()
    // Remember the UDP 5-tuple so later datagrams reach the same allocation.
    if (client instanceof UdpClient) {
      const clients = this.udpClients.get(client.socket)
      const byPort = clients?.get(client.remote.address) ?? new Map<number, UdpClient>()
      byPort.set(client.remote.port, client)
      clients?.set(client.remote.address, byPort)
    }
    this.relays.set(allocationId, { socket: undefined, client })
    const onPeer = (data: Buffer, address: string, port: number): void => {
      const from: TransportAddress = { family: address.includes(':') ? 6 : 4, address, port }
      this.run(this.core.peerData(allocationId, from, data, this.now()))
    }
    const native = this.native
    const where = { ...this.options.relay, bufferBytes: RELAY_BUFFER_BYTES, evenPort }
    const bound =
      native?.owns(allocationId) && client instanceof UdpClient
        ? bindNativeRelay(native, where, allocationId, client.socket as NativeListener, client.remote, onPeer)
        : bindDgramRelay(where, onPeer, (err) =>
            this.options.logger.debug({ err, allocationId }, 'relay socket error'),
          )
    void bound.then(
      (socket) => {
        const entry = this.relays.get(allocationId)
        if (!entry || this.closed) {
          socket.close()
          return
        }
        entry.socket = socket
        const relay: TransportAddress = { family: 4, address: this.options.relay.address, port: socket.port }
        this.run(this.core.handle({ type: 'relayOpened', allocationId, relay }, this.now()))
      },
      (err: unknown) => {
        // Closed meanwhile (the allocation ended before its socket was bound): nothing to answer.
        if (!this.relays.has(allocationId) || this.closed) return
        this.options.logger.warn({ err, allocationId }, 'no relay port available')
        // The core answers 508 and forgets the allocation without a closeRelay: forget it here too.
        this.closeRelay(allocationId)
        this.run(this.core.handle({ type: 'relayFailed', allocationId, reason: String(err) }, this.now()))
      },
    )
  }

  private closeRelay(allocationId: number): void {
    const entry = this.relays.get(allocationId)
    // The native mirror goes even when the relay never opened (a failed or pending bind).
    this.native?.free(allocationId)
    if (!entry) return
    this.relays.delete(allocationId)
    entry.socket?.close()
    const client = entry.client
    if (client instanceof UdpClient) {
      const clients = this.udpClients.get(client.socket)
      const byPort = clients?.get(client.remote.address)
      byPort?.delete(client.remote.port)
      if (byPort?.size === 0) clients?.delete(client.remote.address)
    }
  }

  /** Stops everything: listeners, relays, streams. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.timer)
    for (const stream of this.streams) stream.stream.destroy()
    for (const id of [...this.relays.keys()]) this.closeRelay(id)
    for (const listener of this.nativeListeners) this.native?.closeListener(listener)
    this.native?.close()
    await Promise.all(this.listeners.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
  }
}

/** Picks the UDP path from `options.fastPath` and says which one it took. */
function startFastPath(options: TurnRuntimeOptions, stats: TurnStatsSink): NativeFastPath | undefined {
  const mode = options.fastPath ?? 'auto'
  let native: NativeFastPath | undefined
  if (mode !== 'js') {
    const addon = loadRelayAddon()
    if (addon.ok) native = new NativeFastPath(addon.create, stats)
    else if (mode === 'native')
      throw new Error(`proxy.fastPath is 'native' but the native relay is unavailable: ${addon.reason}`)
    else
      options.logger.warn({ reason: addon.reason }, 'native fast path unavailable: UDP relays on the JS path')
  }
  options.logger.info({ fastPath: native ? 'native' : 'js', requested: mode }, 'TURN UDP relay path')
  return native
}

/**
 * Under backpressure Node's Writable hands queued chunks to `_writev`, and TLS then seals them into one
 * record. TLS is a byte stream and our framing does not care, but some TURN clients read one message per
 * record (coturn's turnutils_uclient counts the rest as lost), so every message gets its own record, as
 * coturn sends them.
 */
function oneRecordPerWrite(stream: Duplex): void {
  ;(stream as { _writev?: unknown })._writev = null
}
