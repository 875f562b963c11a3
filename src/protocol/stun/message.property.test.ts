import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MAGIC_COOKIE, StunClass, type AttrName } from './constants'
import { bytesToIp, ipToBytes, type TransportAddress } from './attributes/address'
import type { AttrValues } from './attributes/table'
import {
  decodeMessage,
  encodeMessage,
  verifyFingerprint,
  verifyIntegrity,
  type Attribute,
  type DecodeResult,
  type EncodeOptions,
  type StunMessage,
} from './message'

type Computed = 'MESSAGE_INTEGRITY' | 'MESSAGE_INTEGRITY_SHA256' | 'FINGERPRINT'
type PlainName = Exclude<AttrName, Computed>

const bytes = (maxLength: number, minLength = 0): fc.Arbitrary<Buffer> =>
  fc.uint8Array({ minLength, maxLength }).map((a) => Buffer.from(a))
const exactBytes = (length: number): fc.Arbitrary<Buffer> => bytes(length, length)
const text = fc.string({ unit: 'grapheme', maxLength: 40 })
const u8 = fc.integer({ min: 0, max: 0xff })
const u16 = fc.integer({ min: 0, max: 0xffff })
const u32 = fc.integer({ min: 0, max: 0xffffffff })
const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })

/** Addresses in the form the decoder produces (RFC 5952 for IPv6), so round trips compare equal. */
const address: fc.Arbitrary<TransportAddress> = fc.oneof(
  fc.tuple(exactBytes(4), u16).map(([ip, port]) => ({ family: 4 as const, address: bytesToIp(ip), port })),
  fc.tuple(exactBytes(16), u16).map(([ip, port]) => ({ family: 6 as const, address: bytesToIp(ip), port })),
)
const errorValue = fc.record({ code: fc.integer({ min: 300, max: 699 }), reason: text })
const passwordAlgorithm = fc.record({ algorithm: u16, parameters: bytes(12) })

/** Valid values for every attribute encodeMessage writes from `attributes` (the mapped type keeps it complete). */
const VALUES: { [K in PlainName]: fc.Arbitrary<AttrValues[K]> } = {
  MAPPED_ADDRESS: address,
  USERNAME: text,
  ERROR_CODE: errorValue,
  UNKNOWN_ATTRIBUTES: fc.array(u16, { maxLength: 8 }),
  CHANNEL_NUMBER: u16,
  LIFETIME: u32,
  XOR_PEER_ADDRESS: address,
  DATA: bytes(300),
  REALM: text,
  NONCE: text,
  XOR_RELAYED_ADDRESS: address,
  REQUESTED_ADDRESS_FAMILY: u8,
  EVEN_PORT: fc.record({ reserveNext: fc.boolean() }),
  REQUESTED_TRANSPORT: u8,
  DONT_FRAGMENT: fc.constant(true),
  PASSWORD_ALGORITHM: passwordAlgorithm,
  USERHASH: exactBytes(32),
  XOR_MAPPED_ADDRESS: address,
  RESERVATION_TOKEN: exactBytes(8),
  PRIORITY: u32,
  USE_CANDIDATE: fc.constant(true),
  ADDITIONAL_ADDRESS_FAMILY: u8,
  ADDRESS_ERROR_CODE: errorValue,
  PASSWORD_ALGORITHMS: fc.array(passwordAlgorithm, { maxLength: 4 }),
  ICMP: bytes(8),
  SOFTWARE: text,
  ALTERNATE_SERVER: address,
  ICE_CONTROLLED: u64,
  ICE_CONTROLLING: u64,
  RESPONSE_ORIGIN: address,
}

const attribute: fc.Arbitrary<Attribute> = fc.oneof(
  ...(Object.keys(VALUES) as PlainName[]).map((name) =>
    (VALUES[name] as fc.Arbitrary<unknown>).map((value) => ({ name, value }) as Attribute),
  ),
)

const stunMessage: fc.Arbitrary<StunMessage> = fc.record({
  cls: fc.constantFrom(...Object.values(StunClass)),
  method: fc.integer({ min: 0, max: 0xfff }),
  transactionId: exactBytes(12),
  attributes: fc.array(attribute, { maxLength: 12 }),
})

