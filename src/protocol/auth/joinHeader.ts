import { parseClientMessage, SIGNAL_VERSION, type JoinMessage } from '../../shared/signaling'

/**
 * The join sent with the WebSocket upgrade (docs/sfu.md "Join with the upgrade", issue 15): the `join`
 * message, base64url JSON, in the `Pinhole-Join` request header of `GET /v1/signal`. A server that takes it
 * answers the upgrade with `Pinhole-Join: accepted` and then `joined` and the first offer without waiting
 * for a client message; one that does not (an older server) answers without the header, and the client
 * sends its `join` as usual. The proxy's relay verifies the token before dialing anyone; the conference
 * server verifies it again, exactly as a `join` message.
 */

/** Lower case, as Node presents request and response headers. */
export const JOIN_HEADER = 'pinhole-join'
/** The response header's value when the join was taken. */
export const JOIN_ACCEPTED = 'accepted'
/** A 4096-character token and the other fields, base64url: well under Node's 16 KiB header limit. */
const MAX_JOIN_HEADER_CHARS = 8192

export function encodeJoinHeader(join: Omit<JoinMessage, 'v' | 'type'>): string {
  return Buffer.from(JSON.stringify({ v: SIGNAL_VERSION, type: 'join', ...join })).toString('base64url')
}

export type JoinHeader =
  { kind: 'none' } | { kind: 'invalid'; message: string } | { kind: 'join'; join: JoinMessage; text: string }

/** The join a request header carries, validated with the signaling schema (a `join` message, nothing else). */
export function decodeJoinHeader(value: string | string[] | undefined): JoinHeader {
  if (value === undefined) return { kind: 'none' }
  if (Array.isArray(value) || value.length > MAX_JOIN_HEADER_CHARS || !/^[A-Za-z0-9_-]+$/.test(value)) {
    return { kind: 'invalid', message: `${JOIN_HEADER}: one base64url value` }
  }
  const text = Buffer.from(value, 'base64url').toString('utf8')
  const parsed = parseClientMessage(text)
  if (!parsed.ok) return { kind: 'invalid', message: `${JOIN_HEADER}: ${parsed.message}` }
  if (parsed.message.type !== 'join') return { kind: 'invalid', message: `${JOIN_HEADER}: not a join` }
  return { kind: 'join', join: parsed.message, text }
}
