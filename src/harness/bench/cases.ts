/**
 * Benchmark cases, one list per layer with named policies, each case a
 * factory that builds a system with a given policy (a built-in name or a
 * loaded policy file) and returns the operation benchmark.js times. Used by
 * `allocsim bench` and by `npm run bench` (bench/). Systems run with debug
 * checks off, as a benchmark should; every case keeps a resident set so the
 * free lists are not trivially empty, and draws its random choices from
 * pre-generated seeded arrays (no allocation per operation).
 */

import Benchmark from 'benchmark';
import { GFP_KERNEL, __GFP_NOWARN } from '../../interfaces/gfp.js';
import { NO_PFN, PAGE_SIZE, type Pfn } from '../../interfaces/units.js';
import { Rng } from '../../machine/rng.js';
import type { Layer } from '../../policies/registry.js';
import { createSystem, type System } from '../../system.js';

/** One measured case of one policy. */
export interface BenchResult {
  readonly name: string;
  readonly policy: string;
  /** Operations per second (an alloc+free pair counts as one for "pairs"). */
  readonly hz: number;
  /** Relative margin of error, in percent. */
  readonly rme: number;
  readonly unit: string;
}

/** A benchmark case: its name, the unit of its rate and how to build it for a policy. */
export interface BenchCase {
  readonly name: string;
  readonly unit: 'pairs/s' | 'ops/s';
  /** Builds the system for `policy` and returns one operation. */
  make(policy: string): () => void;
}

const system = (layer: Layer, policy: string, memBytes = 2 ** 30): System =>
  createSystem({ machine: { memBytes, cpus: 4 }, policies: { [layer]: policy }, debug: { checks: false, trace: false } });

/** A stream of `n` seeded random integers below `max` (drawn once, read in a ring). */
function stream(seed: number, n: number, max: number): Uint32Array {
  const rng = new Rng(seed);
  return Uint32Array.from({ length: n }, () => rng.int(max));
}

const RING = 1 << 16;

/** The cases of each layer. */
export const BENCH_CASES: Readonly<Record<Layer, readonly BenchCase[]>> = {
  page: [
    {
      name: 'order-0 alloc+free pair',
      unit: 'pairs/s',
      make(policy) {
        const pages = system('page', policy).pages;
        for (let i = 0; i < 1000; i++) pages.allocPages(0, GFP_KERNEL);
        return () => pages.freePages(pages.allocPages(0, GFP_KERNEL), 0);
      },
    },
    {
      name: 'random orders 0–10 mix',
      unit: 'ops/s',
      make(policy) {
        const pages = system('page', policy).pages;
        const ops = stream(7, RING, 22); // 0–10: allocate that order; 11–21: free one
        const picks = stream(8, RING, 2 ** 31);
        const livePfn = new Int32Array(4096);
        const liveOrder = new Uint8Array(4096);
        let live = 0;
        let i = 0;
        return () => {
          const op = ops[i & (RING - 1)]!;
          const pick = picks[i & (RING - 1)]!;
          i++;
          if ((op > 10 || live >= 600) && live > 0) {
            const k = pick % live;
            pages.freePages(livePfn[k]! as Pfn, liveOrder[k]!);
            live--;
            livePfn[k] = livePfn[live]!;
            liveOrder[k] = liveOrder[live]!;
          } else if (op <= 10) {
            const p = pages.allocPages(op, GFP_KERNEL | __GFP_NOWARN);
            if (p !== NO_PFN) {
              livePfn[live] = p;
              liveOrder[live] = op;
              live++;
            }
          }
        };
      },
    },
  ],
  slab: [
    {
      name: 'kmalloc+kfree pair (8–64 B)',
      unit: 'pairs/s',
      make(policy) {
        const k = system('slab', policy).kmem;
        for (let i = 0; i < 2000; i++) k.kmalloc(8 + (i % 57), GFP_KERNEL);
        let i = 0;
        return () => k.kfree(k.kmalloc(8 + (i++ % 57), GFP_KERNEL));
      },
    },
    {
      name: 'kmem_cache_alloc+free pair (200 B)',
      unit: 'pairs/s',
      make(policy) {
        const k = system('slab', policy).kmem;
        const h = k.kmemCacheCreate('bench_obj', 200);
        for (let i = 0; i < 1000; i++) k.kmemCacheAlloc(h, GFP_KERNEL);
        return () => k.kmemCacheFree(h, k.kmemCacheAlloc(h, GFP_KERNEL));
      },
    },
  ],
  malloc: [
    {
      name: 'malloc+free pair (16–256 B)',
      unit: 'pairs/s',
      make(policy) {
        const { libc } = system('malloc', policy, 256 << 20).spawn('bench');
        for (let i = 0; i < 2000; i++) libc.malloc(16 + (i % 241));
        let i = 0;
        return () => libc.free(libc.malloc(16 + (i++ % 241)));
      },
    },
    {
      name: 'random sizes 1 B–64 KiB, 500 live',
      unit: 'ops/s',
      make(policy) {
        const { libc } = system('malloc', policy, 256 << 20).spawn('bench');
        const sizes = stream(11, RING, 65536);
        const small = stream(12, RING, 4);
        const picks = stream(13, RING, 2 ** 31);
        const live = new Float64Array(500);
        let n = 0;
        let i = 0;
        return () => {
          const k = i & (RING - 1);
          i++;
          if (n === live.length || (n > 0 && (picks[k]! & 1) === 1)) {
            const j = picks[k]! % n;
            libc.free(live[j]!);
            live[j] = live[--n]!;
          } else {
            // Three in four requests are small (≤ 512 B), as in real programs.
            const p = libc.malloc(1 + (small[k] === 0 ? sizes[k]! : sizes[k]! & 511));
            if (p !== 0) live[n++] = p;
          }
        };
      },
    },
  ],
  vmap: [
    {
      name: 'vmalloc+vfree pair (1–64 pages, 1 k areas live)',
      unit: 'pairs/s',
      make(policy) {
        const v = system('vmap', policy, 2 ** 31).vmalloc;
        const pages = stream(17, RING, 64);
        for (let i = 0; i < 1000; i++) v.vmalloc((1 + (i % 8)) * PAGE_SIZE);
        let i = 0;
        return () => v.vfree(v.vmalloc((1 + pages[i++ & (RING - 1)]!) * PAGE_SIZE));
      },
    },
  ],
};

/**
 * Times every case of `layer` for every policy (benchmark.js, one case at a
 * time, `maxTime` seconds each) and returns the rates in case order.
 */
export function runBench(layer: Layer, policies: readonly string[], maxTime: number): BenchResult[] {
  const results: { -readonly [K in keyof BenchResult]: BenchResult[K] }[] = [];
  const suite = new Benchmark.Suite(layer);
  for (const c of BENCH_CASES[layer]) {
    for (const policy of policies) {
      const r = { name: c.name, policy, hz: 0, rme: 0, unit: c.unit };
      results.push(r);
      suite.add(`${c.name} [${policy}]`, c.make(policy), {
        maxTime,
        onComplete: (event: Benchmark.Event) => {
          const b = event.target as unknown as Benchmark;
          r.hz = b.hz;
          r.rme = b.stats.rme;
        },
      });
    }
  }
  suite.run({ async: false });
  return results;
}
