import type { AttrCodec } from './codec'

export interface ErrorValue {
  code: number
  reason: string
}

/** ERROR-CODE (RFC 8489 §14.8): class in the hundreds digit, number in the rest, then a UTF-8 reason. */
export const errorCodeCodec: AttrCodec<ErrorValue> = {
  decode: (value) => {
    if (value.length < 4 || value.length > 4 + 763) return undefined
    const cls = value[2]! & 0x07
    const number = value[3]!
    if (cls < 3 || cls > 6 || number > 99) return undefined
    return { code: cls * 100 + number, reason: value.subarray(4).toString('utf8') }
  },
  encode: ({ code, reason }) => {
    const text = Buffer.from(reason, 'utf8')
    const out = Buffer.alloc(4 + text.length)
    out[2] = Math.floor(code / 100)
    out[3] = code % 100
    text.copy(out, 4)
    return out
  },
}

/** UNKNOWN-ATTRIBUTES (RFC 8489 §14.9): a list of 16-bit attribute types. */
export const unknownAttributesCodec: AttrCodec<number[]> = {
  decode: (value) => {
    if (value.length % 2 !== 0) return undefined
    const types: number[] = []
    for (let i = 0; i < value.length; i += 2) types.push(value.readUInt16BE(i))
    return types
  },
  encode: (types) => {
    const out = Buffer.alloc(types.length * 2)
    types.forEach((t, i) => out.writeUInt16BE(t, i * 2))
    return out
  },
}
