/**
 * Plain-text tables for the commands' human output: columns padded to their widest cell, two spaces apart.
 * The first column is left-aligned when it holds labels; numbers are right-aligned.
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[], opts: { labels?: boolean; rule?: boolean } = {}): string {
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((row) => (row[j] ?? '').length)));
  const fmt = (row: readonly string[]): string =>
    row.map((cell, j) => (opts.labels && j === 0 ? cell.padEnd(widths[j] ?? 0) : cell.padStart(widths[j] ?? 0))).join('  ');
  const lines = [fmt(header), ...(opts.rule ? [fmt(widths.map((w) => '-'.repeat(w)))] : []), ...rows.map(fmt)];
  return lines.join('\n');
}
