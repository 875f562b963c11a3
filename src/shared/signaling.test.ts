import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SignalErrorCode } from './codes'
import {
  CLIENT_MESSAGE_TYPES,
  type ClientMessage,
  parseClientMessage,
  parseServerMessage,
  type ServerMessage,
} from './signaling'

const join = {
  v: 1,
  type: 'join',
  token: 'a.b.c',
  channel: 'room-1',
  uid: 42,
  capabilities: { audio: true, video: true },
}

describe('parseClientMessage', () => {
  it.each<[string, ClientMessage]>([
    ['join', join as ClientMessage],
    ['join with resume', { ...join, resume: 'abc' } as ClientMessage],
    ['answer', { v: 1, type: 'answer', seq: 3, sdp: 'v=0' }],
    ['renegotiate', { v: 1, type: 'renegotiate' }],
    ['publish', { v: 1, type: 'publish', kind: 'video' }],
    ['unpublish', { v: 1, type: 'unpublish', kind: 'audio' }],
    ['keyframeRequest', { v: 1, type: 'keyframeRequest', uid: 7 }],
    [
      'join sharing a screen',
      { ...join, capabilities: { audio: true, video: false, screen: true } } as ClientMessage,
    ],
    ['join with a display name', { ...join, displayName: '王小明 Wang' } as ClientMessage],
    ['join receiving nothing', { ...join, subscribe: false } as ClientMessage],
    ['publish screen', { v: 1, type: 'publish', kind: 'screen' }],
    ['unpublish screen', { v: 1, type: 'unpublish', kind: 'screen' }],
    ['keyframeRequest of a screen', { v: 1, type: 'keyframeRequest', uid: 7, kind: 'screen' }],
    ['leave', { v: 1, type: 'leave' }],
    ['ping', { v: 1, type: 'ping', ts: 123.5 }],
  ])('accepts %s', (_name, message) => {
    expect(parseClientMessage(JSON.stringify(message))).toEqual({ ok: true, message })
  })

  it('covers every client message type in the table above', () => {
    expect(CLIENT_MESSAGE_TYPES).toHaveLength(8)
  })

  it.each<[string, string, SignalErrorCode]>([
    ['not JSON', '{', SignalErrorCode.BadJson],
    ['an array', '[]', SignalErrorCode.BadMessage],
    ['a number', '1', SignalErrorCode.BadMessage],
    ['no version', JSON.stringify({ type: 'leave' }), SignalErrorCode.UnsupportedVersion],
    ['version 2', JSON.stringify({ v: 2, type: 'leave' }), SignalErrorCode.UnsupportedVersion],
    ['unknown type', JSON.stringify({ v: 1, type: 'offer', sdp: 'x' }), SignalErrorCode.UnknownType],
    ['type not a string', JSON.stringify({ v: 1, type: 5 }), SignalErrorCode.UnknownType],
    ['extra field', JSON.stringify({ v: 1, type: 'leave', x: 1 }), SignalErrorCode.BadMessage],
    ['uid negative', JSON.stringify({ ...join, uid: -1 }), SignalErrorCode.BadMessage],
    ['uid fractional', JSON.stringify({ ...join, uid: 1.5 }), SignalErrorCode.BadMessage],
    ['channel with a slash', JSON.stringify({ ...join, channel: 'a/b' }), SignalErrorCode.BadMessage],
    ['no capabilities', JSON.stringify({ ...join, capabilities: undefined }), SignalErrorCode.BadMessage],
    ['answer seq 0', JSON.stringify({ v: 1, type: 'answer', seq: 0, sdp: 'x' }), SignalErrorCode.BadMessage],
    ['bad kind', JSON.stringify({ v: 1, type: 'publish', kind: 'data' }), SignalErrorCode.BadMessage],
    [
      'keyframeRequest of audio',
      JSON.stringify({ v: 1, type: 'keyframeRequest', uid: 7, kind: 'audio' }),
      SignalErrorCode.BadMessage,
    ],
    [
      'screen not a boolean',
      JSON.stringify({ ...join, capabilities: { audio: true, video: true, screen: 1 } }),
      SignalErrorCode.BadMessage,
    ],
    ['an empty display name', JSON.stringify({ ...join, displayName: '  ' }), SignalErrorCode.BadMessage],
    [
      'a display name of 65',
      JSON.stringify({ ...join, displayName: '名'.repeat(65) }),
      SignalErrorCode.BadMessage,
    ],
    [
      'a control character in the name',
      JSON.stringify({ ...join, displayName: 'a\u0000b' }),
      SignalErrorCode.BadMessage,
    ],
    [
      'a bidi override in the name',
      JSON.stringify({ ...join, displayName: 'a\u202eb' }),
      SignalErrorCode.BadMessage,
    ],
    ['a display name not a string', JSON.stringify({ ...join, displayName: 5 }), SignalErrorCode.BadMessage],
    ['subscribe not a boolean', JSON.stringify({ ...join, subscribe: 'no' }), SignalErrorCode.BadMessage],
    ['proto key', '{"v":1,"type":"leave","__proto__":{"x":1}}', SignalErrorCode.BadMessage],
  ])('refuses %s', (_name, text, code) => {
    const result = parseClientMessage(text)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.code).toBe(code)
  })

  it('accepts uid 0 in join so that the server can refuse it with its own code', () => {
    expect(parseClientMessage(JSON.stringify({ ...join, uid: 0 })).ok).toBe(true)
  })

  it('never throws, whatever the text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        const result = parseClientMessage(text)
        expect(typeof result.ok).toBe('boolean')
      }),
      { numRuns: 2000 },
    )
  })
})

