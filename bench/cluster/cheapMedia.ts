/**
 * bench:cluster's participant media at a fraction of what the node spends on it (docs/scaling.md "Workers").
 * The bench compares one conference node process with two on the same 2 cores, so whatever the load
 * generators spend per participant is taken from the nodes: a generator as costly as the node leaves no core
 * for a second worker. werift's own path encrypts each packet through its header object and a new GCM
 * context, and decrypts every received one in JavaScript; here:
 *
 * - **Sending** is native (bench/cluster/nativePublisher.ts: payloads, headers, SRTP and `sendmmsg` in the
 *   addon, every publisher from one timer call). Without the addon (or with `CLUSTER_BENCH_SEND=js`) it
 *   goes through the conference server's own send path (`RtpOut`: the native SRTP send of `pinhole_media`
 *   when built) on the publisher's werift sender, which keeps its keys, rollover counter and history.
 * - **Receiving** never decrypts: SRTP leaves the RTP header in clear, so each datagram is counted from its
 *   SSRC and sequence number, before werift sees it. The node's reports (SRTCP) are authenticated,
 *   decrypted and read by the addon (native/relay/src/rtcp_in.cc); anything else (STUN consent, DTLS,
 *   keyframe requests) goes on to werift as before. The socket is read by the
 *   `pinhole_rtp_sink` addon (native/relay/src/rtp_sink.cc: every socket of the process read with recvmmsg
 *   from the 5 ms timer of bench/cluster/ticker.ts, the headers counted in one drain) rather than by dgram, whose allocation,
 *   resize and call into JavaScript per datagram, and a wake-up per socket that turns readable, cost more
 *   than everything else the generator does; without the addon, in dgram's callback.
 *
 * The node's work is the same as for any participant: it decrypts what each one sends and encrypts and
 * sends a copy to each other participant. What a participant would see is still what is counted: the
 * packets of each other participant that reached its socket. The first packets of a stream do go through
 * werift (decrypted, the payload's marker read): they tie the stream's sequence numbers to the sender's
 * packet counter (the node keeps a constant offset while it forwards every packet), so a header's
 * sequence number names the packet the sender sent. A header whose packet was never sent, or was sent
 * long ago, means the offset moved (the node renumbered after dropping packets): it is not counted, and
 * the next packets go through werift again until the stream is tied anew.
 */
import type { Socket } from 'node:dgram'
import type { RtpPacket } from 'werift'
import { udpSocketFd } from '../../src/platform/nativeAddon'
import { startJsMedia } from './jsPublisher'
import { startNativeMedia } from './nativePublisher'
import { receive, type Reception } from './receiverReports'
import { rtpSinkAddon, type RtpSink } from './rtpAddon'
import { every, TICK_MS, type Job } from './ticker'
import type { TestClient } from '../../e2e/sfu/client'
import { parsePayload } from '../../e2e/sfu/media'

export type Kind = 'audio' | 'video'
export type Counts = Record<Kind, number>

/** A participant's synthetic Opus (50 packets/s) and VP8 (`fps`, keyframes at start and on PLI). */
export interface CheapPublisher {
  /** Packets sent so far per kind: the marker counter of the next one. */
  readonly sent: Counts
  /** Of them, encrypted and sent by the native addon (the rest went through dgram or werift). */
  readonly nativePackets: () => number
  /** Whether the addon's publisher sends (bench/cluster/nativePublisher.ts), not werift's sender. */
  readonly native: boolean
  /**
   * Whether werift moved the transport since the addon took the sending over (another nominated pair or
   * SRTP session: the addon would still send to the old one); a lossy pair's report names it.
   */
  moved?(): boolean
  /** Whether the addon sends the participant's RTCP (its reports: nativePublisher.ts). */
  readonly reportsNatively: boolean
  /** The addon's counter of packets sent of `kind` (a native publisher's), for counting natively. */
  sentCounter(kind: Kind): SentCounter | undefined
  stop(): void
}

export interface MediaOptions {
  fps: number
  frameBytes: number
}

