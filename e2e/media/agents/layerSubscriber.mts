/**
 * The subscriber behind the shaped link of e2e/media/layerForwarding.test.ts, inside the test's second
 * namespace: one engine joined to the conference server at HOST, recording the publisher's video.
 * JSON lines on stdout: `joined`, then on `stop` (stdin) `result`.
 */
import { emitLine, joinDirect, recordVideo, stopRequested } from '../layerCall'

const [host = '127.0.0.1', outDir = '/tmp', uidArg = '4'] = process.argv.slice(2)
const uid = Number(uidArg)
const engine = await joinDirect(host, uid, false)
const recorder = recordVideo(engine, uid, 1)
emitLine({ event: 'joined', at: Date.now() })
await stopRequested()
emitLine({ event: 'result', subscriber: recorder.result(outDir) })
await engine.release()
process.exit(0)
