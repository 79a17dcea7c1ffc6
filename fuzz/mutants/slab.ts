/**
 * Slab and kmalloc mutants (catalogue B-06s … B-14): SLUB backend
 * subclasses and front-end subclasses with one known bug each, bound in
 * place of the real class through DI. The slab fuzz must catch every one.
 */

import { injectFromBase, injectable } from 'inversify';
import { ON_CPU, SlubBackend, type SlubCache } from '../../src/policies/slab/slub.js';
import { PG_SLAB } from '../../src/machine/memmap.js';
import { SlabCommon } from '../../src/policies/slab/slab-common.js';
import { PAGE_OFFSET, PAGE_SIZE } from '../../src/interfaces/units.js';
import type { Gfp } from '../../src/interfaces/gfp.js';
import { fls } from '../../src/policies/slab/slab-math.js';
import type { MutantEntry } from './registry-types.js';

/** B-07: a free links the object to itself — the freelist becomes a cycle. */
@injectable()
@injectFromBase()
export class SelfLinkFree extends SlubBackend {
  protected override setFreePointer(c: SlubCache, obj: number, next: number): void {
    super.setFreePointer(c, obj, next === 0 ? 0 : obj);
  }
}

/** B-08: `__slab_free` does not decrement `inuse`. */
@injectable()
@injectFromBase()
export class InuseNotDecremented extends SlubBackend {
  protected override slabFreeSlow(c: SlubCache, pfn: number, addr: number): void {
    super.slabFreeSlow(c, pfn, addr);
    if (this.cacheOf(PAGE_OFFSET + pfn * PAGE_SIZE) === c.id) this.slabInuse[pfn]!++;
  }
}

/** B-10: a free also writes the free pointer into the next object (which may be live). */
@injectable()
@injectFromBase()
export class FreePointerIntoNeighbour extends SlubBackend {
  protected override doFree(id: number, addr: number): void {
    super.doFree(id, addr);
    const next = addr + this.geometry(id).size;
    if (this.cacheOf(next) === id && this.objectStart(next) === next) this.machine.mem.write64(next - PAGE_OFFSET, addr);
  }
}

/** B-11: a full slab that gets its first free joins no list (its free objects are lost until shrink). */
@injectable()
@injectFromBase()
export class FullSlabNotRelisted extends SlubBackend {
  protected override slabFreeSlow(c: SlubCache, pfn: number, addr: number): void {
    if (this.slabFree[pfn] === 0 && this.slabOn[pfn] !== ON_CPU) {
      this.setFreePointer(c, addr, 0);
      this.slabFree[pfn] = addr;
      this.slabInuse[pfn]!--;
      return;
    }
    super.slabFreeSlow(c, pfn, addr);
  }
}

/** B-06 (slab): an empty slab's head frame goes back to the page allocator still marked PG_slab. */
@injectable()
@injectFromBase()
export class SlabPageStaleFlag extends SlubBackend {
  protected override discardSlab(c: SlubCache, pfn: number): void {
    super.discardSlab(c, pfn);
    this.machine.memmap.flags[pfn] = this.machine.memmap.flags[pfn]! | PG_SLAB;
  }
}

/** B-09: a new slab's objects are laid out with the object size instead of the stride (ignoring alignment and metadata). */
@injectable()
@injectFromBase()
export class StrideIsObjectSize extends SlubBackend {
  protected override linkStride(c: SlubCache): number {
    return Math.ceil(c.objectSize / 8) * 8;
  }
}

/**
 * B-29: the free pointer of a cache with a constructor is kept inside the
 * object (mid-object, where a plain cache has it) instead of after it, so a
 * free object loses its constructed state (calculate_sizes moves it out for
 * ctor, RCU and poison caches).
 */
@injectable()
@injectFromBase()
export class FreePointerInsideConstructed extends SlubBackend {
  private at(c: SlubCache, obj: number): number {
    return obj - PAGE_OFFSET + (c.ctor ? Math.floor(c.objectSize / 2 / 8) * 8 : c.offset);
  }
  protected override getFreePointer(c: SlubCache, obj: number): number {
    return this.machine.mem.read64(this.at(c, obj));
  }
  protected override setFreePointer(c: SlubCache, obj: number, next: number): void {
    this.machine.mem.write64(this.at(c, obj), next);
  }
}

/** B-13: kmalloc rounds down at power-of-two boundaries (2^k + 1 goes to kmalloc-2^k). */
@injectable()
@injectFromBase()
export class SizeClassRoundsDown extends SlabCommon {
  protected override kmallocCache(size: number, gfp: Gfp): number {
    if (size > 256 && (size & (size - 1)) !== 0 && ((size - 1) & (size - 2)) === 0) {
      return this.kmallocCaches[0]![fls(size - 1) - 1]!;
    }
    return super.kmallocCache(size, gfp);
  }
}

/** B-14: large kmallocs (above 8 KiB) are served from kmalloc-8k. */
@injectable()
@injectFromBase()
export class LargeFromSlab extends SlabCommon {
  protected override isLarge(): boolean {
    return false;
  }
}

/** The slab-layer mutants. */
export const SLAB_MUTANTS: readonly MutantEntry[] = [
  { id: 'B-07', name: 'self-link-free', layer: 'slab', summary: 'a freed object points to itself: freelist cycle', overrides: { slab: SelfLinkFree }, caughtBy: ['S2', 'S3', 'X1', 'X3'] },
  { id: 'B-08', name: 'inuse-drift', layer: 'slab', summary: '__slab_free does not decrement inuse', overrides: { slab: InuseNotDecremented }, caughtBy: ['S2'] },
  { id: 'B-09', name: 'stride-object-size', layer: 'slab', summary: 'objects laid out with object_size instead of the aligned stride', overrides: { slab: StrideIsObjectSize }, caughtBy: ['S1', 'S2', 'S3', 'X1', 'X3', 'error:invalid-free'] },
  { id: 'B-10', name: 'fp-into-neighbour', layer: 'slab', summary: 'a free writes a free pointer into the next (live) object', overrides: { slab: FreePointerIntoNeighbour }, caughtBy: ['X3', 'S1', 'S2', 'S3'] },
  { id: 'B-06s', name: 'slab-page-stale-flag', layer: 'slab', summary: 'an empty slab returns to the page allocator still marked PG_slab', overrides: { slab: SlabPageStaleFlag }, caughtBy: ['B5', 'error:bad-page'] },
  { id: 'B-11', name: 'full-slab-lost', layer: 'slab', summary: 'a full slab that gets a free joins no partial list', overrides: { slab: FullSlabNotRelisted }, caughtBy: ['S5'] },
  { id: 'B-29', name: 'ctor-fp-inside', layer: 'slab', summary: 'a constructor cache keeps its free pointer inside the object, clobbering the constructed state', overrides: { slab: FreePointerInsideConstructed }, caughtBy: ['S12'] },
  { id: 'B-13', name: 'size-class-down', layer: 'slab', summary: 'kmalloc(2^k + 1) served from kmalloc-2^k', overrides: { kmem: SizeClassRoundsDown }, caughtBy: ['K1', 'X1', 'X3'] },
  { id: 'B-14', name: 'large-from-slab', layer: 'slab', summary: 'kmalloc above 8 KiB served from kmalloc-8k', overrides: { kmem: LargeFromSlab }, caughtBy: ['K1', 'X1', 'X3'] },
];
