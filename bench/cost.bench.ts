/**
 * Cost counters (issue 17): what counting costs, and that not counting costs
 * nothing.
 *
 * 1. Counters on vs off in this build: whole runs of the slab kernel-mix
 *    (SLUB, SLAB, SLOB) and page kernel-mix workloads, medians of 21
 *    interleaved runs, as a ratio.
 * 2. Off vs a build without the counters (`BENCH_COST_BASELINE` = the
 *    `dist/src/index.js` of a commit before them): the same runs with the
 *    meter off in both builds, interleaved in one process, as a ratio — the
 *    "off adds nothing measurable" target. Without the variable this part
 *    is skipped and says so.
 *
 * Every case runs in a fresh process of its own (this file, run with the
 * case's arguments): a process that already ran other policies, or the meter
 * on, has its shared code compiled for them, which skews the next case by
 * more than what is measured.
 */

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { createSystem } from '../src/system.js';
import { runSlabWorkload } from '../src/harness/workloads/slab.js';
import { runPageWorkload } from '../src/harness/workloads/page.js';
import { interleaved } from './debug.bench.js';

/** One workload measured two ways. */
export interface CostBenchRow {
  readonly name: string;
  /** Median ms of the anchor (counters off, or the baseline build). */
  readonly anchorMs: number;
  /** Median ms of the measured side. */
  readonly ms: number;
  readonly ratio: number;
}

type Runner = (cost: boolean) => number;
type Create = (input: object) => unknown;

const OPS = 200_000;
const ROUNDS = 21;
const MACHINE = { memBytes: 2 ** 30, cpus: 4 };

/** The workloads, each a function of a system factory and the counters switch returning ms. */
function cases(create: Create, slab: typeof runSlabWorkload, page: typeof runPageWorkload): [string, Runner][] {
  const sys = (cost: boolean, policies: object): never => create({ machine: MACHINE, policies, debug: { checks: false, trace: false, ...(cost ? { cost: true } : {}) } }) as never;
  return [
    ...(['slub', 'slab', 'slob'] as const).map((p): [string, Runner] => [`slab kernel-mix ${OPS / 1000}k ops, ${p}`, (cost) => slab(sys(cost, { slab: p }), 'kernel-mix', OPS, 1).wallMs]),
    [`page kernel-mix ${(5 * OPS) / 1000}k ops, buddy`, (cost) => page(sys(cost, { page: 'buddy' }), 'kernel-mix', 5 * OPS, 1).wallMs],
  ];
}


const NR_CASES = 4;
const SELF = fileURLToPath(import.meta.url);

/** Runs case `i` in a fresh process: counters on vs off here, or (with a baseline) off here vs off there. */
function inChild(i: number, baseline?: string): CostBenchRow {
  return JSON.parse(execFileSync(process.execPath, [SELF, String(i), ...(baseline ? [baseline] : [])], { encoding: 'utf8' })) as CostBenchRow;
}

/** One case, in this process (the child's side of {@link inChild}). */
async function runCase(i: number, baseline?: string): Promise<CostBenchRow> {
  const [name, run] = cases(createSystem, runSlabWorkload, runPageWorkload)[i]!;
  if (!baseline) {
    const [anchorMs, ms] = interleaved(() => run(false), () => run(true), ROUNDS);
    return { name, anchorMs, ms, ratio: ms / anchorMs };
  }
  const root = baseline.replace(/\/index\.js$/, '');
  const base = (await import(`${root}/index.js`)) as { createSystem: Create };
  const baseSlab = (await import(`${root}/harness/workloads/slab.js`)) as { runSlabWorkload: typeof runSlabWorkload };
  const basePage = (await import(`${root}/harness/workloads/page.js`)) as { runPageWorkload: typeof runPageWorkload };
  const old = cases(base.createSystem, baseSlab.runSlabWorkload, basePage.runPageWorkload)[i]![1];
  const [anchorMs, ms] = interleaved(() => old(false), () => run(false), ROUNDS);
  return { name, anchorMs, ms, ratio: ms / anchorMs };
}

/** Part 1: counters on, as a ratio to off. */
export function runCostOnBench(): CostBenchRow[] {
  return Array.from({ length: NR_CASES }, (_, i) => inChild(i));
}

/** Part 2: counters off here, as a ratio to a build without them; null when no baseline is given. */
export function runCostOffBench(baseline = process.env['BENCH_COST_BASELINE']): CostBenchRow[] | null {
  if (!baseline) return null;
  return Array.from({ length: NR_CASES }, (_, i) => inChild(i, baseline));
}

// Run as a child: `node cost.bench.js CASE [BASELINE]` prints the case's row.
if (process.argv[1] === SELF && process.argv[2] !== undefined) process.stdout.write(JSON.stringify(await runCase(Number(process.argv[2]), process.argv[3])));

/** Markdown for RESULTS.md. */
export function formatCostBench(on: readonly CostBenchRow[], off: readonly CostBenchRow[] | null): string {
  const row = (r: CostBenchRow): string => `| ${r.name} | ${r.anchorMs.toFixed(1)} | ${r.ms.toFixed(1)} | ${r.ratio.toFixed(2)} |`;
  const lines = ['| cost counters on (median of 21 interleaved) | off ms | on ms | on / off |', '|---|---|---|---|', ...on.map(row), ''];
  if (off === null) lines.push('counters off vs a build without them: skipped (set BENCH_COST_BASELINE to that build\'s dist/src/index.js)');
  else lines.push('| counters off vs a build without them (median of 21 interleaved) | baseline ms | this build ms | ratio |', '|---|---|---|---|', ...off.map(row));
  return lines.join('\n');
}
