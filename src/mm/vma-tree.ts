/**
 * # How the VMA tree works here
 *
 * A process's VMAs in a balanced tree keyed by `vm_start` and augmented with
 * the free gap below each VMA, the structure Linux used until 6.1
 * (`mm->mm_rb` with `rb_subtree_gap`): node value = `vm_start − prev→vm_end`
 * (`vm_start` for the lowest VMA), so every subtree knows the largest hole
 * that ends at one of its VMAs. `get_unmapped_area` then finds the highest
 * hole of at least `len` bytes below `mmap_base` in O(log n) instead of
 * walking every VMA (`unmapped_area_topdown`). Linux 6.1+ keeps the same
 * answer in a maple tree (`mas_empty_area_rev`); the placement it returns is
 * the same, only the container differs.
 *
 * The tree is {@link AugTree}; this class keeps each node's {@link Vma}
 * object next to it and the gap values right whenever a VMA is inserted,
 * removed, or has an end moved (which changes its successor's gap).
 *
 * Layers it may call: none (pure data structure).
 */

import { AugTree, NIL } from './augtree.js';

/** `VM_ACCOUNT`: the VMA's pages are charged to `vm_committed_as`. */
export const VM_ACCOUNT = 0x00100000;
/** `VM_NORESERVE`: mapped with MAP_NORESERVE while overcommit is allowed; never charged. */
export const VM_NORESERVE = 0x00200000;

/** The shmem object behind a shared anonymous mapping (`shmem_zero_setup`): charged once, uncharged with its last VMA. */
export interface ShmObject {
  /** Pages charged to `vm_committed_as` when it was created (0 under VM_NORESERVE). */
  readonly chargedPages: number;
  /** VMAs referring to it. */
  maps: number;
}

/** One VMA (`vm_area_struct`, the fields the simulator uses). */
export interface Vma {
  start: number;
  end: number;
  prot: number;
  shared: boolean;
  /** Image path, `[stack]`, or '' (anonymous; `[heap]` is decided by range as show_map does). */
  name: string;
  /** The accounting bits of `vm_flags`: {@link VM_ACCOUNT}, {@link VM_NORESERVE}. */
  flags: number;
  /** An `anon_vma` is attached: a page was written in it (`anon_vma_prepare` on a write fault). */
  anon: boolean;
  /** The shmem object of a shared anonymous mapping, else null. */
  shm: ShmObject | null;
  /** Node in the tree; owned by {@link VmaTree}. */
  node: number;
}

/** What a new VMA carries besides its range, protection and name. */
export interface VmaExtra {
  readonly flags?: number;
  readonly anon?: boolean;
  readonly shm?: ShmObject | null;
}

/** The VMAs of one address space. */
export class VmaTree {
  private readonly tree = new AugTree({ name: 'mm_rb' });
  private readonly vmaOf: (Vma | undefined)[] = [];
  /** Search parameters of the gap predicate (kept in fields so the search allocates nothing). */
  private searchLow = 0;
  private searchLen = 0;
  private readonly gapFits = (n: number): boolean => this.tree.start(n) - Math.max(this.tree.start(n) - this.tree.value(n), this.searchLow) >= this.searchLen;

  /** Bytes covered by VMAs (`mm->total_vm` × PAGE_SIZE), kept as VMAs come, go and move. */
  private bytes = 0;

  /** Number of VMAs (`mm->map_count`). */
  get size(): number {
    return this.tree.size;
  }

  /** Bytes covered by all VMAs. O(1). */
  get totalBytes(): number {
    return this.bytes;
  }

  private vma(n: number): Vma | undefined {
    return n === NIL ? undefined : this.vmaOf[n];
  }

  /** Lowest VMA. */
  first(): Vma | undefined {
    return this.vma(this.tree.first());
  }

  /** Highest VMA. */
  last(): Vma | undefined {
    return this.vma(this.tree.last());
  }

  /** The VMA after `v`. O(1) amortised. */
  next(v: Vma): Vma | undefined {
    return this.vma(this.tree.next(v.node));
  }

  /** The VMA before `v`. */
  prev(v: Vma): Vma | undefined {
    return this.vma(this.tree.prev(v.node));
  }

  /** `find_vma`: the lowest VMA whose end lies above `addr`. O(log n). */
  find(addr: number): Vma | undefined {
    const n = this.tree.floor(addr);
    if (n !== NIL && this.tree.end(n) > addr) return this.vmaOf[n];
    return this.vma(n === NIL ? this.tree.first() : this.tree.next(n));
  }

