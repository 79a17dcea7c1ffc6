/**
 * A set of disjoint half-open address ranges kept merged — touching ranges
 * become one — in the augmented tree ({@link AugTree}, value = range size,
 * so callers can search by size in O(log n)). Linux keeps vmalloc's free
 * space and its lazily freed ranges this way (`merge_or_add_vmap_area` on
 * `free_vmap_area_root` and `purge_vmap_area_root`); the vmap-space policy
 * and the vmalloc layer both build on it.
 */

import { AugTree, NIL } from './augtree.js';

export { NIL } from './augtree.js';

/** Merged disjoint ranges over an augmented tree. */
export class MergingRangeSet {
  /** The ranges, keyed by start, value = size (subclasses search it). */
  protected readonly tree: AugTree;

  /** @param name - the tree's name in check messages */
  constructor(name: string, initialCapacity = 1024) {
    this.tree = new AugTree({ name, initialCapacity });
  }

  /** Ranges held. */
  get blocks(): number {
    return this.tree.size;
  }

  /** Adds `[start, start + size)`, merging with the ranges it touches (`merge_or_add_vmap_area`). */
  free(start: number, size: number): void {
    const t = this.tree;
    const end = start + size;
    const prev = t.floor(start);
    const next = t.lowerBound(start);
    const mergePrev = prev !== NIL && t.end(prev) === start;
    const mergeNext = next !== NIL && t.start(next) === end;
    if (mergePrev && mergeNext) {
      const ne = t.end(next);
      t.remove(next);
      t.setEnd(prev, ne);
      t.setValue(prev, ne - t.start(prev));
    } else if (mergePrev) {
      t.setEnd(prev, end);
      t.setValue(prev, end - t.start(prev));
    } else if (mergeNext) {
      const ne = t.end(next);
      t.setStart(next, start);
      t.setValue(next, ne - start);
    } else {
      t.insert(start, end, size);
    }
  }

  /** Forgets every block (the node pool is kept). */
  clear(): void {
    this.tree.clear();
  }

  /** True when `addr` lies in one of the free blocks. O(log n). */
  covers(addr: number): boolean {
    return this.tree.find(addr) !== NIL;
  }

  /** The ranges in address order. */
  freeBlocks(): [number, number][] {
    const out: [number, number][] = [];
    this.tree.forEach((n) => out.push([this.tree.start(n), this.tree.end(n)]));
    return out;
  }

  /** Tree shape, recorded sizes, and that ranges neither overlap nor touch. */
  check(): string[] {
    const problems = this.tree.check();
    let prevEnd = -1;
    this.tree.forEach((n) => {
      const s = this.tree.start(n);
      const e = this.tree.end(n);
      if (this.tree.value(n) !== e - s) problems.push(`block 0x${s.toString(16)} records size ${this.tree.value(n)}, spans ${e - s}`);
      if (s <= prevEnd) problems.push(`block 0x${s.toString(16)} ${s === prevEnd ? 'touches its predecessor (not merged)' : 'overlaps its predecessor'}`);
      prevEnd = e;
    });
    return problems;
  }
}
