import { beforeAll, describe, expect, it } from 'vitest'
import { ERROR_ROWS, ErrorCode, appErrorActor, appErrorMessage } from '../../shared/errors'
import {
  CONNECTION_SLOT,
  actorWords,
  noticeFromCode,
  noticeSentence,
  noticeFromInfo,
  placeNotice,
  type Notice,
  type NoticeInput,
} from './notices'
import { createI18n } from '../i18n'
import { langOf, type Lang } from '../i18n/phrase'

let id = 0
const notice = (input: NoticeInput): Notice => ({ ...input, id: ++id, atMs: id })

let en: Lang
let zh: Lang
beforeAll(async () => {
  en = langOf(await createI18n('en'))
  zh = langOf(await createI18n('zh-CN'))
})

describe('notice words', () => {
  it.each(ERROR_ROWS.filter((row) => row.code !== 0))(
    'code $code ($name) reads as the app’s sentence, never sending the user to the CLI',
    (row) => {
      const n = noticeFromCode(row.code, 'Join')
      expect(n).toMatchObject({
        code: row.code,
        sentence: appErrorMessage(row.code),
        actor: appErrorActor(row.code),
      })
      expect(n?.sentence).not.toMatch(/pinhole doctor/)
      // Whoever acts is said once: by the actor line, or by the sentence itself.
      const actor = appErrorActor(row.code)
      const who = actorWords(en, actor)
      if (actor === 'user' || actor === 'network') expect(who).toBeUndefined()
      else expect(who).toMatch(/\w/)
    },
  )

  it('a lost connection or reconnect timeout does not say "You can fix this here"; it points at the check', () => {
    for (const code of [ErrorCode.SignalingLost, ErrorCode.ReconnectTimeout, ErrorCode.JoinTimeout]) {
      const n = noticeFromCode(code, 'Connection')!
      expect([n.sentence, actorWords(en, n.actor!) ?? ''].join(' ')).not.toMatch(/fix this here/)
      expect(n.sentence).toMatch(/Open "Network check"/)
    }
  })

  it('a token refused in the app is the pasting person’s to fix, not "Report this to the app developers"', () => {
    const n = noticeFromCode(ErrorCode.ProxySessionTokenInvalid, 'Join')!
    expect(n.actor).toBe('user')
    expect(n.sentence).toMatch(/Paste the whole token you were given/)
    expect(n.sentence).not.toMatch(/Mint tokens/)
  })

  it('shows the sentence in the language in force: the catalogue for a code, the host words for an unknown one', () => {
    const refused = noticeFromCode(ErrorCode.RequestParameter, 'Join')!
    expect(noticeSentence(en, refused)).toBe(appErrorMessage(ErrorCode.RequestParameter))
    expect(noticeSentence(zh, refused)).toMatch(/^请求参数错误/)
    expect(noticeSentence(zh, noticeFromCode(999, 'Join')!)).toBe('意外的结果码 999。')
    const unknown = { code: 12345, message: 'host words' } as unknown as Parameters<typeof noticeFromInfo>[0]
    expect(noticeSentence(zh, noticeFromInfo(unknown, 'Region'))).toBe('host words')
    expect(actorWords(zh, 'it')).toBe('请联系您的 IT 部门。')
  })

  it('0 is no notice; an unknown code still reads as a sentence', () => {
    expect(noticeFromCode(0, 'Join')).toBeNull()
    expect(noticeFromCode(999, 'Join')?.sentence).toBe('Unexpected result code 999.')
  })

  it("an event's info keeps its detail and takes the table's sentence; unknown codes keep the host's", () => {
    const info = { code: ErrorCode.TlsFingerprintMismatch, message: 'short', detail: 'seen AB:CD' }
    expect(noticeFromInfo(info, 'Connection', 'warning', CONNECTION_SLOT)).toMatchObject({
      severity: 'warning',
      sentence: appErrorMessage(ErrorCode.TlsFingerprintMismatch),
      detail: 'seen AB:CD',
      actor: 'it',
      slot: CONNECTION_SLOT,
    })
    const unknown = { code: 12345, message: 'host words' } as unknown as Parameters<typeof noticeFromInfo>[0]
    expect(noticeFromInfo(unknown, 'Region').sentence).toBe('host words')
    expect(noticeFromInfo(unknown, 'Region').slot).toBe('Region')
  })
})

describe('one notice per cause', () => {
  const info = { code: ErrorCode.ProxySessionTokenInvalid, message: 'm', detail: '401 token_malformed' }

  it('a join failure told by the engine event and by the join result is one notice, detail kept', () => {
    let list: Notice[] = []
    list = placeNotice(list, notice(noticeFromInfo(info, 'Connection', 'error', CONNECTION_SLOT)), 20)
    list = placeNotice(list, notice(noticeFromCode(info.code, 'Join', CONNECTION_SLOT)!), 20)
    expect(list).toHaveLength(1)
    expect(list[0]).toMatchObject({ code: info.code, context: 'Join', detail: '401 token_malformed' })
  })

  it('a new cause in the same slot replaces the old one (no stale detail carried over)', () => {
    let list: Notice[] = []
    list = placeNotice(list, notice(noticeFromInfo(info, 'Connection', 'error', CONNECTION_SLOT)), 20)
    const lost = noticeFromCode(ErrorCode.ReconnectTimeout, 'Connection', CONNECTION_SLOT)!
    list = placeNotice(list, notice(lost), 20)
    expect(list.map((n) => [n.code, n.detail])).toEqual([[ErrorCode.ReconnectTimeout, undefined]])
  })

  it('other slots keep their own notice beside the connection’s', () => {
    let list: Notice[] = []
    list = placeNotice(list, notice(noticeFromCode(ErrorCode.NotAllowedByPolicy, 'Proxy mode')!), 20)
    list = placeNotice(list, notice(noticeFromCode(info.code, 'Join', CONNECTION_SLOT)!), 20)
    list = placeNotice(list, notice(noticeFromCode(ErrorCode.NotAllowedByPolicy, 'Proxy mode')!), 20)
    expect(list.map((n) => n.slot)).toEqual([CONNECTION_SLOT, 'Proxy mode'])
  })
})
