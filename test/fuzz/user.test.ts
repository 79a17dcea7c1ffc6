/** The user-malloc campaign: every real policy passes it; its model catches a client-visible corruption. */
import { describe, expect, it } from '@jest/globals';
import { injectFromBase, injectable } from 'inversify';
import { policyNames } from '../../src/policies/registry.js';
import { Ptmalloc } from '../../src/policies/user/ptmalloc.js';
import { createSystem } from '../../src/system.js';
import { USER_CAMPAIGN } from '../../fuzz/user/campaign.js';
import { USER_MUTANTS } from '../../fuzz/mutants/user.js';

/** A malloc that hands out a block overlapping the previous one (the model's X1, or the heap's own checks). */
@injectable()
@injectFromBase()
class ReturnsPrevious extends Ptmalloc {
  private last = 0;
  override malloc(bytes: number): number {
    const p = super.malloc(bytes);
    const out = this.last !== 0 && bytes === 40 ? this.last : p;
    this.last = p;
    return out;
  }
}

describe('user-malloc campaign', () => {
  it.each(policyNames('malloc'))('%s passes seeds 1-3 (12 runs of ≤ 100 commands each)', (policy) => {
    for (const seed of [1, 2, 3]) {
      const r = USER_CAMPAIGN.run({ policy }, { seed, numRuns: 12, maxCommands: 100 });
      if (!r.ok) throw new Error(`${policy} seed ${seed}: ${r.failure}\n${r.commandText}`);
      expect(r.runsDone).toBe(12);
    }
  });

  it('draws tcache on and off per run and stores it with the commands', () => {
    const r = USER_CAMPAIGN.run({ overrides: { malloc: ReturnsPrevious } }, { seed: 4, numRuns: 40 });
    expect(r.ok).toBe(false);
    expect(r.codes).toContain('X1');
    expect(typeof (r.params as { tcache: unknown }).tcache).toBe('boolean');
    expect(USER_CAMPAIGN.replay({ overrides: { malloc: ReturnsPrevious } }, r.commands!, r.params).codes).toEqual(r.codes);
    expect(USER_CAMPAIGN.replay({}, r.commands!, r.params).ok).toBe(true);
  });

  it('binds the user mutants at USER_MALLOC as ptmalloc subclasses', () => {
    for (const m of USER_MUTANTS) expect(createSystem({ machine: { memBytes: 64 << 20 } }, m.overrides).spawn().libc).toBeInstanceOf(Ptmalloc);
  });
});
