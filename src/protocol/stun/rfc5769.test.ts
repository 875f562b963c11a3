import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { Method, StunClass } from './constants'
import {
  decodeMessage,
  encodeMessage,
  longTermKey,
  verifyFingerprint,
  verifyIntegrity,
  type Attribute,
  type DecodedMessage,
} from './message'

// RFC 5769 §2 test vectors, byte for byte from the RFC text (cross-checked against the copies embedded in
// pion/stun's rfc5769_test.go and several other independent implementations).
function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex')
}

/** §2.1–§2.3 use this short-term password; the key is its UTF-8 bytes (RFC 8489 §9.1.1). */
const SHORT_TERM_KEY = Buffer.from('VOkJxbRl1RmTxUk/WvJxBt', 'utf8')
const RFC_TID = hex('b7 e7 a7 01 bc 34 d6 86 fa 87 df ae')

/** §2.4: "マトリックス" (MATORIKKUSU); the RFC's password is "TheMatr\u00adIX", SASLprep'd to "TheMatrIX". */
const LONG_TERM_USERNAME = '\u30de\u30c8\u30ea\u30c3\u30af\u30b9'
const LONG_TERM_REALM = 'example.org'
const LONG_TERM_PASSWORD = 'TheMatrIX'
const LONG_TERM_KEY = longTermKey(LONG_TERM_USERNAME, LONG_TERM_REALM, LONG_TERM_PASSWORD)

const SAMPLE_REQUEST = hex(`
  00 01 00 58  21 12 a4 42  b7 e7 a7 01  bc 34 d6 86  fa 87 df ae
  80 22 00 10  53 54 55 4e  20 74 65 73  74 20 63 6c  69 65 6e 74
  00 24 00 04  6e 00 01 ff
  80 29 00 08  93 2f f9 b1  51 26 3b 36
  00 06 00 09  65 76 74 6a  3a 68 36 76  59 20 20 20
  00 08 00 14  9a ea a7 0c  bf d8 cb 56  78 1e f2 b5  b2 d3 f2 49  c1 b5 71 a2
  80 28 00 04  e5 7a 3b cf`)

const SAMPLE_IPV4_RESPONSE = hex(`
  01 01 00 3c  21 12 a4 42  b7 e7 a7 01  bc 34 d6 86  fa 87 df ae
  80 22 00 0b  74 65 73 74  20 76 65 63  74 6f 72 20
  00 20 00 08  00 01 a1 47  e1 12 a6 43
  00 08 00 14  2b 91 f5 99  fd 9e 90 c3  8c 74 89 f9  2a f9 ba 53  f0 6b e7 d7
  80 28 00 04  c0 7d 4c 96`)

const SAMPLE_IPV6_RESPONSE = hex(`
  01 01 00 48  21 12 a4 42  b7 e7 a7 01  bc 34 d6 86  fa 87 df ae
  80 22 00 0b  74 65 73 74  20 76 65 63  74 6f 72 20
  00 20 00 14  00 02 a1 47  01 13 a9 fa  a5 d3 f1 79  bc 25 f4 b5  be d2 b9 d9
  00 08 00 14  a3 82 95 4e  4b e6 7b f1  17 84 c9 7c  82 92 c2 75  bf e3 ed 41
  80 28 00 04  c8 fb 0b 4c`)

const SAMPLE_LONG_TERM_REQUEST = hex(`
  00 01 00 60  21 12 a4 42  78 ad 34 33  c6 ad 72 c0  29 da 41 2e
  00 06 00 12  e3 83 9e e3  83 88 e3 83  aa e3 83 83  e3 82 af e3  82 b9 00 00
  00 15 00 1c  66 2f 2f 34  39 39 6b 39  35 34 64 36  4f 4c 33 34  6f 4c 39 46  53 54 76 79  36 34 73 41
  00 14 00 0b  65 78 61 6d  70 6c 65 2e  6f 72 67 00
  00 08 00 14  f6 70 24 65  6d d6 4a 3e  02 b8 e0 71  2e 85 c9 a2  8c a8 96 66`)

interface Vector {
  section: string
  bytes: Buffer
  key: Buffer
  cls: StunClass
  transactionId: Buffer
  /** Every attribute in wire order, MESSAGE-INTEGRITY and FINGERPRINT included, as the RFC lists them. */
  attributes: Attribute[]
  fingerprint: boolean
}

