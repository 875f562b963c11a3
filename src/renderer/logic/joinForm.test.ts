import { describe, expect, it } from 'vitest'
import { ErrorCode, errorMessage } from '../../shared/errors'
import { checkJoinForm, type JoinFormInput } from './joinForm'

const base: JoinFormInput = { channel: 'room-1', uid: '42', token: 'tok', cloudProxy: 1, embedded: false }

describe('checkJoinForm', () => {
  it.each([
    ['uid 0 with UDP proxy', { uid: '0', cloudProxy: 1 as const }, 'uid'],
    ['uid 0 with TCP proxy', { uid: '0', cloudProxy: 2 as const }, 'uid'],
    ['uid 0 with Auto', { uid: '0', cloudProxy: 3 as const }, 'uid'],
    ['empty channel', { channel: '' }, 'channel'],
    ['channel with a space', { channel: 'a b' }, 'channel'],
    ['channel of 65 characters', { channel: 'x'.repeat(65) }, 'channel'],
    ['negative uid', { uid: '-1' }, 'uid'],
    ['fractional uid', { uid: '1.5' }, 'uid'],
    ['uid beyond safe integers', { uid: '9007199254740993' }, 'uid'],
    ['empty uid', { uid: '' }, 'uid'],
    ['no token outside the embedded stack', { token: ' ' }, 'token'],
  ])('refuses %s with 414 and its sentence', (_name, change, field) => {
    const result = checkJoinForm({ ...base, ...change })
    expect(result).toMatchObject({ ok: false, code: ErrorCode.RequestParameter, field })
    if (!result.ok) expect(result.sentence).toContain(errorMessage(ErrorCode.RequestParameter))
  })

  it('explains uid 0 under a proxy in its own words', () => {
    const result = checkJoinForm({ ...base, uid: '0' })
    expect(!result.ok && result.sentence).toMatch(/uid 0 cannot join while a cloud proxy is on/)
  })

  it.each([
    ['uid 0 without a proxy', { uid: '0', cloudProxy: 0 as const }, { uid: 0, needsDevToken: false }],
    ['trimmed fields', { channel: ' room-1 ', uid: ' 7 ' }, { channel: 'room-1', uid: 7 }],
    ['embedded with no token: asks for a dev token', { token: '', embedded: true }, { needsDevToken: true }],
    ['embedded with a typed token keeps it', { embedded: true }, { token: 'tok', needsDevToken: false }],
  ])('accepts %s', (_name, change, expected) => {
    expect(checkJoinForm({ ...base, ...change })).toMatchObject({ ok: true, ...expected })
  })
})
