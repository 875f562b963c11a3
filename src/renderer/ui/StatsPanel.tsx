import type { RtcStats } from '../../shared/engine'
import { formatFps, formatKbps, formatLoss, formatMs } from '../logic/format'
import { formatResolution, layerWords, qualityWords } from '../logic/videoWords'
import { transportWords } from '../logic/words'
import { useApp, useAppShallow } from './context'

/** What we send: size of the last key frame, frame rate, video bitrate. */
function sendVideoWords(stats: RtcStats): string {
  if (stats.txVideoWidth === undefined && !stats.txVideoFps && stats.txVideoKbps === undefined) return '—'
  const size = formatResolution(stats.txVideoWidth, stats.txVideoHeight)
  return `${size} · ${formatFps(stats.txVideoFps)} · ${formatKbps(stats.txVideoKbps)}`
}

/** One row per remote user whose video arrives: the layer, frame rate, size, loss, freezes and quality. */
function RemoteVideoTable(): React.JSX.Element | null {
  const uids = useAppShallow((s) => Object.keys(s.remoteVideo).map(Number))
  const remoteVideo = useApp((s) => s.remoteVideo)
  const remoteQuality = useApp((s) => s.remoteQuality)
  if (uids.length === 0) return null
  return (
    <table className="network-table remote-video" data-testid="remote-video-stats">
      <caption>Video received</caption>
      <thead>
        <tr>
          <th scope="col">User</th>
          <th scope="col">Layer</th>
          <th scope="col">Frame rate</th>
          <th scope="col">Resolution</th>
          <th scope="col">Bitrate</th>
          <th scope="col">Loss</th>
          <th scope="col">Freezes</th>
          <th scope="col">Quality</th>
        </tr>
      </thead>
      <tbody>
        {uids.map((uid) => {
          const video = remoteVideo[uid]!
          const quality = remoteQuality[uid]
          return (
            <tr
              key={uid}
              data-testid="remote-video-row"
              data-uid={uid}
              data-fps={video.rxFps}
              data-width={video.width ?? ''}
              data-height={video.height ?? ''}
              data-layer={video.temporalLayer ?? ''}
              data-quality={quality ?? ''}
            >
              <th scope="row" className="figure">
                uid {uid}
              </th>
              <td>{layerWords(video.temporalLayer)}</td>
              <td className="figure">{formatFps(video.rxFps)}</td>
              <td className="figure">{formatResolution(video.width, video.height)}</td>
              <td className="figure">{formatKbps(video.rxKbps)}</td>
              <td className="figure">{formatLoss(video.packetLoss)}</td>
              <td>
                {video.freezeCount === 0 ? 'none' : `${video.freezeCount} · ${formatMs(video.frozenMs)}`}
              </td>
              <td className="figure">{qualityWords(quality)}</td>
            </tr>
          )
        })}
      </tbody>
    </table>
  )
}

/** rtcStats: RTT, loss, bitrates, frame rates, transport in use, the estimate; remoteVideoStats per user. */
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
          <dt>Estimated bandwidth</dt>
          <dd data-testid="stat-bandwidth" data-kbps={stats.estimatedBandwidthKbps ?? ''}>
            {formatKbps(stats.estimatedBandwidthKbps)}
          </dd>
          <dt>Sending video</dt>
          <dd
            data-testid="stat-send-video"
            data-width={stats.txVideoWidth ?? ''}
            data-height={stats.txVideoHeight ?? ''}
            data-kbps={stats.txVideoKbps ?? ''}
          >
            {sendVideoWords(stats)}
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
      <RemoteVideoTable />
    </section>
  )
}
