/**
 * Slab-layer benchmarks: kmalloc+kfree churn of small sizes and
 * kmem_cache_alloc+free, each for every slab policy side by side (the cases
 * of `src/harness/bench/cases.ts`; compiled JS, debug checks off).
 */

import { builtinPolicyNames } from '../src/policies/registry.js';
import { runBench, type BenchResult } from '../src/harness/bench/cases.js';

/** Runs the suite. */
export function runSlabBench(maxTime: number): BenchResult[] {
  return runBench('slab', builtinPolicyNames('slab'), maxTime);
}
