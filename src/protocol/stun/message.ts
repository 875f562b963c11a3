import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { crc32 } from 'node:zlib'
import {
  AttrType,
  FINGERPRINT_XOR,
  HEADER_LENGTH,
  MAGIC_COOKIE,
  decodeMessageType,
  encodeMessageType,
  isComprehensionRequired,
  type AttrName,
  type StunClass,
} from './constants'
import { CODECS, attrNameOf, type AttrValues } from './attributes/table'

export type Attribute = { [K in AttrName]: { name: K; value: AttrValues[K] } }[AttrName]

/** A STUN message as built for encoding. */
export interface StunMessage {
  cls: StunClass
  method: number
  transactionId: Buffer
  attributes: Attribute[]
}

/** A decoded message keeps its bytes, so integrity and fingerprint can be checked over them. */
export interface DecodedMessage extends StunMessage {
  raw: Buffer
  /** Offsets (in raw) of MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and FINGERPRINT, when present. */
  integrityOffset?: number
  integritySha256Offset?: number
  fingerprintOffset?: number
  /** Comprehension-required attribute types we do not understand (→ 420, RFC 8489 §6.3.1). */
  unknownRequired: number[]
}

/**
 * A message whose framing, magic cookie and FINGERPRINT (when present) were sound but whose attribute
 * value was not (a truncated address, an unknown address family, a 2-byte CHANNEL-NUMBER): enough to
 * answer a request with 400 (RFC 8489 §6.3.1) instead of leaving the client to time out.
 */
export interface BadValue {
  cls: StunClass
  method: number
  transactionId: Buffer
  attribute: AttrName
}

export type DecodeResult =
  { ok: true; message: DecodedMessage } | { ok: false; reason: string; badValue?: BadValue }

/** First two bits 00 and the magic cookie: a cheap test used by demultiplexers (RFC 8489 §6). */
export function looksLikeStun(data: Buffer): boolean {
  return data.length >= HEADER_LENGTH && (data[0]! & 0xc0) === 0 && data.readUInt32BE(4) === MAGIC_COOKIE
}

export function decodeMessage(data: Buffer): DecodeResult {
  if (data.length < HEADER_LENGTH) return { ok: false, reason: 'short header' }
  if ((data[0]! & 0xc0) !== 0) return { ok: false, reason: 'not stun' }
  if (data.readUInt32BE(4) !== MAGIC_COOKIE) return { ok: false, reason: 'bad magic cookie' }
  const length = data.readUInt16BE(2)
  if (length % 4 !== 0) return { ok: false, reason: 'length not a multiple of 4' }
  if (HEADER_LENGTH + length !== data.length) return { ok: false, reason: 'length mismatch' }
  const { method, cls } = decodeMessageType(data.readUInt16BE(0))
  const transactionId = data.subarray(8, 20)
  const message: DecodedMessage = {
    cls,
    method,
    transactionId,
    attributes: [],
    raw: data,
    unknownRequired: [],
  }

  let badValue: AttrName | undefined
  let offset = HEADER_LENGTH
  while (offset < data.length) {
    if (offset + 4 > data.length) return { ok: false, reason: 'truncated attribute header' }
    const type = data.readUInt16BE(offset)
    const attrLength = data.readUInt16BE(offset + 2)
    const valueStart = offset + 4
    const valueEnd = valueStart + attrLength
    if (valueEnd > data.length) return { ok: false, reason: 'truncated attribute' }
    const next = valueStart + Math.ceil(attrLength / 4) * 4

    // RFC 8489 §14.5/§14.7: after MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT count;
    // nothing at all may follow FINGERPRINT.
    if (message.fingerprintOffset !== undefined) return { ok: false, reason: 'attribute after FINGERPRINT' }
    const afterIntegrity =
      message.integrityOffset !== undefined || message.integritySha256Offset !== undefined
    const name = attrNameOf(type)
    if (afterIntegrity && type !== AttrType.FINGERPRINT && type !== AttrType.MESSAGE_INTEGRITY_SHA256) {
      offset = next
      continue
    }
    if (name === undefined) {
      if (isComprehensionRequired(type)) message.unknownRequired.push(type)
      offset = next
      continue
    }
    const value = CODECS[name].decode(data.subarray(valueStart, valueEnd), transactionId)
    if (value === undefined) {
      // Read on: a bad value is only answerable when the rest of the message is sound.
      badValue ??= name
      offset = next
      continue
    }
    if (name === 'MESSAGE_INTEGRITY') message.integrityOffset = offset
    else if (name === 'MESSAGE_INTEGRITY_SHA256') message.integritySha256Offset = offset
    else if (name === 'FINGERPRINT') message.fingerprintOffset = offset
    message.attributes.push({ name, value } as Attribute)
    offset = next
  }
  if (offset !== data.length) return { ok: false, reason: 'padding overruns message' }
  if (message.fingerprintOffset !== undefined && !verifyFingerprint(message)) {
    return { ok: false, reason: 'bad FINGERPRINT' }
  }
  if (badValue !== undefined) {
    return {
      ok: false,
      reason: `malformed ${badValue}`,
      badValue: { cls, method, transactionId, attribute: badValue },
    }
  }
  return { ok: true, message }
}

