/**
 * The `pinhole_rtp_sink` addon (native/relay/src/rtp_sink.cc, rtp_gen.cc; built by `npm run build:native`):
 * bench:cluster's load generator's native receive path (RtpSink, bench/cluster/cheapMedia.ts) and send path
 * (Publisher, bench/cluster/nativePublisher.ts). Not part of the servers.
 */
import { existsSync } from 'node:fs'
import { constants } from 'node:os'
import { BUILD_COMMAND, nativeAddonPath } from '../../src/platform/nativeAddon'

/** A participant's socket read by the addon (rtp_sink.cc). */
export interface RtpSink {
  readonly id: number
  tie(ssrc: number, on: boolean): void
  /** The node's SRTCP (AES-GCM, its remote session key and salt): reports handled natively (rtcp_in.cc). */
  srtcp(key: Buffer, salt: Buffer): void
  /** [compounds handled natively, ones that failed authentication], then [SSRC, LSR, arrival Unix ms] each. */
  senderReports(): Float64Array
  /**
   * The stream of `ssrc` counted by the addon (rtp_count.cc) against `stats[at]`, a native publisher's
   * packets sent so far, into the ring `key`; `counter` (the packet werift decrypted) arrived.
   */
  tieNative(ssrc: number, offset: number, stats: Float64Array, at: number, key: number, counter: number): void
  /** How many counters in [from, to) of ring `key` arrived. */
  count(key: number, from: number, to: number): number
  /** [headers counted natively, unmapped ones], then [SSRC, base, highest (extended), received] each. */
  receptions(): Float64Array
  close(): void
}

/**
 * A participant's synthetic media sent by the addon (rtp_gen.cc): `params` as its constructor documents,
 * `stats` its counts per kind (audio at 0, video at 5: sent, payload octets, last RTP timestamp, last send
 * time in Unix ms, last sequence number; then datagrams the kernel refused).
 */
export interface NativePublisher {
  readonly stats: Float64Array
  keyframe(): void
  /**
   * The participant's RTCP from the addon from now on (rtcp_out.cc): every 0.5–1.5 s one compound of its
   * sender reports, a receiver report (SSRC `receiverSsrc`) of what `sink` counted and the CNAME, with the
   * local SRTCP key and salt, the index continuing from `index`. stats[11] counts the compounds sent.
   */
  reportWith(
    sink: RtpSink,
    receiverSsrc: number,
    cname: string,
    key: Buffer,
    salt: Buffer,
    index: number,
  ): void
  stop(): void
}

export interface RtpSinkModule {
  RtpSink: new (fd: number, onOther: (data: Buffer, address: string, port: number) => void) => RtpSink
  take(): Buffer
  pollAll(): void
  Publisher: new (
    fd: number,
    address: string,
    port: number,
    key: Buffer,
    salt: Buffer,
    params: Uint32Array,
  ) => NativePublisher
  /** Sends every publisher's due packets; how many. */
  pump(): number
  abiVersion: number
}

/** rtp_sink.cc `kAbiVersion`. */
const RTP_SINK_ABI = 6
let sinkModule: RtpSinkModule | string | undefined

/** The addon, or why the generator uses dgram and werift's sender (printed in the bench's report). */
export function rtpSinkAddon(): RtpSinkModule | string {
  if (sinkModule !== undefined) return sinkModule
  const path = nativeAddonPath('pinhole_rtp_sink')
  if (!existsSync(path)) return (sinkModule = `${path} is not built (run \`${BUILD_COMMAND}\`)`)
  try {
    const module = { exports: {} as RtpSinkModule }
    // Every symbol now: the OpenSSL functions of the send path come from the Node binary.
    process.dlopen(module, path, constants.dlopen.RTLD_NOW)
    sinkModule =
      module.exports.abiVersion === RTP_SINK_ABI
        ? module.exports
        : `${path} is outdated (run \`${BUILD_COMMAND}\`)`
  } catch (err) {
    sinkModule = `${path} failed to load (${String(err)})`
  }
  return sinkModule
}
