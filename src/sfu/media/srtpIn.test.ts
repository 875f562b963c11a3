/**
 * The conference server's native SRTP decryption (srtpIn.ts, native/relay/src/srtp_in.cc) against werift's:
 * the same bytes and rollover counter for packets werift's own sender protected, the same refusals for
 * tampered, truncated and badly padded packets; then inside a real werift PeerConnection pair on loopback,
 * where a conference server PeerConnection decrypts what a werift publisher sends and drops a tampered packet.
 */
import { createCipheriv, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  GenericNack,
  PictureLossIndication,
  ProtectionProfileAeadAes128Gcm,
  RTCPeerConnection,
  RtcpPayloadSpecificFeedback,
  RtcpReceiverInfo,
  RtcpRrPacket,
  RtcpSenderInfo,
  RtcpSrPacket,
  RtcpTransportLayerFeedback,
  RtpHeader,
  RtpPacket,
  SrtcpSession,
  SrtpAuthenticationError,
  SrtpSession,
  type RTCDtlsTransport,
} from 'werift'
import { loadMediaAddon, type MediaAddon, type MediaAddonLoad } from '../../platform/nativeAddon'
import { closedAfterEach, loopbackConfig as config, until } from '../../../e2e/support/loopbackPeers'
import { SfuConfigSchema } from '../config'
import { serverPeerConnection } from './rtc'
import { decryptNatively, decryptsNatively, srtcpDecrypt, SrtpGcmIn } from './srtpIn'

const LOADED = loadMediaAddon()
if (!LOADED.ok) throw new Error(`the media addon is needed here: ${LOADED.reason}`)
const ADDON = LOADED.addon

type Session = SrtpSession & { remoteContext: Parameters<typeof SrtpGcmIn.of>[0] & object }

/** A sender's session and two receivers with its keys: one decrypting as werift does, one natively. */
function sessions(): {
  sender: SrtpSession
  werift: Session
  native: Session
  decrypt: (p: Buffer) => Buffer
} {
  const key = randomBytes(16)
  const salt = randomBytes(12)
  const other = { key: randomBytes(16), salt: randomBytes(12) }
  const profile = ProtectionProfileAeadAes128Gcm
  const sender = new SrtpSession({
    keys: {
      localMasterKey: key,
      localMasterSalt: salt,
      remoteMasterKey: other.key,
      remoteMasterSalt: other.salt,
    },
    profile,
  })
  const receiving = {
    keys: {
      localMasterKey: other.key,
      localMasterSalt: other.salt,
      remoteMasterKey: key,
      remoteMasterSalt: salt,
    },
    profile,
  }
  const werift = new SrtpSession(receiving) as Session
  const native = new SrtpSession(receiving) as Session
  const decrypt = SrtpGcmIn.of(native.remoteContext, ADDON)!.decrypt
  return { sender, werift, native, decrypt }
}

/** Packets with every header shape: CSRCs, one- and two-byte extensions, padding, a sequence-number wrap. */
function packets(sender: SrtpSession): Buffer[] {
  const out: Buffer[] = []
  for (let i = 0; i < 24; i++) {
    const padding = i % 5 === 4 ? 1 + (i % 7) : 0
    const header = new RtpHeader({
      ssrc: i % 6 === 5 ? 0xcafe : 0xdeadbeef,
      payloadType: 96 + (i % 3),
      sequenceNumber: (65_524 + i) & 0xffff,
      timestamp: (4_294_900_000 + i * 3000) >>> 0,
      marker: i % 4 === 3,
      csrc: i % 7 === 6 ? [0x11111111, 0x22222222] : [],
      extensionProfile: i % 3 === 2 ? 0x1000 : 0xbede,
      extensions:
        i % 3 === 0
          ? []
          : [
              { id: 3, payload: Buffer.from([i, 0xcd]) },
              { id: 5, payload: Buffer.from([0xee, 0xdd, 0xcc]) },
            ],
      padding: padding > 0,
      paddingSize: padding,
    })
    const payload = Buffer.alloc(100 + i * 37, i)
    const padded =
      padding > 0 ? Buffer.concat([payload, Buffer.alloc(padding - 1), Buffer.from([padding])]) : payload
    out.push(sender.encrypt(padded, header))
  }
  return out
}

