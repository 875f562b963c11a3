import type { AttrCodec } from './codec'

export interface PasswordAlgorithmValue {
  algorithm: number
  parameters: Buffer
}

function readOne(value: Buffer, offset: number): { item: PasswordAlgorithmValue; next: number } | undefined {
  if (offset + 4 > value.length) return undefined
  const algorithm = value.readUInt16BE(offset)
  const length = value.readUInt16BE(offset + 2)
  const end = offset + 4 + length
  if (end > value.length) return undefined
  return {
    item: { algorithm, parameters: value.subarray(offset + 4, end) },
    next: end + ((4 - (length % 4)) % 4),
  }
}

function writeOne(v: PasswordAlgorithmValue): Buffer {
  const padded = Math.ceil(v.parameters.length / 4) * 4
  const out = Buffer.alloc(4 + padded)
  out.writeUInt16BE(v.algorithm, 0)
  out.writeUInt16BE(v.parameters.length, 2)
  v.parameters.copy(out, 4)
  return out
}

/** PASSWORD-ALGORITHM (RFC 8489 §14.12). */
export const passwordAlgorithmCodec: AttrCodec<PasswordAlgorithmValue> = {
  decode: (value) => {
    const one = readOne(value, 0)
    return one && one.next >= value.length ? one.item : undefined
  },
  encode: writeOne,
}

/** PASSWORD-ALGORITHMS (RFC 8489 §14.11): a list of the above. */
export const passwordAlgorithmsCodec: AttrCodec<PasswordAlgorithmValue[]> = {
  decode: (value) => {
    const items: PasswordAlgorithmValue[] = []
    let offset = 0
    while (offset < value.length) {
      const one = readOne(value, offset)
      if (!one) return undefined
      items.push(one.item)
      offset = one.next
    }
    return items
  },
  encode: (items) => Buffer.concat(items.map(writeOne)),
}
