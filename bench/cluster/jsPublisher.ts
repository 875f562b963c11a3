/**
 * bench:cluster's participant media through werift's sender (bench/cluster/cheapMedia.ts): the conference
 * server's send path (`RtpOut`: the native SRTP send of `pinhole_media` when built) from the generator's one
 * timer; werift keeps its keys, rollover counter, history (it answers NACKs) and sender reports. Used
 * without the `pinhole_rtp_sink` addon, or with `CLUSTER_BENCH_SEND=js` to compare with the native
 * publisher.
 */
import { RtpHeader, RtpPacket, type RTCRtpTransceiver } from 'werift'
import { RtpOut } from '../../src/sfu/media/rtpOut'
import type { TestClient } from '../../e2e/sfu/client'
import { audioPayload, videoFramePayloads } from '../../e2e/sfu/media'
import type { CheapPublisher, Counts, MediaOptions } from './cheapMedia'
import { every, type Job } from './ticker'

export function startJsMedia(client: TestClient, options: MediaOptions): CheapPublisher {
  const { uid } = client.options
  const transceiverOf = (sender: unknown): RTCRtpTransceiver | undefined =>
    sender === undefined ? undefined : client.pc.getTransceivers().find((t) => t.sender === sender)
  const audio = transceiverOf(client.audioSender)
  const video = transceiverOf(client.videoSender)
  const audioOut = audio && new RtpOut(audio)
  const videoOut = video && new RtpOut(video)
  const sent: Counts = { audio: 0, video: 0 }
  let frame = 0
  let keyframe = true
  const pli = client.videoSender?.onPictureLossIndication.subscribe(() => {
    keyframe = true
  })
  const jobs: Job[] = []
  if (audioOut) {
    jobs.push(
      every(20, () => {
        const counter = sent.audio++
        const header = new RtpHeader({ payloadType: 111, sequenceNumber: counter & 0xffff })
        header.timestamp = (counter * 960) >>> 0
        void audioOut.send(new RtpPacket(header, audioPayload(uid, counter)))
      }),
    )
  }
  if (videoOut) {
    jobs.push(
      every(1000 / options.fps, () => {
        const payloads = videoFramePayloads(uid, frame, sent.video, keyframe, options.frameBytes)
        keyframe = false
        payloads.forEach((payload, i) => {
          const header = new RtpHeader({
            payloadType: 96,
            sequenceNumber: sent.video++ & 0xffff,
            marker: i === payloads.length - 1,
          })
          header.timestamp = (frame * Math.round(90_000 / options.fps)) >>> 0
          void videoOut.send(new RtpPacket(header, payload))
        })
        frame++
      }),
    )
  }
  return {
    sent,
    nativePackets: () => (audioOut?.nativePackets ?? 0) + (videoOut?.nativePackets ?? 0),
    native: false,
    reportsNatively: false,
    sentCounter: () => undefined,
    stop() {
      for (const job of jobs) job.stopped = true
      pli?.unSubscribe()
    },
  }
}
