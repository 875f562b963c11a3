import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { createConnection } from 'node:net'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { stopChild } from '../support/process'
import { seededRandom } from '../support/seededRandom'
import { sleep } from '../support/tools'
import type { CpuGroup } from './echoCpu'

/**
 * A real echo path for e2e/meeting/echo.test.ts: a private PulseAudio daemon whose only speaker is a null
 * sink and whose only microphone is that sink's monitor, so what a Chromium connected to it plays is what
 * its microphone hears; the page-side tap that measures a tone in what each jitter worklet plays.
 */

export const PULSEAUDIO = '/usr/bin/pulseaudio'

export interface PulseServer {
  /** For a client's PULSE_SERVER. */
  server: string
  pid: number
  stop(): Promise<void>
}

/**
 * The time between A's speaker and A's microphone: a `module-loopback` from the null sink's monitor into a
 * second null sink whose monitor is the microphone, 80 ms as a laptop's output and input buffers put there
 * (40–150 ms); PINHOLE_ECHO_DELAY_MS=N sets another, 0 the sink's monitor straight (a few ms, shorter than any
 * hardware path). docs/media.md has the runs with both.
 */
const ECHO_DELAY_MS = Number(process.env.PINHOLE_ECHO_DELAY_MS ?? '80')

function acousticPath(): string[] {
  if (ECHO_DELAY_MS <= 0) return ['load-module module-remap-source master=echo.monitor source_name=echomic']
  return [
    'load-module module-null-sink sink_name=room rate=48000',
    // Without the dont_move flags PulseAudio moves the loopback's capture to the new default source (the
    // microphone below), closing a loop with no input: the microphone heard silence.
    // adjust_time=0: no rate adaptation (both null sinks run on the same clock), so the delay cannot drift.
    `load-module module-loopback source=echo.monitor sink=room latency_msec=${ECHO_DELAY_MS} adjust_time=0 source_dont_move=true sink_dont_move=true`,
    'load-module module-remap-source master=room.monitor source_name=echomic',
  ]
}

/**
 * Starts `pulseaudio` as a user daemon on a socket in `dir` (no system daemon, no autospawn, nothing else
 * of the machine's audio). Chromium lists no monitor source as a microphone, so the monitor is remapped
 * into an ordinary source ("echomic"). With `cpu` the daemon runs in that group (echoCpu.ts), beside the
 * Chromium it serves.
 */
export async function startPulseAudio(dir: string, cpu?: CpuGroup): Promise<PulseServer> {
  const socket = join(dir, 'native')
  const script = join(dir, 'echo.pa')
  writeFileSync(
    script,
    [
      `load-module module-native-protocol-unix socket=${socket} auth-anonymous=1`,
      'load-module module-null-sink sink_name=echo rate=48000',
      ...acousticPath(),
      // −12 dB from speaker to microphone (PulseAudio's cubic volume: 0.631³), as from a laptop's speakers:
      // at 0 dB, with B's tone played at −16 to −21 dBFS, the canceller left the echo only 5–7 dB down.
      `set-sink-volume echo ${Math.round(0x10000 * 0.631)}`,
      'set-default-sink echo',
      'set-default-source echomic',
      '',
    ].join('\n'),
  )
  // The server's default rate is what Chromium opens its streams at (44.1 kHz otherwise): 48 kHz like the
  // sinks, so that nothing is resampled between the speaker and the microphone.
  const config = join(dir, 'daemon.conf')
  writeFileSync(config, 'default-sample-rate = 48000\n')
  const trace = process.env.PINHOLE_ECHO_TRACE
  const log = trace
    ? ['--log-level=debug', '--log-time=1', `--log-target=file:${join(trace, 'pulseaudio.log')}`]
    : ['--log-target=stderr']
  let output = ''
  const child: ChildProcess = spawn(
    PULSEAUDIO,
    ['-n', '-F', script, '--daemonize=no', '--exit-idle-time=-1', '--use-pid-file=no', ...log],
    {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        HOME: dir,
        XDG_RUNTIME_DIR: dir,
        XDG_CONFIG_HOME: dir,
        PULSE_CONFIG: config,
        PULSE_SERVER: '',
      },
    },
  )
  if (cpu?.available) cpu.enter(child.pid!)
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const deadline = Date.now() + 15_000
  while (!(existsSync(socket) && (await accepts(socket)))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stopChild(child)
      throw new Error(`pulseaudio did not start (exit ${child.exitCode}): ${output.slice(-2000)}`)
    }
    await sleep(100)
  }
  return { server: `unix:${socket}`, pid: child.pid!, stop: () => stopChild(child) }
}

