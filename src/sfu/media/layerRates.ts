/**
 * A published VP8 track's bitrate per temporal layer, over the last `WINDOW_MS` (in `BIN_MS` bins, so
 * old bytes leave the window in steps rather than all at once). What a subscriber at layer l costs is
 * the cumulative rate of layers 0..l. Payload bytes plus the RTP header: what the subscriber's link
 * carries, near enough. Pure: time comes in.
 */

const BIN_MS = 250
const WINDOW_MS = 2000
const BINS = WINDOW_MS / BIN_MS
const LAYERS = 3
/** The RTP fixed header, counted per packet. */
const HEADER_BYTES = 12

export class LayerRates {
  /** bins[bin * LAYERS + layer]: bytes. */
  private readonly bins = new Float64Array(BINS * LAYERS)
  private newestBin: number | undefined
  private firstMs: number | undefined

  add(layer: number, payloadBytes: number, nowMs: number): void {
    this.advance(nowMs)
    const bin = Math.floor(nowMs / BIN_MS) % BINS
    const index = bin * LAYERS + Math.min(Math.max(layer, 0), LAYERS - 1)
    this.bins[index] = (this.bins[index] ?? 0) + payloadBytes + HEADER_BYTES
  }

  /** bit/s of layers 0..l for l = 0, 1, 2. */
  cumulative(nowMs: number): [number, number, number] {
    this.advance(nowMs)
    // The window runs from the start of its oldest bin (or the first packet) to now.
    const windowStart = (Math.floor(nowMs / BIN_MS) - BINS + 1) * BIN_MS
    const span = Math.max(BIN_MS, nowMs - Math.max(windowStart, this.firstMs ?? nowMs))
    const perLayer = [0, 0, 0]
    this.bins.forEach((bytes, i) => (perLayer[i % LAYERS] = (perLayer[i % LAYERS] ?? 0) + bytes))
    const bps = perLayer.map((bytes) => (bytes * 8000) / span)
    const [l0 = 0, l1 = 0, l2 = 0] = bps
    return [l0, l0 + l1, l0 + l1 + l2]
  }

  /** Clears the bins that fell out of the window since the last call. */
  private advance(nowMs: number): void {
    this.firstMs ??= nowMs
    const bin = Math.floor(nowMs / BIN_MS)
    if (this.newestBin === undefined) {
      this.newestBin = bin
      return
    }
    const steps = Math.min(bin - this.newestBin, BINS)
    for (let s = 1; s <= steps; s++) {
      const slot = (this.newestBin + s) % BINS
      this.bins.fill(0, slot * LAYERS, slot * LAYERS + LAYERS)
    }
    if (bin > this.newestBin) this.newestBin = bin
  }
}
