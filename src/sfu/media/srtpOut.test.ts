import { randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { describe, expect, it } from 'vitest'
import {
  ProtectionProfileAeadAes128Gcm,
  ProtectionProfileAes128CmHmacSha1_80,
  RtpHeader,
  SrtpSession,
} from 'werift'
import {
  BUILD_COMMAND,
  loadMediaAddon,
  mediaRuntimeRefusal,
  udpSocketFd,
  type MediaAddonLoad,
} from '../../platform/nativeAddon'
import { rtpHeaderLength, SrtpGcmOut, writeRtpHeader, type RtpFields } from './srtpOut'

/** Two werift SRTP sessions with the same keys: one to protect as werift does, one to compare with. */
function sessions(profile: number): [SrtpSession, SrtpSession] {
  const salt = profile === ProtectionProfileAeadAes128Gcm ? 12 : 14
  const keys = {
    localMasterKey: randomBytes(16),
    localMasterSalt: randomBytes(salt),
    remoteMasterKey: randomBytes(16),
    remoteMasterSalt: randomBytes(salt),
  }
  return [new SrtpSession({ keys, profile }), new SrtpSession({ keys, profile })]
}

function weriftHeader(fields: RtpFields): RtpHeader {
  const extensions = fields.twcc
    ? [{ id: fields.twcc.id, payload: Buffer.from([fields.twcc.sequence >> 8, fields.twcc.sequence & 0xff]) }]
    : []
  const { marker, payloadType, sequenceNumber, timestamp, ssrc } = fields
  return new RtpHeader({ marker, payloadType, sequenceNumber, timestamp, ssrc, extensions })
}

const FIELDS: RtpFields = {
  marker: true,
  payloadType: 96,
  sequenceNumber: 0xfffe,
  timestamp: 0xfffffff0,
  ssrc: 0xdeadbeef,
  twcc: { id: 2, sequence: 0x1234 },
}

describe('writeRtpHeader', () => {
  it.each([
    ['with the transport-wide sequence', FIELDS],
    ['without extensions', { ...FIELDS, marker: false, twcc: undefined }],
  ])('writes the bytes werift serialises for the same header (%s)', (_, fields) => {
    const out = Buffer.alloc(rtpHeaderLength(fields))
    expect(writeRtpHeader(out, fields)).toBe(out.length)
    const header = weriftHeader(fields)
    expect(out.toString('hex')).toBe(header.serialize(header.serializeSize).toString('hex'))
    const parsed = RtpHeader.deSerialize(out)
    expect(parsed.sequenceNumber).toBe(fields.sequenceNumber)
    expect(parsed.timestamp).toBe(fields.timestamp)
    expect(parsed.ssrc).toBe(fields.ssrc)
    expect(parsed.marker).toBe(fields.marker)
    expect(parsed.payloadOffset).toBe(out.length)
  })
})

const NATIVE = loadMediaAddon()
const WITHOUT_ADDON: MediaAddonLoad = { ok: false, reason: 'node:crypto under test' }

describe('the native SRTP send (pinhole_media)', () => {
  it(`is built and loads (else run \`${BUILD_COMMAND}\`)`, () => {
    expect(NATIVE).toMatchObject({ ok: true })
  })

  it('is reported missing, naming the build command, and the server keeps node:crypto', () => {
    const missing = loadMediaAddon('/nonexistent/pinhole_media.node')
    expect(missing).toMatchObject({ ok: false, reason: expect.stringContaining(BUILD_COMMAND) })
    const [session] = sessions(ProtectionProfileAeadAes128Gcm)
    expect(SrtpGcmOut.of(session.localContext, missing)!.isNative).toBe(false)
  })

  it('leaves a key the addon refuses to node:crypto instead of failing the send', () => {
    const [werift, ours] = sessions(ProtectionProfileAeadAes128Gcm)
    const refusing: MediaAddonLoad = {
      ok: true,
      addon: {
        createSrtpGcmSender: () => {
          throw new TypeError('pinhole_media: a 16-byte key and a 12-byte salt')
        },
        createSrtpGcmReceiver: () => {
          throw new TypeError('pinhole_media: a 16-byte key and a 12-byte salt')
        },
      },
    }
    const gcm = SrtpGcmOut.of(ours.localContext, refusing)!
    expect(gcm.isNative).toBe(false)
    const payload = randomBytes(500)
    const expected = werift.encrypt(payload, weriftHeader(FIELDS))
    expect(gcm.protect(FIELDS, payload).toString('hex')).toBe(expected.toString('hex'))
  })

  it('is not loaded in Electron (BoringSSL behind the OpenSSL names) nor without OpenSSL', () => {
    expect(mediaRuntimeRefusal(process.versions)).toBeUndefined()
    expect(mediaRuntimeRefusal({ ...process.versions, electron: '33.0.0' })).toMatch(/^Electron/)
    expect(mediaRuntimeRefusal({ ...process.versions, openssl: '' })).toMatch(/no OpenSSL/)
  })

  it('sends to a real socket the bytes werift protects, and refuses a closed socket', async () => {
    const [werift, ours] = sessions(ProtectionProfileAeadAes128Gcm)
    const gcm = SrtpGcmOut.of(ours.localContext, NATIVE)!
    const [from, to] = [createSocket('udp4'), createSocket('udp4')]
    await Promise.all(
      [from, to].map((socket) => new Promise<void>((done) => socket.bind(0, '127.0.0.1', done))),
    )
    const got = new Promise<Buffer>((resolve) => to.once('message', resolve))
    const fd = udpSocketFd(from)!
    expect(fd).toBeGreaterThan(2)
    const payload = randomBytes(1000)
    const destination = { fd, address: '127.0.0.1', port: to.address().port }
    const sent = gcm.protectOrSend(FIELDS, payload, destination)
    const expected = werift.encrypt(payload, weriftHeader(FIELDS))
    expect(sent).toBe(expected.length)
    expect((await got).toString('hex')).toBe(expected.toString('hex'))
    from.close()
    to.close()
    // A closed socket's number may be another file's soon: it is never used.
    expect(udpSocketFd(from)).toBeUndefined()
  })
})

describe.each([
  ['native', NATIVE],
  ['node:crypto', WITHOUT_ADDON],
])('SrtpGcmOut (%s)', (_, addon) => {
  it('protects exactly as werift does, across a sequence number wrap (rollover counter)', () => {
    const [werift, ours] = sessions(ProtectionProfileAeadAes128Gcm)
    const gcm = SrtpGcmOut.of(ours.localContext, addon)!
    expect(gcm.isNative).toBe(addon.ok)
    for (let i = 0; i < 6; i++) {
      const fields = { ...FIELDS, sequenceNumber: (0xfffd + i) & 0xffff, twcc: { id: 2, sequence: i } }
      const payload = randomBytes(200 + i * 100)
      const expected = werift.encrypt(payload, weriftHeader(fields))
      expect(gcm.protect(fields, payload).toString('hex')).toBe(expected.toString('hex'))
    }
    // Both counters went past the wrap: werift's own encryption (a retransmission) keeps agreeing.
    expect(ours.localContext.getSrtpSsrcState(FIELDS.ssrc).rolloverCounter).toBe(1)
  })

  it('is the receiving side’s plaintext again after werift decrypts it', () => {
    const [sender] = sessions(ProtectionProfileAeadAes128Gcm)
    const receiver = new SrtpSession({
      keys: {
        localMasterKey: sender.config.keys.remoteMasterKey,
        localMasterSalt: sender.config.keys.remoteMasterSalt,
        remoteMasterKey: sender.config.keys.localMasterKey,
        remoteMasterSalt: sender.config.keys.localMasterSalt,
      },
      profile: ProtectionProfileAeadAes128Gcm,
    })
    const payload = randomBytes(1100)
    const plain = receiver.decrypt(SrtpGcmOut.of(sender.localContext, addon)!.protect(FIELDS, payload))
    expect(plain.subarray(rtpHeaderLength(FIELDS)).equals(payload)).toBe(true)
  })

  it('leaves other profiles to werift', () => {
    const [session] = sessions(ProtectionProfileAes128CmHmacSha1_80)
    expect(SrtpGcmOut.of(session.localContext, addon)).toBeUndefined()
  })
})