export function getAttr<K extends AttrName>(message: StunMessage, name: K): AttrValues[K] | undefined {
  for (const attr of message.attributes) if (attr.name === name) return attr.value as AttrValues[K]
  return undefined
}

export function getAllAttrs<K extends AttrName>(message: StunMessage, name: K): AttrValues[K][] {
  return message.attributes.filter((a) => a.name === name).map((a) => a.value as AttrValues[K])
}

export function newTransactionId(): Buffer {
  return randomBytes(12)
}

export interface EncodeOptions {
  /** Long-term or short-term key: adds MESSAGE-INTEGRITY (SHA-1) and/or -SHA256 (RFC 8489 §14.5–14.6). */
  integrityKey?: Buffer
  integrity?: 'sha1' | 'sha256' | 'both'
  fingerprint?: boolean
}

function encodeAttribute(type: number, value: Buffer): Buffer {
  const out = Buffer.alloc(4 + Math.ceil(value.length / 4) * 4)
  out.writeUInt16BE(type, 0)
  out.writeUInt16BE(value.length, 2)
  value.copy(out, 4)
  return out
}

function header(message: StunMessage, bodyLength: number): Buffer {
  const out = Buffer.alloc(HEADER_LENGTH)
  out.writeUInt16BE(encodeMessageType(message.method, message.cls), 0)
  out.writeUInt16BE(bodyLength, 2)
  out.writeUInt32BE(MAGIC_COOKIE, 4)
  message.transactionId.copy(out, 8)
  return out
}

export function encodeMessage(message: StunMessage, options: EncodeOptions = {}): Buffer {
  const parts: Buffer[] = []
  for (const attr of message.attributes) {
    if (
      attr.name === 'MESSAGE_INTEGRITY' ||
      attr.name === 'MESSAGE_INTEGRITY_SHA256' ||
      attr.name === 'FINGERPRINT'
    ) {
      continue // computed below
    }
    const codec = CODECS[attr.name] as { encode(v: unknown, tid: Buffer): Buffer }
    parts.push(encodeAttribute(AttrType[attr.name], codec.encode(attr.value, message.transactionId)))
  }
  let body = Buffer.concat(parts)
  const key = options.integrityKey
  const mode = options.integrity ?? 'sha1'
  if (key && (mode === 'sha1' || mode === 'both')) {
    const mac = createHmac('sha1', key)
      .update(header(message, body.length + 24))
      .update(body)
      .digest()
    body = Buffer.concat([body, encodeAttribute(AttrType.MESSAGE_INTEGRITY, mac)])
  }
  if (key && (mode === 'sha256' || mode === 'both')) {
    const mac = createHmac('sha256', key)
      .update(header(message, body.length + 36))
      .update(body)
      .digest()
    body = Buffer.concat([body, encodeAttribute(AttrType.MESSAGE_INTEGRITY_SHA256, mac)])
  }
  if (options.fingerprint) {
    const head = header(message, body.length + 8)
    const crc = (crc32(body, crc32(head)) ^ FINGERPRINT_XOR) >>> 0
    const fp = Buffer.alloc(4)
    fp.writeUInt32BE(crc, 0)
    body = Buffer.concat([body, encodeAttribute(AttrType.FINGERPRINT, fp)])
  }
  return Buffer.concat([header(message, body.length), body])
}

/** The bytes before `offset`, with the header length rewritten to end `extra` bytes after it. */
function prefixWithLength(raw: Buffer, offset: number, extra: number): Buffer {
  const prefix = Buffer.from(raw.subarray(0, offset))
  prefix.writeUInt16BE(offset - HEADER_LENGTH + extra, 2)
  return prefix
}

export function verifyFingerprint(message: DecodedMessage): boolean {
  const offset = message.fingerprintOffset
  if (offset === undefined) return false
  const expected = (crc32(prefixWithLength(message.raw, offset, 8)) ^ FINGERPRINT_XOR) >>> 0
  return message.raw.readUInt32BE(offset + 4) === expected
}

/** Checks MESSAGE-INTEGRITY-SHA256 when present (preferred), otherwise MESSAGE-INTEGRITY. */
export function verifyIntegrity(message: DecodedMessage, key: Buffer): boolean {
  const sha256At = message.integritySha256Offset
  if (sha256At !== undefined) {
    const length = message.raw.readUInt16BE(sha256At + 2)
    const mac = createHmac('sha256', key)
      .update(prefixWithLength(message.raw, sha256At, 4 + length))
      .digest()
      .subarray(0, length)
    return timingSafeEqual(mac, message.raw.subarray(sha256At + 4, sha256At + 4 + length))
  }
  const at = message.integrityOffset
  if (at === undefined) return false
  const mac = createHmac('sha1', key)
    .update(prefixWithLength(message.raw, at, 24))
    .digest()
  return timingSafeEqual(mac, message.raw.subarray(at + 4, at + 24))
}

/** RFC 8489 §9.2.2: key = MD5(username ":" realm ":" password), or SHA-256 with PASSWORD-ALGORITHM 2. */
export function longTermKey(
  username: string,
  realm: string,
  password: string,
  algorithm: 'md5' | 'sha256' = 'md5',
): Buffer {
  return createHash(algorithm).update(`${username}:${realm}:${password}`, 'utf8').digest()
}

export function hasIntegrity(message: DecodedMessage): boolean {
  return message.integrityOffset !== undefined || message.integritySha256Offset !== undefined
}
