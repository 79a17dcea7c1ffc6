/**
 * The fuzzer must catch every mutant of the catalogue within a fixed budget
 * (seeds 1–3, 40 runs of ≤ 100 commands each), by one of the invariants the
 * catalogue expects, while the real policy passes the same budget.
 */
import { describe, expect, it } from '@jest/globals';
import { MUTANTS, fuzzMutant, replayMutant } from '../../fuzz/mutants/catalogue.js';
import { FUZZ_MACHINE, runPageFuzz } from '../../fuzz/page/campaign.js';
import { runSlabFuzz } from '../../fuzz/slab/campaign.js';

const BUDGET = { seeds: [1, 2, 3], numRuns: 40, maxCommands: 100 };

describe('mutants', () => {
  it.each(MUTANTS.map((m) => [m.id, m] as const))('%s is caught by the fuzzer', (_id, m) => {
    const r = fuzzMutant(m, { seed: BUDGET.seeds[0]!, numRuns: BUDGET.numRuns, maxCommands: BUDGET.maxCommands });
    expect(r.ok).toBe(false);
    if (!r.codes!.some((c) => m.caughtBy.includes(c))) throw new Error(`${m.id} caught by ${r.codes!.join(',')} instead of ${m.caughtBy.join(',')}: ${r.failure}`);
    // The stored reproducer replays to the same kind of failure, and passes on the real classes.
    expect(replayMutant(m, r.commands!).ok).toBe(false);
    expect(replayMutant(m, r.commands!, true).ok).toBe(true);
  });

  it('the unmutated buddy and SLUB pass the same budget', () => {
    for (const seed of BUDGET.seeds) {
      const r = runPageFuzz({ config: FUZZ_MACHINE, seed, numRuns: BUDGET.numRuns, maxCommands: BUDGET.maxCommands });
      if (!r.ok) throw new Error(`seed ${seed}: ${r.failure}\n${r.commandText}`);
      const s = runSlabFuzz({ config: FUZZ_MACHINE, seed, numRuns: BUDGET.numRuns, maxCommands: BUDGET.maxCommands });
      if (!s.ok) throw new Error(`slab seed ${seed}: ${s.failure}\n${s.commandText}`);
    }
  });
});
