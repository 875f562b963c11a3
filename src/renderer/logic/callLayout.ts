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
