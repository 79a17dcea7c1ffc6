/** dev_kmalloc: the 64-byte header in simulated memory, devres release, and each misuse with its own report — under every slab policy. */
import { describe, it } from '@jest/globals';
import { policyNames } from '../../../src/policies/registry.js';
import { devContract } from '../../../src/testing/contracts/dev.js';

describe('dev_kmalloc over every slab policy', () => {
  for (const slab of policyNames('slab')) devContract({ label: `over ${slab}`, config: { policies: { slab } } }, { describe, it });
});
