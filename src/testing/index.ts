/**
 * `allocsim/testing`: the contract suites the project runs on its built-in
 * policies, and its fuzz campaigns, for your own policy — one call in your
 * test file, with jest (pass `{ describe, it }` from `@jest/globals` when
 * globals are off) or node's test runner (the default when no global
 * `describe` exists).
 *
 * ```ts
 * import { slabContract, fuzzSlab } from 'allocsim/testing';
 * import MySlab from './my-slab.js';
 * slabContract({ label: 'my-slab', overrides: { slab: MySlab } });
 * ```
 */

export { expect, type Matchers } from './expect.js';
export { defaultRunner, expectKind, fuzzTarget, kindOf, type ContractTarget, type TestRunner } from './target.js';
export { pageContract } from './contracts/page.js';
export { slabContract } from './contracts/slab.js';
export { devContract } from './contracts/dev.js';
export { vmallocContract } from './contracts/vmalloc.js';
export { vmapContract } from './contracts/vmap.js';
export { userMallocContract } from './contracts/user.js';
export { DEFAULT_TEST_BUDGET, fuzzPage, fuzzSlab, fuzzUser, fuzzVmalloc } from './fuzz.js';
