import type { AttrCodec } from './codec'

/** UTF-8 text with an upper bound in bytes (RFC 8489 gives one for USERNAME, REALM, NONCE, SOFTWARE). */
export function textCodec(maxBytes: number): AttrCodec<string> {
  return {
    decode: (value) => (value.length > maxBytes ? undefined : value.toString('utf8')),
    encode: (text) => Buffer.from(text, 'utf8'),
  }
}

export const bytesCodec: AttrCodec<Buffer> = {
  decode: (value) => value,
  encode: (bytes) => bytes,
}

export function fixedBytesCodec(length: number): AttrCodec<Buffer> {
  return {
    decode: (value) => (value.length === length ? value : undefined),
    encode: (bytes) => bytes,
  }
}

export const uint32Codec: AttrCodec<number> = {
  decode: (value) => (value.length === 4 ? value.readUInt32BE(0) : undefined),
  encode: (n) => {
    const out = Buffer.alloc(4)
    out.writeUInt32BE(n >>> 0, 0)
    return out
  },
}

export const uint64Codec: AttrCodec<bigint> = {
  decode: (value) => (value.length === 8 ? value.readBigUInt64BE(0) : undefined),
  encode: (n) => {
    const out = Buffer.alloc(8)
    out.writeBigUInt64BE(n, 0)
    return out
  },
}

/** Flag attributes with no value (DONT-FRAGMENT, USE-CANDIDATE). */
export const emptyCodec: AttrCodec<true> = {
  decode: (value) => (value.length === 0 ? true : undefined),
  encode: () => Buffer.alloc(0),
}

/** A 16-bit number followed by 16 reserved bits (CHANNEL-NUMBER, RFC 8656 §14.1). */
export const uint16HighCodec: AttrCodec<number> = {
  decode: (value) => (value.length === 4 ? value.readUInt16BE(0) : undefined),
  encode: (n) => {
    const out = Buffer.alloc(4)
    out.writeUInt16BE(n, 0)
    return out
  },
}

/** An 8-bit number followed by 24 reserved bits (REQUESTED-TRANSPORT, REQUESTED-ADDRESS-FAMILY). */
export const uint8HighCodec: AttrCodec<number> = {
  decode: (value) => (value.length === 4 ? value[0] : undefined),
  encode: (n) => {
    const out = Buffer.alloc(4)
    out[0] = n
    return out
  },
}

/** EVEN-PORT (RFC 8656 §14.6): one byte whose top bit is R. */
export const evenPortCodec: AttrCodec<{ reserveNext: boolean }> = {
  decode: (value) => (value.length >= 1 ? { reserveNext: (value[0]! & 0x80) !== 0 } : undefined),
  encode: (v) => Buffer.from([v.reserveNext ? 0x80 : 0]),
}
