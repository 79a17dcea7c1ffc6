/**
 * vmalloc (issue 6 targets):
 *
 * 1. vmalloc+vfree pairs of 1–64 pages (seeded sizes) with 10 000 areas
 *    live, through the whole layer (page allocations, page arrays, kernel
 *    PTEs, lazy purges), per vmap-space policy; target ≥ 200 k pairs/s.
 * 2. The search curve: the vmap-space policy alone, with n busy ranges
 *    leaving n/2 one-page holes below the free end (`vmalloc` of 3 pages must
 *    skip every hole), n from 1 k to 100 k: µs per alloc+free pair and
 *    blocks visited per search; the tree should stay O(log n), the list O(n).
 *
 * Median of 3 runs each; pairs/s by the wall clock and by the process's
 * CPU time (the second is steadier when other processes share the cores).
 */

import { createSystem } from '../src/system.js';
import { PAGE_SIZE, VMALLOC_START } from '../src/interfaces/units.js';
import { VMALLOC_END, type VmapSpace } from '../src/interfaces/vmalloc.js';
import { VmapTreeSpace } from '../src/policies/vmalloc/vmap-tree.js';
import { VmapListSpace } from '../src/policies/vmalloc/vmap-list.js';
import { Rng } from '../src/machine/rng.js';
import { median } from './debug.bench.js';

/** One layer-level throughput figure. */
export interface VmallocPairRow {
  readonly policy: string;
  /** Area sizes: 1..maxPages pages. */
  readonly maxPages: number;
  readonly pairsPerSec: number;
  /** Pairs per second of this process's CPU time (user + system): steadier than the wall clock on a shared machine. */
  readonly cpuPairsPerSec: number;
  /** Backing pages allocated and freed per second (the page allocator's share of the work). */
  readonly pagesPerSec: number;
}

/** One point of the search curve. */
export interface VmapCurveRow {
  readonly policy: string;
  readonly live: number;
  readonly usPerPair: number;
  readonly stepsPerSearch: number;
}

function pairsOnce(policy: string, live: number, pairs: number, maxPages = 64): { wall: number; cpu: number } {
  const sys = createSystem({ machine: { memBytes: 2 ** 31, cpus: 2 }, policies: { vmap: policy }, debug: { checks: false, trace: false } });
  const v = sys.vmalloc;
  const rng = new Rng(7);
  for (let i = 0; i < live; i++) v.vmalloc(PAGE_SIZE * (1 + rng.int(4)));
  const sizes = Array.from({ length: pairs }, () => PAGE_SIZE * (1 + rng.int(maxPages)));
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < pairs; i++) v.vfree(v.vmalloc(sizes[i]!));
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { wall: pairs / wall, cpu: pairs / ((c.user + c.system) / 1e6) };
}

function curveOnce(make: () => VmapSpace, live: number, pairs: number): { us: number; steps: number } {
  const s = make();
  s.reset(VMALLOC_START, VMALLOC_END);
  const starts: number[] = [];
  for (let i = 0; i < live; i++) starts.push(s.alloc(2 * PAGE_SIZE, PAGE_SIZE, VMALLOC_START, VMALLOC_END));
  // Free the first page of every other range: n/2 one-page holes that a 3-page request cannot use.
  for (let i = 0; i < live; i += 2) s.free(starts[i]!, PAGE_SIZE);
  const steps0 = s.steps;
  const t0 = performance.now();
  for (let i = 0; i < pairs; i++) s.free(s.alloc(3 * PAGE_SIZE, PAGE_SIZE, VMALLOC_START, VMALLOC_END), 3 * PAGE_SIZE);
  return { us: ((performance.now() - t0) * 1000) / pairs, steps: (s.steps - steps0) / pairs };
}

/** Runs both parts. */
export function runVmallocBench(): { pairs: VmallocPairRow[]; curve: VmapCurveRow[] } {
  const pairs: VmallocPairRow[] = [];
  for (const maxPages of [64, 1]) {
    for (const policy of ['tree', 'list']) {
      const runs = [0, 1, 2].map(() => pairsOnce(policy, 10_000, 20_000, maxPages));
      const rate = median(runs.map((r) => r.wall));
      pairs.push({ policy, maxPages, pairsPerSec: rate, cpuPairsPerSec: median(runs.map((r) => r.cpu)), pagesPerSec: (rate * (maxPages + 1)) / 2 });
    }
  }
  const curve: VmapCurveRow[] = [];
  for (const live of [1_000, 3_000, 10_000, 30_000, 100_000]) {
    for (const [policy, make] of [
      ['tree', () => new VmapTreeSpace()],
      ['list', () => new VmapListSpace()],
    ] as const) {
      const n = policy === 'list' ? Math.max(200, Math.floor(2_000_000 / live)) : 20_000;
      const runs = [0, 1, 2].map(() => curveOnce(make, live, n));
      curve.push({ policy, live, usPerPair: median(runs.map((r) => r.us)), stepsPerSearch: median(runs.map((r) => r.steps)) });
    }
  }
  return { pairs, curve };
}