/**
 * The native publisher when the addon is built and the transport allows it, else werift's sender with RtpOut
 * (also with `CLUSTER_BENCH_SEND=js`, to compare the two).
 */
export function startCheapMedia(
  client: TestClient,
  options: MediaOptions,
  receiving?: HeaderCounter,
): CheapPublisher {
  const native =
    process.env.CLUSTER_BENCH_SEND === 'js'
      ? undefined
      : startNativeMedia(client, options, receiving?.nativeSink)
  return native ?? startJsMedia(client, options)
}

/** A native publisher's "sent so far" of one kind: `stats[at]` (bench/cluster/nativePublisher.ts). */
export interface SentCounter {
  stats: Float64Array
  at: number
}

/** The addon's ring of a sender's kind. */
const ringKey = (uid: number, kind: Kind): number => uid * 2 + (kind === 'video' ? 1 : 0)

/** werift's `ProtectionProfileAeadAes128Gcm`. */
const AEAD_AES_128_GCM = 7

/** A second and more of a participant's incoming media (≈ 195 datagrams/s of ≈ 1 KB, ≈ 2 KB each in the kernel). */
const RECEIVE_BUFFER_BYTES = 2 * 1024 * 1024

/** Packets remembered per stream: more than a window's worth (a 5 s window holds ≈ 250–400). */
const RING = 4096
/** A header whose packet the sender sent more than this many packets ago is taken for a moved offset. */
const MAX_AGE = 2048

/** The packets of one sender's stream that reached a receiver, by the sender's packet counter. */
class Ring {
  /** counter + 1 at counter % RING (0: none). */
  private readonly slots = new Float64Array(RING)

  add(counter: number): void {
    this.slots[counter % RING] = counter + 1
  }

  /** How many of the counters in [from, to) arrived (`to` − `from` ≤ RING). */
  count(from: number, to: number): number {
    if (to - from > RING)
      throw new Error(`a window of ${to - from} packets is longer than the ring (${RING})`)
    let n = 0
    for (let c = from; c < to; c++) if (this.slots[c % RING] === c + 1) n++
    return n
  }
}

interface Stream {
  uid: number
  kind: Kind
  /** The receiver's sequence number minus the sender's counter, mod 2¹⁶ (undefined until tied). */
  offset: number | undefined
}

/**
 * What one participant receives, counted from the RTP headers on its socket (module comment). `sentOf`
 * gives a sender's packet counter now (the senders of a channel live in the same generator process).
 */
export class HeaderCounter {
  private readonly streams = new Map<number, Stream>()
  /** Every received stream's counts by SSRC, tied or not (for the receiver reports). */
  private readonly reception = new Map<number, Reception>()
  private readonly rings = new Map<string, Ring>()
  /** Of `unmapped` and `counted`, what JavaScript counted (the addon counts the rest). */
  private jsUnmapped = 0
  private jsCounted = 0

  private sink: RtpSink | undefined

  /**
   * `sentOf`: a sender's packets sent so far; `nativeOf`: the addon's counter of a native publisher (its
   * streams are then counted by the addon, rtp_count.cc, against it).
   */
  constructor(
    private readonly sentOf: (uid: number, kind: Kind) => number | undefined,
    private readonly nativeOf: (uid: number, kind: Kind) => SentCounter | undefined = () => undefined,
  ) {}

  /** The addon's reader of the participant's socket, once attached (its counts go into the reports). */
  get nativeSink(): RtpSink | undefined {
    return this.sink
  }

  /** Headers that named no packet the sender had sent recently (a moved offset): not counted. */
  get unmapped(): number {
    return this.jsUnmapped + (this.sink?.receptions()[1] ?? 0)
  }

  /** Datagrams counted from the header alone (of them, by the addon: `countedNatively`). */
  get counted(): number {
    return this.jsCounted + this.countedNatively
  }

  get countedNatively(): number {
    return this.sink?.receptions()[0] ?? 0
  }

