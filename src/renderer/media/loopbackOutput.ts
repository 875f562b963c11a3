/**
 * Remote audio's way to the speaker (docs/media.md "Echo cancellation and the playback path"). The jitter
 * worklets play into a MediaStreamAudioDestinationNode; its track goes through a pair of RTCPeerConnections
 * inside this page (host candidates only, never leaving the machine) and comes out as a remote WebRTC track,
 * which an `<audio>` element plays. That is the one output every Chromium echo canceller takes as its
 * reference: the older in-renderer canceller only sees audio received by an RTCPeerConnection, never Web
 * Audio's own output, and a Web Audio context moved with `AudioContext.setSinkId` is reported to escape the
 * newer one. The speaker is chosen on the element (`HTMLMediaElement.setSinkId`).
 */

/**
 * Opus in the loopback, at its highest bitrate, mono, 10 ms frames, no DTX or FEC: transparent for speech and
 * the least packetisation delay. Chromium offers no linear PCM codec (only 8 kHz G.711 besides Opus).
 */
const OPUS_FMTP = 'minptime=10;ptime=10;maxaveragebitrate=510000;stereo=0;useinbandfec=0;usedtx=0'
const OPUS_BITRATE = 510_000
/** How long the two ends may take to connect before the caller falls back to Web Audio's own output. */
const CONNECT_TIMEOUT_MS = 5000

export class LoopbackOutput {
  private constructor(
    private readonly element: HTMLAudioElement,
    private readonly peers: readonly RTCPeerConnection[],
  ) {}

  /** Connects the pair and starts the element; rejects (and closes everything) when the pair cannot connect. */
  static async open(track: MediaStreamTrack): Promise<LoopbackOutput> {
    const send = new RTCPeerConnection()
    const receive = new RTCPeerConnection()
    try {
      const received = await connectPair(send, receive, track)
      const element = new Audio()
      element.srcObject = new MediaStream([received])
      // Autoplay may refuse before a click: the join click calls resume(), which plays it then.
      void element.play().catch(() => undefined)
      return new LoopbackOutput(element, [send, receive])
    } catch (error) {
      send.close()
      receive.close()
      throw error
    }
  }

  /** From a click: starts the element if autoplay held it back. */
  resume(): void {
    if (this.element.paused) void this.element.play().catch(() => undefined)
  }

  /** The speaker to play on (a deviceId of enumerateDevices' `audiooutput`; '' is the system default). */
  setSinkId(deviceId: string): Promise<void> {
    return this.element.setSinkId(deviceId)
  }

  close(): void {
    this.element.pause()
    this.element.srcObject = null
    for (const peer of this.peers) peer.close()
  }
}

async function connectPair(
  send: RTCPeerConnection,
  receive: RTCPeerConnection,
  track: MediaStreamTrack,
): Promise<MediaStreamTrack> {
  send.onicecandidate = (event) => void (event.candidate && receive.addIceCandidate(event.candidate))
  receive.onicecandidate = (event) => void (event.candidate && send.addIceCandidate(event.candidate))
  send.addTransceiver(track, { direction: 'sendonly', sendEncodings: [{ maxBitrate: OPUS_BITRATE }] })
  const received = new Promise<MediaStreamTrack>((resolve) => {
    receive.ontrack = (event) => resolve(event.track)
  })
  await send.setLocalDescription()
  await receive.setRemoteDescription(send.localDescription!)
  await receive.setLocalDescription()
  // The sender configures its encoder from what the receiver asks for in its answer.
  await send.setRemoteDescription({ type: 'answer', sdp: hiFiOpus(receive.localDescription!.sdp) })
  await connected(send)
  return received
}

/** Replaces the Opus fmtp line of `sdp` with OPUS_FMTP (other codecs untouched). */
export function hiFiOpus(sdp: string): string {
  const payload = /a=rtpmap:(\d+) opus\/48000/i.exec(sdp)?.[1]
  if (!payload) return sdp
  return sdp.replace(new RegExp(`a=fmtp:${payload} [^\\r\\n]*`), `a=fmtp:${payload} ${OPUS_FMTP}`)
}

function connected(peer: RTCPeerConnection): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => finish(new Error('the local audio loopback did not connect')),
      CONNECT_TIMEOUT_MS,
    )
    const finish = (error?: Error): void => {
      clearTimeout(timer)
      peer.removeEventListener('connectionstatechange', check)
      if (error) reject(error)
      else resolve()
    }
    const check = (): void => {
      if (peer.connectionState === 'connected') finish()
      else if (peer.connectionState === 'failed' || peer.connectionState === 'closed')
        finish(new Error(`the local audio loopback ${peer.connectionState}`))
    }
    peer.addEventListener('connectionstatechange', check)
    check()
  })
}
