/** The composition root: every policy wires, configs validate, and a user's class drops in. */
import { describe, expect, it } from '@jest/globals';
import { injectFromBase, injectable } from 'inversify';
import { GFP_KERNEL } from '../src/interfaces/gfp.js';
import { isAllocatorError } from '../src/interfaces/errors.js';
import { FirstFitAllocator } from '../src/policies/page/firstfit.js';
import { POLICIES, policyNames } from '../src/policies/registry.js';
import { createSystem, resolveConfig } from '../src/system.js';
import { FUZZ_MACHINE } from '../fuzz/common.js';
import { runPageFuzz } from '../fuzz/page/campaign.js';
import type { Pfn } from '../src/interfaces/units.js';

/** A research prototype: first fit that counts its calls. Bound with no other change. */
@injectable()
@injectFromBase()
class CountingFirstFit extends FirstFitAllocator {
  override readonly policy: string = 'counting-firstfit';
  calls = 0;
  override allocPages(order: number, gfp: number, nid?: number): Pfn {
    this.calls++;
    return super.allocPages(order, gfp, nid);
  }
}

describe('createSystem', () => {
  it.each(policyNames('page'))('wires the %s page allocator as a singleton', (page) => {
    const sys = createSystem({ ...FUZZ_MACHINE, policies: { page } });
    expect(sys.pages.policy).toBe(page);
    expect(sys.checkInvariants()).toEqual([]);
  });

  it('has one summary per policy', () => {
    for (const p of Object.values(POLICIES.page)) expect(p.summary.length).toBeGreaterThan(10);
  });

  it('collects every configuration problem before throwing', () => {
    let err: unknown;
    try {
      resolveConfig({ machine: { memBytes: 3, cpus: -1 }, policies: { page: 'nope' }, seed: -5 });
    } catch (e) {
      err = e;
    }
    expect(isAllocatorError(err, 'config')).toBe(true);
    const problems = (err as { info: { problems: string[] } }).info.problems;
    expect(problems.some((p) => /unknown page-allocator policy 'nope'/.test(p))).toBe(true);
    expect(problems.some((p) => /seed -5/.test(p))).toBe(true);
    expect(problems.some((p) => /cpus -1/.test(p))).toBe(true);
  });

  it('binds a user class to the page-allocator token, and the fuzzer and invariants work on it unchanged', () => {
    const sys = createSystem(FUZZ_MACHINE, { page: CountingFirstFit });
    expect(sys.pages.policy).toBe('counting-firstfit');
    sys.pages.allocPages(0, GFP_KERNEL);
    expect((sys.pages as CountingFirstFit).calls).toBe(1);
    const r = runPageFuzz({ impl: CountingFirstFit, seed: 7, numRuns: 10, maxCommands: 60 });
    expect(r.ok).toBe(true);
  });

  it('gives each system its own machine', () => {
    const a = createSystem(FUZZ_MACHINE);
    const b = createSystem(FUZZ_MACHINE);
    a.pages.allocPages(0, GFP_KERNEL);
    expect(b.pages.stats().allocatedPages).toBe(0);
  });
});
