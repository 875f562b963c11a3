import type { Page } from 'playwright-core'

/**
 * What a test sees of a page's audio without changing the app: an init script (it runs before the page's
 * own scripts) notes
 * - every Opus packet the renderer sends (MediaUp `audio` on its media port) and every one the host's bridge
 *   hands it (MediaDown `remoteAudio`): time, timestamp, size and the first bytes (TOC and SILK header);
 * - the send targets the host gives it (MediaDown `sendTarget`: the engine's estimate and loss);
 * - the reports of each remote user's jitter worklet (the app's own concealment counts);
 * - the level of what each worklet plays, in 10 ms blocks, from a MediaStreamAudioDestinationNode the
 *   worklet is also connected to, read with a MediaStreamTrackProcessor (every sample, no polling).
 * Plain JS in a string: the node tsconfig has no DOM types, and tsx would add helpers the page lacks.
 */

export interface TappedPacket {
  /** performance.now() of the page when the packet passed. */
  at: number
  timestampUs: number
  bytes: number
  /** The first bytes (up to 24): the TOC and the start of the range-coded frame. */
  head: number[]
  uid?: number
}

export interface WorkletCounts {
  at: number
  receivedSamples: number
  concealedSamples: number
  silentConcealedSamples: number
  concealmentEvents: number
  longGaps: number
  underruns: number
}

/** One 10 ms block of what a worklet played: page time at its end, and its RMS. */
export interface PlayedBlock {
  at: number
  rms: number
}

/** A MediaDown `sendTarget` the host gave the page. */
export interface TappedTarget {
  at: number
  bitrateBps: number
  lossFraction: number
}

export interface AudioTap {
  sent: TappedPacket[]
  received: TappedPacket[]
  reports: WorkletCounts[]
  played: PlayedBlock[]
  targets: TappedTarget[]
}

export const AUDIO_TAP_SCRIPT = String.raw`(() => {
  const tap = { sent: [], received: [], reports: [], played: [], targets: [] }
  window.__audioTap = tap
  const note = (list, message, uid) => {
    const data = new Uint8Array(message.data)
    list.push({ at: performance.now(), timestampUs: message.timestampUs, bytes: data.length,
      head: Array.from(data.subarray(0, 24)), uid })
  }
  const post = MessagePort.prototype.postMessage
  MessagePort.prototype.postMessage = function (message, ...rest) {
    if (message && message.data instanceof ArrayBuffer) {
      if (message.kind === 'audio') note(tap.sent, message)
      else if (message.kind === 'remoteAudio') note(tap.received, message, message.uid)
    } else if (message && message.kind === 'sendTarget') {
      tap.targets.push({ at: performance.now(), bitrateBps: message.bitrateBps, lossFraction: message.lossFraction })
    }
    return post.call(this, message, ...rest)
  }
  const Base = window.AudioWorkletNode
  window.AudioWorkletNode = class extends Base {
    constructor(context, ...rest) {
      super(context, ...rest)
      this.port.addEventListener('message', (event) => {
        if (event.data && typeof event.data.concealedSamples === 'number') {
          tap.reports.push({ at: performance.now(), ...event.data })
        }
      })
      const sink = context.createMediaStreamDestination()
      this.connect(sink)
      const track = sink.stream.getAudioTracks()[0]
      const reader = new MediaStreamTrackProcessor({ track }).readable.getReader()
      let sum = 0, count = 0
      const pump = async () => {
        for (;;) {
          const { value, done } = await reader.read()
          if (done) return
          const samples = new Float32Array(value.numberOfFrames)
          value.copyTo(samples, { planeIndex: 0, format: 'f32-planar' })
          const block = Math.round(value.sampleRate / 100)
          value.close()
          for (const s of samples) {
            sum += s * s
            if (++count === block) {
              tap.played.push({ at: performance.now(), rms: Math.sqrt(sum / count) })
              sum = 0
              count = 0
            }
          }
        }
      }
      void pump()
    }
  }
})()`

/** Reads the tap and empties it (the page keeps noting from then on). */
export function takeTap(page: Page): Promise<AudioTap> {
  return page.evaluate(`(() => {
    const tap = window.__audioTap
    const out = { sent: tap.sent.splice(0), received: tap.received.splice(0),
      reports: tap.reports.splice(0), played: tap.played.splice(0), targets: tap.targets.splice(0) }
    return out
  })()`)
}

/** The longest run of consecutive blocks quieter than `threshold`, in blocks. */
export function longestQuietRun(blocks: readonly PlayedBlock[], threshold: number): number {
  let longest = 0
  let run = 0
  for (const block of blocks) {
    run = block.rms < threshold ? run + 1 : 0
    longest = Math.max(longest, run)
  }
  return longest
}

/**
 * Reads both pages' taps every `everyMs` for `ms` (or until `until` says so) and joins what they noted:
 * small reads, so that the page's main thread (which also hands the decoded audio to the worklet) is never
 * held up by one big one.
 */
export async function collect(
  pages: readonly Page[],
  ms: number,
  until: (taps: AudioTap[]) => boolean = () => false,
  everyMs = 300,
): Promise<AudioTap[]> {
  const taps: AudioTap[] = pages.map(() => ({ sent: [], received: [], reports: [], played: [], targets: [] }))
  const end = Date.now() + ms
  while (Date.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, everyMs))
    const read = await Promise.all(pages.map((page) => takeTap(page)))
    read.forEach((tap, i) => {
      const into = taps[i]!
      into.sent.push(...tap.sent)
      into.received.push(...tap.received)
      into.reports.push(...tap.reports)
      into.played.push(...tap.played)
      into.targets.push(...tap.targets)
    })
    if (until(taps)) break
  }
  return taps
}
