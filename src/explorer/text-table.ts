/**
 * Lays out rows of cells as aligned columns for terminal reports: each cell
 * clipped to `maxCell` characters (ending in …), columns two spaces apart,
 * every line indented by two.
 */
export function textTable(rows: readonly (readonly string[])[], maxCell: number): string {
  const clipped = rows.map((r) => r.map((cell) => (cell.length > maxCell ? `${cell.slice(0, maxCell - 1)}…` : cell)));
  const widths = clipped[0].map((_, c) => Math.max(...clipped.map((r) => r[c].length)));
  return clipped.map((r) => `  ${r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd()}`).join('\n');
}
