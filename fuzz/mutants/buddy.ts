/**
 * Buddy mutants (catalogue B-01 … B-06): each is a
 * subclass of the real allocator with one known bug, bound in its place
 * through DI. The fuzzer must catch every one; `allocsim fuzz --mutant ID`
 * and the mutant tests run them.
 */

import { injectFromBase, injectable } from 'inversify';
import { BuddyAllocator } from '../../src/policies/page/buddy.js';
import { PG_HEAD, PG_TAIL } from '../../src/machine/memmap.js';
import type { MutantEntry } from './registry-types.js';

/** B-01: `__free_one_page` never merges. */
@injectable()
@injectFromBase()
export class SkipMergeBuddy extends BuddyAllocator {
  protected override freeOneBlock(...args: Parameters<BuddyAllocator['freeOneBlock']>): void {
    const [zone, pfn, order, mt, toTail] = args;
    this.addToFreeList(zone, pfn, order, mt, toTail);
  }
}

/** B-02: the buddy is computed as pfn + 2^order instead of pfn ^ 2^order. */
@injectable()
@injectFromBase()
export class AddBuddyArithmetic extends BuddyAllocator {
  protected override buddyPfn(pfn: number, order: number): number {
    return pfn + (1 << order);
  }
}

/** B-03: `page_is_buddy` drops the "free and same order" test. */
@injectable()
@injectFromBase()
export class MergeNonFreeBuddy extends BuddyAllocator {
  protected override pageIsBuddy(...args: Parameters<BuddyAllocator['pageIsBuddy']>): boolean {
    const [zone, buddy] = args;
    return buddy >= zone.startPfn && buddy < zone.endPfn;
  }
}

/** B-04: `expand` loses the upper half of every split below order 2. */
@injectable()
@injectFromBase()
export class SplitLeaksHalf extends BuddyAllocator {
  protected override expand(...args: Parameters<BuddyAllocator['expand']>): void {
    const [zone, pfn, low, high, mt] = args;
    let size = 1 << high;
    let h = high;
    while (h > low) {
      h--;
      size >>= 1;
      if (h >= 2) this.addToFreeList(zone, pfn + size, h, mt, false);
    }
  }
}

/** B-05: taking a block off a free list does not decrement `nr_free`. */
@injectable()
@injectFromBase()
export class FreeCountDrift extends BuddyAllocator {
  protected override delFromFreeList(...args: Parameters<BuddyAllocator['delFromFreeList']>): void {
    const [zone, , order] = args;
    super.delFromFreeList(...args);
    zone.nrFree[order]!++;
  }
}

/** B-06: freeing a compound block leaves PG_head/PG_tail set on its frames. */
@injectable()
@injectFromBase()
export class StaleFlagsOnFree extends BuddyAllocator {
  protected override clearOnFree(pfn: number, order: number): void {
    const f = this.mm.flags;
    const stale: number[] = [];
    for (let p = pfn; p < pfn + (1 << order); p++) stale.push(f[p]! & (PG_HEAD | PG_TAIL));
    super.clearOnFree(pfn, order);
    stale.forEach((bits, i) => (f[pfn + i] = f[pfn + i]! | bits));
  }
}

/** The buddy mutants with the invariants expected to catch them. */
export const BUDDY_MUTANTS: readonly MutantEntry[] = [
  { id: 'B-01', name: 'skip-merge', layer: 'page', summary: 'free never coalesces buddies', overrides: { page: SkipMergeBuddy }, caughtBy: ['B3'] },
  { id: 'B-02', name: 'add-buddy', layer: 'page', summary: 'buddy = pfn + 2^order instead of pfn ^ 2^order', overrides: { page: AddBuddyArithmetic }, caughtBy: ['B1', 'B2', 'B3', 'B4', 'X1', 'X2'] },
  { id: 'B-03', name: 'merge-busy-buddy', layer: 'page', summary: 'merges with a buddy that is not free', overrides: { page: MergeNonFreeBuddy }, caughtBy: ['B1', 'B4', 'X1', 'X2', 'X3'] },
  { id: 'B-04', name: 'split-leak', layer: 'page', summary: 'a split forgets the upper halves of order 0 and 1', overrides: { page: SplitLeaksHalf }, caughtBy: ['B1', 'X2'] },
  { id: 'B-05', name: 'nr-free-drift', layer: 'page', summary: 'nr_free not decremented when a block leaves a free list', overrides: { page: FreeCountDrift }, caughtBy: ['B4'] },
  { id: 'B-06', name: 'stale-flags', layer: 'page', summary: 'compound flags left set on freed frames', overrides: { page: StaleFlagsOnFree }, caughtBy: ['B5'] },
];
