/** The page-allocator contract, run against every policy in POLICIES.page. */
import { describe } from '@jest/globals';
import { policyNames } from '../../../src/policies/registry.js';
import { pageContract } from '../../contracts/page.js';

describe('page policies', () => {
  for (const page of policyNames('page')) pageContract({ label: page, config: { policies: { page } } });
});
