/**
 * The fuzzer must catch every mutant of the catalogue within a fixed budget
 * (seeds 1–3, 40 runs of ≤ 100 commands each), by one of the invariants the
 * catalogue expects, while the real policy passes the same budget.
 */
import { describe, expect, it } from '@jest/globals';
import { MUTANTS } from '../../src/harness/mutants/catalogue.js';
import { FUZZ_MACHINE, replayPageCommands, runPageFuzz } from '../../src/harness/fuzz/page/campaign.js';

const BUDGET = { seeds: [1, 2, 3], numRuns: 40, maxCommands: 100 };

describe('mutants', () => {
  it.each(MUTANTS.map((m) => [m.id, m] as const))('%s is caught by the fuzzer', (_id, m) => {
    const seed = BUDGET.seeds[0]!;
    const r = runPageFuzz({ config: FUZZ_MACHINE, impl: m.impl, seed, numRuns: BUDGET.numRuns, maxCommands: BUDGET.maxCommands });
    expect(r.ok).toBe(false);
    expect(r.codes!.some((c) => m.caughtBy.includes(c))).toBe(true);
    // The stored reproducer replays to the same kind of failure, and passes on the real policy.
    const again = replayPageCommands(r.commands!, { config: FUZZ_MACHINE, impl: m.impl });
    expect(again.ok).toBe(false);
    expect(replayPageCommands(r.commands!, { config: FUZZ_MACHINE }).ok).toBe(true);
  });

  it('the unmutated buddy passes the same budget', () => {
    for (const seed of BUDGET.seeds) {
      const r = runPageFuzz({ config: FUZZ_MACHINE, seed, numRuns: BUDGET.numRuns, maxCommands: BUDGET.maxCommands });
      if (!r.ok) throw new Error(`seed ${seed}: ${r.failure}\n${r.commandText}`);
    }
  });
});
