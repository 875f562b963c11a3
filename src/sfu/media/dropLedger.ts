/**
 * Renumbering around dropped items for a wrapping counter (RTP sequence number, VP8 PictureID): an item
 * that is forwarded keeps its place minus the number of dropped items before it, so the receiver sees a
 * contiguous run where the SFU dropped, and a gap where the item never arrived (a real loss it should
 * NACK). Values are unwrapped to a monotonic "extended" number against the newest one seen.
 */
export class DropLedger {
  readonly modulus: number
  private highest: number | undefined
  /** Extended values the ledger hides, ascending; older ones are folded into `foldedDrops`. */
  private drops: number[] = []
  private foldedDrops = 0
  /** The newest extended value already given out renumbered: drops before it can no longer be hidden. */
  private highestForwarded = Number.NEGATIVE_INFINITY

  constructor(
    bits: number,
    /** How far back (in values) a late item is still accepted. */
    readonly window: number,
  ) {
    this.modulus = 2 ** bits
  }

  /** The extended value of `value`, taken as the nearest to the newest seen (half the range either way). */
  extend(value: number): number {
    if (this.highest === undefined) return value
    const half = this.modulus / 2
    let delta = (value - this.highest) % this.modulus
    if (delta < 0) delta += this.modulus
    if (delta >= half) delta -= this.modulus
    return this.highest + delta
  }

  /** Records `extended` as seen (the newest, when it is). */
  see(extended: number): void {
    if (this.highest === undefined || extended > this.highest) this.highest = extended
    this.fold()
  }

  /** Too old to be renumbered consistently (older than the window behind the newest seen). */
  isTooOld(extended: number): boolean {
    return this.highest !== undefined && extended < this.highest - this.window
  }

  /**
   * Hides `extended` from the renumbering, when no later item was given out yet; otherwise it stays a
   * gap the receiver sees (renumbering it now would shift numbers already sent). True when hidden.
   */
  drop(extended: number): boolean {
    if (extended < this.highestForwarded) return false
    let i = this.drops.length
    while (i > 0 && (this.drops[i - 1] ?? 0) > extended) i -= 1
    if (this.drops[i - 1] === extended) return true
    this.drops.splice(i, 0, extended)
    return true
  }

  /** The renumbered value of a forwarded `extended`, reduced to the counter's width. */
  forward(extended: number): number {
    if (extended > this.highestForwarded) this.highestForwarded = extended
    let before = this.foldedDrops
    for (const d of this.drops) {
      if (d >= extended) break
      before += 1
    }
    const out = (extended - before) % this.modulus
    return out < 0 ? out + this.modulus : out
  }

  /** Drops older than anything still accepted count the same for every later item: keep only their number. */
  private fold(): void {
    if (this.highest === undefined) return
    const floor = this.highest - this.window
    let n = 0
    while (n < this.drops.length && (this.drops[n] ?? 0) < floor) n += 1
    if (n === 0) return
    this.foldedDrops += n
    this.drops = this.drops.slice(n)
  }
}
