import type { RtcStats } from '../../shared/engine'
import { useLang, type Lang } from '../i18n/phrase'
import { formatFps, formatKbps, formatLoss, formatMs } from '../logic/format'
import { formatResolution, layerWords, qualityWords } from '../logic/videoWords'
import { transportWords } from '../logic/words'
import { useApp, useAppShallow } from './context'

/** What we send: size of the last key frame, frame rate, video bitrate. */
function sendVideoWords(lang: Lang, stats: RtcStats): string {
  if (stats.txVideoWidth === undefined && !stats.txVideoFps && stats.txVideoKbps === undefined) return '—'
  return lang.t('stats:sendVideo', {
    size: formatResolution(stats.txVideoWidth, stats.txVideoHeight),
    fps: formatFps(lang, stats.txVideoFps),
    bitrate: formatKbps(lang, stats.txVideoKbps),
  })
}

/** "sent / received" as one figure pair. */
function pair(lang: Lang, sent: string, received: string): string {
  return lang.t('stats:pair', { sent, received })
}

/**
 * One row per remote user whose video arrives: the layer, frame rate, size, loss, freezes and quality. Rows
 * are named as the tiles are: the display name the user joined with, the uid only when they gave none.
 */
function RemoteVideoTable(): React.JSX.Element | null {
  const uids = useAppShallow((s) => Object.keys(s.remoteVideo).map(Number))
  const remoteVideo = useApp((s) => s.remoteVideo)
  const remotes = useApp((s) => s.remotes)
  const remoteQuality = useApp((s) => s.remoteQuality)
  const lang = useLang()
  const { t } = lang
  if (uids.length === 0) return null
  return (
    <div className="table-scroll" tabIndex={0} role="region" aria-label={t('stats:received.caption')}>
      <table className="network-table remote-video" data-testid="remote-video-stats">
        <caption>{t('stats:received.caption')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('stats:received.user')}</th>
            <th scope="col">{t('stats:received.layer')}</th>
            <th scope="col">{t('stats:received.fps')}</th>
            <th scope="col">{t('stats:received.resolution')}</th>
            <th scope="col">{t('stats:received.bitrate')}</th>
            <th scope="col">{t('stats:received.loss')}</th>
            <th scope="col">{t('stats:received.freezes')}</th>
            <th scope="col">{t('stats:received.quality')}</th>
          </tr>
        </thead>
        <tbody>
          {uids.map((uid) => {
            const video = remoteVideo[uid]!
            const quality = remoteQuality[uid]
            const name = remotes[uid]?.displayName ?? t('stats:received.uid', { uid })
            return (
              <tr
                key={uid}
                data-testid="remote-video-row"
                data-uid={uid}
                data-name={name}
                data-fps={video.rxFps}
                data-width={video.width ?? ''}
                data-height={video.height ?? ''}
                data-layer={video.temporalLayer ?? ''}
                data-quality={quality ?? ''}
              >
                <th scope="row">{name}</th>
                <td>{layerWords(lang, video.temporalLayer)}</td>
                <td className="figure">{formatFps(lang, video.rxFps)}</td>
                <td className="figure">{formatResolution(video.width, video.height)}</td>
                <td className="figure">{formatKbps(lang, video.rxKbps)}</td>
                <td className="figure">{formatLoss(lang, video.packetLoss)}</td>
                <td>
                  {video.freezeCount === 0
                    ? t('stats:received.noFreezes')
                    : t('stats:received.freezeCount', {
                        count: video.freezeCount,
                        duration: formatMs(lang, video.frozenMs),
                      })}
                </td>
                <td className="figure">{qualityWords(lang, quality)}</td>
              </tr>
            )
          })}
        </tbody>
      </table>
    </div>
  )
}

/** rtcStats: RTT, loss, bitrates, frame rates, transport in use, the estimate; remoteVideoStats per user. */
export function StatsPanel(): React.JSX.Element {
  const stats = useApp((s) => s.stats)
  const quality = useApp((s) => s.quality)
  const lang = useLang()
  const { t } = lang
  return (
    <section className="panel" aria-labelledby="stats-title" data-testid="stats">
      <h2 id="stats-title">{t('stats:title')}</h2>
      {stats ? (
        <dl className="facts">
          <dt>{t('stats:transport')}</dt>
          <dd data-testid="stat-transport" data-transport={stats.transport}>
            {stats.proxyAddress
              ? t('stats:via', {
                  transport: transportWords(lang, stats.transport),
                  address: stats.proxyAddress,
                })
              : transportWords(lang, stats.transport)}
          </dd>
          <dt>{t('stats:rtt')}</dt>
          <dd data-testid="stat-rtt">
            {stats.rttSource
              ? t('stats:rttWithSource', { rtt: formatMs(lang, stats.rttMs), source: stats.rttSource })
              : formatMs(lang, stats.rttMs)}
          </dd>
          <dt>{t('stats:loss')}</dt>
          <dd data-testid="stat-loss">
            {pair(lang, formatLoss(lang, stats.txPacketLoss), formatLoss(lang, stats.rxPacketLoss))}
          </dd>
          <dt>{t('stats:bitrate')}</dt>
          <dd data-testid="stat-bitrate">
            {pair(lang, formatKbps(lang, stats.txKbps), formatKbps(lang, stats.rxKbps))}
          </dd>
          <dt>{t('stats:bandwidth')}</dt>
          <dd data-testid="stat-bandwidth" data-kbps={stats.estimatedBandwidthKbps ?? ''}>
            {formatKbps(lang, stats.estimatedBandwidthKbps)}
          </dd>
          <dt>{t('stats:sendingVideo')}</dt>
          <dd
            data-testid="stat-send-video"
            data-width={stats.txVideoWidth ?? ''}
            data-height={stats.txVideoHeight ?? ''}
            data-kbps={stats.txVideoKbps ?? ''}
          >
            {sendVideoWords(lang, stats)}
          </dd>
          <dt>{t('stats:videoFps')}</dt>
          <dd data-testid="stat-fps">
            {pair(lang, formatFps(lang, stats.txVideoFps), formatFps(lang, stats.rxVideoFps))}
          </dd>
          <dt>{t('stats:quality')}</dt>
          <dd data-testid="stat-quality">
            {quality ? t('stats:qualityUpDown', { tx: quality.tx, rx: quality.rx }) : '—'}
          </dd>
        </dl>
      ) : (
        <p className="muted">{t('stats:empty')}</p>
      )}
      <RemoteVideoTable />
    </section>
  )
}
