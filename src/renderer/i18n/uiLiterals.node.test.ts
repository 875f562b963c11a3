import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

/**
 * No literal English in the renderer's components: every word a person reads comes from a catalogue
 * (docs/i18n.md). A static scan of src/renderer/ui/**.tsx with the TypeScript compiler: JSX text, and the
 * string literals that reach the screen or a screen reader — the attributes below, the strings a JSX
 * expression shows (`{busy ? 'Joining…' : 'Join'}`, template literals), properties a list of controls
 * shows (`label:`) — but not the arguments of a call (`t('common:joinForm.join')` is a key, not words).
 */

const UI_DIR = join(import.meta.dirname, '..', 'ui')

/** Attributes a person reads or hears. */
const USER_FACING = new Set([
  'aria-label',
  'aria-description',
  'aria-valuetext',
  'title',
  'placeholder',
  'alt',
  'label',
])

/** Object properties whose strings a component shows (`{ id: 'call', label: 'Call' }` mapped into tabs). */
const SHOWN_PROPERTIES = new Set(['label', 'hint', 'title', 'text', 'caption', 'placeholder', 'sentence'])

/** What may stay literal: the product's name. Text without a letter (·, ×, —, /) always may. */
const ALLOWED = new Set(['Pinhole'])

const hasWords = (text: string): boolean => /\p{L}/u.test(text) && !ALLOWED.has(text.trim())

export interface Literal {
  line: number
  text: string
}

/** The strings an expression shows: itself, both branches of `?:`, the operands of `||`, `??`, `&&`, `+`. */
function shownStrings(node: ts.Node, out: ts.Node[]): void {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) out.push(node)
  else if (ts.isTemplateExpression(node)) {
    out.push(node.head, ...node.templateSpans.map((span) => span.literal))
    node.templateSpans.forEach((span) => shownStrings(span.expression, out))
  } else if (ts.isParenthesizedExpression(node)) shownStrings(node.expression, out)
  else if (ts.isConditionalExpression(node)) {
    shownStrings(node.whenTrue, out)
    shownStrings(node.whenFalse, out)
  } else if (ts.isBinaryExpression(node)) {
    shownStrings(node.left, out)
    shownStrings(node.right, out)
  }
}

/** Every literal with words a component renders, with its line. */
export function literalStrings(fileName: string, source: string): Literal[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TSX)
  const found: Literal[] = []
  const add = (node: ts.Node, text: string): void => {
    if (hasWords(text))
      found.push({ line: file.getLineAndCharacterOfPosition(node.getStart()).line + 1, text })
  }
  const textOf = (node: ts.Node): string =>
    ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateLiteralToken(node)
      ? node.text
      : ''
  const visit = (node: ts.Node): void => {
    if (ts.isJsxText(node)) add(node, node.text)
    else if (ts.isJsxExpression(node) && node.expression && !ts.isJsxAttribute(node.parent)) {
      const strings: ts.Node[] = []
      shownStrings(node.expression, strings)
      strings.forEach((s) => add(s, textOf(s)))
    } else if (ts.isJsxAttribute(node) && USER_FACING.has(node.name.getText(file)) && node.initializer) {
      const strings: ts.Node[] = []
      const value = node.initializer
      shownStrings(ts.isJsxExpression(value) && value.expression ? value.expression : value, strings)
      strings.forEach((s) => add(s, textOf(s)))
    } else if (ts.isPropertyAssignment(node) && SHOWN_PROPERTIES.has(node.name.getText(file))) {
      const strings: ts.Node[] = []
      shownStrings(node.initializer, strings)
      strings.forEach((s) => add(s, textOf(s)))
    }
    ts.forEachChild(node, visit)
  }
  visit(file)
  return found
}

function componentFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return componentFiles(path)
    return entry.name.endsWith('.tsx') && !entry.name.includes('.test.') ? [path] : []
  })
}

describe('no literal English in src/renderer/ui', () => {
  it('finds what it must (the scan itself)', () => {
    const sample = [
      'export const A = () => (',
      '  <form title="Join form" aria-label={`Call with ${n} people`}>',
      '    <h2>Join a channel</h2>',
      "    {busy ? 'Joining…' : t('common:joinForm.join')}",
      "    <input placeholder={embedded ? 'filled in' : 'paste'} data-testid=\"join-token\" />",
      "    <p>{t('common:x', { n })} · {count} × {'—'}</p>",
      '    <h1>Pinhole</h1>',
      "    {[{ id: 'call', label: 'Call' }, { id: 'x', label: t('common:views.call') }].map(render)}",
      '  </form>',
      ')',
    ].join('\n')
    expect(literalStrings('sample.tsx', sample).map((l) => l.text.trim())).toEqual([
      'Join form',
      'Call with',
      'people',
      'Join a channel',
      'Joining…',
      'filled in',
      'paste',
      'Call',
    ])
  })

  it.each(componentFiles(UI_DIR).map((path) => relative(UI_DIR, path)))('%s', (name) => {
    const literals = literalStrings(name, readFileSync(join(UI_DIR, name), 'utf8'))
    expect(literals.map((l) => `${name}:${l.line}: ${JSON.stringify(l.text.trim())}`)).toEqual([])
  })
})
