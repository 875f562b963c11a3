import type { CallContext } from './call'
import { newCounters, StatsCollector, type MediaCounters, type PeerStatsSample } from '../stats/stats'
import { RemoteVideoLedger } from '../media/remoteVideoLedger'
import { remoteQuality, RemoteVideoReporter, type RemoteVideoInterval } from '../stats/remoteVideoStats'
import type { TransportSelection } from '../route/pathSelect'

/**
 * The call's statistics wiring (docs/engine.md "Statistics"): the counters the MediaSessions add to, the
 * last signaling round trip, and a StatsCollector whose reports go out as `rtcStats` and `networkQuality`;
 * each remote user's video ledger, whose figures go out as `remoteVideoStats` and their `networkQuality`.
 * Data in through the fields and getters; the CallSession owns it and stops it when the call ends.
 */

export interface CallStatsDeps {
  context: Pick<CallContext, 'clock' | 'transport' | 'uid' | 'logger'>
  /**
   * The transport the current media path uses (after a failover or a transport change it is not the
   * join's); default: `context.transport` as it is at each report.
   */
  transport?: () => TransportSelection
  intervalMs?: number
  /** The current PeerConnection, if any. */
  media():
    { isConnected: boolean; peerStats(): Promise<PeerStatsSample>; remoteVideoUids(): number[] } | undefined
  /** 'off' once the call has ended (nothing more is emitted), 'down' while media is lost. */
  condition(): 'up' | 'down' | 'off'
  emit: CallContext['emit']
}

export class CallStats {
  /** Shared by every PeerMedia of the call, so that a full rejoin does not reset the rates. */
  readonly counters: MediaCounters = newCounters()
  /** Each remote user's video, kept across PeerConnections like `counters`. */
  readonly remoteVideo = new RemoteVideoLedger()
  private readonly remoteReporter = new RemoteVideoReporter()
  /** The remote users' figures over the interval the collector is sampling. */
  private remoteIntervals: RemoteVideoInterval[] = []
  signalingRttMs: number | undefined
  private readonly collector: StatsCollector

  constructor(deps: CallStatsDeps) {
    const { clock, uid, logger } = deps.context
    const startedAtMs = clock.now()
    const current = deps.transport ?? (() => deps.context.transport)
    this.collector = new StatsCollector({
      clock,
      ...(deps.intervalMs === undefined ? {} : { intervalMs: deps.intervalMs }),
      context: () => {
        const transport = current()
        return {
          transport: transport.transport,
          ...(transport.transport === 'direct' ? {} : { proxyAddress: transport.target }),
          startedAtMs,
        }
      },
      sample: async () => {
        // Counters and time first: the rates must not depend on how long werift takes to answer.
        const atMs = clock.now()
        const counters = { ...this.counters }
        const media = deps.media()
        this.remoteIntervals = this.remoteReporter.next(
          this.remoteVideo.snapshot(media?.remoteVideoUids() ?? [], atMs),
          atMs,
        )
        const peer = media?.isConnected ? await media.peerStats() : undefined
        return {
          atMs,
          counters,
          ...(peer ? { peer } : {}),
          ...(this.signalingRttMs === undefined ? {} : { signalingRttMs: this.signalingRttMs }),
        }
      },
      report: (stats, quality) => {
        const condition = deps.condition()
        if (condition === 'off') return
        deps.emit('rtcStats', stats)
        // 6 (down) while there is no media path: the figures cannot say so themselves.
        const down = condition === 'down'
        deps.emit('networkQuality', uid, down ? 6 : quality.tx, down ? 6 : quality.rx)
        // Remote users: how their video reaches us (their downlink is not measured here: 0).
        deps.emit(
          'remoteVideoStats',
          this.remoteIntervals.map((interval) => interval.stats),
        )
        for (const interval of this.remoteIntervals) {
          deps.emit('networkQuality', interval.stats.uid, remoteQuality(interval, down ? 6 : quality.rx), 0)
        }
      },
      onError: (error) => logger.debug({ err: error }, 'statistics sample failed'),
    })
  }

  start(): void {
    this.collector.start()
  }

  stop(): void {
    this.collector.stop()
  }
}
