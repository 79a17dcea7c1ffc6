/** The page-allocator contract, run against every policy in POLICIES.page. */
import { describe, it } from '@jest/globals';
import { policyNames } from '../../../src/policies/registry.js';
import { pageContract } from '../../../src/testing/contracts/page.js';

describe('page policies', () => {
  for (const page of policyNames('page')) pageContract({ label: page, config: { policies: { page } } }, { describe, it });
});
