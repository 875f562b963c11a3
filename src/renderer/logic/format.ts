/** Small formatters for the panels; pure, so the tests pin their output. */

export function formatClock(atMs: number): string {
  const d = new Date(atMs)
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0')
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
}

export function formatMs(ms: number | undefined): string {
  return ms === undefined || !Number.isFinite(ms) ? '—' : `${Math.round(ms)} ms`
}

export function formatKbps(kbps: number | undefined): string {
  if (kbps === undefined || !Number.isFinite(kbps)) return '—'
  return kbps >= 1000 ? `${(kbps / 1000).toFixed(2)} Mbit/s` : `${Math.round(kbps)} kbit/s`
}

/** A 0..1 fraction as a percentage. */
export function formatLoss(fraction: number | undefined): string {
  if (fraction === undefined || !Number.isFinite(fraction)) return '—'
  return `${(fraction * 100).toFixed(fraction > 0 && fraction < 0.1 ? 1 : 0)} %`
}

export function formatFps(fps: number | undefined): string {
  return fps === undefined || !Number.isFinite(fps) ? '—' : `${fps.toFixed(0)} fps`
}

/** A probe round trip: tenths below 10 ms (a LAN or loopback proxy answers in about a millisecond). */
export function formatRtt(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—'
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`
}