const options: fc.Arbitrary<EncodeOptions> = fc.record({
  integrityKey: fc.option(bytes(64, 1), { nil: undefined }),
  integrity: fc.constantFrom('sha1', 'sha256', 'both'),
  fingerprint: fc.boolean(),
})

const encoded = fc.tuple(stunMessage, options).map(([message, opts]) => ({
  message,
  opts,
  bytes: encodeMessage(message, opts),
}))

/** decodeMessage must answer, never throw; and a success must be safe to verify. */
function decodeSafely(data: Buffer, key: Buffer): DecodeResult {
  const result = decodeMessage(data)
  if (result.ok) {
    expect(typeof verifyIntegrity(result.message, key)).toBe('boolean')
    expect(typeof verifyFingerprint(result.message)).toBe('boolean')
  } else {
    expect(typeof result.reason).toBe('string')
    expect(result.reason.length).toBeGreaterThan(0)
  }
  return result
}

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'extend'; extra: Buffer }
  | { kind: 'length'; value: number }
  | { kind: 'attrLength'; at: number; value: number }

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: u8 }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), extra: bytes(40, 1) }),
  fc.record({ kind: fc.constant('length' as const), value: u16 }),
  fc.record({ kind: fc.constant('attrLength' as const), at: fc.nat(), value: u16 }),
)

function mutate(data: Buffer, m: Mutation): Buffer {
  const out = Buffer.from(data)
  switch (m.kind) {
    case 'flip':
      if (out.length > 0) out[m.at % out.length] = out[m.at % out.length]! ^ (1 << m.bit)
      return out
    case 'set':
      if (out.length > 0) out[m.at % out.length] = m.value
      return out
    case 'truncate':
      return out.subarray(0, m.at % (out.length + 1))
    case 'extend':
      return Buffer.concat([out, m.extra])
    case 'length':
      if (out.length >= 4) out.writeUInt16BE(m.value, 2)
      return out
    case 'attrLength': {
      // Attribute headers start on 4-byte boundaries after the header; rewrite one of those length fields.
      const slots = Math.floor((out.length - 20) / 4)
      if (slots > 0) out.writeUInt16BE(m.value, 20 + (m.at % slots) * 4 + 2)
      return out
    }
  }
}

const computedNames: ReadonlySet<string> = new Set<Computed>([
  'MESSAGE_INTEGRITY',
  'MESSAGE_INTEGRITY_SHA256',
  'FINGERPRINT',
])
const plain = (attrs: Attribute[]): Attribute[] => attrs.filter((a) => !computedNames.has(a.name))
const KEY = Buffer.from('property-test-key')

