/**
 * Page-allocator benchmarks (benchmark.js, compiled JS, debug checks off):
 * the cases of `src/harness/bench/cases.ts` for the buddy allocator and the
 * first-fit baseline side by side. `allocsim bench --layer page` runs the
 * same cases on any policy, policy files included.
 */

import { builtinPolicyNames } from '../src/policies/registry.js';
import { runBench, type BenchResult } from '../src/harness/bench/cases.js';

export type { BenchResult } from '../src/harness/bench/cases.js';

/** Runs the suite and returns the results. */
export function runPageBench(maxTime: number): BenchResult[] {
  return runBench('page', builtinPolicyNames('page'), maxTime);
}
