import { readFileSync, writeFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  CHECK_POINTER,
  ERROR_ROWS,
  EngineError,
  ErrorCode,
  appErrorMessage,
  errorMessage,
  errorRow,
  isErrorCode,
  renderErrorTable,
} from './errors'

const DOC = new URL('../../docs/errors.md', import.meta.url)
const BEGIN = '<!-- errors:begin (generated from src/shared/errors.ts) -->'
const END = '<!-- errors:end -->'

/** Table rows of a Markdown table as trimmed cells (formatting-insensitive, so Prettier may align it). */
function rowsOf(markdown: string): string[][] {
  return markdown
    .split('\n')
    .filter((line) => line.trim().startsWith('|'))
    .slice(2)
    .map((line) =>
      line
        .trim()
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim()),
    )
}

describe('error table', () => {
  it('has unique codes and names, and a sentence for each', () => {
    expect(new Set(ERROR_ROWS.map((row) => row.code)).size).toBe(ERROR_ROWS.length)
    expect(new Set(ERROR_ROWS.map((row) => row.name)).size).toBe(ERROR_ROWS.length)
    for (const row of ERROR_ROWS) expect(row.message).toMatch(/^[A-Z].+[.)]$/)
  })

  it('keeps NERTC 414 for request parameter errors, uid 0 under a proxy included', () => {
    expect(ErrorCode.RequestParameter).toBe(414)
    expect(errorMessage(414)).toMatch(/uid/)
    expect(errorMessage(414)).toMatch(/must not be 0/)
    expect(isErrorCode(414)).toBe(true)
    expect(isErrorCode(413)).toBe(false)
  })

  it('EngineError carries code, table message and detail', () => {
    const error = new EngineError(ErrorCode.TlsFingerprintMismatch, '1.2.3.4:443: expected A, got B')
    expect(error).toBeInstanceOf(Error)
    expect(error.message).toBe(errorMessage(ErrorCode.TlsFingerprintMismatch))
    expect(error.toInfo()).toEqual({
      code: 30124,
      message: error.message,
      detail: '1.2.3.4:443: expected A, got B',
    })
    expect(String(error)).toContain('TlsFingerprintMismatch')
  })

  it('the app says its own "Network check" where the CLI says "pinhole doctor"', () => {
    const checked = ERROR_ROWS.filter((row) => row.check)
    expect(checked.map((row) => row.code)).toEqual(expect.arrayContaining([408, 30103, 30127, 30201, 30208]))
    for (const row of ERROR_ROWS) {
      expect(appErrorMessage(row.code), row.name).not.toMatch(/pinhole doctor|\bCLI\b|--[a-z]/)
      expect(row.message.includes(CHECK_POINTER.cli), row.name).toBe(row.check)
      expect(appErrorMessage(row.code).includes(CHECK_POINTER.app), row.name).toBe(row.check)
    }
  })

  it('a lost connection or a timeout does not say the user can fix it: the network check tells who', () => {
    for (const code of [408, 30201, 30202, 30208] as const) {
      expect(errorRow(code).actor, String(code)).toBe('network')
      expect(errorRow(code).check).toBe(true)
    }
  })

  it('a setting the IT policy forbids has its own code, for IT, not 30005 "Call leaveChannel first"', () => {
    expect(errorRow(ErrorCode.NotAllowedByPolicy)).toMatchObject({ code: 30008, actor: 'it' })
    expect(errorMessage(ErrorCode.NotAllowedByPolicy)).toMatch(/IT policy/)
  })

  it('docs/errors.md holds exactly the table (UPDATE_DOCS=1 rewrites it)', () => {
    const doc = readFileSync(DOC, 'utf8')
    const begin = doc.indexOf(BEGIN)
    const end = doc.indexOf(END)
    expect(begin).toBeGreaterThanOrEqual(0)
    expect(end).toBeGreaterThan(begin)
    const generated = renderErrorTable()
    if (process.env.UPDATE_DOCS === '1') {
      writeFileSync(DOC, `${doc.slice(0, begin + BEGIN.length)}\n\n${generated}\n\n${doc.slice(end)}`)
      return
    }
    expect(rowsOf(doc.slice(begin, end))).toEqual(rowsOf(generated))
  })
})
