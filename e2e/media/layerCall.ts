import { createSocket } from 'node:dgram'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { createEngine, type Engine } from '../../src/engine'
import { mintJoinToken } from '../../src/protocol/auth/joinToken'
import { TransportType } from '../../src/shared/engine'

/**
 * The pieces the layer-forwarding agents share (e2e/media/layerForwarding.test.ts): engines joined straight
 * to the conference server (proxy mode None), what a subscriber records per frame, and the JSON-line
 * protocol between the agents (inside the test's namespaces) and the test.
 */

export const LAYER_APP = { appKey: 'layer-app', secret: 'layer-secret-0123456789abcdef' }
export const LAYER_CHANNEL = 'layers'
export const SIGNAL_PORT = 7890

/** One remote video frame as a subscriber's engine delivered it. */
export interface FrameRecord {
  /** ms, Date.now() (the agents and the test share the wall clock). */
  at: number
  bytes: number
  key: boolean
  /** The sender's timestamp, µs. */
  ts: number
}

export interface SubscriberResult {
  uid: number
  frames: FrameRecord[]
  /** Where the frames' bytes were written (JSON: base64 list), for decoding in Chromium. */
  dump: string
}

/** werift in direct mode gets a STUN server that never answers: nothing leaves the namespace. */
export async function silentStunPort(): Promise<number> {
  const socket = createSocket('udp4')
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  socket.unref()
  return socket.address().port
}

/** An engine joined to the conference server at `host`, straight (no proxy). */
export async function joinDirect(host: string, uid: number, publishVideo: boolean): Promise<Engine> {
  const stun = await silentStunPort()
  const log = (level: string) => (fields: object, message?: string) =>
    process.stderr.write(`${level} uid ${uid} ${message ?? ''} ${JSON.stringify(fields)}\n`)
  const verbose = process.env['PINHOLE_TEST_LOG'] === 'debug'
  const quiet = (): void => undefined
  const engine = createEngine({
    logger: {
      debug: verbose ? log('debug') : quiet,
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
    },
    regions: [],
    direct: {
      signalUrl: `ws://${host}:${SIGNAL_PORT}/v1/signal`,
      iceServers: [{ urls: `stun:127.0.0.1:${stun}` }],
    },
  })
  engine.setCloudProxy(TransportType.None)
  engine.enableLocalVideo(publishVideo)
  engine.enableLocalAudio(false)
  const token = await mintJoinToken({ ...LAYER_APP, channel: LAYER_CHANNEL, uid, ttlSeconds: 300 })
  const code = await engine.joinChannel(token, LAYER_CHANNEL, uid)
  if (code !== 0) throw new Error(`uid ${uid}: joinChannel ${code}`)
  return engine
}

/** Records `publisher`'s video as `engine` delivers it: when each frame came, and its bytes. */
export function recordVideo(engine: Engine, uid: number, publisher: number) {
  const frames: FrameRecord[] = []
  const bytes: string[] = []
  engine.on('remoteVideoFrame', (frame) => {
    if (frame.uid !== publisher) return
    frames.push({ at: Date.now(), bytes: frame.data.length, key: frame.keyFrame, ts: frame.timestampUs })
    bytes.push(Buffer.from(frame.data).toString('base64'))
  })
  return {
    result(dir: string): SubscriberResult {
      const dump = join(dir, `frames-${uid}.json`)
      writeFileSync(dump, JSON.stringify(bytes))
      return { uid, frames, dump }
    },
  }
}

/** One JSON line on stdout: the test reads these. */
export function emitLine(value: object): void {
  process.stdout.write(`${JSON.stringify(value)}\n`)
}

/** Resolves on the test's `stop` line on stdin (or stdin closing). */
export function stopRequested(): Promise<void> {
  return new Promise((resolve) => {
    const lines = createInterface({ input: process.stdin })
    lines.on('line', (line) => line.trim() === 'stop' && resolve())
    lines.on('close', () => resolve())
  })
}
