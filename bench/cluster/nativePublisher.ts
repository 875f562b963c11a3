/**
 * bench:cluster's participant media sent by the `pinhole_rtp_sink` addon (native/relay/src/rtp_gen.cc):
 * the payloads of e2e/sfu/media.ts (a marker with the publisher's uid and packet counter, filler derived from
 * them), the RTP header the conference server writes (srtp_gcm.h: the m-line's payload type and SSRC,
 * werift's sequence and timestamp offsets, the transport-wide sequence number), AES-GCM SRTP with werift's
 * session keys, and `sendmmsg` on werift's socket to the nominated pair, for every publisher of the process
 * from one call of the generator's 5 ms timer. Nothing per packet in JavaScript: no header or payload object,
 * no N-API call, nothing for the garbage collector (bench/cluster/cheapMedia.ts's JavaScript send, which
 * this replaces when the addon is built, spent most of the generator's JavaScript time there).
 *
 * werift keeps the rest of the publisher: DTLS, ICE consent and keyframe requests (a PLI makes the next
 * frame a keyframe). The sender reports are the conference server's (src/sfu/media/senderReports.ts: one
 * compound a participant, werift's cadence), their counts (packets, octets, the last packet's RTP timestamp
 * and send time) read from the addon's counters when a report is built. What this publisher does not
 * do is answer the node's NACKs (werift's history is empty): a packet the node lost on the way in stays
 * lost and counts against the node, as it would without retransmission.
 */
import type { Socket } from 'node:dgram'
import type { RTCRtpTransceiver } from 'werift'
import { twccExtensionId } from '../../src/protocol/media/twccTransport'
import { udpSocketFd } from '../../src/platform/nativeAddon'
import { ntpNow, type SenderInternals } from '../../src/sfu/media/rtpOut'
import { SenderReports, type ReportingTransport } from '../../src/sfu/media/senderReports'
import type { SrtpContextInternals } from '../../src/sfu/media/srtpOut'
import type { TestClient } from '../../e2e/sfu/client'
import type { CheapPublisher, Counts, MediaOptions } from './cheapMedia'
import { rtpSinkAddon, type NativePublisher, type RtpSink } from './rtpAddon'
import { every, TICK_MS, type Job } from './ticker'

/** e2e/sfu/media.ts videoFramePayloads' default MTU. */
const VIDEO_MTU = 1100
/** werift's `ProtectionProfileAeadAes128Gcm`. */
const AEAD_AES_128_GCM = 7
/** rtp_gen.cc's `stats`: per kind (audio at 0, video at 5) sent, octets, RTP timestamp, send time. */
const STAT = { sent: 0, octets: 1, rtpTimestamp: 2, sentUnixMs: 3, sequence: 4, sendErrors: 10 } as const
const VIDEO = 5

interface Track {
  transceiver: RTCRtpTransceiver
  sender: SenderInternals
}

/** The native publisher of `client`'s tracks, or undefined (no addon, not connected, not plain UDP, no GCM). */
export function startNativeMedia(
  client: TestClient,
  options: MediaOptions,
  sink?: RtpSink,
): CheapPublisher | undefined {
  const addon = rtpSinkAddon()
  if (typeof addon === 'string') return undefined
  const track = (sender: unknown): Track | undefined => {
    const transceiver = client.pc.getTransceivers().find((t) => t.sender === sender)
    return transceiver && { transceiver, sender: transceiver.sender as unknown as SenderInternals }
  }
  const audio = client.audioSender && track(client.audioSender)
  const video = client.videoSender && track(client.videoSender)
  const first = audio ?? video
  const dtls = first?.sender.dtlsTransport
  const pair = dtls?.iceTransport.connection.nominated as PairInternals | undefined
  const context = (dtls?.srtp as { localContext?: SrtpContextInternals } | undefined)?.localContext
  const { srtpSessionKey: key, srtpSessionSalt: salt } = context?.cipher ?? {}
  const transport = pair?.protocol?.transport
  const fd = transport?.type === 'udp' && transport.socket ? udpSocketFd(transport.socket) : undefined
  const [address, port] = pair?.remoteAddr ?? []
  const twcc = [audio, video].map((t) => t && twccExtensionId(t.transceiver))
  if (
    !first ||
    dtls?.state !== 'connected' ||
    context?.profile !== AEAD_AES_128_GCM ||
    !key ||
    !salt ||
    fd === undefined ||
    !address ||
    !port ||
    (audio && video && twcc[0] !== twcc[1]) ||
    [audio, video].some((t) => t && (!t.sender.codec || t.sender.dtlsTransport !== dtls))
  ) {
    return undefined
  }
  const stream = (t: Track | undefined): number[] =>
    t
      ? [
          t.sender.ssrc,
          t.sender.codec!.payloadType,
          t.sender.seqOffset & 0xffff,
          t.sender.timestampOffset >>> 0,
          context.getSrtpSsrcState(t.sender.ssrc).rolloverCounter >>> 0,
        ]
      : [0, 0, 0, 0, 0]
  const params = Uint32Array.from([
    client.options.uid,
    options.fps,
    options.frameBytes,
    VIDEO_MTU,
    twcc[0] ?? twcc[1] ?? 0,
    dtls.transportSequenceNumber,
    (audio ? 1 : 0) | (video ? 2 : 0),
    ...stream(audio),
    ...stream(video),
  ])
  const native = new addon.Publisher(fd, address, port, key, salt, params)
  const session = dtls.srtp
  const { stats } = native
  const reportsNatively = sink !== undefined && reportNatively(client, native, sink, first.sender)
  if (!reportsNatively) {
    if (audio) reportFrom(audio.sender, stats, 0, dtls)
    if (video) reportFrom(video.sender, stats, VIDEO, dtls)
  }
  const pli = client.videoSender?.onPictureLossIndication.subscribe(() => native.keyframe())
  publishers.add(native)
  pumpJob ??= every(TICK_MS, pump) // every tick
  const sent: Counts = {
    get audio() {
      return stats[STAT.sent]!
    },
    get video() {
      return stats[VIDEO + STAT.sent]!
    },
  }
  return {
    sent,
    nativePackets: () => stats[STAT.sent]! + stats[VIDEO + STAT.sent]! - stats[STAT.sendErrors]!,
    native: true,
    moved: () => dtls.srtp !== session || dtls.iceTransport.connection.nominated !== pair,
    reportsNatively,
    sentCounter: (kind) => ({ stats, at: (kind === 'video' ? VIDEO : 0) + STAT.sent }),
    stop() {
      native.stop()
      pli?.unSubscribe()
      publishers.delete(native)
      if (publishers.size === 0 && pumpJob) {
        pumpJob.stopped = true
        pumpJob = undefined
      }
    },
  }
}

