/**
 * MediaUp / MediaDown (mediaPort.ts) as one binary WebSocket message, for the browser host's pipe:
 * `[u32 big-endian header length][header: the message without data, JSON, UTF-8][data bytes]`. The
 * decoder copies the data into an ArrayBuffer of its own. No validation of the header's meaning here:
 * the host runs parseMediaUp on what it decodes, the page trusts its own host.
 */

const HEADER_LENGTH_BYTES = 4
/** A header is a few dozen bytes; anything larger is not ours. */
const MAX_HEADER_BYTES = 1024

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export function encodeMediaMessage(
  message: { data?: ArrayBuffer } & Record<string, unknown>,
): Uint8Array<ArrayBuffer> {
  const { data, ...header } = message
  const head = encoder.encode(JSON.stringify(header))
  const body = data === undefined ? new Uint8Array(0) : new Uint8Array(data)
  const out = new Uint8Array(HEADER_LENGTH_BYTES + head.byteLength + body.byteLength)
  new DataView(out.buffer).setUint32(0, head.byteLength)
  out.set(head, HEADER_LENGTH_BYTES)
  out.set(body, HEADER_LENGTH_BYTES + head.byteLength)
  return out
}

/** The message with `data` as a fresh ArrayBuffer (absent when empty), or null for bytes that are not one. */
export function decodeMediaMessage(bytes: Uint8Array): Record<string, unknown> | null {
  if (bytes.byteLength < HEADER_LENGTH_BYTES) return null
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0)
  if (length > MAX_HEADER_BYTES || HEADER_LENGTH_BYTES + length > bytes.byteLength) return null
  let header: unknown
  try {
    header = JSON.parse(decoder.decode(bytes.subarray(HEADER_LENGTH_BYTES, HEADER_LENGTH_BYTES + length)))
  } catch {
    return null // not JSON: not one of ours, the caller counts it
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return null
  const body = bytes.subarray(HEADER_LENGTH_BYTES + length)
  const message = { ...(header as Record<string, unknown>) }
  delete message['data']
  if (body.byteLength > 0) message['data'] = new Uint8Array(body).buffer
  return message
}
