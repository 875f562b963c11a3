import type { TurnStatsSink } from '../core/stats'
import type { BandwidthBucket } from '../core/types'
import { readCounters, type NativeCounters, type NativeRelay, type OnPackets } from './fastPathAddon'

/** Where UDP datagrams leave from: a dgram socket or a socket of the native engine. */
export interface DatagramOut {
  send(data: Buffer, port: number, address: string): void
}

/** An allocation's relay socket as the runtime uses it. */
export interface RelayOut extends DatagramOut {
  readonly port: number
  close(): void
}

/** A datagram the native engine did not forward, for the JS path. */
export type PacketHandler = (data: Buffer, address: string, port: number) => void

/** A native listener: its id doubles as the identity of the socket clients reached. */
export interface NativeListener extends DatagramOut {
  readonly id: number
  readonly port: number
}

/**
 * The runtime's handle on the native ChannelData fast path (native/relay). The engine owns the UDP
 * listeners and the relay sockets of UDP clients' allocations; it forwards ChannelData along the channels
 * installed here and hands everything else to `PacketHandler`s, once per received batch. The TURN core
 * stays the source of truth: this class mirrors its allocations, channels and bandwidth buckets.
 */
export class NativeFastPath {
  private readonly engine: NativeRelay
  private readonly handlers = new Map<number, PacketHandler>()
  /** Mirrored allocations → their relay socket id (0 until it is bound). */
  private readonly allocations = new Map<number, number>()
  private readonly totals: NativeCounters = readCounters([])
  private closed = false

  constructor(
    create: (onPackets: OnPackets) => NativeRelay,
    private readonly stats: TurnStatsSink,
  ) {
    this.engine = create((socketId, packets) => this.dispatch(socketId, packets))
  }

  private dispatch(socketId: number, packets: (Buffer | string | number)[]): void {
    const handler = this.handlers.get(socketId)
    if (!handler) return
    for (let i = 0; i + 2 < packets.length; i += 3)
      handler(packets[i] as Buffer, packets[i + 1] as string, packets[i + 2] as number)
  }

  listen(
    host: string,
    port: number,
    reusePort: boolean,
    bufferBytes: number,
    onPacket: PacketHandler,
  ): NativeListener {
    const [id, bound] = bindOrExplain(host, port, () =>
      this.engine.openListener(host, port, reusePort, bufferBytes),
    )
    this.handlers.set(id, onPacket)
    const engine = this.engine
    return { id, port: bound, send: (data, toPort, address) => void engine.send(id, data, address, toPort) }
  }

  closeListener(listener: NativeListener): void {
    this.handlers.delete(listener.id)
    if (!this.closed) this.engine.closeSocket(listener.id)
  }

  /** Creates the mirror of a new allocation; its bucket is shared by both paths (undefined: no cap). */
  allocate(allocationId: number, bytesPerSecond: number): BandwidthBucket | undefined {
    this.engine.allocate(allocationId, bytesPerSecond)
    this.allocations.set(allocationId, 0)
    if (bytesPerSecond <= 0) return undefined
    return { take: (_now, bytes) => this.closed || this.engine.take(allocationId, bytes) }
  }

  owns(allocationId: number): boolean {
    return this.allocations.has(allocationId)
  }

  /**
   * Binds the allocation's relay socket on `port` (throws with `code` when taken) and links it to the
   * client's 5-tuple on `listener`, so ChannelData can flow both ways without JavaScript.
   */
  openRelay(
    allocationId: number,
    host: string,
    port: number,
    bufferBytes: number,
    listener: NativeListener,
    client: { address: string; port: number },
    onPacket: PacketHandler,
  ): RelayOut {
    if (!this.allocations.has(allocationId) || this.closed)
      throw new Error('allocation closed before its relay opened')
    const [id, bound] = bindOrExplain(host, port, () => this.engine.openRelay(host, port, bufferBytes))
    this.allocations.set(allocationId, id)
    this.handlers.set(id, onPacket)
    this.engine.attach(allocationId, id, listener.id, client.address, client.port)
    const engine = this.engine
    return {
      port: bound,
      send: (data, toPort, address) => void engine.send(id, data, address, toPort),
      close: () => this.free(allocationId),
    }
  }

  /** Forgets the allocation (and closes its relay socket, if any). */
  free(allocationId: number): void {
    const relayId = this.allocations.get(allocationId)
    if (relayId === undefined || this.closed) return
    this.allocations.delete(allocationId)
    this.handlers.delete(relayId)
    this.engine.freeAllocation(allocationId)
  }

  /** A channel bound or refreshed by the core: forwarded natively until its expiry, never past it. */
  channelBound(
    allocationId: number,
    channel: number,
    peer: { family: number; address: string; port: number },
    ttlMs: number,
  ): void {
    if (!this.allocations.has(allocationId) || this.closed) return
    if (peer.family !== 4 || ttlMs <= 0) {
      this.engine.removeChannel(allocationId, channel)
      return
    }
    this.engine.setChannel(allocationId, channel, peer.address, peer.port, ttlMs)
  }

  channelExpired(allocationId: number, channel: number): void {
    if (this.allocations.has(allocationId) && !this.closed) this.engine.removeChannel(allocationId, channel)
  }

  /** Adds what the engine relayed and dropped since the last call to the stats sink (tick and scrape). */
  flushCounters(): void {
    if (this.closed) return
    const delta = readCounters(this.engine.takeCounters())
    const hot = this.stats.hot
    hot.clientToPeerPackets += delta.clientToPeerPackets
    hot.clientToPeerBytes += delta.clientToPeerBytes
    hot.peerToClientPackets += delta.peerToClientPackets
    hot.peerToClientBytes += delta.peerToClientBytes
    for (let i = 0; i < delta.bandwidthDropsClient; i++) this.stats.ignored('bandwidth', 'udp')
    for (let i = 0; i < delta.bandwidthDropsPeer; i++) this.stats.ignored('bandwidth', 'peer')
    for (let i = 0; i < delta.sendErrors; i++) this.stats.ignored('send-failed', 'udp')
    for (const key of Object.keys(delta) as (keyof NativeCounters)[]) this.totals[key] += delta[key]
  }

  /** What the engine did since it started (tests and logs). */
  counters(): NativeCounters {
    this.flushCounters()
    return { ...this.totals }
  }

  close(): void {
    if (this.closed) return
    this.flushCounters()
    this.closed = true
    this.handlers.clear()
    this.allocations.clear()
    this.engine.close()
  }
}

/**
 * Runs a native bind; its error says only "address already in use", so it is rethrown the way Node's
 * dgram says it — "bind EADDRINUSE 0.0.0.0:3478" — with `code`, `syscall`, `address` and `port` set, so
 * an operator whose proxy does not start sees which port is taken.
 */
function bindOrExplain<T>(host: string, port: number, bind: () => T): T {
  try {
    return bind()
  } catch (err) {
    if (!(err instanceof Error)) throw err
    const code = (err as { code?: unknown }).code
    const where = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
    const named = new Error(`bind ${typeof code === 'string' ? code : 'failed'} ${where}: ${err.message}`, {
      cause: err,
    })
    throw Object.assign(named, { code, syscall: 'bind', address: host, port })
  }
}
