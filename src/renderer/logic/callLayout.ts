/**
 * Where each participant goes in the call view (issue 13 item 3, docs/meeting.md "Layouts, active speaker,
 * reconnecting"): the speaker view (one large tile on the stage, the others in a filmstrip), the grid
 * (equal tiles, as many columns as make them largest in the space there is), and a screen share, which
 * takes the stage whatever the view while every camera goes to the filmstrip. This user is uid `SELF`.
 */

export type LayoutMode = 'speaker' | 'grid'

/** This user's tile in the layout (the local preview); levels use the same uid (0 = local). */
export const SELF = 0

export type Arrangement =
  | { kind: 'grid'; tiles: number[] }
  | { kind: 'speaker'; stage: number; strip: number[] }
  | { kind: 'screen'; sharer: number; strip: number[] }

export interface ArrangeInput {
  mode: LayoutMode
  /** Remote uids in join order. */
  remotes: readonly number[]
  /** Remote uids sharing a screen (the first one is shown; a second share waits its turn). */
  sharers: readonly number[]
  /** The active speaker (logic/activeSpeaker.ts), SELF for this user, null before anyone spoke. */
  speaker: number | null
}

export function arrange(input: ArrangeInput): Arrangement {
  const everyone = [SELF, ...input.remotes]
  const sharer = input.sharers.find((uid) => input.remotes.includes(uid))
  if (sharer !== undefined) return { kind: 'screen', sharer, strip: everyone }
  if (input.mode === 'grid') return { kind: 'grid', tiles: everyone }
  // Nobody has spoken yet: the first other participant, so the stage is not just one's own face.
  const speaker =
    input.speaker !== null && everyone.includes(input.speaker) ? input.speaker : (input.remotes[0] ?? SELF)
  return { kind: 'speaker', stage: speaker, strip: everyone.filter((uid) => uid !== speaker) }
}

export interface GridShape {
  columns: number
  rows: number
}

/**
 * The columns and rows that give `count` tiles of `aspect` (width / height) the largest size inside a
 * `width` x `height` box: a wide window gets more columns, a tall one more rows (16 people: 4x4 in a
 * 4:3 window, 5x4 or 6x3 in a wide one).
 */
export function gridShape(count: number, width: number, height: number, aspect = 16 / 9): GridShape {
  if (count <= 1 || width <= 0 || height <= 0) return { columns: 1, rows: 1 }
  let best: GridShape = { columns: 1, rows: count }
  let bestWidth = -1
  for (let columns = 1; columns <= count; columns++) {
    const rows = Math.ceil(count / columns)
    const tileWidth = Math.min(width / columns, (height / rows) * aspect)
    // On a tie (within half a pixel), a landscape box takes the wider shape: two side by side.
    const tie = Math.abs(tileWidth - bestWidth) <= 0.5
    if (tileWidth > bestWidth + 0.5 || (tie && width >= height)) {
      best = { columns, rows }
      bestWidth = tileWidth
    }
  }
  return best
}

export interface Rect {
  x: number
  y: number
  width: number
  height: number
}

/** Each camera tile's box (by uid), and the screen share's when one is on the stage. */
export interface Placement {
  tiles: Record<number, Rect>
  screen?: Rect
}

export const TILE_ASPECT = 16 / 9
export const TILE_GAP = 8
/** The filmstrip takes at most this share of the height: the stage stays the larger part. */
const STRIP_MAX_SHARE = 0.3
/** Filmstrip tiles per row: at least 4 (so 1–3 others are not huge), at most 8 (then a second row). */
const STRIP_MIN_PER_ROW = 4
const STRIP_MAX_PER_ROW = 8
/** In a narrow window, down to this many per row (each then just under half the stage's width). */
const STRIP_NARROW_MIN_PER_ROW = 2

