import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { AttrType, Method, StunClass, decodeMessageType, encodeMessageType, type AttrName } from './constants'
import type { AttrValues } from './attributes/table'
import { CODECS } from './attributes/table'
import {
  decodeMessage,
  encodeMessage,
  getAllAttrs,
  getAttr,
  hasIntegrity,
  looksLikeStun,
  newTransactionId,
  verifyFingerprint,
  verifyIntegrity,
  type Attribute,
  type DecodedMessage,
  type StunMessage,
} from './message'

const TID = Buffer.from('0102030405060708090a0b0c', 'hex')
const KEY = Buffer.from('correct horse battery staple')

/** One sample value per attribute in the codec table; the mapped type makes a missing entry a compile error. */
const SAMPLES: { [K in AttrName]: AttrValues[K] } = {
  MAPPED_ADDRESS: { family: 4, address: '192.0.2.7', port: 3478 },
  USERNAME: 'alice:\u00e9t\u00e9',
  MESSAGE_INTEGRITY: Buffer.alloc(20, 0xaa),
  ERROR_CODE: { code: 438, reason: 'Stale Nonce' },
  UNKNOWN_ATTRIBUTES: [0x0003, 0x7f01, 0x0040],
  CHANNEL_NUMBER: 0x4001,
  LIFETIME: 600,
  XOR_PEER_ADDRESS: { family: 6, address: '2001:db8::42', port: 50000 },
  DATA: Buffer.from('hello, peer'),
  REALM: 'pinhole.example',
  NONCE: 'obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA',
  XOR_RELAYED_ADDRESS: { family: 4, address: '203.0.113.9', port: 49152 },
  REQUESTED_ADDRESS_FAMILY: 0x02,
  EVEN_PORT: { reserveNext: true },
  REQUESTED_TRANSPORT: 17,
  DONT_FRAGMENT: true,
  MESSAGE_INTEGRITY_SHA256: Buffer.alloc(32, 0xbb),
  PASSWORD_ALGORITHM: { algorithm: 2, parameters: Buffer.alloc(0) },
  USERHASH: Buffer.alloc(32, 0x5a),
  XOR_MAPPED_ADDRESS: { family: 4, address: '198.51.100.1', port: 32853 },
  RESERVATION_TOKEN: Buffer.from('0011223344556677', 'hex'),
  PRIORITY: 0x6e0001ff,
  USE_CANDIDATE: true,
  ADDITIONAL_ADDRESS_FAMILY: 0x02,
  ADDRESS_ERROR_CODE: { code: 440, reason: 'Address Family not Supported' },
  PASSWORD_ALGORITHMS: [
    { algorithm: 2, parameters: Buffer.alloc(0) },
    { algorithm: 1, parameters: Buffer.from([1, 2, 3]) },
  ],
  ICMP: Buffer.from('00000b00', 'hex'),
  SOFTWARE: 'pinhole test \u2603',
  ALTERNATE_SERVER: { family: 6, address: '2001:db8:1234:5678:11:2233:4455:6677', port: 443 },
  FINGERPRINT: 0x12345678,
  ICE_CONTROLLED: 0x932ff9b151263b36n,
  ICE_CONTROLLING: 0xffffffffffffffffn,
  RESPONSE_ORIGIN: { family: 4, address: '192.0.2.1', port: 3478 },
}

/** Computed by encodeMessage from options; any value given in `attributes` is skipped. */
const COMPUTED: ReadonlySet<AttrName> = new Set([
  'MESSAGE_INTEGRITY',
  'MESSAGE_INTEGRITY_SHA256',
  'FINGERPRINT',
])
const ALL_NAMES = Object.keys(CODECS) as AttrName[]
const PLAIN_NAMES = ALL_NAMES.filter((n) => !COMPUTED.has(n))

const attr = <K extends AttrName>(name: K, value: AttrValues[K]): Attribute => ({ name, value }) as Attribute

function message(
  attributes: Attribute[],
  cls: StunClass = StunClass.Request,
  method = Method.Allocate,
): StunMessage {
  return { cls, method, transactionId: TID, attributes }
}

