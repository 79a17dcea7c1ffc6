/**
 * vmalloc mutants (catalogue B-18 … B-20): no guard
 * page, an off-by-one in the free-space clip that lets areas overlap, and a
 * vfree that leaks its frames. The vmalloc fuzz campaign must catch each.
 */

import { injectFromBase, injectable } from 'inversify';
import { PAGE_SIZE } from '../../src/interfaces/units.js';
import { Vmalloc } from '../../src/policies/vmalloc/vmalloc.js';
import { VmapTreeSpace } from '../../src/policies/vmalloc/vmap-tree.js';
import type { MutantEntry } from './registry-types.js';

/** B-18: areas get no guard page (the next area starts right after the last mapped page). */
@injectable()
@injectFromBase()
export class NoGuardPage extends Vmalloc {
  protected override guardSize(): number {
    return 0;
  }
}

/** B-19: the clip leaves the last page of the range it hands out in the free tree: the next area overlaps it. */
@injectable()
export class ClipOffByOne extends VmapTreeSpace {
  protected override clip(n: number, start: number, size: number): void {
    super.clip(n, start, size - PAGE_SIZE);
  }
}

/** B-20: vfree unmaps and forgets the frames without giving them back. */
@injectable()
@injectFromBase()
export class VfreeLeaks extends Vmalloc {
  protected override freeBackingPage(): void {
    // The bug: the frame stays allocated, owned by vmalloc, in no area.
  }
}

/** The vmalloc mutants. */
export const VMALLOC_MUTANTS: readonly MutantEntry[] = [
  { id: 'B-18', name: 'no-guard-page', layer: 'vmalloc', summary: 'no guard page between vmalloc areas', overrides: { vmalloc: NoGuardPage }, caughtBy: ['V1', 'V2'] },
  { id: 'B-19', name: 'vmap-clip-off-by-one', layer: 'vmalloc', summary: 'the vmap-area search hands out a range whose last page stays free (overlapping areas)', overrides: { vmap: ClipOffByOne }, caughtBy: ['V5', 'V4'] },
  { id: 'B-20', name: 'vfree-leaks-pages', layer: 'vmalloc', summary: 'vfree unmaps but does not return the frames', overrides: { vmalloc: VfreeLeaks }, caughtBy: ['V2'] },
];
