/**
 * Issue 15, step 7 (docs/engine.md "Join round trips", media/iceFastStart.ts): between the answer and ICE
 * connected, the engine's werift sends its first connectivity check right behind the ChannelBind (a Send
 * indication, before the ChannelBind's answer is back) and nominates in that first check (USE-CANDIDATE)
 * with the ICE-lite conference server, instead of a ChannelBind round trip, a check and a nominating check.
 * Read on the wire of the handed TURN allocation's socket: a real PeerMedia (the call's PeerConnection) with
 * the UDP probe's allocation on the real proxy, against a werift PeerConnection configured as the conference
 * server's, on loopback.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { RTCPeerConnection } from 'werift'
import { PeerMedia } from '../../src/engine/media/peerMedia'
import type { HandedTurn } from '../../src/engine/route/turnProbe'
import { Method, StunClass } from '../../src/protocol/stun/constants'
import { decodeMessage, getAttr, type DecodedMessage } from '../../src/protocol/stun/message'
import { SfuConfigSchema } from '../../src/sfu/config'
import { serverPeerConfig } from '../../src/sfu/media/rtc'
import { handedRelay, negotiate, tapSocket } from './handedRelay'

const open: { close(): unknown }[] = []
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close()
})

/** A STUN message in a datagram: itself, or relayed in a Send/Data indication or a ChannelData frame. */
function stunIn(datagram: Buffer): { outer?: DecodedMessage; inner?: DecodedMessage } {
  if (datagram.length >= 4 && datagram[0]! >= 0x40 && datagram[0]! <= 0x7f) {
    const inner = decodeMessage(datagram.subarray(4, 4 + datagram.readUInt16BE(2)))
    return inner.ok ? { inner: inner.message } : {}
  }
  const outer = decodeMessage(datagram)
  if (!outer.ok) return {}
  const data = getAttr(outer.message, 'DATA')
  const inner = data ? decodeMessage(data) : undefined
  return { outer: outer.message, ...(inner?.ok ? { inner: inner.message } : {}) }
}

/** What crossed the handed socket, in order: ChannelBind asked and answered, and each ICE check sent. */
function tap(handed: HandedTurn): string[] {
  const events: string[] = []
  tapSocket(
    handed,
    (data) => {
      const { outer, inner } = stunIn(data)
      if (outer?.method === Method.ChannelBind && outer.cls === StunClass.Request) events.push('ChannelBind')
      if (inner?.method === Method.Binding && inner.cls === StunClass.Request) {
        const how = outer?.method === Method.Send ? 'in a Send indication' : 'on the channel'
        events.push(`check${getAttr(inner, 'USE_CANDIDATE') ? ' USE-CANDIDATE' : ''} ${how}`)
      }
    },
    (data) => {
      const { outer } = stunIn(data)
      if (outer?.method === Method.ChannelBind && outer.cls === StunClass.SuccessResponse)
        events.push('ChannelBind answered')
    },
  )
  return events
}

describe('ICE from the answer to connected in one round trip (issue 15)', () => {
  it('the first check leaves beside the ChannelBind and nominates; media flows', async () => {
    const { handed, rtcConfig } = await handedRelay(open)
    const events = tap(handed)
    const server = new RTCPeerConnection(serverPeerConfig(SfuConfigSchema.parse({})))
    const media = new PeerMedia({ rtcConfig, relay: handed })
    open.push(server, media)
    let received = 0
    server.onTrack.subscribe((track) => track.onReceiveRtp.subscribe(() => void received++))
    server.addTransceiver('audio', { direction: 'recvonly' })
    server.addTransceiver('video', { direction: 'recvonly' })
    await negotiate(server, media)

    // Regular werift: ChannelBind, ChannelBind answered, check on the channel, check USE-CANDIDATE on the
    // channel.
    const checks = events.filter((event) => event.startsWith('check'))
    expect(events.slice(0, 2), events.join(', ')).toEqual([
      'ChannelBind',
      'check USE-CANDIDATE in a Send indication',
    ])
    expect(events.indexOf('ChannelBind answered')).toBeGreaterThan(1)
    expect(
      checks.filter((check) => !check.includes('USE-CANDIDATE')),
      events.join(', '),
    ).toEqual([])
    for (let i = 0; i < 30 && received === 0; i++) {
      const data = new Uint8Array(200).fill(i)
      data[0] = 0x10
      media.sendVideoFrame({ data, timestamp: i * 33_333, keyframe: true })
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(received).toBeGreaterThan(0)
  })
})
