/** The slab-layer contract, run against every slab policy in POLICIES.slab. */
import { describe, it } from '@jest/globals';
import { policyNames } from '../../../src/policies/registry.js';
import { slabContract } from '../../../src/testing/contracts/slab.js';

describe('slab policies', () => {
  for (const slab of policyNames('slab')) slabContract({ label: slab, config: { policies: { slab } } }, { describe, it });
});
