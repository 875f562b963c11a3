import { describe, expect, it } from 'vitest'
import { arrange, gridShape, placeTiles, SELF, type Rect } from './callLayout'

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

const overlap = (a: Rect, b: Rect): boolean =>
  a.x < b.x + b.width - 0.01 &&
  b.x < a.x + a.width - 0.01 &&
  a.y < b.y + b.height - 0.01 &&
  b.y < a.y + a.height - 0.01
const inside = (r: Rect, w: number, h: number): boolean =>
  r.x >= -0.01 && r.y >= -0.01 && r.x + r.width <= w + 0.01 && r.y + r.height <= h + 0.01

describe('placeTiles', () => {
  const boxes = [
    [480, 320],
    [760, 420],
    [900, 560],
    [1600, 860],
  ] as const
  const remotesOf = (n: number): number[] => Array.from({ length: n }, (_, i) => 101 + i)

  it('grid, 1–16 people: equal 16:9 tiles inside the box, none overlapping, everyone placed', () => {
    for (const [w, h] of boxes) {
      for (let n = 0; n < 16; n++) {
        const arrangement = arrange({ mode: 'grid', remotes: remotesOf(n), sharers: [], speaker: null })
        const rects = Object.values(placeTiles(arrangement, w, h).tiles)
        expect(rects).toHaveLength(n + 1)
        for (const [i, r] of rects.entries()) {
          expect(inside(r, w, h), `${n + 1} in ${w}x${h}`).toBe(true)
          expect(r.width).toBeCloseTo(rects[0]!.width, 6)
          expect(r.width / r.height).toBeCloseTo(16 / 9, 6)
          for (const other of rects.slice(i + 1)) expect(overlap(r, other)).toBe(false)
        }
      }
    }
  })

  it('speaker view, 1–16 people: the stage tile larger than every filmstrip tile, all inside, no overlap', () => {
    for (const [w, h] of boxes) {
      for (let n = 1; n < 16; n++) {
        const remotes = remotesOf(n)
        const arrangement = arrange({ mode: 'speaker', remotes, sharers: [], speaker: remotes.at(-1)! })
        const { tiles } = placeTiles(arrangement, w, h)
        const stage = tiles[remotes.at(-1)!]!
        const strip = Object.entries(tiles).filter(([uid]) => Number(uid) !== remotes.at(-1))
        expect(strip).toHaveLength(n)
        for (const [, r] of strip) {
          expect(r.width).toBeLessThan(stage.width / 2)
          expect(r.y).toBeGreaterThan(stage.y + stage.height)
        }
        const all = Object.values(tiles)
        for (const [i, r] of all.entries()) {
          expect(inside(r, w, h)).toBe(true)
          for (const other of all.slice(i + 1)) expect(overlap(r, other)).toBe(false)
        }
      }
    }
  })

  it('a share: the screen takes the stage above the cameras, which all go to the filmstrip', () => {
    const arrangement = arrange({ mode: 'grid', remotes: [7, 8], sharers: [8], speaker: null })
    const { tiles, screen } = placeTiles(arrangement, 900, 560)
    expect(Object.keys(tiles).map(Number)).toEqual([SELF, 7, 8])
    expect(screen).toMatchObject({ x: 0, y: 0, width: 900 })
    for (const r of Object.values(tiles)) {
      expect(r.y).toBeGreaterThan(screen!.height)
      expect(overlap(r, screen!)).toBe(false)
    }
  })

  it('a narrow window (800x600): the filmstrip takes the height the stage cannot use, in rows of larger tiles', () => {
    const remotes = remotesOf(8)
    const arrangement = arrange({ mode: 'speaker', remotes, sharers: [], speaker: remotes.at(-1)! })
    // The stage box of an 800x600 window; one row of eight there was 50x28 px, too small for a name.
    const [w, h] = [458, 380]
    const { tiles } = placeTiles(arrangement, w, h)
    const stage = tiles[remotes.at(-1)!]!
    expect(stage.width).toBeCloseTo(w, 6)
    const strip = Object.entries(tiles).filter(([uid]) => Number(uid) !== remotes.at(-1))
    expect(new Set(strip.map(([, r]) => r.y)).size).toBe(2)
    for (const [, r] of strip) {
      expect(r.width).toBeGreaterThan(90)
      expect(r.y).toBeGreaterThan(stage.y + stage.height)
      expect(inside(r, w, h)).toBe(true)
    }
  })

  it('a wide window keeps one row of eight under a stage as large as before', () => {
    const remotes = remotesOf(8)
    const arrangement = arrange({ mode: 'speaker', remotes, sharers: [], speaker: remotes.at(-1)! })
    const { tiles } = placeTiles(arrangement, 880, 580)
    const strip = Object.entries(tiles).filter(([uid]) => Number(uid) !== remotes.at(-1))
    expect(new Set(strip.map(([, r]) => r.y)).size).toBe(1)
    expect(strip[0]![1].width).toBeCloseTo((880 - 7 * 8) / 8, 6)
  })

  it("alone in speaker view: one's own tile has the whole stage", () => {
    const arrangement = arrange({ mode: 'speaker', remotes: [], sharers: [], speaker: null })
    expect(placeTiles(arrangement, 1600, 900).tiles[SELF]).toEqual({ x: 0, y: 0, width: 1600, height: 900 })
  })
})