/** `packet`'s fixed header with an extension declaring `words` 32-bit words, then 16 bytes (a tag). */
function headerPastTheTag(packet: Buffer, words: number): Buffer {
  const extension = Buffer.from([0xbe, 0xde, words >> 8, words & 0xff])
  return Buffer.concat([Buffer.from([0x90]), packet.subarray(1, 12), extension, randomBytes(16)])
}

function states(session: Session): unknown {
  return JSON.parse(JSON.stringify(session.remoteContext.srtpSSRCStates))
}

function refusal(decrypt: (p: Buffer) => Buffer, packet: Buffer): unknown {
  try {
    decrypt(packet)
    return 'decrypted'
  } catch (error) {
    return error instanceof SrtpAuthenticationError ? 'refused' : error
  }
}

describe('SrtpGcmIn: native SRTP decryption (pinhole_media)', () => {
  it("returns werift's bytes and keeps werift's rollover state across a sequence-number wrap", () => {
    const { sender, werift, native, decrypt } = sessions()
    const all = packets(sender)
    for (const packet of all)
      expect(decrypt(packet).toString('hex')).toBe(werift.decrypt(packet).toString('hex'))
    expect(states(native)).toEqual(states(werift))
    expect(native.remoteContext.srtpSSRCStates[0xdeadbeef]!.rolloverCounter).toBe(1)
  })

  it('refuses what werift refuses (tampered, truncated, badly padded) and keeps the state of the last good packet', () => {
    const { sender, werift, native, decrypt } = sessions()
    const all = packets(sender)
    const wrap = all.findIndex((p) => p.readUInt16BE(2) === 0)
    for (const packet of all.slice(0, wrap)) {
      decrypt(packet)
      werift.decrypt(packet)
    }
    const before = states(native)
    const next = all[wrap]!
    const flip = (at: number) => {
      const copy = Buffer.from(next)
      copy[at]! ^= 0x01
      return copy
    }
    const badPadding = (() => {
      const header = new RtpHeader({
        ssrc: 0xdeadbeef,
        payloadType: 96,
        sequenceNumber: 0,
        padding: true,
        paddingSize: 1,
      })
      return sender.encrypt(Buffer.from([1, 2, 3, 0]), header) // P set, last byte 0
    })()
    const bad = {
      payload: flip(next.length - 20),
      tag: flip(next.length - 1),
      sequence: flip(3),
      truncated: next.subarray(0, 27),
      headerPastTheTag: headerPastTheTag(next, 20),
      badPadding,
    }
    for (const [what, packet] of Object.entries(bad)) {
      expect([what, refusal(decrypt, packet)]).toEqual([what, 'refused'])
      expect([what, refusal(werift.decrypt, packet)]).toEqual([what, 'refused'])
      expect(states(native)).toEqual(before)
    }
    // Refused before any parsing: werift's header parser takes minutes over this one (it copies its
    // extension list once per byte of the 256 KiB the header claims), so it is not asked.
    expect(refusal(decrypt, headerPastTheTag(next, 0xffff))).toBe('refused')
    expect(states(native)).toEqual(before)
    // The wrap is still taken by the genuine packet: rollover counter 1, the same bytes as werift's.
    for (const packet of all.slice(wrap)) expect(decrypt(packet).equals(werift.decrypt(packet))).toBe(true)
    expect(states(native)).toEqual(states(werift))
  })

  it('is not made for another profile, and the addon refuses a bad key', () => {
    const { native } = sessions()
    const context = { ...native.remoteContext, profile: 1 } as typeof native.remoteContext
    expect(SrtpGcmIn.of(context, ADDON)).toBeUndefined()
    expect(() => ADDON.createSrtpGcmReceiver(Buffer.alloc(5), Buffer.alloc(12))).toThrow(/16-byte key/)
  })
})

