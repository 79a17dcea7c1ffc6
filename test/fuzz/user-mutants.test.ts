import { describe, expect, it } from '@jest/globals';
import { USER_MUTANTS } from '../../fuzz/mutants/user.js';
import { fuzzUserMalloc } from '../../src/harness/user/fuzz.js';
import { Ptmalloc } from '../../src/policies/user/ptmalloc.js';
import { createSystem } from '../../src/system.js';

describe('user-malloc fuzz', () => {
  it('every real policy passes seeds 1-3 (10 runs x 150 ops)', () => {
    for (const malloc of ['ptmalloc', 'implicit', 'segregated']) {
      for (const seed of [1, 2, 3]) expect(fuzzUserMalloc({ malloc }, seed, 10, 150).finding).toBeUndefined();
    }
  });

  it.each(USER_MUTANTS.map((m) => [m.key, m] as const))('mutant %s is caught within seed 1, 10 runs x 150 ops', (_key, m) => {
    const report = fuzzUserMalloc({ impl: m.impl }, 1, 10, 150);
    expect(report.finding).toBeDefined();
  });

  it('the mutants are ptmalloc subclasses', () => {
    for (const m of USER_MUTANTS) expect(createSystem({ machine: { memBytes: 64 << 20 } }, { malloc: m.impl }).spawn().libc).toBeInstanceOf(Ptmalloc);
  });
});
