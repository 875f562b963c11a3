/** A plain-text table with right-aligned columns, for benchmark reports. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  )
  const line = (cells: readonly string[]): string =>
    cells.map((cell, column) => cell.padStart(widths[column] ?? 0)).join('  ')
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

export const fixed = (value: number | undefined, digits = 1): string =>
  value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits)

export const thousands = (value: number | undefined): string =>
  value === undefined || !Number.isFinite(value) ? '-' : Math.round(value).toLocaleString('en-US')