const publishers = new Set<NativePublisher>()
let pumpJob: Job | undefined

function pump(): void {
  const addon = rtpSinkAddon()
  if (typeof addon !== 'string') addon.pump()
}

/**
 * The generator's sender reports: the conference server's (one timer, one compound per participant with
 * the reports of its audio and video, every 0.5–1.5 s as werift's loop per sender would send them).
 */
const senderReports = new SenderReports()

/**
 * `sender`'s reports read the counts the addon keeps for this kind when they are built: packets and
 * payload octets sent, the last packet's RTP timestamp and its send time as the NTP timestamp (the pair
 * the receiver maps RTP time to wall clock with).
 */
function reportFrom(
  sender: SenderInternals,
  stats: Float64Array,
  at: number,
  dtls: ReportingTransport,
): void {
  const define = (name: string, get: () => unknown) =>
    Object.defineProperty(sender, name, { get, set: () => {}, configurable: true })
  define('packetCount', () => stats[at + STAT.sent]! >>> 0)
  define('octetCount', () => stats[at + STAT.octets]! >>> 0)
  define('rtpTimestamp', () => stats[at + STAT.rtpTimestamp]! >>> 0)
  define('ntpTimestamp', () => ntpNow(stats[at + STAT.sentUnixMs]! || Date.now()))
  define('sequenceNumber', () => stats[at + STAT.sequence])
  define('timestamp', () => stats[at + STAT.rtpTimestamp])
  senderReports.add(sender, dtls)
}

/**
 * The participant's RTCP from the addon (one compound of sender reports, receiver report and CNAME, as a
 * browser sends it): werift's report loops never start (its senders' `rtcpRunning` set; the receivers'
 * are silenced by receiverReports.ts). False when werift's SRTCP session is not AES-GCM.
 */
function reportNatively(
  client: TestClient,
  native: NativePublisher,
  sink: RtpSink,
  first: SenderInternals,
): boolean {
  const dtls = first.dtlsTransport as unknown as
    { srtcp?: { localContext?: SrtcpContextInternals } } | undefined
  const context = dtls?.srtcp?.localContext
  const { srtcpSessionKey: key, srtcpSessionSalt: salt } = context?.cipher ?? {}
  const receiver = client.pc.getTransceivers()[0]?.receiver as unknown as { rtcpSsrc?: number } | undefined
  if (context?.profile !== AEAD_AES_128_GCM || !key || !salt || receiver?.rtcpSsrc === undefined) return false
  const senders = client.pc
    .getTransceivers()
    .map((t) => t.sender as unknown as SenderInternals & { cname?: string })
  for (const sender of senders) sender.rtcpRunning = true
  native.reportWith(sink, receiver.rtcpSsrc, senders[0]?.cname ?? '', key, salt, context.index(first.ssrc))
  return true
}

/** werift's (0.25) local SRTCP context: its keys and the index of an SSRC's last compound. */
interface SrtcpContextInternals {
  profile: number
  cipher: { srtcpSessionKey?: Buffer; srtcpSessionSalt?: Buffer }
  index(ssrc: number): number
}

/** werift's (0.25) nominated candidate pair: its UDP transport and remote address. */
interface PairInternals {
  protocol?: { transport?: { type?: string; socket?: Socket } }
  remoteAddr?: readonly [string, number]
}
