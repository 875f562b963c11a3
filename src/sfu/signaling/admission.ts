import type { IncomingMessage } from 'node:http'
import { BlockList, isIP } from 'node:net'
import { ConnectionSlots, type Slot } from '../../platform/connectionSlots'
import type { SfuConfig } from '../config'
import type { SfuMetrics } from '../metrics'

/**
 * Which signaling connections the conference server accepts (docs/sfu.md "Connection limits"): at most
 * `maxConnections`, of which connections that have not joined yet hold at most `unauthenticatedPercent`
 * and at most `unauthenticatedPerIp` per client address. A joined connection leaves the unauthenticated
 * share, so a flood of idle sockets cannot keep a legitimate client from joining.
 *
 * The client address: connections relayed by the proxy all come from the proxy's address, so a
 * connection from one of `trustedProxies` is counted under the address the proxy appended last to
 * X-Forwarded-For (the one it saw; entries before it came from the client and are not trusted). A
 * connection from any other address is counted under that address, whatever headers it sends.
 */
export class SignalAdmission {
  private readonly slots: ConnectionSlots
  private readonly trusted: BlockList

  constructor(
    config: SfuConfig,
    private readonly metrics: SfuMetrics,
  ) {
    this.slots = new ConnectionSlots(config)
    this.trusted = blockListOf(config.trustedProxies)
  }

  /** A slot for this upgrade request, or the HTTP status line to refuse it with (the refusal is counted). */
  admit(req: IncomingMessage): { slot: Slot } | { refuse: string } {
    const admission = this.slots.admit(clientAddress(req, this.trusted))
    if (admission.ok) return { slot: admission.slot }
    this.metrics.connectionsRefused.inc({ reason: admission.reason })
    const perIp = admission.reason === 'unauthenticated_per_ip'
    return { refuse: perIp ? '429 Too Many Requests' : '503 Service Unavailable' }
  }
}

export function clientAddress(req: IncomingMessage, trusted: BlockList): string {
  const peer = req.socket.remoteAddress ?? ''
  if (!isTrusted(peer, trusted)) return peer
  const header = req.headers['x-forwarded-for']
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',')
  const last = forwarded[forwarded.length - 1]?.trim() ?? ''
  return isIP(last) === 0 ? peer : last
}

function isTrusted(peer: string, trusted: BlockList): boolean {
  // A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d.
  const address = peer.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '')
  const version = isIP(address)
  return version !== 0 && trusted.check(address, version === 4 ? 'ipv4' : 'ipv6')
}

/** `10.0.0.5` or `10.0.0.0/24` (IPv4 or IPv6); the schema has checked the syntax. */
function blockListOf(entries: readonly string[]): BlockList {
  const list = new BlockList()
  for (const entry of entries) {
    const [address = '', bits] = entry.split('/')
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4'
    if (bits === undefined) list.addAddress(address, type)
    else list.addSubnet(address, Number(bits), type)
  }
  return list
}
