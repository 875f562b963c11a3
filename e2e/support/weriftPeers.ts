import { RTCPeerConnection, RTCRtpCodecParameters, RtpHeader, RtpPacket } from 'werift'
import type { MediaStreamTrack, RTCDataChannel, RTCPeerConnectionConfig, RTCRtpTransceiver } from 'werift'
import { sleep } from './tools'

export interface WeriftTurnOptions {
  /** Exactly one TURN URL: werift only ever uses the first one (docs/architecture.md, "Why werift"). */
  turnUrl: string
  username: string
  credential: string
  /** PEM to pin for `turns:` (a self-signed server certificate works as its own CA). */
  turnTlsCa?: string
  /** SNI / name to verify; default: the host of the URL (an IP literal is matched against IP SANs). */
  turnTlsServername?: string
}

export interface ConnectWeriftPairOptions extends WeriftTurnOptions {
  /** Give up on gathering, ICE, DTLS and SCTP after this long. Default 15 s. */
  timeoutMs?: number
}

/** Milliseconds from the start of connectWeriftPair. */
export interface WeriftPairTimings {
  offerGatheredMs: number
  answerGatheredMs: number
  /** Both peers' connectionState === 'connected' (ICE + DTLS), the state the engine watches. */
  connectedMs: number
  /** Data channel open on both ends. */
  dataChannelOpenMs: number
}

export interface ExchangeResult {
  sentEachWay: number
  /** Distinct message / packet indices received by each side. */
  receivedByAnswerer: number
  receivedByOfferer: number
  durationMs: number
}

export interface RtpExchangeOptions {
  /** Pacing: one packet every intervalMs on each side. Default 2. */
  intervalMs?: number
  /** RTP payload size (VP8 descriptor + index + filler). Default 1000. */
  payloadBytes?: number
  /** How long to wait for stragglers after the last send. Default 2000 ms. */
  settleMs?: number
}

export interface WeriftPair {
  offerer: RTCPeerConnection
  answerer: RTCPeerConnection
  timings: WeriftPairTimings
  /** `a=candidate` lines of each local description (relay policy: all `typ relay`). */
  candidates: { offerer: string[]; answerer: string[] }
  /** Sends `count` indexed messages each way on the data channel; resolves when all arrived or after settleMs. */
  exchangeDataChannelMessages(count: number, settleMs?: number): Promise<ExchangeResult>
  /** Sends `count` paced RTP packets each way on the video transceiver and counts what arrives. */
  exchangeRtp(count: number, options?: RtpExchangeOptions): Promise<ExchangeResult>
  close(): Promise<void>
}

const VP8 = (): RTCRtpCodecParameters =>
  new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90_000, payloadType: 96 })

function hostOf(turnUrl: string): string {
  const rest = turnUrl.replace(/^turns?:/i, '').split('?')[0] ?? ''
  if (rest.startsWith('[')) return rest.slice(1, rest.indexOf(']'))
  return rest.split(':')[0] ?? ''
}

