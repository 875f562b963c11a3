import { z } from 'zod'
import { SignalErrorCode } from './codes'
import { ChannelNameSchema, UID_MAX } from './joinRules'

/**
 * Signaling between the engine and the conference server (docs/sfu.md): JSON text frames over a WebSocket
 * on `SIGNAL_PATH`, one versioned schema validated at both ends. Every message carries `v: 1` and a `type`.
 *
 * Negotiation has a single offerer, the server: it offers, the client answers (`seq` ties an answer to its
 * offer). A client never sends an offer, so offer/answer glare cannot happen; a client that needs a new
 * negotiation asks for one with `renegotiate`, `publish` or `unpublish`.
 */

export const SIGNAL_VERSION = 1
export const DEV_TOKEN_PATH = '/v1/token'

const v = z.literal(SIGNAL_VERSION)
const MAX_UID = UID_MAX
/** uid 0 passes the schema so that the server can refuse it with its own code (`uid_invalid`). */
const joinUid = z.int().min(0).max(MAX_UID)
const uid = z.int().min(1).max(MAX_UID)
const channel = ChannelNameSchema
const sdp = z
  .string()
  .min(1)
  .max(256 * 1024)
const seq = z.int().min(1).max(MAX_UID)
const mid = z.string().min(1).max(32)

/** A person's display name: 1–64 characters after trimming, no control characters (NFC-normalised). */
export const DisplayNameSchema = z
  .string()
  .transform((name) => name.normalize('NFC').trim())
  .pipe(
    z
      .string()
      .min(1)
      .max(64)
      .regex(/^[^\p{Cc}\p{Cf}]*$/u, 'no control characters'),
  )

/**
 * What a track carries. `screen` is a second video track (a shared screen or window, NERTC's sub stream):
 * VP8 like `video`, in an m=video section of its own. A participant publishes at most one of each kind.
 */
export const MediaKindSchema = z.enum(['audio', 'video', 'screen'])
export type MediaKind = z.infer<typeof MediaKindSchema>
/** The kinds that are video (VP8 on an m=video section). */
export type VideoKind = Exclude<MediaKind, 'audio'>
export const MEDIA_KINDS: readonly MediaKind[] = MediaKindSchema.options
export const isVideoKind = (kind: MediaKind): kind is VideoKind => kind !== 'audio'

/** Why a participant left (NERTC reasons: leaveChannel 1, channelClosed 2, serverKicked 3, timeout 4). */
export const LeaveReasonSchema = z.enum([
  'leave',
  'timeout',
  'serverKicked',
  'channelClosed',
  'serverShutdown',
])
export type LeaveReason = z.infer<typeof LeaveReasonSchema>

export const KickReasonSchema = z.enum(['serverKicked', 'channelClosed', 'serverShutdown'])
export type KickReason = z.infer<typeof KickReasonSchema>

// ---------------------------------------------------------------------------------------------------------
// Client → server. Strict: an unknown field is a client bug in this version, answered with `bad_message`.

export const JoinMessageSchema = z.strictObject({
  v,
  type: z.literal('join'),
  token: z.string().min(1).max(4096),
  channel,
  uid: joinUid,
  /** What the client will publish; a slot it does not publish is offered `inactive`. */
  capabilities: z.strictObject({ audio: z.boolean(), video: z.boolean(), screen: z.boolean().optional() }),
  /** The name shown on this participant's tiles (join form / settings); others get it with their uid. */
  displayName: DisplayNameSchema.optional(),
  /**
   * `false`: receive nobody's media (a publish-only participant, e.g. a test harness's publisher); it is
   * still announced to the others, who receive what it publishes. Default true.
   */
  subscribe: z.boolean().optional(),
  /** `sessionId` from a previous `joined`: resume that participant if it is still in its grace period. */
  resume: z.string().min(1).max(64).optional(),
})

