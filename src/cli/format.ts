/**
 * Number and table formatting for the text reports of the CLI. Counts get
 * thousands separators everywhere (`1,234,567`); /proc files do not use
 * these helpers, they print as the kernel does.
 */

/** Text for a metric that does not apply to a column (SLOB's per-CPU fast path). */
export const NOT_APPLICABLE = 'n/a';

/**
 * An integer with thousands separators: `1234567` → `1,234,567`. Rounds
 * non-integers; independent of the locale.
 */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const r = Math.round(n);
  const digits = String(Math.abs(r)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return r < 0 ? `-${digits}` : digits;
}

/** A number with `digits` decimals and thousands separators: `12345.67` → `12,345.7`. */
export function formatDecimal(x: number, digits: number): string {
  if (!Number.isFinite(x)) return String(x);
  const [int = '', frac] = Math.abs(x).toFixed(digits).split('.');
  const text = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',') + (frac !== undefined ? `.${frac}` : '');
  return x < 0 && Number(x.toFixed(digits)) !== 0 ? `-${text}` : text;
}

/** A ratio as a percentage with one decimal: `0.1234` → `12.3%`. */
export function formatPercent(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

/**
 * An aligned table: a title line, a header row, then one row per metric;
 * the first column is left-aligned, the others right-aligned.
 *
 * @param heads - column heads (after the label column)
 * @param rows - label and one cell per column
 * @param title - first line (none when empty)
 */
export function formatTable(heads: readonly string[], rows: readonly (readonly [string, readonly string[]])[], title = ''): string {
  const all = [['', ...heads], ...rows.map(([l, cells]) => [l, ...cells])];
  const widths = all[0]!.map((_, c) => Math.max(...all.map((row) => (row[c] ?? '').length)));
  const body = all.map((row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd()).join('\n');
  return `${title ? `${title}\n` : ''}${body}\n`;
}
