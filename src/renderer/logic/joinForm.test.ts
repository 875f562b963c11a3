import { beforeAll, describe, expect, it } from 'vitest'
import { createI18n } from '../i18n'
import { langOf, say, type Lang } from '../i18n/phrase'
import { ErrorCode, errorMessage } from '../../shared/errors'
import { isChannelName } from '../../shared/joinRules'
import { channelFieldProblem, checkJoinForm, uidFieldProblem, type JoinFormInput } from './joinForm'

const base: JoinFormInput = { channel: 'room-1', uid: '42', token: 'tok', cloudProxy: 1, embedded: false }

let en: Lang
beforeAll(async () => {
  en = langOf(await createI18n('en'))
})

describe('checkJoinForm', () => {
  it.each([
    [
      'uid 0 with UDP proxy',
      { uid: '0', cloudProxy: 1 as const },
      'uid',
      /uid 0 cannot join while a cloud proxy/,
    ],
    ['uid 0 with TCP proxy', { uid: '0', cloudProxy: 2 as const }, 'uid', /uid 0 cannot join/],
    ['uid 0 with Auto', { uid: '0', cloudProxy: 3 as const }, 'uid', /uid 0 cannot join/],
    ['empty channel', { channel: '' }, 'channel', /^Enter a channel name\.$/],
    ['channel with a space', { channel: 'a b' }, 'channel', /^a space cannot be in a channel name/],
    ['channel with a slash and a bang', { channel: 'a/b!' }, 'channel', /^"\/", "!" cannot be in/],
    ['channel of 65 characters', { channel: 'x'.repeat(65) }, 'channel', /has 65 characters; at most 64/],
    ['channel of 200 characters', { channel: 'x'.repeat(200) }, 'channel', /has 200 characters; at most 64/],
    ['negative uid', { uid: '-1' }, 'uid', /whole number from 0 to 9007199254740991/],
    ['fractional uid', { uid: '1.5' }, 'uid', /whole number from 0 to 9007199254740991/],
    ['uid 2^53', { uid: '9007199254740992' }, 'uid', /^The uid can be at most 9007199254740991\.$/],
    ['uid of 30 digits', { uid: '1'.repeat(30) }, 'uid', /^The uid can be at most 9007199254740991\.$/],
    ['empty uid', { uid: '' }, 'uid', /^Enter a uid/],
    ['no token outside the embedded stack', { token: ' ' }, 'token', /^Paste the join token/],
  ])('refuses %s in its own words, with no developer paragraph', (_name, change, field, sentence) => {
    const result = checkJoinForm({ ...base, ...change })
    expect(result).toMatchObject({ ok: false, code: ErrorCode.RequestParameter, field })
    if (result.ok) return
    const words = say(en.t, result.problem)
    expect(words).toMatch(sentence)
    expect(words).not.toContain(errorMessage(ErrorCode.RequestParameter))
    expect(words).not.toMatch(/Request parameter error/)
  })

  it.each([
    ['uid 0 without a proxy', { uid: '0', cloudProxy: 0 as const }, { uid: 0, needsDevToken: false }],
    ['trimmed fields', { channel: ' room-1 ', uid: ' 7 ' }, { channel: 'room-1', uid: 7 }],
    ['the largest uid', { uid: '9007199254740991' }, { uid: Number.MAX_SAFE_INTEGER }],
    ['a CJK channel', { channel: '会议室' }, { channel: '会议室' }],
    ['accented and other scripts', { channel: 'réunion_Комната.٣' }, { channel: 'réunion_Комната.٣' }],
    ['64 characters', { channel: '会'.repeat(64) }, { channel: '会'.repeat(64) }],
    [
      'a decomposed é, sent composed (one name, one channel)',
      { channel: 'cafe\u0301' },
      { channel: 'caf\u00e9' },
    ],
    ['embedded with no token: asks for a dev token', { token: '', embedded: true }, { needsDevToken: true }],
    ['embedded with a typed token keeps it', { embedded: true }, { token: 'tok', needsDevToken: false }],
  ])('accepts %s', (_name, change, expected) => {
    expect(checkJoinForm({ ...base, ...change })).toMatchObject({ ok: true, ...expected })
  })

  it('what the form accepts is what the server schema takes, and the other way round', () => {
    for (const name of [
      '会议室',
      'a b',
      'x'.repeat(64),
      'x'.repeat(65),
      'a\u200db',
      'é',
      'e\u0301',
      '~._-',
      '🎉',
    ]) {
      const formOk = channelFieldProblem(name) === null
      expect(formOk, name).toBe(isChannelName(name.trim().normalize('NFC')))
    }
  })

  it('the live uid check under a proxy mode names uid 0, not the number rule', () => {
    expect(uidFieldProblem('0', 0)).toBeNull()
    expect(say(en.t, uidFieldProblem('0', 1)!)).toMatch(/uid 0 cannot join/)
    expect(uidFieldProblem('0042', 1)).toBeNull()
  })
})