export const ClientMessageSchema = z.discriminatedUnion('type', [
  JoinMessageSchema,
  z.strictObject({ v, type: z.literal('answer'), seq, sdp }),
  /** Ask the server for a new offer (e.g. the client lost the last one). No ICE restart: docs/sfu.md. */
  z.strictObject({ v, type: z.literal('renegotiate') }),
  /** Start or stop publishing one kind; the server renegotiates the publishing slot. */
  z.strictObject({ v, type: z.literal('publish'), kind: MediaKindSchema }),
  z.strictObject({ v, type: z.literal('unpublish'), kind: MediaKindSchema }),
  /**
   * Ask for a keyframe of `uid`'s video (the same as an RTCP PLI, for clients that cannot send one): its
   * camera, or its shared screen with `kind: 'screen'`.
   */
  z.strictObject({
    v,
    type: z.literal('keyframeRequest'),
    uid,
    kind: z.enum(['video', 'screen']).optional(),
  }),
  z.strictObject({ v, type: z.literal('leave') }),
  z.strictObject({ v, type: z.literal('ping'), ts: z.number().finite() }),
])
export type ClientMessage = z.infer<typeof ClientMessageSchema>
export type JoinMessage = z.infer<typeof JoinMessageSchema>
export type ClientMessageType = ClientMessage['type']
export const CLIENT_MESSAGE_TYPES: readonly ClientMessageType[] = [
  'join',
  'answer',
  'renegotiate',
  'publish',
  'unpublish',
  'keyframeRequest',
  'leave',
  'ping',
]

// ---------------------------------------------------------------------------------------------------------
// Server → client. Not strict: an older client ignores fields a newer server adds.

export const TrackInfoSchema = z.object({ trackId: z.string().min(1), kind: MediaKindSchema })
export type TrackInfo = z.infer<typeof TrackInfoSchema>

export const ParticipantInfoSchema = z.object({
  uid,
  tracks: z.array(TrackInfoSchema),
  displayName: z.string().max(64).optional(),
})
export type ParticipantInfo = z.infer<typeof ParticipantInfoSchema>

/** Which m-line carries what: the client's publishing slots, and one remote track per subscription. */
export const PublishSlotSchema = z.object({ mid, kind: MediaKindSchema })
export const SubscriptionInfoSchema = z.object({
  mid,
  uid,
  trackId: z.string().min(1),
  kind: MediaKindSchema,
})
export type SubscriptionInfo = z.infer<typeof SubscriptionInfoSchema>

export const ServerMessageSchema = z.discriminatedUnion('type', [
  z.object({
    v,
    type: z.literal('joined'),
    sessionId: z.string().min(1),
    channel: z.string().min(1),
    uid,
    resumed: z.boolean(),
    /** Everyone else in the channel, with what they publish. */
    participants: z.array(ParticipantInfoSchema),
    /** Limits the client should respect. */
    limits: z.object({ maxMessageBytes: z.int().positive(), reconnectGraceMs: z.int().nonnegative() }),
  }),
  z.object({ v, type: z.literal('userJoined'), uid, displayName: z.string().max(64).optional() }),
  z.object({ v, type: z.literal('userLeft'), uid, reason: LeaveReasonSchema }),
  z.object({ v, type: z.literal('trackPublished'), uid, ...TrackInfoSchema.shape }),
  z.object({ v, type: z.literal('trackUnpublished'), uid, ...TrackInfoSchema.shape }),
  z.object({
    v,
    type: z.literal('offer'),
    seq,
    sdp,
    publish: z.array(PublishSlotSchema),
    /** Active subscriptions only; an m-line not listed carries nothing. */
    subscriptions: z.array(SubscriptionInfoSchema),
  }),
  z.object({ v, type: z.literal('kicked'), reason: KickReasonSchema, message: z.string() }),
  /**
   * The server moves this participant (its node drains, docs/scaling.md): take a fresh session and join
   * again, where the cluster now places the channel. The server closes the connection right after (4007).
   * A client that does not know the type ignores it and rejoins on the close, as after any lost connection.
   */
  z.object({ v, type: z.literal('rejoin'), reason: z.string().min(1).max(64), message: z.string() }),
  z.object({
    v,
    type: z.literal('error'),
    /** A `SignalErrorCode`; kept a string so that older clients parse newer codes. */
    code: z.string().min(1),
    message: z.string(),
    /** The type of the message the error answers, when known. */
    ref: z.string().optional(),
  }),
  z.object({ v, type: z.literal('pong'), ts: z.number() }),
])
export type ServerMessage = z.infer<typeof ServerMessageSchema>
export type ServerMessageType = ServerMessage['type']
/** A server message without `v`, for building one (`v` is added when sending). */
export type ServerMessageBody = DistributiveOmit<ServerMessage, 'v'>
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

