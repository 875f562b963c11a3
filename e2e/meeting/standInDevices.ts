import type { Page } from 'playwright-core'

/**
 * A stand-in for the page's devices (issue 13 acceptance 1: "a stand-in enumerateDevices at the bridge"):
 * Chromium's fake capture gives one camera and one microphone, so an init script replaces
 * `navigator.mediaDevices.enumerateDevices` / `getUserMedia` with two cameras (canvas streams of two
 * colours, a white square moving so frames differ), two microphones (an OscillatorNode tone each, through a
 * MediaStreamAudioDestinationNode) and two speakers, and the camera key frames the page sends are noted. `unplug` / `plug` take a device away or bring it back
 * as hardware does: its open tracks end, then `devicechange` fires. Every `setSinkId` call (AudioContext or
 * media element) is noted instead of reaching a real device. Plain JS: the node tsconfig has no DOM types.
 */

export const CAMERAS = { red: 'cam-red', blue: 'cam-blue' } as const
export const MICS = { low: 'mic-440', high: 'mic-1000' } as const
export const TONES_HZ = { [MICS.low]: 440, [MICS.high]: 1000 } as const
export const SPEAKERS = { one: 'spk-1', two: 'spk-2' } as const

export const STAND_IN_DEVICES_SCRIPT = String.raw`(() => {
  const devices = [
    { kind: 'videoinput', deviceId: 'cam-red', label: 'Stand-in camera (red)', color: '#d02020' },
    { kind: 'videoinput', deviceId: 'cam-blue', label: 'Stand-in camera (blue)', color: '#2040d0' },
    { kind: 'audioinput', deviceId: 'mic-440', label: 'Stand-in microphone (440 Hz)', hz: 440 },
    { kind: 'audioinput', deviceId: 'mic-1000', label: 'Stand-in microphone (1000 Hz)', hz: 1000 },
    { kind: 'audiooutput', deviceId: 'spk-1', label: 'Stand-in speaker 1' },
    { kind: 'audiooutput', deviceId: 'spk-2', label: 'Stand-in speaker 2' },
  ]
  const state = { unplugged: new Set(), open: [], sinkIds: [], opened: [], keyFrames: [] }
  window.__standIn = state
  // The camera's key frames as the renderer posts them to the host (MediaUp video, page time).
  const post = MessagePort.prototype.postMessage
  MessagePort.prototype.postMessage = function (message, ...rest) {
    if (message && message.kind === 'video' && message.keyFrame && message.track !== 'screen') {
      state.keyFrames.push(performance.now())
    }
    return post.call(this, message, ...rest)
  }
  const media = navigator.mediaDevices
  const present = (kind) => devices.filter((d) => d.kind === kind && !state.unplugged.has(d.deviceId))
  media.enumerateDevices = async () => devices
    .filter((d) => !state.unplugged.has(d.deviceId))
    .map((d) => ({ kind: d.kind, deviceId: d.deviceId, label: d.label, groupId: 'group-' + d.deviceId,
      toJSON() { return this } }))
  let audio = null
  const camera = (device) => {
    const canvas = document.createElement('canvas')
    canvas.width = 640
    canvas.height = 360
    const context = canvas.getContext('2d')
    let x = 0
    const draw = () => {
      context.fillStyle = device.color
      context.fillRect(0, 0, 640, 360)
      context.fillStyle = '#ffffff'
      context.fillRect(x, 140, 80, 80)
      x = (x + 8) % 560
    }
    draw()
    const timer = setInterval(draw, 33)
    const track = canvas.captureStream(30).getVideoTracks()[0]
    return { track, end: () => clearInterval(timer) }
  }
  const microphone = (device) => {
    audio = audio || new AudioContext({ sampleRate: 48000 })
    void audio.resume()
    const tone = audio.createOscillator()
    tone.frequency.value = device.hz
    const gain = audio.createGain()
    gain.gain.value = 0.3
    const out = audio.createMediaStreamDestination()
    tone.connect(gain).connect(out)
    tone.start()
    return { track: out.stream.getAudioTracks()[0], end: () => tone.stop() }
  }
  const wanted = (constraint) => {
    if (!constraint || typeof constraint !== 'object' || !constraint.deviceId) return undefined
    const id = constraint.deviceId
    return typeof id === 'string' ? id : id.exact || id.ideal
  }
  const open = (kind, constraint, make) => {
    const id = wanted(constraint)
    const device = id === undefined ? present(kind)[0] : present(kind).find((d) => d.deviceId === id)
    if (!device) throw new DOMException('Requested device not found', 'NotFoundError')
    const made = make(device)
    const stop = made.track.stop.bind(made.track)
    made.track.stop = () => { made.end(); stop() }
    state.open.push({ id: device.deviceId, track: made.track, end: made.end })
    state.opened.push(device.deviceId)
    return made.track
  }
  media.getUserMedia = async (constraints) => {
    const tracks = []
    if (constraints.video) tracks.push(open('videoinput', constraints.video, camera))
    if (constraints.audio) tracks.push(open('audioinput', constraints.audio, microphone))
    return new MediaStream(tracks)
  }
  const change = () => media.dispatchEvent(new Event('devicechange'))
  window.__unplug = (id) => {
    state.unplugged.add(id)
    for (const o of state.open.filter((o) => o.id === id)) { o.end(); o.track.stop(); o.track.dispatchEvent(new Event('ended')) }
    change()
  }
  window.__plug = (id) => { state.unplugged.delete(id); change() }
  const noteSink = (proto) => {
    if (!proto || !('setSinkId' in proto)) return
    Object.defineProperty(proto, 'setSinkId', { configurable: true, writable: true,
      value: async function (id) { state.sinkIds.push(typeof id === 'string' ? id : JSON.stringify(id)) } })
  }
  noteSink(window.AudioContext && AudioContext.prototype)
  noteSink(window.HTMLMediaElement && HTMLMediaElement.prototype)
})()`

