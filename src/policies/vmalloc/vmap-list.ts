/**
 * # The sorted-list baseline for vmap areas
 *
 * Free ranges in two address-sorted typed arrays (starts, ends), searched
 * linearly from the lowest address: the same lowest-address first fit as
 * the augmented tree ({@link VmapTreeSpace}), so both policies place every
 * area at the same address, but a search walks every block below the
 * answer (O(n)) and an insert or removal shifts the arrays (O(n)). This is
 * roughly how vmalloc looked before the 5.2 rework (a list walked from
 * `free_vmap_cache`), kept to show what the tree buys in the benchmark.
 *
 * Layers it may call: none (pure data structure).
 */

import { injectable } from 'inversify';
import { PAGE_SIZE, alignUp } from '../../interfaces/units.js';
import type { VmapSpace } from '../../interfaces/vmalloc.js';
import { grownTo } from '../../machine/grow.js';


/** Lowest-address first fit over a sorted array of free blocks. */
@injectable()
export class VmapListSpace implements VmapSpace {
  readonly policy: string = 'list';
  private starts = new Float64Array(1024);
  private ends = new Float64Array(1024);
  private n = 0;
  private nSteps = 0;

  get blocks(): number {
    return this.n;
  }

  get steps(): number {
    return this.nSteps;
  }

  reset(start: number, end: number): void {
    this.n = 1;
    this.starts[0] = start;
    this.ends[0] = end;
  }

  private insertAt(i: number, start: number, end: number): void {
    if (this.n === this.starts.length) {
      this.starts = grownTo(this.starts, this.n * 2);
      this.ends = grownTo(this.ends, this.n * 2);
    }
    this.starts.copyWithin(i + 1, i, this.n);
    this.ends.copyWithin(i + 1, i, this.n);
    this.starts[i] = start;
    this.ends[i] = end;
    this.n++;
  }

  private removeAt(i: number): void {
    this.starts.copyWithin(i, i + 1, this.n);
    this.ends.copyWithin(i, i + 1, this.n);
    this.n--;
  }

  alloc(size: number, align: number, vstart: number, vend: number): number {
    const length = align > PAGE_SIZE ? size + align - 1 : size;
    for (let i = 0; i < this.n; i++) {
      this.nSteps++;
      const bs = this.starts[i]!;
      const be = this.ends[i]!;
      if (be - bs < length) continue;
      const start = alignUp(Math.max(bs, vstart), align);
      if (start + size > be) continue;
      if (start + size > vend) return -1;
      const end = start + size;
      if (bs === start && be === end) this.removeAt(i);
      else if (bs === start) this.starts[i] = end;
      else if (be === end) this.ends[i] = start;
      else {
        this.ends[i] = start;
        this.insertAt(i + 1, end, be);
      }
      return start;
    }
    return -1;
  }

  free(start: number, size: number): void {
    const end = start + size;
    // First block starting at or after `start` (binary search: the list is sorted).
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid]! < start) lo = mid + 1;
      else hi = mid;
    }
    const mergePrev = lo > 0 && this.ends[lo - 1] === start;
    const mergeNext = lo < this.n && this.starts[lo] === end;
    if (mergePrev && mergeNext) {
      this.ends[lo - 1] = this.ends[lo]!;
      this.removeAt(lo);
    } else if (mergePrev) this.ends[lo - 1] = end;
    else if (mergeNext) this.starts[lo] = start;
    else this.insertAt(lo, start, end);
  }

  freeBlocks(): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < this.n; i++) out.push([this.starts[i]!, this.ends[i]!]);
    return out;
  }

  check(): string[] {
    const problems: string[] = [];
    for (let i = 0; i < this.n; i++) {
      const s = this.starts[i]!;
      if (!(this.ends[i]! > s)) problems.push(`free block 0x${s.toString(16)} is empty or inverted`);
      if (i > 0 && s <= this.ends[i - 1]!) problems.push(`free block 0x${s.toString(16)} ${s === this.ends[i - 1] ? 'touches its predecessor (not merged)' : 'overlaps its predecessor'}`);
    }
    return problems;
  }
}
