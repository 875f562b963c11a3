import { describe, expect, it } from 'vitest'
import { ERROR_ROWS, ErrorCode, errorMessage } from '../../shared/errors'
import { actorWords, noticeFromCode, noticeFromInfo } from './notices'

describe('notices', () => {
  it.each(ERROR_ROWS.filter((row) => row.code !== 0))(
    'code $code ($name) reads as the table sentence with who acts',
    (row) => {
      const notice = noticeFromCode(row.code, 'Join')
      expect(notice).toMatchObject({
        code: row.code,
        sentence: row.message,
        actor: row.actor,
        severity: 'error',
      })
      expect(actorWords(row.actor)).toMatch(/\w/)
    },
  )

  it('0 is no notice', () => {
    expect(noticeFromCode(0, 'Join')).toBeNull()
  })

  it('an unknown code still reads as a sentence', () => {
    expect(noticeFromCode(999, 'Join')?.sentence).toBe('Unexpected result code 999.')
  })

  it("an event's info keeps its detail and takes the table's sentence", () => {
    const notice = noticeFromInfo(
      { code: ErrorCode.TlsFingerprintMismatch, message: 'short', detail: 'seen AB:CD' },
      'Engine',
      'warning',
    )
    expect(notice).toMatchObject({
      severity: 'warning',
      sentence: errorMessage(ErrorCode.TlsFingerprintMismatch),
      detail: 'seen AB:CD',
      actor: 'it',
    })
  })

  it("a code the table does not know keeps the host's message", () => {
    const info = { code: 12345, message: 'host words' } as unknown as Parameters<typeof noticeFromInfo>[0]
    expect(noticeFromInfo(info, 'Engine').sentence).toBe('host words')
  })
})