function mustDecode(bytes: Buffer): DecodedMessage {
  const result = decodeMessage(bytes)
  if (!result.ok) throw new Error(`decode failed: ${result.reason}`)
  return result.message
}

const hex16 = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`
const hexCase = (n: number): [string, number] => [hex16(n), n]

/** A raw TLV, for attributes the encoder would not produce. */
function tlv(type: number, value: Buffer): Buffer {
  const out = Buffer.alloc(4 + Math.ceil(value.length / 4) * 4)
  out.writeUInt16BE(type, 0)
  out.writeUInt16BE(value.length, 2)
  value.copy(out, 4)
  return out
}

/** Splices raw TLVs into an encoded message at `at` (an offset in the body) and fixes the header length. */
function insertRaw(encoded: Buffer, at: number, ...tlvs: Buffer[]): Buffer {
  const out = Buffer.concat([encoded.subarray(0, 20 + at), ...tlvs, encoded.subarray(20 + at)])
  out.writeUInt16BE(out.length - 20, 2)
  return out
}

describe('attribute round trip through encodeMessage/decodeMessage', () => {
  it('the codec table and the sample table cover the same attributes', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual([...ALL_NAMES].sort())
    expect(ALL_NAMES.sort()).toEqual((Object.keys(AttrType) as AttrName[]).sort())
  })

  it.each(PLAIN_NAMES)('%s round-trips on its own', (name) => {
    const encoded = encodeMessage(message([attr(name, SAMPLES[name])]))
    const decoded = mustDecode(encoded)

    expect(decoded.attributes).toEqual([{ name, value: SAMPLES[name] }])
    expect(encoded.length % 4).toBe(0)
  })

  it.each(PLAIN_NAMES)('%s codec: decode(encode(v)) === v with an arbitrary transaction ID', (name) => {
    const codec = CODECS[name] as {
      encode(v: unknown, tid: Buffer): Buffer
      decode(b: Buffer, tid: Buffer): unknown
    }
    const tid = newTransactionId()

    expect(codec.decode(codec.encode(SAMPLES[name], tid), tid)).toEqual(SAMPLES[name])
  })

  it('every attribute together round-trips, in order, with integrity and fingerprint', () => {
    const attributes = PLAIN_NAMES.map((name) => attr(name, SAMPLES[name]))
    const encoded = encodeMessage(message(attributes), {
      integrityKey: KEY,
      integrity: 'both',
      fingerprint: true,
    })
    const decoded = mustDecode(encoded)

    expect(decoded.attributes.slice(0, attributes.length)).toEqual(attributes)
    expect(decoded.attributes.slice(attributes.length).map((a) => a.name)).toEqual([
      'MESSAGE_INTEGRITY',
      'MESSAGE_INTEGRITY_SHA256',
      'FINGERPRINT',
    ])
    expect(verifyIntegrity(decoded, KEY)).toBe(true)
    expect(verifyFingerprint(decoded)).toBe(true)
  })

  it.each([
    ['MAPPED_ADDRESS', { family: 6, address: '::1', port: 1 }],
    ['MAPPED_ADDRESS', { family: 4, address: '0.0.0.0', port: 0 }],
    ['XOR_PEER_ADDRESS', { family: 4, address: '255.255.255.255', port: 65535 }],
    ['XOR_PEER_ADDRESS', { family: 6, address: 'fe80::1:2:3:4', port: 9 }],
    ['XOR_RELAYED_ADDRESS', { family: 6, address: '::', port: 5 }],
    ['XOR_MAPPED_ADDRESS', { family: 6, address: '2001:db8:0:1:1:1:1:1', port: 80 }],
    ['ALTERNATE_SERVER', { family: 4, address: '10.0.0.1', port: 443 }],
    ['RESPONSE_ORIGIN', { family: 6, address: 'ff02::1', port: 3478 }],
  ] as const)('%s round-trips %o', (name, value) => {
    const decoded = mustDecode(encodeMessage(message([attr(name, value)])))

    expect(getAttr(decoded, name)).toEqual(value)
  })

  it.each([
    ['USERNAME', ''],
    ['USERNAME', 'a'],
    ['USERNAME', 'ab'],
    ['USERNAME', 'abc'],
    ['USERNAME', 'abcd'],
    ['DATA', Buffer.alloc(0)],
    ['DATA', Buffer.alloc(1, 7)],
    ['DATA', Buffer.alloc(1201, 7)],
    ['ERROR_CODE', { code: 300, reason: '' }],
    ['ERROR_CODE', { code: 699, reason: 'x' }],
    ['EVEN_PORT', { reserveNext: false }],
    ['LIFETIME', 0xffffffff],
    ['UNKNOWN_ATTRIBUTES', []],
    ['UNKNOWN_ATTRIBUTES', [0x0001]],
    ['PASSWORD_ALGORITHMS', []],
  ] as const)('%s round-trips edge value %o (padding to a multiple of 4)', (name, value) => {
    const attributes = [attr(name, value as AttrValues[typeof name]), attr('PRIORITY', 77)]
    const decoded = mustDecode(encodeMessage(message(attributes)))

    // PRIORITY after it checks that the padding was skipped correctly.
    expect(decoded.attributes).toEqual([
      { name, value },
      { name: 'PRIORITY', value: 77 },
    ])
  })

  it('repeated attributes are all kept, in order', () => {
    const peers = [
      { family: 4, address: '192.0.2.1', port: 1 },
      { family: 4, address: '192.0.2.2', port: 2 },
    ] as const
    const decoded = mustDecode(encodeMessage(message(peers.map((p) => attr('XOR_PEER_ADDRESS', p)))))

    expect(getAllAttrs(decoded, 'XOR_PEER_ADDRESS')).toEqual(peers)
    expect(getAttr(decoded, 'XOR_PEER_ADDRESS')).toEqual(peers[0])
  })
})

describe('message integrity', () => {
  it.each(['sha1', 'sha256', 'both'] as const)('%s integrity round-trips and verifies', (mode) => {
    const encoded = encodeMessage(message([attr('USERNAME', 'u'), attr('REALM', 'r')]), {
      integrityKey: KEY,
      integrity: mode,
    })
    const decoded = mustDecode(encoded)

    expect(hasIntegrity(decoded)).toBe(true)
    expect(decoded.integrityOffset !== undefined).toBe(mode !== 'sha256')
    expect(decoded.integritySha256Offset !== undefined).toBe(mode !== 'sha1')
    expect(verifyIntegrity(decoded, KEY)).toBe(true)
    expect(verifyIntegrity(decoded, Buffer.from('wrong key'))).toBe(false)
  })

  it('SHA-256 integrity is a full 32-byte HMAC-SHA256', () => {
    const decoded = mustDecode(encodeMessage(message([]), { integrityKey: KEY, integrity: 'sha256' }))

    expect(getAttr(decoded, 'MESSAGE_INTEGRITY_SHA256')).toHaveLength(32)
  })

  it('without integrity, verifyIntegrity is false and hasIntegrity is false', () => {
    const decoded = mustDecode(encodeMessage(message([attr('LIFETIME', 1)])))

    expect(hasIntegrity(decoded)).toBe(false)
    expect(verifyIntegrity(decoded, KEY)).toBe(false)
  })

  it.each(['sha1', 'sha256'] as const)(
    '%s: every single-bit change before and inside the MAC fails',
    (mode) => {
      const encoded = encodeMessage(message([attr('USERNAME', 'user'), attr('LIFETIME', 600)]), {
        integrityKey: KEY,
        integrity: mode,
      })
      // Byte 2-3 is the length; changing it makes the message undecodable, which is also a failure.
      for (let byte = 0; byte < encoded.length; byte++) {
        const tampered = Buffer.from(encoded)
        tampered[byte] = tampered[byte]! ^ 0x10
        const result = decodeMessage(tampered)

        expect(result.ok && verifyIntegrity(result.message, KEY), `byte ${byte}`).toBe(false)
      }
    },
  )

  it('a valid MESSAGE-INTEGRITY still verifies when a FINGERPRINT follows it', () => {
    const decoded = mustDecode(
      encodeMessage(message([attr('USERNAME', 'u')]), { integrityKey: KEY, fingerprint: true }),
    )

    expect(verifyIntegrity(decoded, KEY)).toBe(true)
    expect(verifyFingerprint(decoded)).toBe(true)
  })

  it('a truncated (16-byte) MESSAGE-INTEGRITY-SHA256 is verified over its length', () => {
    // RFC 8489 §14.6 allows truncation to 16 bytes; build one by hand.
    const base = encodeMessage(message([attr('USERNAME', 'u')]))
    const withLength = Buffer.from(base)
    withLength.writeUInt16BE(base.length - 20 + 4 + 16, 2)
    const mac = createHmac('sha256', KEY).update(withLength).digest().subarray(0, 16)
    const full = Buffer.concat([withLength, tlv(AttrType.MESSAGE_INTEGRITY_SHA256, mac)])

    expect(verifyIntegrity(mustDecode(full), KEY)).toBe(true)
  })
})

describe('fingerprint', () => {
  it('a wrong FINGERPRINT makes decoding fail', () => {
    const encoded = encodeMessage(message([attr('SOFTWARE', 'x')]), { fingerprint: true })
    encoded[encoded.length - 1] = encoded[encoded.length - 1]! ^ 0xff

    expect(decodeMessage(encoded)).toEqual({ ok: false, reason: 'bad FINGERPRINT' })
  })

  it('a body change with a stale FINGERPRINT makes decoding fail', () => {
    const encoded = encodeMessage(message([attr('LIFETIME', 600)]), { fingerprint: true })
    encoded[27] = encoded[27]! ^ 0x01

    expect(decodeMessage(encoded)).toEqual({ ok: false, reason: 'bad FINGERPRINT' })
  })

  it('any attribute after FINGERPRINT makes decoding fail', () => {
    const encoded = encodeMessage(message([attr('LIFETIME', 600)]), { fingerprint: true })
    const out = insertRaw(encoded, encoded.length - 20, tlv(AttrType.SOFTWARE, Buffer.from('late')))

    expect(decodeMessage(out)).toEqual({ ok: false, reason: 'attribute after FINGERPRINT' })
  })

  it('verifyFingerprint is false when there is no FINGERPRINT', () => {
    expect(verifyFingerprint(mustDecode(encodeMessage(message([]))))).toBe(false)
  })
})

describe('unknown and misplaced attributes (RFC 8489 §14, §14.5)', () => {
  it.each([0x0000, 0x0002, 0x0003, 0x0004, 0x0005, 0x0007, 0x000b, 0x002f, 0x7fff].map(hexCase))(
    'unknown comprehension-required %s is listed in unknownRequired',
    (_label, type) => {
      const encoded = insertRaw(
        encodeMessage(message([attr('LIFETIME', 1)])),
        0,
        tlv(type, Buffer.alloc(3, 1)),
      )
      const decoded = mustDecode(encoded)

      expect(decoded.unknownRequired).toEqual([type])
      expect(decoded.attributes).toEqual([{ name: 'LIFETIME', value: 1 }])
    },
  )

  it.each([0x8003, 0x8005, 0x802c, 0xc001, 0xffff].map(hexCase))(
    'unknown comprehension-optional %s is ignored',
    (_label, type) => {
      const encoded = insertRaw(
        encodeMessage(message([attr('LIFETIME', 1)])),
        0,
        tlv(type, Buffer.alloc(5, 1)),
      )
      const decoded = mustDecode(encoded)

      expect(decoded.unknownRequired).toEqual([])
      expect(decoded.attributes).toEqual([{ name: 'LIFETIME', value: 1 }])
    },
  )

  it('several unknown comprehension-required attributes are all listed, in order', () => {
    const encoded = insertRaw(
      encodeMessage(message([])),
      0,
      tlv(0x0031, Buffer.alloc(0)),
      tlv(0x8031, Buffer.alloc(0)),
      tlv(0x0032, Buffer.alloc(8)),
    )

    expect(mustDecode(encoded).unknownRequired).toEqual([0x0031, 0x0032])
  })

  it('attributes after MESSAGE-INTEGRITY other than MI-SHA256 and FINGERPRINT are ignored', () => {
    const encoded = encodeMessage(message([attr('USERNAME', 'u')]), { integrityKey: KEY })
    const out = insertRaw(
      encoded,
      encoded.length - 20,
      tlv(AttrType.LIFETIME, Buffer.from('00000001', 'hex')),
      tlv(0x0033, Buffer.alloc(2)), // unknown comprehension-required: ignored too, no 420
      tlv(AttrType.MESSAGE_INTEGRITY, Buffer.alloc(20)), // a second MI: ignored
    )
    const decoded = mustDecode(out)

    expect(decoded.attributes.map((a) => a.name)).toEqual(['USERNAME', 'MESSAGE_INTEGRITY'])
    expect(decoded.unknownRequired).toEqual([])
    // The HMAC is checked with the header length rewritten to end at MESSAGE-INTEGRITY (RFC 8489 §14.5).
    expect(verifyIntegrity(decoded, KEY)).toBe(true)
  })

  it('MESSAGE-INTEGRITY-SHA256 and FINGERPRINT after MESSAGE-INTEGRITY are honoured', () => {
    const decoded = mustDecode(
      encodeMessage(message([attr('USERNAME', 'u')]), {
        integrityKey: KEY,
        integrity: 'both',
        fingerprint: true,
      }),
    )

    expect(decoded.integrityOffset).toBeDefined()
    expect(decoded.integritySha256Offset).toBeDefined()
    expect(decoded.fingerprintOffset).toBeDefined()
  })

  it('a malformed known attribute fails the decode with its name, and keeps what a 400 needs', () => {
    const encoded = insertRaw(encodeMessage(message([])), 0, tlv(AttrType.LIFETIME, Buffer.alloc(3)))

    expect(decodeMessage(encoded)).toEqual({
      ok: false,
      reason: 'malformed LIFETIME',
      badValue: {
        cls: StunClass.Request,
        method: Method.Allocate,
        transactionId: TID,
        attribute: 'LIFETIME',
      },
    })
  })

  it('a bad value in a message whose FINGERPRINT fails is not answerable', () => {
    const withBadValue = insertRaw(encodeMessage(message([])), 0, tlv(AttrType.LIFETIME, Buffer.alloc(3)))
    const withFingerprint = encodeMessage(message([]), { fingerprint: true })
    const spoiled = Buffer.concat([withBadValue, withFingerprint.subarray(withFingerprint.length - 8)])
    spoiled.writeUInt16BE(spoiled.length - 20, 2)

    expect(decodeMessage(spoiled)).toEqual({ ok: false, reason: 'bad FINGERPRINT' })
  })
})

describe('header checks', () => {
  const valid = encodeMessage(message([attr('LIFETIME', 600)]))

  it.each([
    ['short header', valid.subarray(0, 19)],
    ['not stun', Buffer.concat([Buffer.from([0x40]), valid.subarray(1)])],
    [
      'bad magic cookie',
      Buffer.concat([valid.subarray(0, 4), Buffer.from('2112a443', 'hex'), valid.subarray(8)]),
    ],
    ['length mismatch', valid.subarray(0, valid.length - 4)],
    ['length mismatch', Buffer.concat([valid, Buffer.alloc(4)])],
  ])('%s', (reason, bytes) => {
    expect(decodeMessage(bytes)).toEqual({ ok: false, reason })
  })

  it('a length that is not a multiple of 4 is refused', () => {
    const bytes = Buffer.concat([valid, Buffer.alloc(2)])
    bytes.writeUInt16BE(bytes.length - 20, 2)

    expect(decodeMessage(bytes)).toEqual({ ok: false, reason: 'length not a multiple of 4' })
  })

  it('an attribute running past the end is refused', () => {
    const bytes = Buffer.from(valid)
    bytes.writeUInt16BE(64, 22)

    expect(decodeMessage(bytes)).toEqual({ ok: false, reason: 'truncated attribute' })
  })

  it('looksLikeStun needs 20 bytes, 00 first bits and the magic cookie', () => {
    expect(looksLikeStun(valid)).toBe(true)
    expect(looksLikeStun(valid.subarray(0, 19))).toBe(false)
    expect(looksLikeStun(Buffer.from([0x40, 0, 0, 0, 0x21, 0x12, 0xa4, 0x42, ...Buffer.alloc(12)]))).toBe(
      false,
    )
  })

  it('the header carries the transaction ID and a body length excluding the header', () => {
    expect(valid.readUInt16BE(2)).toBe(valid.length - 20)
    expect(valid.subarray(8, 20)).toEqual(TID)
    expect(mustDecode(valid).transactionId).toEqual(TID)
  })
})

describe('message type encoding (RFC 8489 §5, figure 3)', () => {
  // Literal values from RFC 8489 / RFC 8656 (e.g. Binding request 0x0001, success 0x0101, error 0x0111).
  const CLASS_BITS: Record<keyof typeof StunClass, number> = {
    Request: 0x0000,
    Indication: 0x0010,
    SuccessResponse: 0x0100,
    ErrorResponse: 0x0110,
  }
  const cases = (Object.keys(Method) as (keyof typeof Method)[]).flatMap((m) =>
    (Object.keys(StunClass) as (keyof typeof StunClass)[]).map(
      (c) =>
        [m, c, hex16(Method[m] | CLASS_BITS[c])] as [keyof typeof Method, keyof typeof StunClass, string],
    ),
  )

  it.each([
    ['Binding', 'Request', '0x0001'],
    ['Binding', 'SuccessResponse', '0x0101'],
    ['Binding', 'ErrorResponse', '0x0111'],
    ['Binding', 'Indication', '0x0011'],
    ['Allocate', 'Request', '0x0003'],
    ['Allocate', 'SuccessResponse', '0x0103'],
    ['Allocate', 'ErrorResponse', '0x0113'],
    ['Refresh', 'Request', '0x0004'],
    ['Send', 'Indication', '0x0016'],
    ['Data', 'Indication', '0x0017'],
    ['CreatePermission', 'Request', '0x0008'],
    ['CreatePermission', 'SuccessResponse', '0x0108'],
    ['ChannelBind', 'Request', '0x0009'],
    ['ChannelBind', 'SuccessResponse', '0x0109'],
    ['ChannelBind', 'ErrorResponse', '0x0119'],
  ] as const)('%s %s is %s', (method, cls, type) => {
    expect(encodeMessageType(Method[method], StunClass[cls])).toBe(Number(type))
  })

  it.each(cases)('%s %s → %s on the wire and back', (method, cls, label) => {
    const type = Number(label)
    const encoded = encodeMessage({
      method: Method[method],
      cls: StunClass[cls],
      transactionId: TID,
      attributes: [],
    })
    const decoded = mustDecode(encoded)

    expect(encoded.readUInt16BE(0)).toBe(type)
    expect(decoded.method).toBe(Method[method])
    expect(decoded.cls).toBe(StunClass[cls])
  })

  it.each([
    ['0xfff', StunClass.Request, '0x3eef'],
    ['0xfff', StunClass.ErrorResponse, '0x3fff'],
    ['0x080', StunClass.Request, '0x0200'],
    ['0x010', StunClass.Request, '0x0020'],
    ['0x070', StunClass.Indication, '0x00f0'],
  ] as const)('method %s class %s interleaves to %s', (method, cls, type) => {
    expect(encodeMessageType(Number(method), cls)).toBe(Number(type))
  })

  it('every 12-bit method × class round-trips through the type field and keeps the top two bits 00', () => {
    const wrong: string[] = []
    const seen = new Set<number>()
    for (let method = 0; method < 0x1000; method++) {
      for (const cls of Object.values(StunClass)) {
        const type = encodeMessageType(method, cls)
        const back = decodeMessageType(type)
        if (type & 0xc000 || back.method !== method || back.cls !== cls) wrong.push(`${method}/${cls}`)
        seen.add(type)
      }
    }

    expect(wrong).toEqual([])
    expect(seen.size).toBe(0x4000) // a bijection onto every 14-bit type
  })
})
