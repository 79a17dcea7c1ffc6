/** The slab contract under the model-based fuzz, for every slab policy. */
import { describe, expect, it } from '@jest/globals';
import { policyNames } from '../../src/policies/registry.js';
import { FUZZ_MACHINE } from '../../fuzz/common.js';
import { runSlabFuzz } from '../../fuzz/slab/campaign.js';

describe.each(policyNames('slab'))('slab fuzz: %s', (slab) => {
  it('keeps every invariant over seeded runs of cache and kmalloc commands', () => {
    const r = runSlabFuzz({ config: { ...FUZZ_MACHINE, policies: { slab } }, seed: 5, numRuns: 25, maxCommands: 80 });
    if (!r.ok) throw new Error(`${r.failure}\n${r.commandText}`);
    expect(r.runsDone).toBe(25);
  });
});