describe('decodeMessage on hostile input', () => {
  it('any bytes: never throws, answers ok or { ok: false, reason }', () => {
    fc.assert(
      fc.property(bytes(200), (data) => {
        decodeSafely(data, KEY)
      }),
      { numRuns: 5000 },
    )
  })

  it('a valid header over random attribute bytes: never throws', () => {
    fc.assert(
      fc.property(u16, exactBytes(12), fc.array(exactBytes(4), { maxLength: 60 }), (type, tid, words) => {
        const body = Buffer.concat(words)
        const header = Buffer.alloc(20)
        header.writeUInt16BE(type & 0x3fff, 0)
        header.writeUInt16BE(body.length, 2)
        header.writeUInt32BE(MAGIC_COOKIE, 4)
        tid.copy(header, 8)
        decodeSafely(Buffer.concat([header, body]), KEY)
      }),
      { numRuns: 5000 },
    )
  })

  it('valid messages under random mutations: never throws', () => {
    fc.assert(
      fc.property(
        encoded,
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        ({ bytes: data, opts }, mutations) => {
          const mutated = mutations.reduce(mutate, data)
          decodeSafely(mutated, opts.integrityKey ?? KEY)
        },
      ),
      { numRuns: 3000 },
    )
  })

  it('one flipped bit never leaves a message with a FINGERPRINT that checks (CRC-32 catches single-bit errors)', () => {
    fc.assert(
      fc.property(
        encoded.filter(({ opts }) => opts.fingerprint === true),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        ({ bytes: data }, at, bit) => {
          const result = decodeMessage(mutate(data, { kind: 'flip', at, bit }))
          // It can still decode when the flip re-shapes the attributes so that no FINGERPRINT is seen at all
          // (e.g. a longer length swallows it, or its type becomes an ignorable one).
          if (result.ok) expect(result.message.fingerprintOffset).toBeUndefined()
        },
      ),
      { numRuns: 2000 },
    )
  })

  it('one flipped bit in a message with MESSAGE-INTEGRITY never verifies, unless it strips a second MAC', () => {
    fc.assert(
      fc.property(
        encoded.filter(({ opts }) => opts.integrityKey !== undefined && !opts.fingerprint),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        ({ bytes: data, opts }, at, bit) => {
          const index = at % data.length
          const result = decodeMessage(mutate(data, { kind: 'flip', at: index, bit }))
          if (result.ok && verifyIntegrity(result.message, opts.integrityKey!)) {
            // The one way through (RFC 8489 §14.5: attributes after MESSAGE-INTEGRITY are ignored): with both
            // MACs, a flip in the MESSAGE-INTEGRITY-SHA256 header turns it into an ignored attribute, and the
            // untouched SHA-1 MAC still authenticates the untouched content before it.
            const sha256At = data.length - 36
            expect(opts.integrity).toBe('both')
            expect(index).toBeGreaterThanOrEqual(sha256At)
            expect(index).toBeLessThan(sha256At + 4)
            expect(result.message.integritySha256Offset).toBeUndefined()
          }
        },
      ),
      { numRuns: 2000 },
    )
  })
})

describe('valid messages', () => {
  it('round-trip: same class, method, transaction ID and attributes; integrity and fingerprint verify', () => {
    fc.assert(
      fc.property(encoded, ({ message, opts, bytes: data }) => {
        const result = decodeMessage(data)
        if (!result.ok) throw new Error(`valid message refused: ${result.reason}`)
        const decoded = result.message

        expect(decoded.cls).toBe(message.cls)
        expect(decoded.method).toBe(message.method)
        expect(decoded.transactionId).toEqual(message.transactionId)
        expect(plain(decoded.attributes)).toEqual(message.attributes)
        expect(decoded.unknownRequired).toEqual([])
        expect(data.length % 4).toBe(0)
        if (opts.integrityKey) expect(verifyIntegrity(decoded, opts.integrityKey)).toBe(true)
        expect(decoded.fingerprintOffset !== undefined).toBe(opts.fingerprint)
        if (opts.fingerprint) expect(verifyFingerprint(decoded)).toBe(true)
      }),
      { numRuns: 1000 },
    )
  })

  it('re-encoding a decoded message with the same options gives the same bytes', () => {
    fc.assert(
      fc.property(encoded, ({ opts, bytes: data }) => {
        const result = decodeMessage(data)
        if (!result.ok) throw new Error(`valid message refused: ${result.reason}`)

        expect(encodeMessage(result.message, opts).toString('hex')).toBe(data.toString('hex'))
      }),
      { numRuns: 500 },
    )
  })
})

describe('address text ⇄ bytes (used by every address attribute)', () => {
  // The WHATWG URL parser is an independent IPv6 parser/serialiser with RFC 5952-style output.
  const whatwg = (ip: string): string => new URL(`http://[${ip}]/`).hostname.slice(1, -1)

  it('parses any IPv6 spelling to the bytes the URL parser sees, and prints it the same way', () => {
    fc.assert(
      fc.property(fc.ipV6(), (ip) => {
        const parsed = ipToBytes(ip)
        expect(parsed).toBeDefined()
        expect(bytesToIp(parsed!)).toBe(whatwg(ip))
      }),
      { numRuns: 3000 },
    )
  })

  it('bytes → text → bytes is the identity for IPv4 and IPv6', () => {
    fc.assert(
      fc.property(fc.oneof(exactBytes(4), exactBytes(16)), (ip) => {
        expect(ipToBytes(bytesToIp(ip))).toEqual(ip)
      }),
      { numRuns: 3000 },
    )
  })
})