/**
 * In the listening page: the decoded samples the renderer hands each jitter worklet (remote audio after
 * the Opus decoder, on the page's main thread, so a busy machine's audio thread cannot starve the reading)
 * are kept, the last 100 ms, and `__tonePower(hz[])` gives each frequency's power in them (Goertzel).
 */
export const TONE_TAP_SCRIPT = String.raw`(() => {
  const SAMPLES = 4800
  const recent = new Float32Array(SAMPLES)
  let filled = 0
  const post = MessagePort.prototype.postMessage
  MessagePort.prototype.postMessage = function (message, ...rest) {
    if (message && message.samples instanceof Float32Array) {
      const samples = message.samples
      const n = Math.min(samples.length, SAMPLES)
      recent.copyWithin(0, n)
      recent.set(samples.subarray(samples.length - n), SAMPLES - n)
      filled = Math.min(SAMPLES, filled + n)
    }
    return post.call(this, message, ...rest)
  }
  window.__tonePower = (frequencies) => frequencies.map((hz) => {
    if (filled < SAMPLES) return 0
    const k = 2 * Math.cos((2 * Math.PI * hz) / 48000)
    let s1 = 0, s2 = 0
    for (let i = 0; i < SAMPLES; i++) {
      const s0 = recent[i] + k * s1 - s2
      s2 = s1
      s1 = s0
    }
    return (s1 * s1 + s2 * s2 - k * s1 * s2) / (SAMPLES * SAMPLES)
  })
})()`

export function unplug(page: Page, id: string): Promise<void> {
  return page.evaluate(`window.__unplug(${JSON.stringify(id)})`)
}

export function plug(page: Page, id: string): Promise<void> {
  return page.evaluate(`window.__plug(${JSON.stringify(id)})`)
}

/** The page's clock (performance.now()). */
export function pageNow(page: Page): Promise<number> {
  return page.evaluate<number>('performance.now()')
}

/** When (page time) the renderer posted camera key frames to the host. */
export function keyFrameTimes(page: Page): Promise<number[]> {
  return page.evaluate<number[]>('window.__standIn.keyFrames.slice()')
}

/** The ids every `setSinkId` in the page was called with, in order. */
export function sinkIds(page: Page): Promise<string[]> {
  return page.evaluate<string[]>('window.__standIn.sinkIds.slice()')
}

/** The power of each of `frequencies` in the last 100 ms of decoded remote audio (TONE_TAP_SCRIPT). */
export function tonePower(page: Page, frequencies: readonly number[]): Promise<number[]> {
  return page.evaluate<number[]>(`window.__tonePower(${JSON.stringify(frequencies)})`)
}
