/**
 * The import graph of product code has no cycle. eslint.config.js keeps the arrows between folders one-way;
 * this test covers the files inside a folder too. Type-only imports count as well: they are erased before
 * anything runs, but a type cycle still ties files together (a change in one re-checks all, none can move
 * alone), so shared types live in a module that imports none of their users (renderer/state/types.ts,
 * engine/route/types.ts).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

type Graph = Map<string, string[]>

const isProduct = (file: string) => /\.tsx?$/.test(file) && !/\.(test\.tsx?|d\.ts)$/.test(file)

/** Static imports (type-only ones too) between the product files of src, by path relative to the repository. */
function productGraph(): Graph {
  const files = readdirSync('src', { recursive: true, encoding: 'utf8' })
    .map((file) => join('src', file))
    .filter(isProduct)
  const known = new Set(files)
  const resolve = (from: string, specifier: string) => {
    const base = join(dirname(from), specifier).replace(/\.js$/, '')
    return [`${base}.ts`, `${base}.tsx`, join(base, 'index.ts'), base].find((file) => known.has(file))
  }
  const graph: Graph = new Map()
  for (const file of files) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest)
    const targets = source.statements
      .filter((s) => ts.isImportDeclaration(s) || ts.isExportDeclaration(s))
      .filter((s) => s.moduleSpecifier !== undefined && ts.isStringLiteral(s.moduleSpecifier))
      .map((s) => resolve(file, (s.moduleSpecifier as ts.StringLiteral).text))
    graph.set(
      file,
      targets.filter((target) => target !== undefined),
    )
  }
  return graph
}

/** Every cycle's files (strongly connected components of more than one file, or a file importing itself). */
function cycles(graph: Graph): string[][] {
  const order = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const found: string[][] = []
  const visit = (file: string): void => {
    order.set(file, order.size)
    low.set(file, order.get(file) ?? 0)
    stack.push(file)
    for (const next of graph.get(file) ?? []) {
      if (!order.has(next)) visit(next)
      if (stack.includes(next)) low.set(file, Math.min(low.get(file) ?? 0, low.get(next) ?? 0))
    }
    if (low.get(file) !== order.get(file)) return
    const component = stack.splice(stack.indexOf(file))
    if (component.length > 1 || graph.get(file)?.includes(file)) found.push(component)
  }
  for (const file of graph.keys()) if (!order.has(file)) visit(file)
  return found
}

describe('import cycles', () => {
  it('finds a planted cycle, and a file importing itself', () => {
    const planted: Graph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts', 'd.ts']],
      ['d.ts', []],
      ['e.ts', ['e.ts']],
    ])
    expect(cycles(planted).map((c) => c.sort())).toEqual([['a.ts', 'b.ts', 'c.ts'], ['e.ts']])
  })

  it('product code under src has none', () => {
    const graph = productGraph()
    expect(graph.size).toBeGreaterThan(100) // the walk found the tree
    expect(cycles(graph)).toEqual([])
  })
})
