/**
 * Issue 15, step 8 (docs/engine.md "Join round trips", src/sfu/media/dtlsFastStart.ts): the conference
 * server's DTLS server answers the engine's first ClientHello with its ServerHello flight, no
 * HelloVerifyRequest, so DTLS takes two flights each way after ICE instead of three. Read on the wire of
 * the handed TURN allocation's socket (as e2e/engine/iceFastStart.test.ts does): a real PeerMedia (the
 * call's PeerConnection, werift's DTLS client) with the UDP probe's allocation on the real proxy, against a
 * werift PeerConnection configured as the conference server's, on loopback.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { PeerMedia } from '../../src/engine/media/peerMedia'
import type { HandedTurn } from '../../src/engine/route/turnProbe'
import { SfuConfigSchema } from '../../src/sfu/config'
import { serverPeerConnection } from '../../src/sfu/media/rtc'
import { dtlsIn, handedRelay, negotiate, sendEachWay, tapSocket } from './handedRelay'

const open: { close(): unknown }[] = []
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close()
})

const HANDSHAKE = 22
const CHANGE_CIPHER_SPEC = 20
const NAMES: Record<number, string> = {
  1: 'ClientHello',
  2: 'ServerHello',
  3: 'HelloVerifyRequest',
  11: 'Certificate',
  12: 'ServerKeyExchange',
  13: 'CertificateRequest',
  14: 'ServerHelloDone',
  15: 'CertificateVerify',
  16: 'ClientKeyExchange',
}

interface WireRecord {
  /** `C` from the engine (client), `S` from the conference server. */
  from: 'C' | 'S'
  name: string
  messageSeq?: number
  cookieLength?: number
}

/** The plaintext handshake records of a DTLS datagram (epoch 0; the encrypted Finished is left out). */
function records(from: 'C' | 'S', data: Buffer): WireRecord[] {
  const out: WireRecord[] = []
  for (let at = 0; at + 13 <= data.length; at += 13 + data.readUInt16BE(at + 11)) {
    const type = data[at]!
    if (data.readUInt16BE(at + 3) !== 0) continue
    if (type === CHANGE_CIPHER_SPEC) out.push({ from, name: 'ChangeCipherSpec' })
    if (type !== HANDSHAKE) continue
    const body = data.subarray(at + 13)
    const name = NAMES[body[0]!] ?? `handshake ${body[0]}`
    const record: WireRecord = { from, name, messageSeq: body.readUInt16BE(4) }
    // ClientHello: version (2) and random (32), then session_id and cookie after a length byte each.
    if (body[0] === 1) record.cookieLength = body[12 + 35 + body[12 + 34]!]
    out.push(record)
  }
  return out
}

/** DTLS records crossing the handed socket, in order, both ways. */
function tap(handed: HandedTurn): WireRecord[] {
  const seen: WireRecord[] = []
  const read = (from: 'C' | 'S') => (data: Buffer) => {
    const dtls = dtlsIn(data)
    if (dtls && dtls[0]! >= 20 && dtls[0]! <= 63) seen.push(...records(from, dtls))
  }
  tapSocket(handed, read('C'), read('S'))
  return seen
}

/** Each message once (retransmissions left out), in the order first seen. */
const firstSeen = (seen: WireRecord[]): string[] => [...new Set(seen.map((r) => `${r.from} ${r.name}`))]

async function until(done: () => boolean, step: () => void): Promise<void> {
  for (let i = 0; i < 100 && !done(); i++) {
    step()
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('DTLS without the cookie exchange (issue 15)', () => {
  it('the conference server answers the first ClientHello with its ServerHello flight; media flows both ways', async () => {
    const { handed, rtcConfig } = await handedRelay(open)
    const seen = tap(handed)
    const server = serverPeerConnection(SfuConfigSchema.parse({}))
    const media = new PeerMedia({ rtcConfig, relay: handed })
    open.push(server, media)
    let received = 0
    server.onTrack.subscribe((track) => track.onReceiveRtp.subscribe(() => void received++))
    server.addTransceiver('audio', { direction: 'recvonly' })
    server.addTransceiver('video', { direction: 'recvonly' })
    const down = server.addTransceiver('audio', { direction: 'sendonly' })
    await negotiate(server, media, [{ mid: '2', uid: 7, trackId: 'audio-7', kind: 'audio' }])

    // werift's own server: C ClientHello, S HelloVerifyRequest, then the ClientHello again with the cookie.
    const flights = firstSeen(seen)
    expect(flights, flights.join(', ')).toEqual([
      'C ClientHello',
      'S ServerHello',
      'S Certificate',
      'S ServerKeyExchange',
      'S CertificateRequest',
      'S ServerHelloDone',
      'C Certificate',
      'C ClientKeyExchange',
      'C CertificateVerify',
      'C ChangeCipherSpec',
      'S ChangeCipherSpec',
    ])
    expect(seen.filter((r) => r.name === 'ClientHello').map((r) => r.cookieLength)).not.toContain(20)
    // RFC 6347 §4.2.2: the server's first message is numbered 0.
    expect(seen.find((r) => r.name === 'ServerHello')?.messageSeq).toBe(0)

    let frames = 0
    media.on('frame', (kind) => void (kind === 'audio' && frames++))
    let i = 0
    await until(
      () => received > 0 && frames > 0,
      () => {
        sendEachWay(media, down, ++i)
      },
    )
    expect(received).toBeGreaterThan(0)
    expect(frames).toBeGreaterThan(0)
  })
})
