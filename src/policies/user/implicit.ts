/**
 * # How the implicit-list first fit works here
 *
 * The CS:APP textbook allocator: no free lists at all. `find` walks every
 * block from the first one after the prologue, in address order, and takes
 * the first free block that is large enough (first fit). Allocation is
 * O(blocks in the heap); freeing is O(1) with boundary-tag coalescing (see
 * {@link BoundaryTagHeap}). The baseline every allocator course starts from.
 */

import { inject, injectable } from 'inversify';
import { PROCESS_MEMORY } from '../../interfaces/tokens.js';
import type { ProcessMemory } from '../../interfaces/user.js';
import { hex } from '../../interfaces/units.js';
import { BoundaryTagHeap, type FreeIndex } from './boundary-tag.js';

/** First fit over the implicit list of all blocks. */
@injectable()
export class ImplicitFirstFit extends BoundaryTagHeap {
  readonly name = 'implicit';

  constructor(@inject(PROCESS_MEMORY) mem: ProcessMemory) {
    super(mem);
    this.index = this.makeIndex();
  }

  private makeIndex(): FreeIndex {
    return {
      find: (asize: number): number => {
        if (this.heapListp === 0) return 0;
        for (let bp = this.heapListp + 16; ; ) {
          const size = this.size(bp);
          if (size === 0) return 0; // epilogue
          if (!this.allocated(bp) && size >= asize) return bp;
          bp += size;
        }
      },
      report: () => {
        let n = 0;
        let bytes = 0;
        let lo = Infinity;
        let hi = 0;
        if (this.heapListp !== 0) {
          for (let bp = this.heapListp + 16; this.size(bp) !== 0; bp += this.size(bp)) {
            if (this.allocated(bp)) continue;
            const s = this.size(bp);
            n++;
            bytes += s;
            lo = Math.min(lo, s);
            hi = Math.max(hi, s);
          }
        }
        return n ? [{ bin: 'implicit', sizes: lo === hi ? String(lo) : `${lo}-${hi}`, chunks: n, bytes }] : [];
      },
      insert: () => undefined,
      remove: () => undefined,
      check: (free, add) => {
        // The heap walk is the index: nothing can disagree except a free block the walk cannot reach.
        for (const [bp, size] of free) if (size < 32) add('F4', `free block ${hex(bp)} too small to hold a free block (${size})`);
      },
    };
  }
}
