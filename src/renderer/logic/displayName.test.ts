import { describe, expect, it } from 'vitest'
import { displayNameProblem, joinDisplayName } from './displayName'

describe('display name', () => {
  it.each([
    { text: '', sent: undefined },
    { text: '   ', sent: undefined },
    { text: ' 王芳 ', sent: '王芳' },
    // e + combining acute becomes é (NFC), as the host and the server compare it.
    { text: 'Rene\u0301', sent: 'René' },
    { text: 'x'.repeat(64), sent: 'x'.repeat(64) },
  ])('"$text" joins with $sent', ({ text, sent }) => {
    expect(displayNameProblem(text)).toBeNull()
    expect(joinDisplayName(text)).toEqual({ ok: true, displayName: sent })
  })

  it.each([
    { text: 'x'.repeat(65), key: 'layout:nameTooLong' },
    { text: '李'.repeat(65), key: 'layout:nameTooLong' },
    { text: 'bell\u0007', key: 'layout:nameCharacters' },
    { text: 'zero\u200bwidth', key: 'layout:nameCharacters' },
  ])('"$text" is refused: $key', ({ text, key }) => {
    expect(displayNameProblem(text)?.key).toBe(key)
    expect(joinDisplayName(text)).toMatchObject({ ok: false, problem: { key } })
  })
})
