import type { Page } from 'playwright-core'
export { startPoller, stopPoller } from '../lib/stampPoller'
import type { RateSample } from './metrics'

/**
 * What runs inside the bench's pages, as plain JS (the node tsconfig has no DOM types). Times are epoch ms
 * (performance.timeOrigin + now()), comparable across the Chromiums of one machine.
 */

/** Ours: the engine's rtcStats and remoteVideoStats as the page gets them over the bridge (window.pinhole). */
const OURS_RECORDER = `(() => {
  const now = () => performance.timeOrigin + performance.now()
  const rec = { stats: [], remote: [] }
  window.__benchRec = rec
  window.pinhole.on('rtcStats', (s) => rec.stats.push({ at: now(), tx: s.txKbps, rx: s.rxKbps, est: s.estimatedBandwidthKbps }))
  window.pinhole.on('remoteVideoStats', (list) => rec.remote.push({ at: now(), list }))
})()`

export interface OursRecord {
  stats: { at: number; tx: number; rx: number; est?: number }[]
  remote: { at: number; list: { uid: number; rxKbps: number }[] }[]
}

export async function startOursRecorder(page: Page): Promise<void> {
  await page.evaluate(OURS_RECORDER)
}

export async function oursRecord(page: Page): Promise<OursRecord> {
  return (await page.evaluate('window.__benchRec')) as OursRecord
}

/** Send rate samples from the engine's rtcStats (video + audio RTP, payload + header). */
export const oursTxRates = (record: OursRecord): RateSample[] =>
  record.stats.map((s) => ({ atMs: s.at, kbps: s.tx }))

/**
 * The anchor's page: Chromium's own RTCPeerConnection, relay-only, VP8 (codec preference) and Opus, camera
 * and microphone from the fake devices; getStats every 500 ms. Signaling is the bench calling offer/answer.
 */
export const NATIVE_PAGE = `<!doctype html>
<meta charset="utf-8">
<title>bench:network native</title>
<body style="margin:0">
<video id="local" autoplay muted playsinline width="640" height="360"></video>
<video id="remote" autoplay playsinline width="640" height="360"></video>
<script>
const now = () => performance.timeOrigin + performance.now()
const state = { pc: null, samples: [], errors: [] }
async function setup(iceServer, offer) {
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { width: 640, height: 360, frameRate: 30 },
    audio: true,
  })
  document.getElementById('local').srcObject = stream
  const pc = new RTCPeerConnection({ iceServers: [iceServer], iceTransportPolicy: 'relay', bundlePolicy: 'max-bundle' })
  state.pc = pc
  pc.onicecandidateerror = (e) => state.errors.push(e.errorCode + ' ' + e.errorText + ' ' + e.url)
  const remote = new MediaStream()
  pc.ontrack = (e) => {
    remote.addTrack(e.track)
    const video = document.getElementById('remote')
    if (video.srcObject !== remote) video.srcObject = remote
    video.play().catch(() => undefined)
  }
  // The answerer sends on the transceivers the offer created (addTrack reuses them).
  if (offer) await pc.setRemoteDescription({ type: 'offer', sdp: offer })
  for (const track of stream.getTracks()) {
    const sender = offer ? pc.addTrack(track, stream) : pc.addTransceiver(track, { streams: [stream] }).sender
    const transceiver = pc.getTransceivers().find((t) => t.sender === sender)
    if (track.kind === 'video') {
      const vp8 = RTCRtpReceiver.getCapabilities('video').codecs.filter((c) => /vp8|rtx/i.test(c.mimeType))
      transceiver.setCodecPreferences(vp8)
    }
  }
  setInterval(sample, 500)
}
async function gathered(pc) {
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve()
    pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve() })
  })
  return pc.localDescription.sdp
}
async function sample() {
  const report = await state.pc.getStats()
  const s = { at: now(), tx: 0, rxVideo: 0, framesDecoded: 0, concealed: 0, samples: 0 }
  report.forEach((r) => {
    if (r.type === 'outbound-rtp') s.tx += (r.bytesSent || 0) + (r.headerBytesSent || 0)
    if (r.type === 'inbound-rtp' && r.kind === 'video') {
      s.rxVideo += (r.bytesReceived || 0) + (r.headerBytesReceived || 0)
      s.framesDecoded += r.framesDecoded || 0
    }
    if (r.type === 'inbound-rtp' && r.kind === 'audio') {
      s.concealed += r.concealedSamples || 0
      s.samples += r.totalSamplesReceived || 0
    }
  })
  state.samples.push(s)
}
window.bench = {
  async offer(iceServer) {
    await setup(iceServer)
    await state.pc.setLocalDescription(await state.pc.createOffer())
    return gathered(state.pc)
  },
  async answer(iceServer, sdp) {
    await setup(iceServer, sdp)
    await state.pc.setLocalDescription(await state.pc.createAnswer())
    return gathered(state.pc)
  },
  async accept(sdp) {
    await state.pc.setRemoteDescription({ type: 'answer', sdp })
  },
  async status() {
    const pc = state.pc
    const inbound = []
    if (pc) (await pc.getStats()).forEach((r) => {
      if (r.type === 'inbound-rtp') inbound.push(r.kind + ' packets ' + r.packetsReceived + ' frames ' + (r.framesDecoded || 0))
    })
    return { connection: pc ? pc.connectionState : 'none', errors: state.errors.slice(), inbound,
      frames: state.samples.length ? state.samples[state.samples.length - 1].framesDecoded : 0 }
  },
  samples() { return state.samples },
  close() { if (state.pc) state.pc.close() },
}
</script>`

/** One getStats sample of the native page: cumulative bytes and audio counters. */
export interface NativeSample {
  at: number
  tx: number
  rxVideo: number
  framesDecoded: number
  concealed: number
  samples: number
}

/** Cumulative byte counters → kbps over each 500 ms interval. */
export function nativeTxRates(samples: readonly NativeSample[]): RateSample[] {
  const out: RateSample[] = []
  for (let i = 1; i < samples.length; i++) {
    const [a, b] = [samples[i - 1]!, samples[i]!]
    if (b.at > a.at) out.push({ atMs: b.at, kbps: ((b.tx - a.tx) * 8) / (b.at - a.at) })
  }
  return out
}

/** The last sample at or before `atMs` (the first one when none is). */
export function sampleAt(samples: readonly NativeSample[], atMs: number): NativeSample | undefined {
  let found = samples[0]
  for (const s of samples) if (s.at <= atMs) found = s
  return found
}
