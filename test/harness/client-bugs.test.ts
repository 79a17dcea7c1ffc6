/** The random-client-bug fuzz: every injected bug is reported with its class, nothing else is reported. */
import { describe, expect, it } from '@jest/globals';
import { runClientBugFuzz } from '../../src/harness/client-bugs.js';
import { isAllocatorError } from '../../src/interfaces/errors.js';
import { createSystem } from '../../src/system.js';

describe.each(['slub', 'slab'] as const)('client bugs over %s', (slab) => {
  it.each([1, 2, 3])('seed %i: no misses, no false reports', (seed) => {
    const r = runClientBugFuzz({ seed, ops: 3000, slab });
    expect(r.problems).toEqual([]);
    expect(r.missed).toBe(0);
    expect(r.falseReports).toBe(0);
    expect(r.injected).toBeGreaterThan(100);
    for (const cls of ['oob-read', 'uaf-read', 'double-free', 'invalid-free', 'kfree-dev-pointer', 'dev_kfree-plain', 'large-oob-read', 'null-deref', 'user-access', 'wild-access']) {
      expect(r.byClass[cls]).toBeGreaterThan(0);
    }
  });

  it('a longer run also injects use-after-free of large kmalloc pages, all reported', () => {
    const r = runClientBugFuzz({ seed: 2, ops: 20000, slab });
    expect(r.byClass['large-uaf-read']).toBeGreaterThan(0);
    expect([r.missed, r.falseReports]).toEqual([0, 0]);
  });
});

describe('client-bug fuzz', () => {
  it('is deterministic for a seed', () => {
    expect(runClientBugFuzz({ seed: 9, ops: 1500 })).toEqual(runClientBugFuzz({ seed: 9, ops: 1500 }));
  });

  it('injects nothing at rate 0 and reports nothing', () => {
    const r = runClientBugFuzz({ seed: 4, ops: 2000, bugRate: 0 });
    expect([r.injected, r.missed, r.falseReports]).toEqual([0, 0, 0]);
  });

  it('sees misses when the quarantine is off (freed objects are reused before the late use)', () => {
    const r = runClientBugFuzz({ seed: 1, ops: 3000, bugRate: 0.1, kasanQuarantine: 0 });
    expect(r.missed).toBeGreaterThan(0);
    expect(r.problems.join('\n')).toMatch(/injected (uaf-read|double-free)/);
  });

  it('rejects a bad rate, and KASAN over SLOB as Linux does', () => {
    expect(() => runClientBugFuzz({ seed: 1, ops: 10, bugRate: 2 })).toThrow(/not a probability/);
    let err: unknown;
    try {
      createSystem({ policies: { slab: 'slob' }, debug: { kasan: true } });
    } catch (e) {
      err = e;
    }
    expect(isAllocatorError(err) && err.kind === 'config' && /does not support SLOB/.test(err.message)).toBe(true);
  });
});
