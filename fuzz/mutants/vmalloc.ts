/**
 * vmalloc mutants (catalogue B-18 … B-20, B-27, B-28): no guard
 * page, an off-by-one in the free-space clip that lets areas overlap, a
 * vfree that leaks its frames, and two that leave stale kernel PTEs behind
 * (V6). The vmalloc fuzz campaign must catch each.
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

/** B-27: vfree clears every PTE of the area but the last: a stale mapping to a frame given back to the page allocator. */
@injectable()
@injectFromBase()
export class StaleLastPte extends Vmalloc {
  protected override unmapArea(start: number, pages: number): void {
    super.unmapArea(start, Math.max(0, pages - 1));
  }
}

/** B-28: the unmap is left to the lazy purge, which forgets it: the frames are freed while still mapped. */
@injectable()
@injectFromBase()
export class UnmapLeftToPurge extends Vmalloc {
  protected override unmapArea(): void {
    // The bug: the PTEs stay; the purge returns the range to the free space as it is.
  }
}

/** The vmalloc mutants. */
export const VMALLOC_MUTANTS: readonly MutantEntry[] = [
  { id: 'B-18', name: 'no-guard-page', layer: 'vmalloc', summary: 'no guard page between vmalloc areas', overrides: { vmalloc: NoGuardPage }, caughtBy: ['V1', 'V2'] },
  { id: 'B-19', name: 'vmap-clip-off-by-one', layer: 'vmalloc', summary: 'the vmap-area search hands out a range whose last page stays free (overlapping areas)', overrides: { vmap: ClipOffByOne }, caughtBy: ['V5', 'V4'] },
  { id: 'B-20', name: 'vfree-leaks-pages', layer: 'vmalloc', summary: 'vfree unmaps but does not return the frames', overrides: { vmalloc: VfreeLeaks }, caughtBy: ['V2'] },
  { id: 'B-27', name: 'vfree-stale-last-pte', layer: 'vmalloc', summary: 'vfree leaves the PTE of the last page: a stale mapping of a freed frame', overrides: { vmalloc: StaleLastPte }, caughtBy: ['V6'] },
  { id: 'B-28', name: 'unmap-left-to-purge', layer: 'vmalloc', summary: 'the lazily freed range keeps its PTEs (frames freed while mapped)', overrides: { vmalloc: UnmapLeftToPurge }, caughtBy: ['V6'] },
];
