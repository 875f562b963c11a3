import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { chromiumBaseArgs } from '../support/chromium'
import { requireTool } from '../support/tools'
import {
  echoTimeline,
  makeVoiceTone,
  meanPowerDb,
  pulseClientEnv,
  startPulseAudio,
  toneMeter,
  type ToneWindow,
} from './echoPath'
import { openCpuGroup } from './echoCpu'

/**
 * The echo path of e2e/meeting/echo.test.ts without the app: a plain page plays B's voice with an `<audio>`
 * element (the output every Chromium canceller takes as its reference) on the same PulseAudio null sink, and
 * reads its own microphone with the canceller on (and off, the control). No call, no WebCodecs, no loopback:
 * if the canceller loses the path here too, the losses are Chromium's, not our route's (docs/media.md
 * "What loses the path"). Its Chromium and PulseAudio run in echo.test.ts's CPU group (echoCpu.ts). A
 * diagnostic, run by hand:
 *
 *   npx tsx e2e/meeting/echoPlainPage.ts [seconds] [true,false,...]
 *
 * Prints, per run, the microphone's level at 220 Hz against what the element played (the path alone is
 * −12 dB), over the run after 4 s and per 250 ms from the start. PINHOLE_ECHO_TRACE=dir keeps the logs.
 */

const HZ = 220
const SETTLE_WINDOWS = 40

const PAGE = String.raw`<!doctype html><audio id="voice" src="/voice.wav" loop></audio><script>
window.measure = async (echoCancellation, seconds) => {
  const element = document.getElementById('voice')
  await element.play()
  const mic = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation, noiseSuppression: false, autoGainControl: false },
  })
  const meter = ${toneMeter(HZ)}
  const heard = [], played = []
  void meter(mic.getAudioTracks()[0], heard)
  void meter(element.captureStream().getAudioTracks()[0], played)
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
  mic.getTracks().forEach((track) => track.stop())
  element.pause()
  return { heard, played }
}
</script>`

async function main(seconds: number, runs: boolean[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pinhole-echo-plain-'))
  const trace = process.env.PINHOLE_ECHO_TRACE
  const cpu = openCpuGroup('pinhole-echo-plain', dir)
  const pulse = await startPulseAudio(dir, cpu)
  const voice = readFileSync(makeVoiceTone(dir, HZ))
  const server = createServer((request, response) =>
    response.end(request.url === '/voice.wav' ? voice : PAGE),
  )
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const browser = await chromium.launch({
    executablePath: cpu.wrap(requireTool('chromium')),
    args: [
      ...chromiumBaseArgs(),
      '--use-fake-ui-for-media-stream',
      '--autoplay-policy=no-user-gesture-required',
      ...(trace ? ['--enable-logging', `--log-file=${join(trace, 'chromium-plain.log')}`, '--v=1'] : []),
    ],
    ignoreDefaultArgs: ['--mute-audio'],
    env: pulseClientEnv(pulse),
  })
  try {
    for (const echoCancellation of runs) {
      const page = await browser.newPage()
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)
      const { heard, played } = await page.evaluate<{ heard: ToneWindow[]; played: ToneWindow[] }>(
        `window.measure(${echoCancellation}, ${seconds})`,
      )
      await page.close()
      const playedDb = meanPowerDb(played.slice(SETTLE_WINDOWS))
      const echoDb = meanPowerDb(heard.slice(SETTLE_WINDOWS)) - playedDb
      const timeline = echoTimeline(heard, heard[0]?.at ?? 0, playedDb)
      console.log(
        `echoCancellation ${echoCancellation}: played ${playedDb.toFixed(1)} dBFS, microphone after 4 s ` +
          `${echoDb.toFixed(1)} dB; per 250 ms: ${timeline.map((db) => db.toFixed(0)).join(' ')}`,
      )
    }
  } finally {
    await browser.close()
    server.close()
    await pulse.stop()
    await cpu.remove()
    rmSync(dir, { recursive: true, force: true })
  }
}

const [seconds = '12', runs = 'true,false,true'] = process.argv.slice(2)
main(
  Number(seconds),
  runs.split(',').map((run) => run === 'true'),
).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)
