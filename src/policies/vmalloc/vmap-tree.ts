/**
 * # How the vmap-area tree works here (Linux 6.8 `free_vmap_area_root`)
 *
 * Free virtual ranges of the vmalloc space live in a balanced tree keyed by
 * start address and augmented with `subtree_max_size`, the largest free
 * block in each subtree ({@link AugTree} with value = block size), as
 * mm/vmalloc.c has kept them since 5.2. A request is served by
 * `find_vmap_lowest_match`: the **lowest-address** free block that holds
 * `size` bytes at an `align`-aligned start at or above `vstart`; subtrees
 * whose maximum is below the search length are never entered, so a search
 * costs O(log n) plus the blocks that are large enough but rejected by
 * alignment or `vstart`. The search length is `size + align − 1` when
 * `align > PAGE_SIZE` (`adjust_search_size`), else `size`.
 *
 * The block found is clipped as `va_clip` does: taken whole (fits exactly),
 * shrunk from the left or the right edge, or split in two (the middle
 * case, which in Linux consumes the per-CPU preloaded `vmap_area`).
 * Freeing merges with the neighbours that touch
 * (`merge_or_add_vmap_area_augment`, the shared {@link MergingRangeSet}).
 *
 * Layers it may call: none (pure data structure over `src/mm/range-set.ts`).
 */

import { injectable } from 'inversify';
import { MergingRangeSet, NIL } from '../../mm/range-set.js';
import { PAGE_SIZE, alignUp } from '../../interfaces/units.js';
import type { VmapSpace } from '../../interfaces/vmalloc.js';


/** Lowest-match first fit over the augmented free tree. */
@injectable()
export class VmapTreeSpace extends MergingRangeSet implements VmapSpace {
  readonly policy: string = 'tree';
  private nSteps = 0;
  /** Parameters of the fit predicate (fields, so a search allocates nothing). */
  private qSize = 0;
  private qAlign = PAGE_SIZE;
  private qStart = 0;
  constructor() {
    super('free_vmap_area_root');
  }

  private readonly fits = (n: number): boolean => {
    this.nSteps++;
    return alignUp(Math.max(this.tree.start(n), this.qStart), this.qAlign) + this.qSize <= this.tree.end(n);
  };

  get steps(): number {
    return this.nSteps;
  }

  reset(start: number, end: number): void {
    this.tree.clear();
    this.tree.insert(start, end, end - start);
  }

  alloc(size: number, align: number, vstart: number, vend: number): number {
    this.qSize = size;
    this.qAlign = align;
    this.qStart = vstart;
    const length = align > PAGE_SIZE ? size + align - 1 : size;
    const n = this.tree.findLowest(length, -Infinity, Infinity, this.fits);
    if (n === NIL) return -1;
    const start = alignUp(Math.max(this.tree.start(n), vstart), align);
    if (start + size > vend) return -1;
    this.clip(n, start, size);
    return start;
  }

  /** `va_clip`: removes `[start, start + size)` from free block `n`. */
  protected clip(n: number, start: number, size: number): void {
    const t = this.tree;
    const bs = t.start(n);
    const be = t.end(n);
    const end = start + size;
    if (bs === start && be === end) {
      t.remove(n);
    } else if (bs === start) {
      t.setStart(n, end);
      t.setValue(n, be - end);
    } else if (be === end) {
      t.setEnd(n, start);
      t.setValue(n, start - bs);
    } else {
      t.setEnd(n, start);
      t.setValue(n, start - bs);
      t.insert(end, be, be - end);
    }
  }
}