const VECTORS: Vector[] = [
  {
    section: '2.1 sample request',
    bytes: SAMPLE_REQUEST,
    key: SHORT_TERM_KEY,
    cls: StunClass.Request,
    transactionId: RFC_TID,
    attributes: [
      { name: 'SOFTWARE', value: 'STUN test client' },
      { name: 'PRIORITY', value: 0x6e0001ff },
      { name: 'ICE_CONTROLLED', value: 0x932ff9b151263b36n },
      { name: 'USERNAME', value: 'evtj:h6vY' },
      { name: 'MESSAGE_INTEGRITY', value: hex('9a eaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2') },
      { name: 'FINGERPRINT', value: 0xe57a3bcf },
    ],
    fingerprint: true,
  },
  {
    section: '2.2 IPv4 response',
    bytes: SAMPLE_IPV4_RESPONSE,
    key: SHORT_TERM_KEY,
    cls: StunClass.SuccessResponse,
    transactionId: RFC_TID,
    attributes: [
      { name: 'SOFTWARE', value: 'test vector' },
      { name: 'XOR_MAPPED_ADDRESS', value: { family: 4, address: '192.0.2.1', port: 32853 } },
      { name: 'MESSAGE_INTEGRITY', value: hex('2b91f599 fd9e90c3 8c7489f9 2af9ba53 f06be7d7') },
      { name: 'FINGERPRINT', value: 0xc07d4c96 },
    ],
    fingerprint: true,
  },
  {
    section: '2.3 IPv6 response',
    bytes: SAMPLE_IPV6_RESPONSE,
    key: SHORT_TERM_KEY,
    cls: StunClass.SuccessResponse,
    transactionId: RFC_TID,
    attributes: [
      { name: 'SOFTWARE', value: 'test vector' },
      {
        name: 'XOR_MAPPED_ADDRESS',
        value: { family: 6, address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 },
      },
      { name: 'MESSAGE_INTEGRITY', value: hex('a382954e 4be67bf1 1784c97c 8292c275 bfe3ed41') },
      { name: 'FINGERPRINT', value: 0xc8fb0b4c },
    ],
    fingerprint: true,
  },
  {
    section: '2.4 request with long-term authentication',
    bytes: SAMPLE_LONG_TERM_REQUEST,
    key: LONG_TERM_KEY,
    cls: StunClass.Request,
    transactionId: hex('78 ad 34 33 c6 ad 72 c0 29 da 41 2e'),
    attributes: [
      { name: 'USERNAME', value: LONG_TERM_USERNAME },
      { name: 'NONCE', value: 'f//499k954d6OL34oL9FSTvy64sA' },
      { name: 'REALM', value: LONG_TERM_REALM },
      { name: 'MESSAGE_INTEGRITY', value: hex('f6702465 6dd64a3e 02b8e071 2e85c9a2 8ca89666') },
    ],
    fingerprint: false,
  },
]

function decoded(bytes: Buffer): DecodedMessage {
  const result = decodeMessage(bytes)
  if (!result.ok) throw new Error(`decode failed: ${result.reason}`)
  return result.message
}

/** Offsets of attribute padding bytes, found by walking the TLVs independently of the codec under test. */
function paddingOffsets(bytes: Buffer): number[] {
  const offsets: number[] = []
  let offset = 20
  while (offset < bytes.length) {
    const valueEnd = offset + 4 + bytes.readUInt16BE(offset + 2)
    const next = offset + 4 + Math.ceil(bytes.readUInt16BE(offset + 2) / 4) * 4
    for (let i = valueEnd; i < next; i++) offsets.push(i)
    offset = next
  }
  return offsets
}

function withZeroPadding(bytes: Buffer): Buffer {
  const copy = Buffer.from(bytes)
  for (const i of paddingOffsets(copy)) copy[i] = 0
  return copy
}

const withoutComputed = (attrs: Attribute[]): Attribute[] =>
  attrs.filter((a) => a.name !== 'MESSAGE_INTEGRITY' && a.name !== 'FINGERPRINT')