/** The werift configuration the engine is meant to use: one TURN server, relay only, bundled. */
export function weriftRelayConfig(options: WeriftTurnOptions): RTCPeerConnectionConfig {
  const config: RTCPeerConnectionConfig = {
    iceServers: [{ urls: options.turnUrl, username: options.username, credential: options.credential }],
    iceTransportPolicy: 'relay',
    bundlePolicy: 'max-bundle',
    codecs: { video: [VP8()] },
  }
  if (/^turns:/i.test(options.turnUrl)) {
    const servername = options.turnTlsServername ?? hostOf(options.turnUrl)
    config.turnTlsOptions = {
      ...(options.turnTlsCa !== undefined ? { ca: options.turnTlsCa } : {}),
      // Node sends no SNI for IP literals anyway; a name here would be checked against DNS SANs.
      ...(/^[\d.]+$|:/.test(servername) ? {} : { servername }),
    }
  }
  return config
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

function gatheringComplete(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve()
  return new Promise((resolve) => {
    const { unSubscribe } = pc.iceGatheringStateChange.subscribe((state) => {
      if (state === 'complete') {
        unSubscribe()
        resolve()
      }
    })
  })
}

function connected(pc: RTCPeerConnection): Promise<void> {
  if (pc.connectionState === 'connected') return Promise.resolve()
  return new Promise((resolve, reject) => {
    const { unSubscribe } = pc.connectionStateChange.subscribe((state) => {
      if (state === 'connected') {
        unSubscribe()
        resolve()
      } else if (state === 'failed' || state === 'closed') {
        unSubscribe()
        reject(new Error(`connectionState ${state}`))
      }
    })
  })
}

function channelOpen(channel: RTCDataChannel): Promise<void> {
  if (channel.readyState === 'open') return Promise.resolve()
  return new Promise((resolve, reject) => {
    const { unSubscribe } = channel.stateChanged.subscribe((state) => {
      if (state === 'open') {
        unSubscribe()
        resolve()
      } else if (state === 'closed') {
        unSubscribe()
        reject(new Error('data channel closed before opening'))
      }
    })
  })
}

function candidateLines(pc: RTCPeerConnection): string[] {
  return (pc.localDescription?.sdp ?? '').split(/\r?\n/).filter((line) => line.startsWith('a=candidate:'))
}

/** An indexed RTP packet: VP8 payload descriptor (S=1, PID 0), then the index, then filler. */
function rtpPacket(index: number, payloadBytes: number): RtpPacket {
  const payload = Buffer.alloc(Math.max(payloadBytes, 5), 0xa5)
  payload[0] = 0x10
  payload.writeUInt32BE(index, 1)
  const header = new RtpHeader({
    payloadType: 96,
    sequenceNumber: index & 0xffff,
    timestamp: (index * 3000) >>> 0,
    marker: true,
  })
  return new RtpPacket(header, payload)
}

/** Counts distinct indices arriving on one side; resolves `done` when `expected` have arrived. */
class Tally {
  private readonly seen = new Set<number>()
  private expected = Infinity
  private wake: (() => void) | undefined

  add(index: number): void {
    this.seen.add(index)
    if (this.seen.size >= this.expected) this.wake?.()
  }

  get count(): number {
    return this.seen.size
  }

  reset(expected: number): Promise<void> {
    this.seen.clear()
    this.expected = expected
    return new Promise((resolve) => {
      this.wake = resolve
    })
  }
}

/**
 * Two werift peers in this process, each with only the given TURN server and relay policy, connected
 * through it: a data channel plus a sendrecv VP8 transceiver. SDP goes across in-process, non-trickle.
 */
export async function connectWeriftPair(options: ConnectWeriftPairOptions): Promise<WeriftPair> {
  const timeoutMs = options.timeoutMs ?? 15_000
  const config = weriftRelayConfig(options)
  const offerer = new RTCPeerConnection(config)
  const answerer = new RTCPeerConnection(config)
  const start = performance.now()
  const since = (): number => Math.round(performance.now() - start)

  const offererVideo: RTCRtpTransceiver = offerer.addTransceiver('video', { direction: 'sendrecv' })
  const answererVideo: RTCRtpTransceiver = answerer.addTransceiver('video', { direction: 'sendrecv' })
  const offererChannel = offerer.createDataChannel('interop')
  const answererChannel = new Promise<RTCDataChannel>((resolve) => {
    answerer.onDataChannel.subscribe((channel) => resolve(channel))
  })

  const rtpAtAnswerer = new Tally()
  const rtpAtOfferer = new Tally()
  const dcAtAnswerer = new Tally()
  const dcAtOfferer = new Tally()
  const countRtp = (tally: Tally) => (track: MediaStreamTrack) => {
    track.onReceiveRtp.subscribe((rtp) => {
      if (rtp.payload.length >= 5) tally.add(rtp.payload.readUInt32BE(1))
    })
  }
  answerer.onTrack.subscribe(countRtp(rtpAtAnswerer))
  offerer.onTrack.subscribe(countRtp(rtpAtOfferer))
  const countMessages = (tally: Tally) => (data: string | Buffer) => {
    const index = Number(String(data).split(':')[1])
    if (Number.isInteger(index)) tally.add(index)
  }
  offererChannel.onMessage.subscribe(countMessages(dcAtOfferer))

  const close = async (): Promise<void> => {
    await Promise.all([offerer.close(), answerer.close()])
  }

  try {
    const timings = await withTimeout(
      (async (): Promise<WeriftPairTimings> => {
        await offerer.setLocalDescription(await offerer.createOffer())
        await gatheringComplete(offerer)
        const offerGatheredMs = since()
        const offer = offerer.localDescription
        if (!offer) throw new Error('offerer has no local description')
        await answerer.setRemoteDescription(offer)
        await answerer.setLocalDescription(await answerer.createAnswer())
        await gatheringComplete(answerer)
        const answerGatheredMs = since()
        const answer = answerer.localDescription
        if (!answer) throw new Error('answerer has no local description')
        await offerer.setRemoteDescription(answer)
        await Promise.all([connected(offerer), connected(answerer)])
        const connectedMs = since()
        const remoteChannel = await answererChannel
        remoteChannel.onMessage.subscribe(countMessages(dcAtAnswerer))
        await Promise.all([channelOpen(offererChannel), channelOpen(remoteChannel)])
        return { offerGatheredMs, answerGatheredMs, connectedMs, dataChannelOpenMs: since() }
      })(),
      timeoutMs,
      `werift pair via ${options.turnUrl}`,
    )
    const remoteChannel = await answererChannel

    const exchangeDataChannelMessages = async (count: number, settleMs = 2000): Promise<ExchangeResult> => {
      const began = performance.now()
      const both = Promise.all([dcAtAnswerer.reset(count), dcAtOfferer.reset(count)])
      for (let i = 0; i < count; i++) {
        offererChannel.send(`o2a:${i}`)
        remoteChannel.send(`a2o:${i}`)
      }
      await Promise.race([both, sleep(settleMs + count)])
      return {
        sentEachWay: count,
        receivedByAnswerer: dcAtAnswerer.count,
        receivedByOfferer: dcAtOfferer.count,
        durationMs: Math.round(performance.now() - began),
      }
    }

    const exchangeRtp = async (count: number, rtp: RtpExchangeOptions = {}): Promise<ExchangeResult> => {
      const intervalMs = rtp.intervalMs ?? 2
      const payloadBytes = rtp.payloadBytes ?? 1000
      const began = performance.now()
      const both = Promise.all([rtpAtAnswerer.reset(count), rtpAtOfferer.reset(count)])
      // Absolute schedule: timers fire late on a busy machine, so catch up instead of drifting.
      let next = 0
      while (next < count) {
        const due = Math.min(count, Math.floor((performance.now() - began) / intervalMs) + 1)
        for (; next < due; next++) {
          await offererVideo.sender.sendRtp(rtpPacket(next, payloadBytes))
          await answererVideo.sender.sendRtp(rtpPacket(next, payloadBytes))
        }
        await sleep(1)
      }
      await Promise.race([both, sleep(rtp.settleMs ?? 2000)])
      return {
        sentEachWay: count,
        receivedByAnswerer: rtpAtAnswerer.count,
        receivedByOfferer: rtpAtOfferer.count,
        durationMs: Math.round(performance.now() - began),
      }
    }

    return {
      offerer,
      answerer,
      timings,
      candidates: { offerer: candidateLines(offerer), answerer: candidateLines(answerer) },
      exchangeDataChannelMessages,
      exchangeRtp,
      close,
    }
  } catch (err) {
    await close()
    throw err
  }
}
