import { describe, expect, it } from 'vitest'
import { arrange, gridShape, SELF } from './callLayout'

describe('gridShape', () => {
  it.each([
    { count: 1, width: 1280, height: 720, columns: 1, rows: 1 },
    { count: 2, width: 1280, height: 720, columns: 2, rows: 1 },
    { count: 3, width: 1280, height: 720, columns: 2, rows: 2 },
    { count: 4, width: 1280, height: 720, columns: 2, rows: 2 },
    { count: 9, width: 1280, height: 720, columns: 3, rows: 3 },
    { count: 16, width: 1280, height: 720, columns: 4, rows: 4 },
    // A wide, low box: more columns.
    { count: 9, width: 1900, height: 500, columns: 5, rows: 2 },
    { count: 16, width: 1900, height: 600, columns: 6, rows: 3 },
    // A tall, narrow box: one column for two or three.
    { count: 3, width: 400, height: 900, columns: 1, rows: 3 },
    // Degenerate boxes still give a shape.
    { count: 5, width: 0, height: 600, columns: 1, rows: 1 },
  ])('$count in $width x $height → $columns x $rows', ({ count, width, height, columns, rows }) => {
    expect(gridShape(count, width, height)).toEqual({ columns, rows })
  })

  it('every tile fits: columns x rows holds the count, and no shape gives larger tiles', () => {
    for (let count = 1; count <= 16; count++) {
      for (const [width, height] of [
        [800, 400],
        [1280, 620],
        [1900, 900],
      ] as const) {
        const shape = gridShape(count, width, height)
        expect(shape.columns * shape.rows).toBeGreaterThanOrEqual(count)
        const size = (c: number): number => Math.min(width / c, (height / Math.ceil(count / c)) * (16 / 9))
        for (let c = 1; c <= count; c++) expect(size(c)).toBeLessThanOrEqual(size(shape.columns) + 0.5)
      }
    }
  })
})

describe('arrange', () => {
  it('grid: everyone, this user first', () => {
    expect(arrange({ mode: 'grid', remotes: [7, 8], sharers: [], speaker: 8 })).toEqual({
      kind: 'grid',
      tiles: [SELF, 7, 8],
    })
  })

  it('speaker view: the speaker on the stage, everyone else (this user included) in the filmstrip', () => {
    expect(arrange({ mode: 'speaker', remotes: [7, 8, 9], sharers: [], speaker: 8 })).toEqual({
      kind: 'speaker',
      stage: 8,
      strip: [SELF, 7, 9],
    })
    expect(arrange({ mode: 'speaker', remotes: [7, 8], sharers: [], speaker: SELF })).toEqual({
      kind: 'speaker',
      stage: SELF,
      strip: [7, 8],
    })
  })

  it('speaker view before anyone spoke, or after the speaker left: the first other participant', () => {
    expect(arrange({ mode: 'speaker', remotes: [7, 8], sharers: [], speaker: null })).toMatchObject({
      stage: 7,
    })
    expect(arrange({ mode: 'speaker', remotes: [7, 8], sharers: [], speaker: 5 })).toMatchObject({
      stage: 7,
    })
    expect(arrange({ mode: 'speaker', remotes: [], sharers: [], speaker: null })).toEqual({
      kind: 'speaker',
      stage: SELF,
      strip: [],
    })
  })

  it('a screen share takes the stage in either view; every camera goes to the filmstrip', () => {
    for (const mode of ['speaker', 'grid'] as const) {
      expect(arrange({ mode, remotes: [7, 8], sharers: [8], speaker: 7 })).toEqual({
        kind: 'screen',
        sharer: 8,
        strip: [SELF, 7, 8],
      })
    }
    // A sharer who already left is not shown.
    expect(arrange({ mode: 'grid', remotes: [7], sharers: [8], speaker: null }).kind).toBe('grid')
  })
})
