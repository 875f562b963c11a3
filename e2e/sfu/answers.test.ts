import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SignalCloseCode, SignalErrorCode } from '../../src/shared/codes'
import { SIGNAL_VERSION } from '../../src/shared/signaling'
import { TestClient } from './client'
import { closeAll, type Sfu, startSfu } from './harness'

/**
 * Issue 10 item 7: an SDP answer the server cannot use ends the negotiation with `negotiation_failed` and
 * close 4004 (docs/sfu.md), instead of werift applying it and the participant staying joined with media
 * that never flows. The offer stays outstanding: the client resumes and answers properly, and connects.
 */

/** The signaling limit (maxMessageBytes' default): every spoilt answer fits in one message. */
const MAX_MESSAGE_BYTES = 65_536

/** A real answer to `offer` from the client's werift PeerConnection. */
async function realAnswer(client: TestClient, offerSdp: string): Promise<string> {
  await client.pc.setRemoteDescription({ type: 'offer', sdp: offerSdp })
  await client.pc.setLocalDescription(await client.pc.createAnswer())
  return client.pc.localDescription?.sdp ?? ''
}

const UNUSABLE: Record<string, (answer: string) => string> = {
  'not SDP at all ("hello")': () => 'hello',
  'the session part only, no m-line': (answer) => `${answer.split('\r\nm=')[0]}\r\n`,
  '1,500 m-lines more than offered': (answer) => answer + 'm=video 9 UDP/TLS/RTP/SAVPF 96\r\n'.repeat(1500),
  'a bogus fingerprint': (answer) => answer.replace(/^a=fingerprint:.*$/gm, 'a=fingerprint:sha-256 bogus'),
  'a fingerprint one byte short': (answer) =>
    answer.replace(/^(a=fingerprint:sha-256 [0-9A-F:]+):[0-9A-F]{2}$/gm, '$1'),
  'no ICE password': (answer) => answer.replace(/^a=ice-pwd:.*\r\n/gm, ''),
}

describe('unusable SDP answers', () => {
  let sfu: Sfu
  beforeAll(async () => {
    sfu = await startSfu({ reconnectGraceMs: 5000 })
  })
  afterAll(() => sfu.server.close())

  for (const [what, spoil] of Object.entries(UNUSABLE)) {
    it(`ends the negotiation on ${what} (negotiation_failed, 4004); a proper answer after resuming connects`, async () => {
      const channel = `answers-${Object.keys(UNUSABLE).indexOf(what)}`
      const client = await sfu.connect(channel, 1, { autoAnswer: false })
      const { sessionId } = await client.joined()
      const offer = await client.waitFor('offer')
      const sdp = spoil(await realAnswer(client, offer.sdp))
      expect(JSON.stringify({ sdp }).length).toBeLessThan(MAX_MESSAGE_BYTES)

      client.sendRaw({ v: SIGNAL_VERSION, type: 'answer', seq: offer.seq, sdp })
      expect(await client.waitFor('error')).toMatchObject({
        code: SignalErrorCode.NegotiationFailed,
        ref: 'answer',
      })
      expect(await client.closed()).toBe(SignalCloseCode.ProtocolError)

      // The same client (its PeerConnection kept) resumes; the offer comes again and is answered properly.
      const token = await sfu.token(channel, 1)
      const options = { url: sfu.url, token, channel, uid: 1, resume: sessionId }
      const resumed = await TestClient.connect(options, client.pc)
      try {
        expect(await resumed.joined()).toMatchObject({ resumed: true })
        expect(await resumed.waitFor('offer')).toMatchObject({ seq: offer.seq })
        await resumed.connected()
      } finally {
        await closeAll([resumed])
      }
    })
  }

  it('ends the negotiation when the fingerprint is well-formed but not the client certificate’s (4004, after DTLS)', async () => {
    const client = await sfu.connect('answers-dtls', 1, { autoAnswer: false })
    const { sessionId } = await client.joined()
    const offer = await client.waitFor('offer')
    // Every digest's first byte changed: valid syntax, so werift applies it and checks it during DTLS.
    const sdp = (await realAnswer(client, offer.sdp)).replace(
      /^(a=fingerprint:sha-256 )([0-9A-F]{2})/gm,
      (_, prefix: string, byte: string) => prefix + (byte === '00' ? '01' : '00'),
    )
    client.sendRaw({ v: SIGNAL_VERSION, type: 'answer', seq: offer.seq, sdp })
    expect(await client.waitFor('error')).toMatchObject({
      code: SignalErrorCode.NegotiationFailed,
      ref: 'answer',
    })
    expect(await client.closed()).toBe(SignalCloseCode.ProtocolError)
    expect(sfu.server.channels().find((c) => c.name === 'answers-dtls')).toBeUndefined()
    await client.close()

    // An applied answer cannot be mended: the participant is gone, and the client's resume joins afresh.
    const again = await sfu.join('answers-dtls', 1, { resume: sessionId })
    try {
      expect(again.messages.find((m) => m.type === 'joined')).toMatchObject({ resumed: false })
    } finally {
      await closeAll([again])
    }
  })
})
