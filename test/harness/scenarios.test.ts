/** Every misuse scenario gives its exact report; every negative control reports nothing. */
import { describe, expect, it } from '@jest/globals';
import { SCENARIOS, findScenario, runScenario } from '../../src/harness/scenarios/catalogue.js';
import { createSystem } from '../../src/system.js';
import { policyNames } from '../../src/policies/registry.js';

/** Scenarios whose detector is not SLUB_DEBUG run under every slab policy. */
const SLUB_ONLY = new Set(['kmalloc-oob-right', 'use-after-free-write', 'freechain-corrupt-validate']);

describe('misuse scenarios', () => {
  for (const s of SCENARIOS) {
    const slabs = SLUB_ONLY.has(s.name) ? ['slub'] : s.config.debug?.kasan === true ? ['slub', 'slab'] /* KASAN runs over SLUB and SLAB only, as in Linux */ : policyNames('slab');
    it.each(slabs)(`${s.name} (${s.id}) reports "${s.expect}" under %s, and its control reports nothing`, (slab) => {
      const bug = runScenario(s, { slab });
      expect(bug.kinds[0]).toBe(s.expect);
      for (const re of s.lines) expect(bug.text).toMatch(re);
      const ok = runScenario(s, { slab, buggy: false });
      expect(ok.kinds).toEqual([]);
    });
  }
});

describe('scenarios with detection off (SLUB)', () => {
  it('dev-kmalloc-wrong-free: the interior free is carried out and ends in two live allocations overlapping', () => {
    const out = runScenario(findScenario('dev-kmalloc-wrong-free'), { noDetect: true });
    expect(out.kinds).not.toContain('invalid-free');
    expect(out.kinds).toContain('X1');
    expect(out.steps.join('\n')).toMatch(/= p: another driver now owns/);
    expect(out.steps.join('\n')).toMatch(/= the freed header: r and q now overlap/);
  });

  it('double-free: the object is handed out twice, and the corrupted free list ends in an oops, not a crash', () => {
    const out = runScenario(findScenario('double-free'), { noDetect: true });
    expect(out.kinds).toContain('X1');
    expect(out.kinds[out.kinds.length - 1]).toBe('corruption');
    expect(out.text).toMatch(/general protection fault: the kmalloc-64 free list points to 0x4141/);
  });

  it('invalid-free: p + 1 is handed out, misaligned, over p and into the next object', () => {
    const out = runScenario(findScenario('invalid-free'), { noDetect: true });
    expect(out.kinds).toEqual(['X1', 'X1']);
    expect(out.steps.join('\n')).toMatch(/= p \+ 1: misaligned/);
  });

  it('is refused for scenarios without a story, for other policies, and with KASAN', () => {
    expect(() => runScenario(findScenario('wrong-cache-free'), { noDetect: true })).toThrow(/no no-detect story/);
    expect(() => runScenario(findScenario('double-free'), { noDetect: true, slab: 'slab' })).toThrow(/only under the 'slub' policy/);
    expect(() => createSystem({ debug: { detect: false, kasan: true } })).toThrow(/cannot be combined with KASAN/);
  });
});
