/**
 * The conference server and everyone on the clean side of e2e/media/layerForwarding.test.ts, inside the
 * test's first namespace: the server on HOST, a publisher engine fed live by Chromium's L1T3 VP8 encoder
 * (key frames when the engine asks; the bitrate follows the engine's send target, so anything that pulled
 * the publisher down would show in what it sends), and two subscriber engines. JSON lines on stdout:
 * `ready`, then on `stop` (stdin) `result`.
 */
import { pino } from 'pino'
import { ConferenceServer, SfuConfigSchema } from '../../../src/sfu'
import { launchChromium, serveTestPage } from '../../support/chromium'
import { startL1t3Encoder } from '../l1t3Page'
import { emitLine, joinDirect, LAYER_APP, recordVideo, SIGNAL_PORT, stopRequested } from '../layerCall'

const [host = '127.0.0.1', outDir = '/tmp', bitrateArg = '450000'] = process.argv.slice(2)
const BITRATE = Number(bitrateArg)
const PUBLISHER = 1

const sfu = await ConferenceServer.start(
  SfuConfigSchema.parse({ enabled: true, port: SIGNAL_PORT, listenHost: host, announcedAddress: host }),
  { apps: [LAYER_APP], logger: pino({ level: process.env['PINHOLE_TEST_LOG'] ?? 'silent' }, process.stderr) },
)
const publisher = await joinDirect(host, PUBLISHER, true)
const clean = await Promise.all([2, 3].map((uid) => joinDirect(host, uid, false)))
const recorders = clean.map((engine, i) => recordVideo(engine, i + 2, PUBLISHER))

/** What the publisher's encoder produced: when, how many bytes, which layer. */
const sent: { at: number; bytes: number; layer: number; key: boolean }[] = []
const targets: { at: number; bps: number }[] = []
const errors: string[] = []
let pushRefused = 0
const site = await serveTestPage()
const browser = await launchChromium()
const page = await browser.newPage()
await page.goto(site.url)
const encoder = await startL1t3Encoder(
  page,
  { width: 640, height: 360, bitrate: BITRATE, framerate: 30 },
  (chunk) => {
    sent.push({ at: Date.now(), bytes: chunk.data.length, layer: chunk.layer ?? -1, key: chunk.key })
    const frame = {
      data: chunk.data,
      timestamp: chunk.timestampUs,
      keyframe: chunk.key,
      ...(chunk.layer === undefined ? {} : { temporalLayerId: chunk.layer }),
    }
    if (publisher.pushVideoFrame(frame) !== 0) pushRefused++
  },
  (message) => errors.push(message),
)
publisher.on('keyFrameRequested', () => void encoder.keyFrame())
publisher.on('sendTargetChanged', (target) => {
  targets.push({ at: Date.now(), bps: target.bitrateBps })
  void encoder.bitrate(Math.min(BITRATE, target.bitrateBps))
})

async function metrics(): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const metric of await sfu.registry.getMetricsAsJSON()) {
    if (!/layer|keyframe_requests/.test(metric.name)) continue
    for (const value of metric.values) {
      const labels = Object.values(value.labels).join(',')
      out[`${metric.name.replace('pinhole_sfu_', '')}{${labels}}`] = value.value
    }
  }
  return out
}

emitLine({ event: 'ready', at: Date.now() })
const ticks: { at: number; metrics: Record<string, number> }[] = []
const ticker = setInterval(() => void metrics().then((m) => ticks.push({ at: Date.now(), metrics: m })), 1000)
await stopRequested()
clearInterval(ticker)
await encoder.stop()
emitLine({
  event: 'result',
  subscribers: recorders.map((r) => r.result(outDir)),
  sent,
  targets,
  errors,
  pushRefused,
  ticks,
  metrics: await metrics(),
})
await Promise.all([publisher, ...clean].map((engine) => engine.release()))
await browser.close()
await site.close()
await sfu.close()
process.exit(0)
