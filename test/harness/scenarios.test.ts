/** Every misuse scenario gives its exact report; every negative control reports nothing. */
import { describe, expect, it } from '@jest/globals';
import { SCENARIOS, runScenario } from '../../src/harness/scenarios/catalogue.js';
import { policyNames } from '../../src/policies/registry.js';

/** Scenarios whose detector is not SLUB_DEBUG run under every slab policy. */
const SLUB_ONLY = new Set(['kmalloc-oob-right', 'use-after-free-write', 'freechain-corrupt-validate']);
/** KASAN runs over SLUB and SLAB only, as in Linux. */
const KASAN = new Set(['kasan-oob-read', 'kasan-use-after-free']);

describe('misuse scenarios', () => {
  for (const s of SCENARIOS) {
    const slabs = SLUB_ONLY.has(s.name) ? ['slub'] : KASAN.has(s.name) ? ['slub', 'slab'] : policyNames('slab');
    it.each(slabs)(`${s.name} (${s.id}) reports "${s.expect}" under %s, and its control reports nothing`, (slab) => {
      const bug = runScenario(s, { slab });
      expect(bug.kinds[0]).toBe(s.expect);
      for (const re of s.lines) expect(bug.text).toMatch(re);
      const ok = runScenario(s, { slab, buggy: false });
      expect(ok.kinds).toEqual([]);
    });
  }
});
