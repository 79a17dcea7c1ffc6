/**
 * Page-allocator benchmarks (benchmark.js, compiled JS, debug checks off),
 * each case run for the buddy allocator and the first-fit baseline side by
 * side. Measuring is kept apart from printing: results are collected and
 * printed at the end as a Markdown table.
 */

import Benchmark from 'benchmark';
import { GFP_KERNEL, __GFP_NOWARN } from '../src/interfaces/gfp.js';
import { NO_PFN, type Pfn } from '../src/interfaces/units.js';
import { createSystem, type System } from '../src/system.js';
import { Rng } from '../src/machine/rng.js';

/** One measured case. */
export interface BenchResult {
  readonly name: string;
  readonly policy: string;
  /** Operations per second (an alloc+free pair counts as one for "pairs"). */
  readonly hz: number;
  readonly rme: number;
  readonly unit: string;
}

const make = (page: string): System => createSystem({ machine: { memBytes: 2 ** 30, cpus: 4 }, policies: { page }, debug: { checks: false, trace: false } });

/** order-0 alloc+free pair through the per-CPU list (buddy) or the hint (first fit). */
function order0Pairs(page: string): () => void {
  const sys = make(page);
  const pages = sys.pages;
  // A resident set so the lists are not trivially empty.
  for (let i = 0; i < 1000; i++) pages.allocPages(0, GFP_KERNEL);
  return () => {
    const p = pages.allocPages(0, GFP_KERNEL);
    pages.freePages(p, 0);
  };
}

/** Random orders 0–10: a pre-generated stream of alloc/free operations around 300 live blocks. */
function randomOrders(page: string): () => void {
  const sys = make(page);
  const pages = sys.pages;
  const rng = new Rng(7);
  const N = 1 << 16;
  const ops = new Int8Array(N);
  const picks = new Uint32Array(N);
  for (let i = 0; i < N; i++) {
    ops[i] = rng.chance(0.5) ? -1 : rng.int(11);
    picks[i] = rng.u32();
  }
  const livePfn = new Int32Array(4096);
  const liveOrder = new Uint8Array(4096);
  let live = 0;
  let i = 0;
  return () => {
    const op = ops[i & (N - 1)]!;
    const pick = picks[i & (N - 1)]!;
    i++;
    if ((op < 0 || live >= 600) && live > 0) {
      const k = pick % live;
      pages.freePages(livePfn[k]! as Pfn, liveOrder[k]!);
      live--;
      livePfn[k] = livePfn[live]!;
      liveOrder[k] = liveOrder[live]!;
    } else if (op >= 0) {
      const p = pages.allocPages(op, GFP_KERNEL | __GFP_NOWARN);
      if (p !== NO_PFN) {
        livePfn[live] = p;
        liveOrder[live] = op;
        live++;
      }
    }
  };
}

/** Runs the suite and returns the results. */
export function runPageBench(maxTime: number): BenchResult[] {
  const results: BenchResult[] = [];
  const suite = new Benchmark.Suite('page');
  const cases: [string, string, (p: string) => () => void][] = [
    ['order-0 alloc+free pair', 'pairs/s', order0Pairs],
    ['random orders 0–10 mix', 'ops/s', randomOrders],
  ];
  for (const [name, unit, make] of cases) {
    for (const policy of ['buddy', 'firstfit']) {
      const fn = make(policy);
      suite.add(`${name} [${policy}]`, fn, { maxTime });
      results.push({ name, policy, hz: 0, rme: 0, unit });
    }
  }
  return runCollecting(suite, results);
}

/** Runs a suite whose cases are named `<name> [<policy>]`, filling in each result's rate. */
export function runCollecting(suite: Benchmark.Suite, results: BenchResult[]): BenchResult[] {
  suite.on('cycle', (event: Benchmark.Event) => {
    const b = event.target as unknown as Benchmark;
    const r = results.find((x) => `${x.name} [${x.policy}]` === b.name);
    if (r) Object.assign(r, { hz: b.hz, rme: b.stats.rme });
  });
  suite.run({ async: false });
  return results;
}
