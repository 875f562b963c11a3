/**
 * The one codec per kind that every call negotiates, engine and conference server alike: with the same
 * codec and payload type on both ends the server forwards packets without translating payloads (docs/sfu.md,
 * "Media"). Plain data: each side wraps it in werift's RTCRtpCodecParameters.
 */

export interface CodecSpec {
  readonly mimeType: string
  readonly clockRate: number
  readonly channels?: number
  readonly payloadType: number
  readonly rtcpFeedback: readonly { readonly type: string; readonly parameter?: string }[]
}

/** Opus/48000/2 (RFC 7587). */
export const OPUS_CODEC: CodecSpec = {
  mimeType: 'audio/opus',
  clockRate: 48_000,
  channels: 2,
  payloadType: 111,
  rtcpFeedback: [],
}

/** VP8/90000 (RFC 7741) with NACK, PLI and FIR. */
export const VP8_CODEC: CodecSpec = {
  mimeType: 'video/VP8',
  clockRate: 90_000,
  payloadType: 96,
  rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }],
}
