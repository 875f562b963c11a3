import { beforeAll, describe, expect, it } from 'vitest'
import { createI18n } from '../i18n'
import { langOf, say, type Lang } from '../i18n/phrase'
import { captureProblem, MEDIA_PROBLEM_KEYS, mediaProblem } from './mediaProblems'

let en: Lang
let zh: Lang
beforeAll(async () => {
  en = langOf(await createI18n('en'))
  zh = langOf(await createI18n('zh-CN'))
})

describe('the renderer’s media problems in the user’s language', () => {
  it.each(MEDIA_PROBLEM_KEYS.flatMap((key) => [[key, 'video'] as const, [key, 'audio'] as const]))(
    '%s (%s): the English notice is the logged sentence; the Chinese is Chinese and keeps the error',
    (key, kind) => {
      const problem = mediaProblem(key, { kind, error: new Error('EncodingError: boom') })
      expect(say(en.t, problem.phrase)).toBe(problem.sentence)
      const chinese = say(zh.t, problem.phrase)
      expect(chinese).toMatch(/[\u4e00-\u9fff]/)
      expect(chinese).not.toBe(problem.sentence)
      if (problem.sentence.includes('boom')) expect(chinese).toContain('EncodingError: boom')
    },
  )

  it('a capture failure is worded by the DOMException’s name, the device named in each language', () => {
    const denied = captureProblem('audio', new DOMException('denied', 'NotAllowedError'))
    expect(denied.sentence).toBe('Pinhole may not use the microphone: allow it in the system settings.')
    expect(say(zh.t, denied.phrase)).toBe('Pinhole 没有使用麦克风的权限：请在系统设置中允许。')
    expect(captureProblem('video', new DOMException('x', 'NotReadableError')).sentence).toBe(
      'The camera is busy: close the other app that uses it.',
    )
    expect(captureProblem('video', 'no track').sentence).toBe('The camera could not start (no track).')
  })
})