/** Where every tile of `arrangement` goes in a `width` x `height` box (pixels, top-left origin). */
export function placeTiles(arrangement: Arrangement, width: number, height: number): Placement {
  const w = Math.max(0, width)
  const h = Math.max(0, height)
  if (arrangement.kind === 'grid') return { tiles: placeGrid(arrangement.tiles, w, h) }
  const strip = placeStrip(arrangement.strip, w, h)
  const stageHeight = Math.max(0, h - strip.height - (strip.height > 0 ? TILE_GAP : 0))
  const stageBox = { x: 0, y: 0, width: w, height: stageHeight }
  if (arrangement.kind === 'screen') return { tiles: strip.tiles, screen: stageBox }
  return { tiles: { ...strip.tiles, [arrangement.stage]: fit(stageBox) } }
}

/** The largest 16:9 box inside `box`, centred. */
function fit(box: Rect): Rect {
  const width = Math.min(box.width, box.height * TILE_ASPECT)
  const height = width / TILE_ASPECT
  return { x: box.x + (box.width - width) / 2, y: box.y + (box.height - height) / 2, width, height }
}

function placeGrid(uids: readonly number[], w: number, h: number): Record<number, Rect> {
  const { columns, rows } = gridShape(uids.length, w, h, TILE_ASPECT)
  const width = Math.max(
    0,
    Math.min((w - (columns - 1) * TILE_GAP) / columns, ((h - (rows - 1) * TILE_GAP) / rows) * TILE_ASPECT),
  )
  const height = width / TILE_ASPECT
  const top = (h - (rows * height + (rows - 1) * TILE_GAP)) / 2
  return rowsOf(uids, columns, width, height, w, top)
}

/** Rows of `columns` equal tiles from `top`, each row centred (a last, shorter row too). */
function rowsOf(
  uids: readonly number[],
  columns: number,
  width: number,
  height: number,
  boxWidth: number,
  top: number,
): Record<number, Rect> {
  const tiles: Record<number, Rect> = {}
  uids.forEach((uid, i) => {
    const row = Math.floor(i / columns)
    const inRow = Math.min(columns, uids.length - row * columns)
    const left = (boxWidth - (inRow * width + (inRow - 1) * TILE_GAP)) / 2
    const column = i % columns
    tiles[uid] = { x: left + column * (width + TILE_GAP), y: top + row * (height + TILE_GAP), width, height }
  })
  return tiles
}

/** The filmstrip along the bottom: its tiles and the height it takes (0 without tiles). */
function placeStrip(
  uids: readonly number[],
  w: number,
  h: number,
): { tiles: Record<number, Rect>; height: number } {
  if (uids.length === 0) return { tiles: {}, height: 0 }
  const usualPerRow = Math.min(STRIP_MAX_PER_ROW, Math.max(STRIP_MIN_PER_ROW, uids.length))
  let best = stripShape(uids.length, usualPerRow, w, h * STRIP_MAX_SHARE)
  // A narrow window: the stage's 16:9 tile is bound by the width and leaves height below it unused, while one
  // row of eight gives tiles too small to read a name (800x600: 50x28 px). Fewer, larger tiles per row then,
  // in as many rows as that height holds; the stage keeps its size.
  const unused = Math.max(best.height, h - w / TILE_ASPECT - TILE_GAP)
  for (let perRow = usualPerRow - 1; perRow >= STRIP_NARROW_MIN_PER_ROW; perRow--) {
    const shape = stripShape(uids.length, perRow, w, unused)
    if (shape.tileHeight > best.tileHeight) best = shape
  }
  const { perRow, tileHeight, height } = best
  return { tiles: rowsOf(uids, perRow, tileHeight * TILE_ASPECT, tileHeight, w, h - height), height }
}

/** `n` filmstrip tiles, `perRow` to a row, as large as `w` and `maxHeight` allow. */
function stripShape(
  n: number,
  perRow: number,
  w: number,
  maxHeight: number,
): { perRow: number; tileHeight: number; height: number } {
  const rows = Math.ceil(n / perRow)
  const tileHeight = Math.max(
    0,
    Math.min(
      (w - (perRow - 1) * TILE_GAP) / perRow / TILE_ASPECT,
      (maxHeight - (rows - 1) * TILE_GAP) / rows,
    ),
  )
  return { perRow, tileHeight, height: rows * tileHeight + (rows - 1) * TILE_GAP }
}
