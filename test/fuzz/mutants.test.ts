/**
 * The fuzzer must catch every mutant of the catalogue, every layer, within a
 * fixed budget (MUTANT_BUDGET: seed 1, 40 runs of ≤ 100 commands, the one
 * `allocsim mutants` scores with), by one of the
 * invariants the catalogue expects; the shrunk list replays to such a catch
 * against the mutant and passes against the real classes. The real
 * policies pass the same budget (seeds 1–3).
 */
import { describe, expect, it } from '@jest/globals';
import { MUTANTS, MUTANT_BUDGET, expectedCatch, fuzzMutant, replayMutant } from '../../fuzz/mutants/catalogue.js';
import { FUZZ_CAMPAIGNS } from '../../fuzz/registry.js';
import { FUZZ_LAYERS } from '../../fuzz/common.js';

const BUDGET = { seeds: [MUTANT_BUDGET.seed, 2, 3], numRuns: MUTANT_BUDGET.numRuns, maxCommands: MUTANT_BUDGET.maxCommands };

describe('mutants', () => {
  it.each(MUTANTS.map((m) => [m.id, m] as const))('%s is caught by the fuzzer', (_id, m) => {
    const r = fuzzMutant(m, MUTANT_BUDGET);
    expect(r.ok).toBe(false);
    if (!expectedCatch(m, r)) throw new Error(`${m.id} caught by ${r.codes!.join(',')} instead of ${m.caughtBy.join(',')}: ${r.failure}`);
    // The stored list replays to the same kind of failure, and passes on the real classes.
    const again = replayMutant(m, r);
    expect(expectedCatch(m, again)).toBeDefined();
    expect(again.commandText).toBe(r.commandText);
    expect(replayMutant(m, r, true).ok).toBe(true);
  });

  it('names a campaign and exactly one binding per mutant, and unique ids and names', () => {
    for (const m of MUTANTS) {
      expect(FUZZ_LAYERS).toContain(m.layer);
      expect(Object.keys(m.overrides)).toHaveLength(1);
    }
    expect(new Set(MUTANTS.map((m) => m.id)).size).toBe(MUTANTS.length);
    expect(new Set(MUTANTS.map((m) => m.name)).size).toBe(MUTANTS.length);
  });

  it('the unmutated buddy and SLUB pass the same budget', () => {
    for (const seed of BUDGET.seeds) {
      for (const layer of ['page', 'slab'] as const) {
        const r = FUZZ_CAMPAIGNS[layer].run({}, { seed, numRuns: BUDGET.numRuns, maxCommands: BUDGET.maxCommands });
        if (!r.ok) throw new Error(`${layer} seed ${seed}: ${r.failure}\n${r.commandText}`);
      }
    }
  });
});
