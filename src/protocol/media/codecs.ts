import { type RTCPeerConnectionConfig, RTCRtpCodecParameters, useTransportWideCC } from 'werift'
import { OPUS_CODEC, VP8_CODEC, type CodecSpec } from '../../shared/codecs'

/**
 * The codecs both ends give werift (src/shared/codecs.ts describes them): one per kind, Opus/48000/2 and VP8
 * with NACK, PLI and FIR, so the conference server forwards without ever transcoding and the engine offers
 * exactly what the server answers. Fresh objects on every call: werift keeps and mutates what it is given.
 */
export function weriftCodecs(): NonNullable<RTCPeerConnectionConfig['codecs']> {
  return { audio: [weriftCodec(OPUS_CODEC)], video: [weriftCodec(VP8_CODEC)] }
}

function weriftCodec(codec: CodecSpec): RTCRtpCodecParameters {
  return new RTCRtpCodecParameters({ ...codec, rtcpFeedback: codec.rtcpFeedback.map((fb) => ({ ...fb })) })
}

/**
 * The RTP header extensions both ends negotiate: transport-wide sequence numbers on every packet, for the
 * sender-side bandwidth estimate (docs/media.md "Bandwidth estimation"). Fresh objects on every call:
 * werift numbers them in place.
 */
export function weriftHeaderExtensions(): NonNullable<RTCPeerConnectionConfig['headerExtensions']> {
  return { audio: [useTransportWideCC()], video: [useTransportWideCC()] }
}