/**
 * The environment of a Chromium on the echo path. PULSE_LATENCY_MSEC=60: its PulseAudio streams buffer 60 ms
 * instead of Chromium's 20 ms (output) and 10 ms (input), so that its audio service running a little late
 * does not underrun the speaker — each underrun moves the echo's delay and the canceller re-learns it (as a
 * laptop's sound card, whose buffers are 40–150 ms, would not).
 */
export function pulseClientEnv(pulse: PulseServer): NodeJS.ProcessEnv {
  return { ...process.env, PULSE_SERVER: pulse.server, PULSE_LATENCY_MSEC: '60' }
}

function accepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ path })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/** B's voice: 20 s at 48 kHz, long enough that Chromium's fake device loops it far outside any echo delay. */
const VOICE_RATE = 48_000
const VOICE_SECONDS = 20
/**
 * Breath: white noise under each syllable, ≈ 9 dB below its harmonics, as in a voiced vowel. Without it the
 * voice is a buzz of one exact pitch, which matches itself a whole number of pitch periods (4.5 ms at 220 Hz)
 * away: AEC3's delay estimate stepped between such lags (24 → 26 → 21 blocks of 4 ms, with no underrun
 * near) and lost the path at each step. Noise has one best lag.
 */
const BREATH = 0.5

/**
 * A 48 kHz mono "voice" for B's fake microphone: a buzz at `hz` with its first eight harmonics (falling as
 * 1/n, like a voiced vowel) and breath noise, spoken in syllables of random length (120–300 ms), loudness
 * and vowel colour with random pauses (40–200 ms, now and then 400–700 ms), seeded so that every run hears
 * the same 20 s.
 *
 * Why not a steady or regularly pulsing tone: the echo canceller (WebRTC's AEC3) first estimates the echo's
 * delay by matching what it played against what the microphone heard over lags up to ~0.5 s. A signal that
 * repeats within that range matches at several lags; with the earlier tone, swelling 3 times a second, AEC3's
 * log showed its delay estimate jumping between ~20 ms (the real path) and ~300 ms (one swell later), and each
 * jump cost the canceller its converged filter (echo back at −15 to −40 dB). Speech does not repeat like
 * that, and neither does this. The measurement looks at the `hz` fundamental only.
 */
export function makeVoiceTone(dir: string, hz: number): string {
  const wav = join(dir, `voice-${hz}.wav`)
  writeFileSync(wav, wavFile(voiceSamples(hz, VOICE_SECONDS, 0x5eed), VOICE_RATE))
  return wav
}

function voiceSamples(hz: number, seconds: number, seed: number): Float32Array {
  const random = seededRandom(seed)
  // Its own generator, so that the syllables are the same with or without it.
  const breath = seededRandom(seed ^ 0xb7ea7)
  const between = (low: number, high: number): number => low + (high - low) * random()
  const out = new Float32Array(seconds * VOICE_RATE)
  const ramp = 0.02 * VOICE_RATE
  let at = Math.round(between(0.05, 0.2) * VOICE_RATE)
  while (at < out.length) {
    const length = Math.round(between(0.12, 0.3) * VOICE_RATE)
    const loudness = between(0.5, 1)
    // The vowel: each harmonic's weight varies by syllable; the fundamental stays.
    const weights = Array.from({ length: 8 }, (_, i) => (i === 0 ? 1 : between(0.3, 1.2)) / (i + 1))
    for (let i = 0; i < length && at + i < out.length; i++) {
      const t = (at + i) / VOICE_RATE
      const edge = Math.min(1, i / ramp, (length - i) / ramp)
      const shape = 0.5 - 0.5 * Math.cos(Math.PI * edge)
      let x = 0
      for (let n = 0; n < weights.length; n++) x += weights[n]! * Math.sin(2 * Math.PI * hz * (n + 1) * t)
      x += BREATH * (2 * breath() - 1)
      out[at + i] = 0.25 * loudness * shape * x
    }
    const pause = random() < 0.15 ? between(0.4, 0.7) : between(0.04, 0.2)
    at += length + Math.round(pause * VOICE_RATE)
  }
  return out
}