describe('RFC 5769 test vectors', () => {
  it.each(VECTORS)('$section decodes to the attributes the RFC lists', (vector) => {
    const message = decoded(vector.bytes)

    expect(message.method).toBe(Method.Binding)
    expect(message.cls).toBe(vector.cls)
    expect(message.transactionId).toEqual(vector.transactionId)
    expect(message.attributes).toEqual(vector.attributes)
    expect(message.unknownRequired).toEqual([])
  })

  it.each(VECTORS)('$section: MESSAGE-INTEGRITY verifies with the RFC key', (vector) => {
    expect(verifyIntegrity(decoded(vector.bytes), vector.key)).toBe(true)
  })

  it.each(VECTORS)('$section: MESSAGE-INTEGRITY fails with a different key', (vector) => {
    const wrong = Buffer.from(vector.key)
    wrong[0] = wrong[0]! ^ 0x01

    expect(verifyIntegrity(decoded(vector.bytes), wrong)).toBe(false)
  })

  it.each(VECTORS.filter((v) => v.fingerprint))('$section: FINGERPRINT verifies', (vector) => {
    expect(verifyFingerprint(decoded(vector.bytes))).toBe(true)
  })

  it.each(VECTORS)('$section: a flipped bit in the body breaks the integrity check', (vector) => {
    // Flip a bit in the first attribute value; for vectors with a FINGERPRINT the decoder rejects the
    // message outright, otherwise MESSAGE-INTEGRITY must catch it.
    const tampered = Buffer.from(vector.bytes)
    tampered[24] = tampered[24]! ^ 0x01
    const result = decodeMessage(tampered)

    if (vector.fingerprint) expect(result).toEqual({ ok: false, reason: 'bad FINGERPRINT' })
    else expect(result.ok && verifyIntegrity(result.message, vector.key)).toBe(false)
  })

  it('2.4: the key is MD5(username ":" realm ":" password) over the UTF-8 bytes', () => {
    const manual = Buffer.concat([
      Buffer.from('e3839ee38388e383aae38383e382afe382b9', 'hex'),
      Buffer.from(':example.org:TheMatrIX', 'ascii'),
    ])

    expect(LONG_TERM_KEY).toEqual(createHash('md5').update(manual).digest())
  })

  it('2.4: longTermKey does no SASLprep, so the unprepared password (with U+00AD) does not verify', () => {
    // Documents the contract: callers must pass the prepared password (RFC 8489 §9.2.2, OpaqueString).
    const unprepared = longTermKey(LONG_TERM_USERNAME, LONG_TERM_REALM, 'TheMatr\u00adIX')

    expect(verifyIntegrity(decoded(SAMPLE_LONG_TERM_REQUEST), unprepared)).toBe(false)
  })

  describe('re-encoding the decoded vectors', () => {
    const encodeLike = (vector: Vector): Buffer =>
      encodeMessage(
        { ...decoded(vector.bytes), attributes: withoutComputed(vector.attributes) },
        { integrityKey: vector.key, fingerprint: vector.fingerprint },
      )

    // Only §2.4 pads with zeros. §2.1 pads USERNAME and §2.2/§2.3 pad SOFTWARE with 0x20 (RFC 8489 §14
    // lets a sender put anything there), while our encoder writes zeros — so for those the padding differs
    // and so, necessarily, do the MESSAGE-INTEGRITY and FINGERPRINT values computed over it.
    const zeroPadded = VECTORS.filter((v) => paddingOffsets(v.bytes).every((i) => v.bytes[i] === 0))
    const spacePadded = VECTORS.filter((v) => !zeroPadded.includes(v))

    it('the vectors split as expected between zero and space padding', () => {
      expect(zeroPadded.map((v) => v.section)).toEqual(['2.4 request with long-term authentication'])
      expect(spacePadded.every((v) => paddingOffsets(v.bytes).some((i) => v.bytes[i] === 0x20))).toBe(true)
    })

    it.each(zeroPadded)('$section re-encodes byte for byte', (vector) => {
      expect(encodeLike(vector).toString('hex')).toBe(vector.bytes.toString('hex'))
    })

    it.each(spacePadded)(
      '$section re-encodes byte for byte up to MESSAGE-INTEGRITY, padding aside',
      (vector) => {
        const encoded = encodeLike(vector)
        const integrityValueAt = decoded(vector.bytes).integrityOffset! + 4

        expect(encoded.length).toBe(vector.bytes.length)
        expect(encoded.subarray(0, integrityValueAt).toString('hex')).toBe(
          withZeroPadding(vector.bytes).subarray(0, integrityValueAt).toString('hex'),
        )
      },
    )

    it.each(VECTORS)('$section re-encoded decodes to the same attributes and verifies', (vector) => {
      const message = decoded(encodeLike(vector))

      expect(message.cls).toBe(vector.cls)
      expect(message.transactionId).toEqual(vector.transactionId)
      expect(withoutComputed(message.attributes)).toEqual(withoutComputed(vector.attributes))
      expect(message.attributes.map((a) => a.name)).toEqual(vector.attributes.map((a) => a.name))
      expect(verifyIntegrity(message, vector.key)).toBe(true)
      expect(message.fingerprintOffset !== undefined && verifyFingerprint(message)).toBe(vector.fingerprint)
    })
  })
})