// ---------------------------------------------------------------------------------------------------------
// Development tokens: `POST /v1/token` on the conference server, only when its config enables them.

export const DevTokenRequestSchema = z.strictObject({
  appKey: z.string().min(1).max(64),
  channel,
  uid,
  ttlSeconds: z.int().min(10).max(86_400).optional(),
})
export type DevTokenRequest = z.infer<typeof DevTokenRequestSchema>
export const DevTokenResponseSchema = z.object({ token: z.string().min(1), expiresAt: z.int() })
export type DevTokenResponse = z.infer<typeof DevTokenResponseSchema>

// ---------------------------------------------------------------------------------------------------------
// Parsing

export type ParseResult<T> = { ok: true; message: T } | { ok: false; code: SignalErrorCode; message: string }

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function describe(error: z.ZodError): string {
  const issue = error.issues[0]
  if (issue === undefined) return 'invalid message'
  const path = issue.path.map(String).join('.')
  return path === '' ? issue.message : `${path}: ${issue.message}`
}

function parseWith<T>(
  text: string,
  schema: z.ZodType<T>,
  knownTypes: ReadonlySet<string> | undefined,
): ParseResult<T> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { ok: false, code: SignalErrorCode.BadJson, message: 'not JSON text' }
  }
  if (!isRecord(value)) return { ok: false, code: SignalErrorCode.BadMessage, message: 'expected an object' }
  if (value.v !== SIGNAL_VERSION) {
    return { ok: false, code: SignalErrorCode.UnsupportedVersion, message: `v must be ${SIGNAL_VERSION}` }
  }
  if (knownTypes && (typeof value.type !== 'string' || !knownTypes.has(value.type))) {
    return { ok: false, code: SignalErrorCode.UnknownType, message: 'unknown message type' }
  }
  const parsed = schema.safeParse(value)
  if (!parsed.success) return { ok: false, code: SignalErrorCode.BadMessage, message: describe(parsed.error) }
  return { ok: true, message: parsed.data }
}

const clientTypes: ReadonlySet<string> = new Set(CLIENT_MESSAGE_TYPES)
const serverTypes: ReadonlySet<string> = new Set(ServerMessageSchema.options.map((o) => o.shape.type.value))

/** Validates one text frame from a client. Never throws. */
export function parseClientMessage(text: string): ParseResult<ClientMessage> {
  return parseWith(text, ClientMessageSchema, clientTypes)
}

/** Validates one text frame from the server. Never throws; unknown types are `unknown_type`. */
export function parseServerMessage(text: string): ParseResult<ServerMessage> {
  return parseWith(text, ServerMessageSchema, serverTypes)
}

/** The `type` of a message that failed validation, when there is one (for `error.ref`). */
export function messageTypeOf(text: string): string | undefined {
  const match = /"type"\s*:\s*"([A-Za-z]{1,32})"/.exec(text.slice(0, 512))
  return match?.[1]
}

/** Exhaustiveness check for `switch` over a discriminated union: a new member fails to compile. */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unhandled ${what}: ${JSON.stringify(value)}`)
}
