import { Counter, Gauge, Registry } from 'prom-client'
import { MEDIA_KINDS, type MediaKind } from '../shared/signaling'
import { LayerMetrics } from './media/layerMetrics'
import { MediaSockets } from './media/mediaSockets'

/** Live counts, read at scrape time so that gauges cannot drift from the state they describe. */
export interface SfuGaugeSource {
  connections: number
  channels: number
  participants: number
  tracks: Record<MediaKind, number>
  subscriptions: number
}

/**
 * The conference server's metrics, in their own prom-client Registry (the admin listener serves it).
 * Packet counters are plain numbers on the hot path, folded into prom-client counters at scrape time.
 */
export class SfuMetrics {
  readonly registry = new Registry()
  private source: (() => SfuGaugeSource) | undefined
  private readonly forwardedPackets = perKind()
  private readonly forwardedBytes = perKind()
  private readonly reported = { packets: perKind(), bytes: perKind() }
  /** The UDP sockets the PeerConnections hold, counted from werift's own objects (mediaSockets.ts). */
  readonly mediaSockets = new MediaSockets()
  /** Temporal-layer forwarding (media/layerMetrics.ts). */
  readonly layers: LayerMetrics

  readonly joins: Counter<'resumed'>
  readonly joinFailures: Counter<'code'>
  readonly leaves: Counter<'reason'>
  readonly badMessages: Counter<'code'>
  readonly keyframeRequests: Counter<'source'>
  readonly negotiations: Counter<'result'>
  /** Signaling upgrades refused by the connection limits (signaling/admission.ts). */
  readonly connectionsRefused: Counter<'reason'>
  /** Connections to the signaling port dropped before any request: not HTTP, too slow, or a socket error. */
  readonly httpClientErrors: Counter<'reason'>
  /** Media path guard (src/protocol/media/mediaGuard.ts) and stall watch: attacks and breakage that used to be silent. */
  readonly stunRejected: Counter
  readonly foreignDatagrams: Counter
  readonly dtlsRecordsDropped: Counter<'reason'>
  readonly mediaStalls: Counter<'cause'>

  constructor(prefix = 'pinhole_sfu_') {
    const registers = [this.registry]
    this.registerGauges(prefix)
    this.registerForwarded(prefix)
    this.layers = new LayerMetrics(this.registry, prefix)
    const counter = <L extends string = string>(
      name: string,
      help: string,
      labelNames: L[] = [],
    ): Counter<L> => new Counter({ name: prefix + name, help, labelNames, registers })
    this.joins = counter('joins_total', 'Successful joins', ['resumed'])
    this.joinFailures = counter('join_failures_total', 'Refused joins by code', ['code'])
    this.leaves = counter('leaves_total', 'Participants gone, by reason', ['reason'])
    this.badMessages = counter('bad_messages_total', 'Signaling messages refused, by code', ['code'])
    this.keyframeRequests = counter(
      'keyframe_requests_total',
      'Keyframe requests sent to publishers (after rate limiting), by what caused them',
      ['source'],
    )
    this.negotiations = counter('negotiations_total', 'Offer/answer exchanges by result', ['result'])
    this.connectionsRefused = counter(
      'connections_refused_total',
      'Signaling connections refused: max_connections, unauthenticated_share, unauthenticated_per_ip',
      ['reason'],
    )
    this.httpClientErrors = counter(
      'http_client_errors_total',
      'Connections to the signaling port closed before a request: malformed (not HTTP), timeout, socket',
      ['reason'],
    )
    this.stunRejected = counter(
      'media_stun_rejected_total',
      'ICE Binding requests to a media port without our ufrag or a valid MESSAGE-INTEGRITY, dropped',
    )
    this.foreignDatagrams = counter(
      'media_foreign_datagrams_total',
      'Datagrams to a media port from an address other than its selected ICE pair, dropped before DTLS/SRTP',
    )
    this.dtlsRecordsDropped = counter(
      'dtls_records_dropped_total',
      'DTLS records dropped after the handshake (malformed, unknown_type, plaintext, unauthenticated)',
      ['reason'],
    )
    this.mediaStalls = counter(
      'media_stalls_total',
      'Media paths found dead while "connected" (dtls: DTLS down; silent: nothing received), participant told to rejoin',
      ['cause'],
    )
  }

  /** Gauges read the live counts (`observe`) at scrape time. */
  private registerGauges(prefix: string): void {
    const registers = [this.registry]
    const gauge = (name: string, help: string, read: (s: SfuGaugeSource) => number): void => {
      const metric: Gauge = new Gauge({
        name: prefix + name,
        help,
        registers,
        collect: () => {
          if (this.source) metric.set(read(this.source()))
        },
      })
    }
    gauge('connections', 'Open signaling WebSockets', (s) => s.connections)
    gauge('channels', 'Open channels', (s) => s.channels)
    gauge(
      'participants',
      'Participants in channels (including those in their reconnect grace period)',
      (s) => s.participants,
    )
    gauge('subscriptions', 'Forwarding paths from a published track to a subscriber', (s) => s.subscriptions)
    const sockets: Gauge = new Gauge({
      name: prefix + 'media_sockets',
      help: 'UDP media sockets bound by PeerConnections and not yet closed (one per participant)',
      registers,
      collect: () => sockets.set(this.mediaSockets.count),
    })
    const tracks: Gauge<'kind'> = new Gauge({
      name: prefix + 'tracks',
      help: 'Published tracks',
      labelNames: ['kind'],
      registers,
      collect: () => {
        if (!this.source) return
        const counts = this.source().tracks
        for (const kind of MEDIA_KINDS) tracks.set({ kind }, counts[kind])
      },
    })
  }

  /** The hot-path packet counters, folded into prom-client counters at scrape time. */
  private registerForwarded(prefix: string): void {
    const folded = (which: 'packets' | 'bytes', help: string, totals: Record<MediaKind, number>): void => {
      const counter: Counter<'kind'> = new Counter({
        name: `${prefix}forwarded_${which}_total`,
        help,
        labelNames: ['kind'],
        registers: [this.registry],
        collect: () => {
          for (const kind of MEDIA_KINDS) {
            const delta = totals[kind] - this.reported[which][kind]
            if (delta > 0) counter.inc({ kind }, delta)
            this.reported[which][kind] = totals[kind]
          }
        },
      })
    }
    folded('packets', 'RTP packets forwarded to subscribers', this.forwardedPackets)
    folded('bytes', 'RTP payload bytes forwarded to subscribers', this.forwardedBytes)
  }

  /** The server registers where live counts come from; one source at a time. */
  observe(source: () => SfuGaugeSource): void {
    this.source = source
  }

  /** Hot path: one call per forwarded packet and subscriber. */
  forwarded(kind: MediaKind, bytes: number): void {
    this.forwardedPackets[kind]++
    this.forwardedBytes[kind] += bytes
  }

  /** Totals without a scrape (bench, health details). */
  forwardedTotals(): { packets: number; bytes: number } {
    const p = this.forwardedPackets
    const b = this.forwardedBytes
    return { packets: p.audio + p.video + p.screen, bytes: b.audio + b.video + b.screen }
  }
}

/** A zero per media kind (the `kind` label: audio, video, screen). */
export function perKind(): Record<MediaKind, number> {
  return { audio: 0, video: 0, screen: 0 }
}
