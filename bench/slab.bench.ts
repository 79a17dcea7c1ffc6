/**
 * Slab-layer benchmarks: kmalloc+kfree churn of small sizes and
 * kmem_cache_alloc+free, each for every slab policy side by side (compiled
 * JS, debug checks off). Results are collected, printed by run.ts.
 */

import Benchmark from 'benchmark';
import { GFP_KERNEL } from '../src/interfaces/gfp.js';
import { policyNames } from '../src/policies/registry.js';
import { createSystem, type System } from '../src/system.js';
import { runCollecting, type BenchResult } from './page.bench.js';

const make = (slab: string): System => createSystem({ machine: { memBytes: 2 ** 30, cpus: 4 }, policies: { slab }, debug: { checks: false, trace: false } });

/** kmalloc(8..64)+kfree pairs with 2000 small objects resident (the uniform-small fast path). */
function kmallocPairs(slab: string): () => void {
  const sys = make(slab);
  const k = sys.kmem;
  for (let i = 0; i < 2000; i++) k.kmalloc(8 + (i % 57), GFP_KERNEL);
  let i = 0;
  return () => {
    const p = k.kmalloc(8 + (i++ % 57), GFP_KERNEL);
    k.kfree(p);
  };
}

/** kmem_cache_alloc+free pairs on a 200-byte cache. */
function cachePairs(slab: string): () => void {
  const sys = make(slab);
  const k = sys.kmem;
  const h = k.kmemCacheCreate('bench_obj', 200);
  for (let i = 0; i < 1000; i++) k.kmemCacheAlloc(h, GFP_KERNEL);
  return () => {
    const p = k.kmemCacheAlloc(h, GFP_KERNEL);
    k.kmemCacheFree(h, p);
  };
}

/** Runs the suite. */
export function runSlabBench(maxTime: number): BenchResult[] {
  const results: BenchResult[] = [];
  const suite = new Benchmark.Suite('slab');
  const cases: [string, (p: string) => () => void][] = [
    ['kmalloc+kfree pair (8–64 B)', kmallocPairs],
    ['kmem_cache_alloc+free pair (200 B)', cachePairs],
  ];
  for (const [name, mk] of cases) {
    for (const policy of policyNames('slab')) {
      suite.add(`${name} [${policy}]`, mk(policy), { maxTime });
      results.push({ name, policy, hz: 0, rme: 0, unit: 'pairs/s' });
    }
  }
  return runCollecting(suite, results);
}