describe('srtcpDecrypt: native SRTCP decryption (pinhole_media)', () => {
  function srtcpSessions() {
    const key = randomBytes(16)
    const salt = randomBytes(12)
    const other = { key: randomBytes(16), salt: randomBytes(12) }
    const profile = ProtectionProfileAeadAes128Gcm
    const sending = { localMasterKey: key, localMasterSalt: salt, remoteMasterKey: other.key }
    const receiving = { localMasterKey: other.key, localMasterSalt: other.salt, remoteMasterKey: key }
    type Srtcp = SrtcpSession & {
      localContext: { cipher: { srtcpSessionKey: Buffer; srtcpSessionSalt: Buffer } }
    }
    const sender = new SrtcpSession({ keys: { ...sending, remoteMasterSalt: other.salt }, profile }) as Srtcp
    const werift = new SrtcpSession({ keys: { ...receiving, remoteMasterSalt: salt }, profile })
    const native = new SrtcpSession({ keys: { ...receiving, remoteMasterSalt: salt }, profile })
    const decrypt = srtcpDecrypt(native as Parameters<typeof srtcpDecrypt>[0], ADDON)!
    return { sender, werift, decrypt }
  }

  /** Compounds as subscribers and publishers send them: reports, NACKs, PLIs. */
  function compounds(): Buffer[] {
    const report = new RtcpReceiverInfo({ ssrc: 7, fractionLost: 3, packetsLost: 9, highestSequence: 70_000 })
    const sr = new RtcpSrPacket({
      ssrc: 0xdeadbeef,
      senderInfo: new RtcpSenderInfo({
        ntpTimestamp: 123n << 32n,
        rtpTimestamp: 9,
        packetCount: 3,
        octetCount: 900,
      }),
      reports: [report],
    })
    const rr = new RtcpRrPacket({ ssrc: 0xdeadbeef, reports: [report, report] })
    const nack = new RtcpTransportLayerFeedback({
      feedback: new GenericNack({ senderSsrc: 0xdeadbeef, mediaSourceSsrc: 7, lost: [1, 2, 5, 40] }),
    })
    const pli = new RtcpPayloadSpecificFeedback({
      feedback: new PictureLossIndication({ senderSsrc: 0xdeadbeef, mediaSsrc: 7 }),
    })
    return [[sr], [rr, nack], [rr, pli], [sr, rr, nack, pli]].map((list) =>
      Buffer.concat(list.map((packet) => packet.serialize())),
    )
  }

  it("returns werift's bytes for encrypted and unencrypted SRTCP and refuses what werift refuses", () => {
    const { sender, werift, decrypt } = srtcpSessions()
    const all = compounds().map((raw) => sender.encrypt(raw))
    // RFC 7714 §9.2 without encryption (E flag clear): the whole packet is authenticated, not encrypted.
    const raw = compounds()[1]!
    const { srtcpSessionKey: key, srtcpSessionSalt: salt } = sender.localContext.cipher
    const index = Buffer.from([0, 0, 0, 42])
    const iv = Buffer.concat([Buffer.alloc(2), raw.subarray(4, 8), Buffer.alloc(2), index])
    for (let i = 0; i < 12; i++) iv[i]! ^= salt[i]!
    const cipher = createCipheriv('aes-128-gcm', key, iv)
    cipher.setAAD(Buffer.concat([raw, index]))
    cipher.final()
    all.push(Buffer.concat([raw, cipher.getAuthTag(), index]))

    for (const packet of all)
      expect(decrypt(packet).toString('hex')).toBe(werift.decrypt(packet).toString('hex'))
    const flip = (packet: Buffer, at: number) => {
      const copy = Buffer.from(packet)
      copy[at]! ^= 0x01
      return copy
    }
    const encrypted = all[3]!
    const bad = {
      payload: flip(encrypted, 12),
      header: flip(encrypted, 5),
      tag: flip(encrypted, encrypted.length - 6),
      index: flip(encrypted, encrypted.length - 1),
      eFlag: flip(encrypted, encrypted.length - 4),
      unencryptedBody: flip(all[4]!, 12),
      truncated: encrypted.subarray(0, 27),
    }
    for (const [what, packet] of Object.entries(bad)) {
      expect([what, refusal(decrypt, packet)]).toEqual([what, 'refused'])
      expect([what, refusal(werift.decrypt, packet)]).toEqual([what, 'refused'])
    }
  })
})

// ---------------------------------------------------------------------------------------------------------
// Inside werift's receive path

const open = closedAfterEach()

