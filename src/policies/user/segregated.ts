/**
 * # How the segregated explicit-list fit works here
 *
 * Free blocks carry two links in their payload (`pred` at +0, `succ` at +8)
 * and sit on one of {@link NCLASSES} doubly linked lists by size class
 * (class k holds sizes in [32·2^k, 32·2^(k+1)), the last class everything
 * larger). A free block is pushed on its class's head (LIFO); `find` scans
 * the request's class first fit, then each larger class's head block (any
 * block there fits). Freeing and coalescing are O(1) (boundary tags, see
 * {@link BoundaryTagHeap}). The list heads are the allocator's static data,
 * kept here in a typed array.
 */

import { inject, injectable } from 'inversify';
import { PROCESS_MEMORY } from '../../interfaces/tokens.js';
import type { ProcessMemory } from '../../interfaces/user.js';
import { hex } from '../../interfaces/units.js';
import { BoundaryTagHeap, type FreeIndex } from './boundary-tag.js';

/** Number of size classes. */
export const NCLASSES = 20;

/** Size class of a block size. */
export function sizeClass(size: number): number {
  let c = 0;
  let lim = 64;
  while (c < NCLASSES - 1 && size >= lim) {
    c++;
    lim *= 2;
  }
  return c;
}

/** Segregated explicit free lists, first fit within a class. */
@injectable()
export class SegregatedFit extends BoundaryTagHeap {
  readonly name = 'segregated';
  private readonly heads = new Float64Array(NCLASSES);

  constructor(@inject(PROCESS_MEMORY) mem: ProcessMemory) {
    super(mem);
    this.index = this.makeIndex();
  }

  private makeIndex(): FreeIndex {
    const m = this.mem;
    const heads = this.heads;
    return {
      find: (asize: number): number => {
        const c0 = sizeClass(asize);
        for (let bp = heads[c0]!; bp !== 0; bp = m.read64(bp + 8)) if (this.size(bp) >= asize) return bp;
        for (let c = c0 + 1; c < NCLASSES; c++) if (heads[c] !== 0) return heads[c]!;
        return 0;
      },
      report: () => {
        const rows = [];
        for (let c = 0; c < NCLASSES; c++) {
          let n = 0;
          let bytes = 0;
          for (let bp = heads[c]!; bp !== 0 && n < 1 << 22; bp = m.read64(bp + 8)) {
            n++;
            bytes += this.size(bp);
          }
          const lo = 32 * 2 ** c;
          if (n) rows.push({ bin: `class[${c}]`, sizes: c === NCLASSES - 1 ? `${lo}-` : `${lo}-${2 * lo - 16}`, chunks: n, bytes });
        }
        return rows;
      },
      insert: (bp: number, size: number): void => {
        const c = sizeClass(size);
        const head = heads[c]!;
        m.write64(bp, 0);
        m.write64(bp + 8, head);
        if (head !== 0) m.write64(head, bp);
        heads[c] = bp;
      },
      remove: (bp: number, size: number): void => {
        const pred = m.read64(bp);
        const succ = m.read64(bp + 8);
        if (pred === 0) heads[sizeClass(size)] = succ;
        else m.write64(pred + 8, succ);
        if (succ !== 0) m.write64(succ, pred);
      },
      check: (free, add) => {
        const seen = new Set<number>();
        for (let c = 0; c < NCLASSES; c++) {
          let prev = 0;
          let n = 0;
          for (let bp = heads[c]!; bp !== 0; bp = m.read64(bp + 8)) {
            const size = free.get(bp);
            if (size === undefined) add('F4', `class ${c}: ${hex(bp)} is on a free list but is not a free block`);
            else if (sizeClass(size) !== c) add('F4', `class ${c}: block ${hex(bp)} of size ${size} belongs in class ${sizeClass(size)}`);
            if (m.read64(bp) !== prev) add('F4', `class ${c}: ${hex(bp)}->pred is not ${hex(prev)}`);
            if (seen.has(bp)) {
              add('F4', `class ${c}: cycle at ${hex(bp)}`);
              break;
            }
            seen.add(bp);
            prev = bp;
            if (++n > 1 << 24) break;
          }
        }
        for (const bp of free.keys()) if (!seen.has(bp)) add('F4', `free block ${hex(bp)} is on no free list`);
      },
    };
  }
}