  /**
   * Takes over the nominated pair's socket input once the client is connected: RTP is counted here, the
   * rest goes to werift. False when the pair is not plain UDP (nothing is taken over).
   */
  attach(client: TestClient): boolean {
    const dtls = client.pc.dtlsTransports[0] as unknown as DtlsInternals | undefined
    const transport = dtls?.iceTransport.connection.nominated?.protocol?.transport
    if (!transport || transport.type !== 'udp' || !transport.socket) return false
    const werift = transport.onData
    // A generator process descheduled for a moment (the machine is shared with the nodes) must not lose
    // what the node sent meanwhile: that would count as the node's loss. The node keeps the defaults.
    try {
      transport.socket.setRecvBufferSize(RECEIVE_BUFFER_BYTES)
    } catch {
      // above net.core.rmem_max: the kernel's default stays
    }
    const fd = udpSocketFd(transport.socket)
    const addon = rtpSinkAddon()
    const handle = socketHandle(transport.socket)
    if (typeof addon !== 'string' && fd !== undefined && handle) {
      handle.recvStop() // the sink reads the socket from now on
      this.sink = new addon.RtpSink(fd, (data, address, port) => werift(data, [address, port]))
      // The node's reports are authenticated, decrypted and read natively; werift gets the rest of its RTCP.
      const remote = dtls?.srtp?.remoteContext
      const { srtcpSessionKey: key, srtcpSessionSalt: salt } = remote?.cipher ?? {}
      if (remote?.profile === AEAD_AES_128_GCM && key && salt) this.sink.srtcp(key, salt)
      sinks.set(this.sink.id, this)
      drainJob ??= every(TICK_MS, drainSinks)
      return true
    }
    transport.onData = (data, addr) => {
      if (!this.onDatagram(data)) werift(data, addr)
    }
    return true
  }

  close(): void {
    if (!this.sink) return
    this.sink.close()
    sinks.delete(this.sink.id)
    if (sinks.size === 0 && drainJob) {
      drainJob.stopped = true
      drainJob = undefined
    }
  }

  /** TestClient's `onRtp`: a packet werift decrypted, whose payload marker ties its stream. */
  onDecrypted(key: string, packet: RtpPacket): void {
    const [uidText, kind] = key.split(':') as [string, Kind]
    const marker = parsePayload(kind, packet.payload, false)
    if (!marker) return
    const { ssrc, sequenceNumber } = packet.header
    const uid = Number(uidText)
    const offset = (sequenceNumber - marker.counter) & 0xffff
    const native = this.sink && this.nativeOf(uid, kind)
    if (native) {
      // The addon counted its sequence number when the datagram arrived (every RTP is, tied or not).
      this.sink!.tieNative(ssrc, offset, native.stats, native.at, ringKey(uid, kind), marker.counter)
      return
    }
    if (!this.sink) this.reception.set(ssrc, receive(this.reception.get(ssrc), sequenceNumber))
    this.streams.set(ssrc, { uid, kind, offset })
    this.sink?.tie(ssrc, true)
    this.ring(key).add(marker.counter)
  }

  /**
   * The node's last sender report per SSRC as the addon read it (LSR, arrival Unix ms), and how many
   * compounds it handled; undefined without the addon (werift reads the reports).
   */
  senderReports():
    | { handled: number; failed: number; bySsrc: Map<number, { lsr: number; arrivalUnixMs: number }> }
    | undefined {
    const values = this.sink?.senderReports()
    if (!values) return undefined
    const bySsrc = new Map<number, { lsr: number; arrivalUnixMs: number }>()
    for (let i = 2; i + 2 < values.length; i += 3)
      bySsrc.set(values[i]!, { lsr: values[i + 1]!, arrivalUnixMs: values[i + 2]! })
    return { handled: values[0]!, failed: values[1]!, bySsrc }
  }

