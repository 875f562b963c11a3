import { formatFps, formatKbps, formatLoss, formatMs } from '../logic/format'
import { transportWords } from '../logic/words'
import { useApp } from './context'

/** rtcStats: RTT, loss, bitrates, frame rates, transport in use. */
export function StatsPanel(): React.JSX.Element {
  const stats = useApp((s) => s.stats)
  const quality = useApp((s) => s.quality)
  return (
    <section className="panel" aria-labelledby="stats-title" data-testid="stats">
      <h2 id="stats-title">Statistics</h2>
      {stats ? (
        <dl className="facts">
          <dt>Transport</dt>
          <dd data-testid="stat-transport" data-transport={stats.transport}>
            {transportWords(stats.transport)}
            {stats.proxyAddress ? ` via ${stats.proxyAddress}` : ''}
          </dd>
          <dt>Round trip</dt>
          <dd data-testid="stat-rtt">
            {formatMs(stats.rttMs)}
            {stats.rttSource ? ` (${stats.rttSource})` : ''}
          </dd>
          <dt>Loss sent / received</dt>
          <dd data-testid="stat-loss">
            {formatLoss(stats.txPacketLoss)} / {formatLoss(stats.rxPacketLoss)}
          </dd>
          <dt>Bitrate sent / received</dt>
          <dd data-testid="stat-bitrate">
            {formatKbps(stats.txKbps)} / {formatKbps(stats.rxKbps)}
          </dd>
          <dt>Video sent / received</dt>
          <dd data-testid="stat-fps">
            {formatFps(stats.txVideoFps)} / {formatFps(stats.rxVideoFps)}
          </dd>
          <dt>Network quality</dt>
          <dd data-testid="stat-quality">
            {quality ? `up ${quality.tx} · down ${quality.rx} (1 best, 6 down)` : '—'}
          </dd>
        </dl>
      ) : (
        <p className="muted">Figures appear every 2 s during a call.</p>
      )}
    </section>
  )
}