describe('parseServerMessage', () => {
  it.each<ServerMessage>([
    {
      v: 1,
      type: 'joined',
      sessionId: 's',
      channel: 'c',
      uid: 1,
      resumed: false,
      participants: [{ uid: 2, tracks: [{ trackId: '2:audio', kind: 'audio' }] }],
      limits: { maxMessageBytes: 65536, reconnectGraceMs: 10000 },
    },
    { v: 1, type: 'userLeft', uid: 2, reason: 'timeout' },
    {
      v: 1,
      type: 'offer',
      seq: 1,
      sdp: 'v=0',
      publish: [{ mid: '0', kind: 'audio' }],
      subscriptions: [{ mid: '2', uid: 2, trackId: '2:video', kind: 'video' }],
    },
    { v: 1, type: 'kicked', reason: 'serverKicked', message: 'server kicked' },
    { v: 1, type: 'rejoin', reason: 'moved', message: 'node draining' },
    { v: 1, type: 'error', code: 'some_future_code', message: 'x' },
  ])('round-trips $type', (message) => {
    expect(parseServerMessage(JSON.stringify(message))).toEqual({ ok: true, message })
  })

  it('ignores fields a newer server adds', () => {
    const result = parseServerMessage(JSON.stringify({ v: 1, type: 'pong', ts: 1, extra: true }))
    expect(result.ok).toBe(true)
  })
})

describe('screen tracks and display names in signaling (issue 13)', () => {
  it('a display name is trimmed and NFC-normalised, 64 characters at most', () => {
    const decomposed = { ...join, displayName: ' Rene\u0301 张 ' }
    const parsed = parseClientMessage(JSON.stringify(decomposed))
    expect(parsed).toMatchObject({ ok: true, message: { displayName: 'René 张' } })
    const longest = parseClientMessage(JSON.stringify({ ...join, displayName: '名'.repeat(64) }))
    expect(longest.ok).toBe(true)
  })

  it('the server tells names and screen tracks: joined, userJoined, trackPublished, offer', () => {
    const messages: ServerMessage[] = [
      {
        v: 1,
        type: 'joined',
        sessionId: 's',
        channel: 'c',
        uid: 1,
        resumed: false,
        participants: [{ uid: 2, displayName: '李雷', tracks: [{ trackId: '2:screen', kind: 'screen' }] }],
        limits: { maxMessageBytes: 65536, reconnectGraceMs: 5000 },
      },
      { v: 1, type: 'userJoined', uid: 3, displayName: 'Hanmeimei 韩梅梅' },
      { v: 1, type: 'trackPublished', uid: 2, trackId: '2:screen', kind: 'screen' },
      {
        v: 1,
        type: 'offer',
        seq: 1,
        sdp: 'v=0',
        publish: [{ mid: '2', kind: 'screen' }],
        subscriptions: [{ mid: '4', uid: 2, trackId: '2:screen', kind: 'screen' }],
      },
    ]
    for (const message of messages) {
      expect(parseServerMessage(JSON.stringify(message))).toEqual({ ok: true, message })
    }
  })
})
