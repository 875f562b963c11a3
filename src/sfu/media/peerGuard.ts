import type { Logger } from 'pino'
import { MediaGuard } from '../../protocol/media/mediaGuard'
import type { SfuMetrics } from '../metrics'
import type { ServerPeerConnection } from './rtc'

/** The media path guard, counted in metrics; the first drop of each kind per participant is logged. */
export function guardMedia(
  pc: ServerPeerConnection,
  { metrics, logger }: { metrics: SfuMetrics; logger: Logger },
): MediaGuard {
  const logged = new Set<string>()
  const once = (what: string, fields: object): void => {
    if (logged.has(what)) return
    logged.add(what)
    logger.warn(fields, `${what} dropped on the media port (further drops only counted)`)
  }
  return new MediaGuard(pc, {
    stunRejected: ([host, port]) => {
      metrics.stunRejected.inc()
      once('unauthenticated ICE check', { from: `${host}:${port}` })
    },
    foreignDatagram: ([host, port]) => {
      metrics.foreignDatagrams.inc()
      once('datagram from a foreign address', { from: `${host}:${port}` })
    },
    dtlsRecordDropped: (reason) => {
      metrics.dtlsRecordsDropped.inc({ reason })
      once('DTLS record', { reason })
    },
  })
}
