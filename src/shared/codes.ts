import { JoinTokenFailureCode } from './joinTokenCodes'

/**
 * Codes of the conference server's signaling (docs/sfu.md). Shared by the server and the engine, so that a
 * refusal is a value both ends can switch on. Codes are strings on the wire: an older client still parses a
 * newer code (it just has no specific handling for it).
 */

export const SignalErrorCode = {
  // Framing and schema
  BadJson: 'bad_json',
  BadMessage: 'bad_message',
  UnknownType: 'unknown_type',
  UnsupportedVersion: 'unsupported_version',
  // Session state
  NotJoined: 'not_joined',
  AlreadyJoined: 'already_joined',
  // Join refusals
  UidInvalid: 'uid_invalid',
  ...JoinTokenFailureCode,
  TokenChannelMismatch: 'token_channel_mismatch',
  TokenUidMismatch: 'token_uid_mismatch',
  ChannelFull: 'channel_full',
  ServerFull: 'server_full',
  ServerDraining: 'server_draining',
  // In-call
  StaleAnswer: 'stale_answer',
  NegotiationFailed: 'negotiation_failed',
  NegotiationTimeout: 'negotiation_timeout',
  UnknownUser: 'unknown_user',
  Internal: 'internal',
} as const
export type SignalErrorCode = (typeof SignalErrorCode)[keyof typeof SignalErrorCode]

/** What a person can do about each code. */
export const SIGNAL_ERROR_MESSAGES: Record<SignalErrorCode, string> = {
  bad_json: 'The message is not JSON text. Send one JSON object per WebSocket text frame.',
  bad_message: 'The message does not match the signaling schema; see the field named in the message.',
  unknown_type: 'Unknown message type. Check the client and server versions.',
  unsupported_version: 'Unsupported protocol version: this server speaks v 1. Update the client.',
  not_joined: 'Send join (and wait for joined) before any other message.',
  already_joined: 'This connection has already joined. Open a new connection to join again.',
  uid_invalid: 'uid must be a positive integer (0 is refused).',
  token_malformed: 'The token is not a well-formed JWT. Request a new token.',
  token_invalid: 'The token signature does not verify. Check the app secret used to mint it.',
  token_expired: 'The token has expired. Request a new token.',
  token_claims: 'The token lacks a valid appKey, channel, uid or exp claim. Request a new token.',
  app_unknown: 'The appKey in the token is not configured on this server.',
  token_channel_mismatch: 'The token was issued for another channel.',
  token_uid_mismatch: 'The token was issued for another uid.',
  channel_full: 'The channel has reached its participant limit. Try again later.',
  server_full: 'The server has reached its connection or channel limit. Try another server or later.',
  server_draining: 'The server is shutting down. Reconnect to join on another server.',
  stale_answer: 'The answer does not match the outstanding offer (seq); it was ignored.',
  negotiation_failed: 'The SDP answer could not be applied. The connection is closed; resume to retry.',
  negotiation_timeout: 'No answer to the offer in time. The connection is closed; resume to retry.',
  unknown_user: 'No participant with that uid publishes in this channel.',
  internal: 'Internal server error. Retry; report it if it persists.',
}

/** WebSocket close codes the server uses (RFC 6455 §7.4; 4000–4999 are private use). */
export const SignalCloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  UnsupportedData: 1003,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  InternalError: 1011,
  TryAgainLater: 1013,
  JoinTimeout: 4000,
  Kicked: 4001,
  JoinRefused: 4003,
  ProtocolError: 4004,
  Replaced: 4005,
  /** The participant's media path died while "connected" (docs/sfu.md): rejoin with a new PeerConnection. */
  MediaStalled: 4006,
  /** The server moved the participant (after `rejoin`): join again through a fresh session. */
  Moved: 4007,
  Idle: 4008,
} as const
export type SignalCloseCode = (typeof SignalCloseCode)[keyof typeof SignalCloseCode]