  /** The VMA containing `addr`. O(log n). */
  at(addr: number): Vma | undefined {
    return this.vma(this.tree.find(addr));
  }

  /** True when no VMA intersects `[start, end)`. */
  isFree(start: number, end: number): boolean {
    const v = this.find(start);
    return v === undefined || v.start >= end;
  }

  /** Every VMA in address order (a copy; callers may modify the tree while walking it). */
  toArray(): Vma[] {
    const out: Vma[] = [];
    for (let n = this.tree.first(); n !== NIL; n = this.tree.next(n)) out.push(this.vmaOf[n]!);
    return out;
  }

  private gapBelow(n: number): number {
    const p = this.tree.prev(n);
    return this.tree.start(n) - (p === NIL ? 0 : this.tree.end(p));
  }

  private refreshGap(n: number): void {
    if (n !== NIL) this.tree.setValue(n, this.gapBelow(n));
  }

  /** Inserts a VMA over a range known to be free. O(log n). */
  insert(start: number, end: number, prot: number, shared: boolean, name: string, extra: VmaExtra = {}): Vma {
    const n = this.tree.insert(start, end, 0);
    const v: Vma = { start, end, prot, shared, name, flags: extra.flags ?? 0, anon: extra.anon ?? false, shm: extra.shm ?? null, node: n };
    this.bytes += end - start;
    this.vmaOf[n] = v;
    this.refreshGap(n);
    this.refreshGap(this.tree.next(n));
    return v;
  }

  /** Removes `v`. O(log n). */
  remove(v: Vma): void {
    const succ = this.tree.next(v.node);
    this.bytes -= v.end - v.start;
    this.tree.remove(v.node);
    this.vmaOf[v.node] = undefined;
    v.node = NIL;
    this.refreshGap(succ);
  }

  /** Moves `v`'s end (the caller keeps VMAs disjoint); the next VMA's gap follows. */
  setEnd(v: Vma, end: number): void {
    this.bytes += end - v.end;
    v.end = end;
    this.tree.setEnd(v.node, end);
    this.refreshGap(this.tree.next(v.node));
  }

  /** Moves `v`'s start (the order of VMAs must not change). */
  setStart(v: Vma, start: number): void {
    this.tree.setStart(v.node, start);
    this.bytes += v.start - start;
    v.start = start;
    this.refreshGap(v.node);
  }

  /**
   * `unmapped_area_topdown`: the highest `len`-byte hole inside
   * `[low, high)`, returned as its start (`min(hole end, high) − len`), or −1.
   *
   * @remarks O(log n) plus the holes that are large enough but cut by `low`.
   */
  topDown(len: number, low: number, high: number): number {
    // The hole that straddles `high` (below the first VMA starting above it, or above the last VMA).
    const above = this.tree.upperBound(high);
    const gapStart = above === NIL ? (this.tree.last() === NIL ? 0 : this.tree.end(this.tree.last())) : this.tree.start(above) - this.tree.value(above);
    if (gapStart < high && high - Math.max(gapStart, low) >= len) return high - len;
    // Holes wholly below `high` end at the start of a VMA with start ≤ high.
    this.searchLow = low;
    this.searchLen = len;
    const n = this.tree.findHighest(len, -Infinity, high, this.gapFits);
    return n === NIL ? -1 : this.tree.start(n) - len;
  }

  /** Tree shape, augmented maxima, gap values and node ↔ VMA links; empty when sound. O(n). */
  check(): string[] {
    const problems = this.tree.check();
    let bytes = 0;
    for (let n = this.tree.first(); n !== NIL; n = this.tree.next(n)) bytes += this.tree.end(n) - this.tree.start(n);
    if (bytes !== this.bytes) problems.push(`VMAs cover ${bytes} bytes but total_vm says ${this.bytes}`);
    for (let n = this.tree.first(); n !== NIL && problems.length < 32; n = this.tree.next(n)) {
      const v = this.vmaOf[n];
      if (v === undefined || v.node !== n || v.start !== this.tree.start(n) || v.end !== this.tree.end(n)) problems.push(`VMA at node ${n} disagrees with the tree`);
      else if (this.tree.value(n) !== this.gapBelow(n)) problems.push(`VMA ${v.start.toString(16)} records gap ${this.tree.value(n)}, real gap ${this.gapBelow(n)}`);
    }
    return problems;
  }
}
