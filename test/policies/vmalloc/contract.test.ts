/** The VmapSpace contract, run against every vmap policy, and the registry binding. */
import { describe, expect, it } from '@jest/globals';
import { createSystem } from '../../../src/system.js';
import { policyNames } from '../../../src/policies/registry.js';
import { vmapContract } from '../../../src/testing/contracts/vmap.js';

describe('vmap policies', () => {
  it.each(policyNames('vmap'))('%s is bound by the registry and used by createSystem', (policy) => {
    expect(createSystem({ machine: { memBytes: 64 << 20, kernelImageBytes: 1 << 20 }, policies: { vmap: policy } }).vmalloc.space.policy).toBe(policy);
  });
  for (const vmap of policyNames('vmap')) vmapContract({ label: vmap, config: { policies: { vmap } } }, { describe, it });
});
