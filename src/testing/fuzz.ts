/**
 * The fuzz campaigns as test helpers: run a layer's campaign against a
 * target and fail (throw, with the shrunk command list) on a finding.
 */

import type { FuzzBudget, FuzzReport } from '../../fuzz/engine.js';
import { FUZZ_CAMPAIGNS } from '../../fuzz/registry.js';
import type { FuzzLayer } from '../../fuzz/common.js';
import { fuzzTarget, type ContractTarget } from './target.js';

/** The budget of the helpers when none is given: seed 1, 20 runs of at most 100 commands. */
export const DEFAULT_TEST_BUDGET: FuzzBudget = { seed: 1, numRuns: 20, maxCommands: 100 };

function fuzz(layer: FuzzLayer, target: ContractTarget, budget: Partial<FuzzBudget>): FuzzReport {
  const campaign = FUZZ_CAMPAIGNS[layer];
  const r = campaign.run(fuzzTarget(campaign, target), { ...DEFAULT_TEST_BUDGET, ...budget });
  if (!r.ok) throw new Error(`${layer} fuzz campaign on ${target.label} failed after ${r.runsDone} runs (seed ${r.seed}): ${r.failure}\ncommands: ${r.commandText}`);
  return r;
}

/** Runs the page-allocator campaign on `target`; throws on a finding. */
export function fuzzPage(target: ContractTarget, budget: Partial<FuzzBudget> = {}): FuzzReport {
  return fuzz('page', target, budget);
}

/** Runs the slab campaign (kmem_cache_*, kmalloc, dev_kmalloc) on `target`; throws on a finding. */
export function fuzzSlab(target: ContractTarget, budget: Partial<FuzzBudget> = {}): FuzzReport {
  return fuzz('slab', target, budget);
}

/** Runs the vmalloc campaign on `target` (a vmap space or a vmalloc layer); throws on a finding. */
export function fuzzVmalloc(target: ContractTarget, budget: Partial<FuzzBudget> = {}): FuzzReport {
  return fuzz('vmalloc', target, budget);
}

/** Runs the user-malloc campaign on `target`; throws on a finding. */
export function fuzzUser(target: ContractTarget, budget: Partial<FuzzBudget> = {}): FuzzReport {
  return fuzz('user', target, budget);
}