/** 16-bit PCM mono WAV. */
function wavFile(samples: Float32Array, rate: number): Buffer {
  const data = Buffer.alloc(samples.length * 2)
  samples.forEach((x, i) => data.writeInt16LE(Math.round(Math.max(-1, Math.min(1, x)) * 32767), i * 2))
  const header = Buffer.alloc(44)
  header.write('RIFF', 0)
  header.writeUInt32LE(36 + data.length, 4)
  header.write('WAVEfmt ', 8)
  header.writeUInt32LE(16, 16)
  header.writeUInt16LE(1, 20)
  header.writeUInt16LE(1, 22)
  header.writeUInt32LE(rate, 24)
  header.writeUInt32LE(rate * 2, 28)
  header.writeUInt16LE(2, 32)
  header.writeUInt16LE(16, 34)
  header.write('data', 36)
  header.writeUInt32LE(data.length, 40)
  return Buffer.concat([header, data])
}

/** The tone's amplitude in one 100 ms window of what a worklet played, at page time `at`. */
export interface ToneWindow {
  at: number
  amplitude: number
}

/**
 * An init script: every jitter worklet (one per remote user) is also connected to a MediaStreamAudio-
 * DestinationNode read with a MediaStreamTrackProcessor, and each 100 ms of what it plays gives the
 * amplitude at `hz` (Goertzel). Each node's windows are a list of `window.__echoTap` in creation order.
 * It also keeps the page's RTCPeerConnections (`window.__peers`: the app's only ones are its playback
 * loopback) and the settings of each microphone the page opens (`window.__mics`). Plain JS in a string: the
 * node tsconfig has no DOM types.
 */
export function toneTapScript(hz: number): string {
  return String.raw`(() => {
    const tap = []
    window.__echoTap = tap
    window.__peers = []
    const Peer = window.RTCPeerConnection
    window.RTCPeerConnection = class extends Peer {
      constructor(...args) { super(...args); window.__peers.push(this) }
    }
    window.__mics = []
    const media = navigator.mediaDevices
    const getUserMedia = media.getUserMedia.bind(media)
    media.getUserMedia = async (constraints) => {
      const stream = await getUserMedia(constraints)
      for (const track of stream.getAudioTracks()) window.__mics.push({ label: track.label, ...track.getSettings() })
      return stream
    }
    const Base = window.AudioWorkletNode
    window.AudioWorkletNode = class extends Base {
      constructor(context, ...rest) {
        super(context, ...rest)
        const windows = []
        tap.push(windows)
        const sink = context.createMediaStreamDestination()
        this.connect(sink)
        void (${toneMeter(hz)})(sink.stream.getAudioTracks()[0], windows)
      }
    }
  })()`
}

/**
 * Page-side JS (a function expression): reads an audio track and pushes `{ at, amplitude }` for each 100 ms,
 * the amplitude at `hz` (Goertzel), until the track ends.
 */
export function toneMeter(hz: number): string {
  return String.raw`async (track, windows) => {
    const reader = new MediaStreamTrackProcessor({ track }).readable.getReader()
    let s1 = 0, s2 = 0, count = 0, k = 0, size = 0
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      if (!size) { size = Math.round(value.sampleRate / 10); k = 2 * Math.cos(2 * Math.PI * ${hz} / value.sampleRate) }
      const samples = new Float32Array(value.numberOfFrames)
      value.copyTo(samples, { planeIndex: 0, format: 'f32-planar' })
      value.close()
      for (const x of samples) {
        const s0 = x + k * s1 - s2
        s2 = s1
        s1 = s0
        if (++count === size) {
          const power = s1 * s1 + s2 * s2 - k * s1 * s2
          windows.push({ at: performance.now(), amplitude: (2 * Math.sqrt(Math.max(power, 0))) / size })
          s1 = s2 = count = 0
        }
      }
    }
  }`
}

/** Breaks RTCPeerConnection for the app (the tap's wrapper included): its playback falls back to Web Audio. */
export const NO_LOOPBACK_SCRIPT = `window.RTCPeerConnection = function () { throw new Error('echo test: Web Audio route') }`

/**
 * B's microphone as the file says it: without noise suppression, which learns a looped tone as noise within
 * seconds and takes it out, and without gain control (B is only the tone's source; A is under test).
 */
export const PLAIN_MIC_SCRIPT = String.raw`(() => {
  const media = navigator.mediaDevices
  const get = media.getUserMedia.bind(media)
  media.getUserMedia = (constraints) =>
    get(constraints && typeof constraints.audio === 'object'
      ? { ...constraints, audio: { ...constraints.audio, noiseSuppression: false, autoGainControl: false } }
      : constraints)
})()`

