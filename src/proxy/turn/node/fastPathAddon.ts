/**
 * Loads the native ChannelData fast path (native/relay, an N-API addon built by `npm run build:native`).
 * The addon is optional at run time: without it the proxy relays on the pure JS path (docs/proxy.md §8).
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { BUILD_COMMAND, nativeAddonPath } from '../../../platform/nativeAddon'

export { BUILD_COMMAND }

export const ADDON_PATH = nativeAddonPath('pinhole_relay')

/** The binding's ABI version (addon.cc `abiVersion`); bumped when a method's contract changes. */
const ABI_VERSION = 1

/** Order of `takeCounters()` (native/relay/src/relay.h `Counter`). */
export interface NativeCounters {
  clientToPeerPackets: number
  clientToPeerBytes: number
  peerToClientPackets: number
  peerToClientBytes: number
  bandwidthDropsClient: number
  bandwidthDropsPeer: number
  sendErrors: number
  batches: number
}

export const COUNTER_NAMES: readonly (keyof NativeCounters)[] = [
  'clientToPeerPackets',
  'clientToPeerBytes',
  'peerToClientPackets',
  'peerToClientBytes',
  'bandwidthDropsClient',
  'bandwidthDropsPeer',
  'sendErrors',
  'batches',
]

/**
 * Datagrams the fast path did not forward, one call per received batch: a flat list of
 * `[data, address, port, data, address, port, ...]`, in arrival order.
 */
export type OnPackets = (socketId: number, packets: (Buffer | string | number)[]) => void

/** One native relay engine: UDP sockets polled in Node's event loop and its forwarding table. */
export interface NativeRelay {
  /** Binds a STUN/TURN listener; returns [socketId, boundPort]. Throws an Error with `code` (EADDRINUSE...). */
  openListener(host: string, port: number, reusePort: boolean, bufferBytes: number): [number, number]
  /** Binds a relay socket on exactly `port`; returns [socketId, boundPort]. */
  openRelay(host: string, port: number, bufferBytes: number): [number, number]
  closeSocket(socketId: number): void
  /** sendto on one of the engine's sockets; false when the kernel refused the datagram. */
  send(socketId: number, data: Buffer, address: string, port: number): boolean
  /** Creates the allocation's record and bandwidth bucket (bytes/s, both directions; 0 = unlimited). */
  allocate(allocationId: number, bytesPerSecond: number): void
  /** Links the allocation to its relay socket and its client's 5-tuple on a listener. */
  attach(
    allocationId: number,
    relaySocketId: number,
    listenerId: number,
    address: string,
    port: number,
  ): boolean
  /** Takes bytes from the allocation's bucket (the JS path's relays share it with the native ones). */
  take(allocationId: number, bytes: number): boolean
  /** Installs or refreshes a channel to an IPv4 peer, forwarding for `ttlMs` from now at most. */
  setChannel(allocationId: number, channel: number, address: string, port: number, ttlMs: number): boolean
  removeChannel(allocationId: number, channel: number): void
  /** Forgets the allocation and closes its relay socket. */
  freeAllocation(allocationId: number): void
  /** Counters since the last call, in COUNTER_NAMES order. */
  takeCounters(): number[]
  close(): void
}

interface AddonModule {
  Relay: new (onPackets: OnPackets) => NativeRelay
  abiVersion: number
}

export type AddonLoad =
  { ok: true; create: (onPackets: OnPackets) => NativeRelay } | { ok: false; reason: string }

let cached: AddonLoad | undefined

/** Loads the addon once per process; never throws. */
export function loadRelayAddon(path = ADDON_PATH): AddonLoad {
  if (cached && path === ADDON_PATH) return cached
  const result = tryLoad(path)
  if (path === ADDON_PATH) cached = result
  return result
}

function tryLoad(path: string): AddonLoad {
  if (process.platform !== 'linux')
    return { ok: false, reason: `the fast path needs Linux (recvmmsg/sendmmsg)` }
  if (!existsSync(path)) return { ok: false, reason: `${path} is not built (run \`${BUILD_COMMAND}\`)` }
  try {
    const module = createRequire(import.meta.url)(path) as AddonModule
    if (module.abiVersion !== ABI_VERSION)
      return { ok: false, reason: `${path} is outdated (ABI ${module.abiVersion}); run \`${BUILD_COMMAND}\`` }
    return { ok: true, create: (onPackets) => new module.Relay(onPackets) }
  } catch (err) {
    return { ok: false, reason: `${path} failed to load (${String(err)}); run \`${BUILD_COMMAND}\`` }
  }
}

export function readCounters(values: readonly number[]): NativeCounters {
  const out = {} as NativeCounters
  COUNTER_NAMES.forEach((name, i) => (out[name] = values[i] ?? 0))
  return out
}
