import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { createConnection } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Page } from 'playwright-core'
import { stopChild } from '../support/process'
import { requireTool, sleep } from '../support/tools'

/**
 * A real echo path for e2e/meeting/echo.test.ts: a private PulseAudio daemon whose only speaker is a null
 * sink and whose only microphone is that sink's monitor, so what a Chromium connected to it plays is what
 * its microphone hears; the page-side tap that measures a tone in what each jitter worklet plays.
 */

const run = promisify(execFile)

export const PULSEAUDIO = '/usr/bin/pulseaudio'

export interface PulseServer {
  /** For a client's PULSE_SERVER. */
  server: string
  pid: number
  stop(): Promise<void>
}

/**
 * Starts `pulseaudio` as a user daemon on a socket in `dir` (no system daemon, no autospawn, nothing else
 * of the machine's audio). Chromium lists no monitor source as a microphone, so the monitor is remapped
 * into an ordinary source ("echomic").
 */
export async function startPulseAudio(dir: string): Promise<PulseServer> {
  const socket = join(dir, 'native')
  const script = join(dir, 'echo.pa')
  writeFileSync(
    script,
    [
      `load-module module-native-protocol-unix socket=${socket} auth-anonymous=1`,
      'load-module module-null-sink sink_name=echo rate=48000',
      'load-module module-remap-source master=echo.monitor source_name=echomic',
      // −12 dB from speaker to microphone (PulseAudio's cubic volume: 0.631³), as from a laptop's speakers:
      // at 0 dB, with B's tone played at −16 to −21 dBFS, the canceller left the echo only 5–7 dB down.
      `set-sink-volume echo ${Math.round(0x10000 * 0.631)}`,
      'set-default-sink echo',
      'set-default-source echomic',
      '',
    ].join('\n'),
  )
  let output = ''
  const child: ChildProcess = spawn(
    PULSEAUDIO,
    ['-n', '-F', script, '--daemonize=no', '--exit-idle-time=-1', '--use-pid-file=no', '--log-target=stderr'],
    {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HOME: dir, XDG_RUNTIME_DIR: dir, XDG_CONFIG_HOME: dir, PULSE_SERVER: '' },
    },
  )
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

/**
 * A 48 kHz mono "voice" for B's fake microphone: a 220 Hz tone with its first eight harmonics (falling as 1/n,
 * a buzz like a voiced vowel) that swells 3 times a second. The echo canceller needs a signal with some
 * bandwidth to learn the echo path (a bare sine defeats it, measured here: 5–8 dB off); the measurement looks
 * at the 220 Hz fundamental only.
 */
export async function makeVoiceTone(dir: string, hz: number): Promise<string> {
  const wav = join(dir, `voice-${hz}.wav`)
  const harmonics = Array.from({ length: 8 }, (_, i) => `sin(2*PI*${hz * (i + 1)}*t)/${i + 1}`).join('+')
  await run(requireTool('ffmpeg'), [
    ...['-hide_banner', '-loglevel', 'error', '-y'],
    ...['-f', 'lavfi', '-i', `aevalsrc='0.25*(${harmonics})*(0.55+0.45*sin(2*PI*3*t))':s=48000:d=2`],
    ...['-ac', '1'],
    wav,
  ])
  return wav
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
        const reader = new MediaStreamTrackProcessor({ track: sink.stream.getAudioTracks()[0] }).readable.getReader()
        let s1 = 0, s2 = 0, count = 0, k = 0, size = 0
        const pump = async () => {
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
        }
        void pump()
      }
    }
  })()`
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
