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
    ['bad kind', JSON.stringify({ v: 1, type: 'publish', kind: 'screen' }), SignalErrorCode.BadMessage],
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
    { v: 1, type: 'error', code: 'some_future_code', message: 'x' },
  ])('round-trips $type', (message) => {
    expect(parseServerMessage(JSON.stringify(message))).toEqual({ ok: true, message })
  })

  it('ignores fields a newer server adds', () => {
    const result = parseServerMessage(JSON.stringify({ v: 1, type: 'pong', ts: 1, extra: true }))
    expect(result.ok).toBe(true)
  })
})