  /** The received streams' counts by SSRC (bench/cluster/receiverReports.ts). */
  receptions(): IterableIterator<[number, Reception]> {
    const values = this.sink?.receptions()
    // The addon's counts, with the last report's priors kept here (lossSince updates them).
    for (let i = 2; values && i + 3 < values.length; i += 4) {
      const [ssrc, base, highest, received] = [values[i]!, values[i + 1]!, values[i + 2]!, values[i + 3]!]
      const reception = this.reception.get(ssrc) ?? {
        base,
        highest,
        received,
        expectedPrior: 0,
        receivedPrior: 0,
      }
      Object.assign(reception, { base, highest, received })
      this.reception.set(ssrc, reception)
    }
    return this.reception.entries()
  }

  /** Packets of `uid`'s `kind` with counters in [from, to) that arrived. */
  count(uid: number, kind: Kind, from: number, to: number): number {
    const js = this.rings.get(`${uid}:${kind}`)?.count(from, to) ?? 0
    return js + (this.sink?.count(ringKey(uid, kind), from, to) ?? 0)
  }

  /** True when the datagram was RTP of a tied stream and is counted here (werift never sees it). */
  private onDatagram(data: Buffer): boolean {
    // RFC 7983: RTP/RTCP start 128–191; RFC 5761: payload types 64–95 (second byte 192–223) are RTCP.
    if (data.length < 12 || data[0]! >> 6 !== 2 || (data[1]! >= 192 && data[1]! <= 223)) return false
    return this.onHeader(data.readUInt32BE(8), data.readUInt16BE(2))
  }

  /** An RTP header of `ssrc` with `sequence`: counted when its stream is tied (else false: for werift). */
  onHeader(ssrc: number, sequence: number): boolean {
    if (!this.sink) this.reception.set(ssrc, receive(this.reception.get(ssrc), sequence))
    const stream = this.streams.get(ssrc)
    if (stream?.offset === undefined) return false
    const low = (sequence - stream.offset) & 0xffff
    const next = this.sentOf(stream.uid, stream.kind) ?? 0
    const age = (next - 1 - low) & 0xffff
    if (age >= MAX_AGE || next - 1 - age < 0) {
      this.jsUnmapped++
      stream.offset = undefined // tied again from the next packets werift decrypts
      this.sink?.tie(ssrc, false)
      return false
    }
    this.ring(`${stream.uid}:${stream.kind}`).add(next - 1 - age)
    this.jsCounted++
    return true
  }

  private ring(key: string): Ring {
    let ring = this.rings.get(key)
    if (!ring) {
      ring = new Ring()
      this.rings.set(key, ring)
    }
    return ring
  }
}

/** werift's (0.25) fields on the way from the DTLS transport to its UDP socket's input. */
interface DtlsInternals {
  srtp?: {
    remoteContext?: { profile: number; cipher: { srtcpSessionKey?: Buffer; srtcpSessionSalt?: Buffer } }
  }
  iceTransport: {
    connection: {
      nominated?: {
        protocol?: {
          transport?: {
            type?: string
            socket?: Socket
            onData: (data: Buffer, addr: [string, number]) => void
          }
        }
      }
    }
  }
}

/** Every attached counter by its sink's id; the drain hands each its headers. */
const sinks = new Map<number, HeaderCounter>()
let drainJob: Job | undefined

/** Counts the headers the sinks queued since the last drain (also called before a window is counted). */
export function drainSinks(): void {
  const addon = rtpSinkAddon()
  if (typeof addon === 'string') return
  addon.pollAll()
  const taken = addon.take()
  const words = new Uint32Array(taken.buffer, taken.byteOffset, taken.byteLength / 4)
  for (let i = 0; i + 2 < words.length; i += 3) sinks.get(words[i]!)?.onHeader(words[i + 1]!, words[i + 2]!)
}

/** Node's UDP handle of a dgram socket (under a private symbol), to stop its reading. */
function socketHandle(socket: Socket): { recvStop(): number } | undefined {
  const symbol = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol')
  const state =
    symbol && (socket as unknown as Record<symbol, { handle?: { recvStop?: () => number } }>)[symbol]
  const handle = state?.handle
  return handle && typeof handle.recvStop === 'function' ? (handle as { recvStop(): number }) : undefined
}