/** The real addon, counting the packets it decrypts and refuses (what it decrypts is unchanged). */
function counting() {
  const count = { decrypted: 0, refused: 0, rtcp: 0 }
  const addon: MediaAddon = {
    ...ADDON,
    createSrtpGcmReceiver: (key, salt) => {
      const receiver = ADDON.createSrtpGcmReceiver(key, salt)
      return {
        unprotect: (packet, roc, out) => {
          const ok = receiver.unprotect(packet, roc, out)
          if (ok) count.decrypted++
          else count.refused++
          return ok
        },
        unprotectRtcp: (packet, out) => {
          const ok = receiver.unprotectRtcp(packet, out)
          if (ok) count.rtcp++
          return ok
        },
      }
    },
  }
  const load: MediaAddonLoad = { ok: true, addon }
  return { addon: load, count }
}

/** A werift publisher (sendonly video) connected to `server`; what the server's track receives. */
async function publishTo(server: RTCPeerConnection) {
  const client = new RTCPeerConnection(config())
  open.push(server, client)
  const sending = client.addTransceiver('video', { direction: 'sendonly' })
  const received: RtpPacket[] = []
  server.onTransceiverAdded.subscribe((transceiver) => {
    transceiver.onTrack.subscribe((track) => track.onReceiveRtp.subscribe((packet) => received.push(packet)))
  })
  await client.setLocalDescription(await client.createOffer())
  await server.setRemoteDescription(client.localDescription!)
  await server.setLocalDescription(await server.createAnswer())
  await client.setRemoteDescription(server.localDescription!)
  await until(() => server.connectionState === 'connected' && client.connectionState === 'connected', 20_000)
  const send = (i: number) => {
    const header = new RtpHeader({
      payloadType: 96,
      sequenceNumber: (65_530 + i) & 0xffff,
      timestamp: i * 3000,
    })
    return sending.sender.sendRtp(new RtpPacket(header, Buffer.alloc(200 + i, i)))
  }
  return { client, received, send, dtls: server.dtlsTransports[0] as RTCDtlsTransport }
}

describe("decryptNatively: in werift's receive path", () => {
  it('decrypts what a werift publisher sends and drops a tampered packet', async () => {
    const count = counting()
    const server = new RTCPeerConnection(config())
    decryptNatively(server, count.addon)
    const { client, received, send, dtls } = await publishTo(server)
    expect(decryptsNatively(dtls)).toEqual({ rtp: true, rtcp: true })
    for (let i = 0; i < 10; i++) await send(i)
    await until(() => received.length === 10)

    // A packet protected with the publisher's keys, one byte changed, on the publisher's own ICE pair.
    const clientDtls = client.dtlsTransports[0]!
    const header = new RtpHeader({
      payloadType: 96,
      sequenceNumber: 9,
      timestamp: 1,
      ssrc: received[0]!.header.ssrc,
    })
    const tampered = clientDtls.srtp.encrypt(Buffer.alloc(50, 7), header)
    tampered[20]! ^= 0x80
    await clientDtls.iceTransport.connection.send(tampered)
    for (let i = 10; i < 20; i++) await send(i)
    await until(() => received.length === 20)
    await until(() => count.count.refused === 1)

    expect(received.map((p) => p.header.sequenceNumber)).toEqual(
      Array.from({ length: 20 }, (_, i) => (65_530 + i) & 0xffff),
    )
    received.forEach((p, i) => expect(p.payload.equals(Buffer.alloc(200 + i, i))).toBe(true))
    expect(count.count.decrypted).toBeGreaterThanOrEqual(20)
    // The publisher's sender reports: werift reads them through the native SRTCP decryption.
    await until(() => count.count.rtcp > 0 && received.length >= 20)
  })

  it("is what a conference server PeerConnection uses; without the addon werift's decryption stays", async () => {
    const sfu = serverPeerConnection(
      SfuConfigSchema.parse({ enabled: true, announcedAddress: '127.0.0.1', listenHost: '127.0.0.1' }),
    )
    const withAddon = await publishTo(sfu)
    expect(decryptsNatively(withAddon.dtls)).toEqual({ rtp: true, rtcp: true })
    await withAddon.send(0)
    await until(() => withAddon.received.length === 1)

    const plain = new RTCPeerConnection(config())
    decryptNatively(plain, { ok: false, reason: 'werift decrypts' })
    const without = await publishTo(plain)
    expect(decryptsNatively(without.dtls)).toEqual({ rtp: false, rtcp: false })
    await without.send(0)
    await until(() => without.received.length === 1)
  })
})
