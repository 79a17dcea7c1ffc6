/**
 * The cost-counter table of `allocsim compare`: per kind of operation, each
 * counter any column paid, as mean / p50 / p99 per operation, one column per
 * policy. What each counter means, and the Linux code path that pays it, is
 * in the README ("Cost counters").
 */

import { COST_COUNTERS, COST_COUNTER_LABELS, COST_OPS, type CostDistribution, type CostRow } from '../interfaces/cost.js';
import { formatCount, formatDecimal, formatTable } from './format.js';

/** One column: a policy's name and its meter's rows. */
export interface CostColumn {
  readonly name: string;
  readonly rows: readonly CostRow[];
}

/** `mean / p50 / p99` of a distribution: the mean with two decimals, the percentiles exact. */
function cell(d: CostDistribution | undefined): string {
  if (d === undefined) return '-';
  return `${formatDecimal(d.mean, 2)} / ${formatCount(d.p50)} / ${formatCount(d.p99)}`;
}

/**
 * Formats the cost table: one block per operation kind any column ran (the
 * operation count per column on its line), then a row per counter that is
 * not zero in every column.
 */
export function formatCostTable(columns: readonly CostColumn[]): string {
  const rows: [string, string[]][] = [];
  for (const op of COST_OPS) {
    const mine = columns.map((c) => c.rows.find((r) => r.op === op));
    if (mine.every((r) => r === undefined)) continue;
    rows.push([op, mine.map((r) => (r ? `${formatCount(r.count)} ops` : '-'))]);
    for (const name of COST_COUNTERS) {
      if (mine.every((r) => r === undefined || r.counters[name].max === 0)) continue;
      rows.push([`  ${COST_COUNTER_LABELS[name]}`, mine.map((r) => cell(r?.counters[name]))]);
    }
  }
  return formatTable(
    columns.map((c) => c.name),
    rows,
    'cost per operation (mean / p50 / p99; hardware-independent counters, README "Cost counters")',
  );
}
