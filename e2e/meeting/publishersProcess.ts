import { readFileSync } from 'node:fs'
import { OpusPacketizer, Vp8Packetizer, type RTCRtpSender, type RtpPacket } from 'werift'
import { playTrack, readIvf, readOggOpus, type MediaPlayer, type MediaTrack } from '../../src/cli/media'
import { OPUS_PAYLOAD_TYPE, VP8_PAYLOAD_TYPE } from '../../src/sfu/media/rtc'
import { TestClient } from '../sfu/client'
import type { PublisherRun } from './publishers'

/**
 * The test harness's publishers (publishers.ts starts this process): werift clients that join the conference
 * server directly with `subscribe: false` and play pre-encoded test media — a VP8 colour (IVF) and an Opus
 * tone or silence (Ogg) — looping, a key frame on each PLI. They receive nothing, so a call of nine costs one
 * Chromium and eight cheap senders. Each prints `<uid>\tconnected`, `<uid>\tretry\t<why>`,
 * `<uid>\tfailed\t<why>` or, once it has left, `<uid>\tleft`; SIGINT makes them leave and the process end,
 * and so does the end of stdin (the test process is gone: nothing is left sending).
 *
 * A process of its own: their ICE, DTLS and SRTP in JavaScript would otherwise share one event loop with the
 * conference server, the proxy and the page's engine on a loaded machine.
 */

const runs = JSON.parse(process.argv[2] ?? '[]') as PublisherRun[]
const JOIN_TIMEOUT_MS = 30_000
const ATTEMPTS = 3

const say = (uid: number, ...fields: string[]): void =>
  void process.stdout.write(`${[uid, ...fields].join('\t')}\n`)

/** Plays `track` into `sender`, RTP timestamps at `clockRate` from the player's running clock. */
function play(
  track: MediaTrack,
  sender: RTCRtpSender,
  packetize: (data: Buffer, ts: number) => RtpPacket[],
  clockRate: number,
): MediaPlayer {
  return playTrack(track, (frame) => {
    const timestamp = Math.round((frame.timestampUs * clockRate) / 1e6) >>> 0
    for (const packet of packetize(Buffer.from(frame.data), timestamp)) void sender.sendRtp(packet)
  })
}

interface Published {
  client: TestClient
  players: MediaPlayer[]
}

async function publish(run: PublisherRun): Promise<Published> {
  const started = performance.now()
  const client = await TestClient.connect({
    url: run.url,
    token: run.token,
    channel: run.channel,
    uid: run.uid,
    displayName: run.displayName,
    subscribe: false,
    publish: { audio: true, video: true },
    verify: false,
  })
  try {
    await client.waitFor('joined', () => true, JOIN_TIMEOUT_MS)
    // A handshake that failed for good is not waited out: the DTLS transport's own state, or the server
    // closing the socket (it drops a participant whose handshake failed, docs/sfu.md). Not the
    // PeerConnection's "failed": werift also reports it for a while during a handshake that then succeeds.
    const failed = (): boolean =>
      client.closeCode !== undefined || client.pc.dtlsTransports.some((t) => t.state === 'failed')
    const state = await client.until(
      () => (client.pc.connectionState === 'connected' ? 'connected' : failed() ? 'failed' : undefined),
      'connected',
      JOIN_TIMEOUT_MS,
    )
    if (state === 'failed') {
      // What the server said, if anything (an error code, the socket's close code), names the side that gave up.
      const said = client.messages.filter((m) => m.type === 'error' || m.type === 'kicked')
      const why = `ICE ${client.pc.iceConnectionState}, server: ${JSON.stringify(said)}, close ${client.closeCode}`
      throw new Error(
        `the media connection failed after ${Math.round(performance.now() - started)} ms (${why})`,
      )
    }
  } catch (error) {
    const refusal = client.messages.find((m) => m.type === 'error')
    await client.close()
    throw refusal ? new Error(`join refused: ${JSON.stringify(refusal)}`, { cause: error }) : error
  }
  const vp8 = new Vp8Packetizer({ payloadType: VP8_PAYLOAD_TYPE })
  const opus = new OpusPacketizer({ payloadType: OPUS_PAYLOAD_TYPE })
  const video = play(
    readIvf(readFileSync(run.video)),
    client.videoSender!,
    (d, ts) => vp8.packetize(d, ts),
    90_000,
  )
  const audio = play(
    readOggOpus(readFileSync(run.audio)),
    client.audioSender!,
    (d, ts) => opus.packetize(d, ts),
    48_000,
  )
  client.videoSender!.onPictureLossIndication.subscribe(() => video.requestKeyframe())
  return { client, players: [video, audio] }
}

const joined: Published[] = []
let leaving = false
process.stdin.on('close', () => process.exit(0)).resume()
process.once('SIGINT', () => {
  leaving = true
  void Promise.allSettled(
    joined.map(async ({ client, players }) => {
      for (const player of players) player.stop()
      client.leave()
      await client.closed(2000).catch(() => undefined)
      await client.close()
      say(client.options.uid, 'left')
    }),
  ).then(() => process.exit(0))
})

/**
 * A join that fails (a loaded machine) is tried again, up to ATTEMPTS in all; the same uid replaces any
 * half-joined one (the server's newcomer-wins rule).
 */
async function publishOrSay(run: PublisherRun): Promise<void> {
  for (let attempt = 1; !leaving; attempt++) {
    try {
      const published = await publish(run)
      if (leaving) return void (await published.client.close())
      joined.push(published)
      return say(run.uid, 'connected')
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error)
      if (attempt === ATTEMPTS) return say(run.uid, 'failed', why)
      say(run.uid, 'retry', why)
    }
  }
}

// Two joins at a time: eight DTLS handshakes at once, in JavaScript on both ends, with the server's event
// loop shared with the proxy and the page's engine, failed half of them at a load average of 15 (werift's
// DTLS gives up after its retransmissions); one after another would take too long on such a machine.
const queue = [...runs]
const worker = async (): Promise<void> => {
  for (let run = queue.shift(); run && !leaving; run = queue.shift()) await publishOrSay(run)
}
await Promise.all([worker(), worker()])