/** Asks for the microphone without the echo canceller, whatever the app asks (the control). */
export const NO_AEC_SCRIPT = String.raw`(() => {
  const media = navigator.mediaDevices
  const get = media.getUserMedia.bind(media)
  media.getUserMedia = (constraints) =>
    get(constraints && typeof constraints.audio === 'object'
      ? { ...constraints, audio: { ...constraints.audio, echoCancellation: false } }
      : constraints)
})()`

/** The windows the page's newest worklet played since page time `since` (the current remote user's). */
export async function toneWindows(page: Page, since: number): Promise<ToneWindow[]> {
  return page.evaluate<ToneWindow[], number>((from) => {
    const tap = (globalThis as unknown as { __echoTap: ToneWindow[][] }).__echoTap
    return (tap[tap.length - 1] ?? []).filter((w) => w.at >= from)
  }, since)
}

export function pageNow(page: Page): Promise<number> {
  return page.evaluate<number>('performance.now()')
}

/**
 * The median window's amplitude, dB re full scale: the level most of the time. The canceller loses the echo
 * path for a few hundred ms after a glitch in capture or playback (a starved audio thread on a loaded
 * machine); the mean power below counts those bursts too.
 */
/** −100 dBFS: below anything measured, so that silence still gives a number. */
const FLOOR = 1e-5

export function medianDb(windows: readonly ToneWindow[]): number {
  const sorted = windows.map((w) => w.amplitude).sort((x, y) => x - y)
  return 20 * Math.log10(Math.max(sorted[Math.floor(sorted.length / 2)] ?? 0, FLOOR))
}

/** Mean power of the windows, as dB relative to full-scale amplitude 1. */
export function meanPowerDb(windows: readonly ToneWindow[]): number {
  const power = windows.reduce((sum, w) => sum + w.amplitude * w.amplitude, 0) / Math.max(windows.length, 1)
  return 10 * Math.log10(Math.max(power, FLOOR * FLOOR))
}

/**
 * The echo window by window: B's returned tone in `windowMs` windows from page time `from` (B's clock), in dB
 * relative to `playedDb`, the mean power of what A played of B's tone. A window above −20 dB is one where the
 * canceller had lost the echo path; the timeline shows when (start-up convergence, or mid-call).
 */
export function echoTimeline(
  returned: readonly ToneWindow[],
  from: number,
  playedDb: number,
  windowMs = 250,
): number[] {
  const power: number[][] = []
  for (const w of returned) (power[Math.floor((w.at - from) / windowMs)] ??= []).push(w.amplitude ** 2)
  return Array.from(power, (windows) => {
    const mean = windows?.length ? windows.reduce((sum, p) => sum + p, 0) / windows.length : 0
    return 10 * Math.log10(Math.max(mean, FLOOR * FLOOR)) - playedDb
  })
}

/** What the loopback's receiving end reports (getStats), averaged since it started. */
export interface LoopbackFigures {
  /** The microphones the page opened: label and settings (echoCancellation among them). */
  mics: { label: string; echoCancellation?: boolean }[]
  peers: number
  codec: string
  /** Mean time a sample waited in the receiver's jitter buffer, ms. */
  jitterBufferMs: number
  /** The Opus encoder's target bitrate, kbit/s. */
  kbps: number
}

export async function loopbackFigures(page: Page): Promise<LoopbackFigures> {
  return page.evaluate<LoopbackFigures>(`(async () => {
    const peers = window.__peers
    const out = { mics: window.__mics, peers: peers.length, codec: 'none', jitterBufferMs: 0, kbps: 0 }
    if (peers.length < 2) return out
    for (const report of (await peers[1].getStats()).values()) {
      if (report.type === 'inbound-rtp' && report.kind === 'audio' && report.jitterBufferEmittedCount)
        out.jitterBufferMs = (1000 * report.jitterBufferDelay) / report.jitterBufferEmittedCount
      if (report.type === 'codec') out.codec = report.mimeType + ' ' + (report.sdpFmtpLine || '')
    }
    for (const report of (await peers[0].getStats()).values()) {
      if (report.type === 'outbound-rtp' && report.kind === 'audio') out.kbps = (report.targetBitrate || 0) / 1000
    }
    return out
  })()`)
}
