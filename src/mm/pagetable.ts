/**
 * # How the page tables work here
 *
 * An x86_64 4-level page table (PGD → PUD → PMD → PTE, 512 eight-byte
 * entries per 4 KiB table, indices from address bits 47–39, 38–30, 29–21,
 * 20–12). Table pages are real frames from the page allocator
 * (`GFP_PGTABLE_USER` = GFP_KERNEL_ACCOUNT | __GFP_ZERO, owner PAGE_TABLE)
 * and the entries live in simulated physical memory, so a page-table page is
 * visible in the buddy statistics like any other allocation.
 *
 * Entry format: `pfn << 12 | flags` with _PAGE_PRESENT 0x1, _PAGE_RW 0x2,
 * _PAGE_USER 0x4, _PAGE_ACCESSED 0x20, _PAGE_DIRTY 0x40. NX (bit 63) is not
 * stored: the simulator keeps entries below 2^53 as exact JS numbers.
 * Addresses are indexed by bits 47..12 of the number, so kernel addresses
 * (kept without their 0xffff sign extension) work too: the vmalloc layer can
 * build its own table with this class.
 *
 * Range operations never look at a page of the range for its own sake: the
 * walks ({@link PageTable.walkPresent}) skip every absent upper-level entry
 * and the whole span below it, as `zap_pmd_range`, `change_pmd_range` and
 * `move_page_tables` do (`pmd_none` → next), so unmapping, protecting or
 * moving a 1 TiB mapping with three touched pages costs a few dozen entry
 * visits, not 2^28. Page tables of an unmapped range are freed by
 * {@link PageTable.freePgdRange}, Linux's `free_pgd_range` with its floor
 * and ceiling: a table goes only when no VMA can still use its span.
 * {@link PageTable.walkSteps} counts the entries these walks visit.
 * {@link Tlb} counts flushes.
 */

import { Cost, type CostMeterApi } from '../interfaces/cost.js';
import { AllocatorError } from '../interfaces/errors.js';
import { GFP_KERNEL, GFP_KERNEL_ACCOUNT, __GFP_ZERO } from '../interfaces/gfp.js';
import type { PageAllocator } from '../interfaces/page-allocator.js';
import { NO_PFN, PAGE_SIZE, alignDown, asPfn, modPow2 } from '../interfaces/units.js';
import type { Machine } from '../interfaces/machine.js';
import { Owner } from '../machine/memmap.js';

/** Present. */
export const _PAGE_PRESENT = 0x1;
/** Writable. */
export const _PAGE_RW = 0x2;
/** User accessible. */
export const _PAGE_USER = 0x4;
/** Accessed. */
export const _PAGE_ACCESSED = 0x20;
/** Dirty. */
export const _PAGE_DIRTY = 0x40;
/** Flags of an intermediate-level entry (`_PAGE_TABLE`). */
const TABLE_FLAGS = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY;
/** GFP of page-table pages of a user address space. */
export const GFP_PGTABLE_USER = GFP_KERNEL_ACCOUNT | __GFP_ZERO;
/** GFP of kernel page-table pages (`GFP_PGTABLE_KERNEL`). */
export const GFP_PGTABLE_KERNEL = GFP_KERNEL | __GFP_ZERO;
/** `_PAGE_GLOBAL`: kernel mappings survive CR3 switches. */
export const _PAGE_GLOBAL = 0x100;
/** `PAGE_KERNEL` as stored here (NX, bit 63, is not kept). */
export const PAGE_KERNEL = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_GLOBAL;
/** `_KERNPG_TABLE`: flags of a kernel upper-level entry. */
const KERNPG_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY;
/** `PMD_SIZE`: bytes one PMD entry (one PTE table) maps. */
export const PMD_SIZE = 2 ** 21;
const SHIFTS = [39, 30, 21, 12] as const;
/** Bytes one entry of each level spans (2^shift). */
const SPANS = SHIFTS.map((s) => 2 ** s);
/** Level of the PMD tables (whose entries point to PTE tables). */
const PMD_LEVEL = 2;
/** Level of the PTE tables (leaf entries). */
const PTE_LEVEL = 3;
/** Entries per table. */
const PTRS_PER_TABLE = 512;
/** A PTE table's worth of zero entries (the source of a run of cleared PTEs). */
const ZERO_RUN = new Float64Array(PTRS_PER_TABLE);
/** One past the highest address the four levels translate: `ceiling` 0 ("the top") stands for it. */
const TOP_OF_TABLES = 2 ** 48;

/** TLB flush counters of one address space. */
export class Tlb {
  /** Flushes issued (one per unmap/protect/zap operation). */
  flushes = 0;
  /** Pages whose translations were invalidated. */
  pagesFlushed = 0;
  /** IPIs to other CPUs that ran this mm (`flush_tlb_mm_range` shootdowns). */
  shootdowns = 0;
  /** Bitmask of CPUs that ran this mm. */
  cpus = 0;

  /** @param cost - the cost meter counting the shootdowns' IPIs, or null */
  constructor(private readonly cost: CostMeterApi | null = null) {}

  /** Records a flush of `pages` pages issued from `cpu`. */
  flush(pages: number, cpu: number): void {
    this.flushes++;
    this.pagesFlushed += pages;
    let others = this.cpus & ~(1 << cpu);
    while (others) {
      this.shootdowns++;
      this.cost?.count(Cost.IPIS);
      others &= others - 1;
    }
  }
}

/** One 4-level page table. */
export class PageTable {
  /** Frame of the PGD. */
  readonly pgd: number;
  /** Table pages in use (PGD included). */
  tablePages = 1;
  /**
   * Entries the range walks have visited ({@link walkPresent},
   * {@link freePgdRange}): their cost, which depends on the tables that
   * exist in a range and never on the range's size.
   */
  walkSteps = 0;
  private readonly machine: Machine;
  private readonly pages: PageAllocator;
  private readonly gfp: number;
  private readonly tableFlags: number;
  /** One table's entries per level, the scratch of {@link forEachPresent}. */
  private readonly walkRows = SHIFTS.map(() => new Float64Array(PTRS_PER_TABLE));
  /** The last PTE table walked to, by 2 MiB span: consecutive lookups skip the upper levels. */
  private cacheSpan = -1;
  /** One PTE table's worth of entries being written or read as a run. */
  private readonly runBuf = new Float64Array(PTRS_PER_TABLE);
  private cacheTable = 0;

  /**
   * @param kernel - a kernel table (init_mm's vmalloc part): GFP_PGTABLE_KERNEL
   *   tables and _KERNPG_TABLE entries instead of user ones
   */
  constructor(machine: Machine, pages: PageAllocator, kernel = false) {
    this.machine = machine;
    this.pages = pages;
    this.gfp = kernel ? GFP_PGTABLE_KERNEL : GFP_PGTABLE_USER;
    this.tableFlags = kernel ? KERNPG_TABLE : TABLE_FLAGS;
    this.pgd = this.newTable();
  }

  private newTable(): number {
    const pfn = this.pages.allocPages(0, this.gfp);
    if (pfn === NO_PFN) throw new AllocatorError('misuse', 'out of memory for a page-table page', { policy: 'mm', op: 'pte_alloc' });
    this.machine.memmap.setOwner(pfn, 1, Owner.PAGE_TABLE);
    this.machine.mem.fill(pfn * PAGE_SIZE, PAGE_SIZE, 0);
    return pfn;
  }

  private index(va: number, level: number): number {
    return modPow2(Math.floor(va / SPANS[level]!), 512);
  }

  /** Physical address of the PTE slot of `va`, or -1 (allocating tables when `create`). */
  private slot(va: number, create: boolean): number {
    const span = Math.floor(va / PMD_SIZE);
    if (span === this.cacheSpan) return this.cacheTable * PAGE_SIZE + 8 * modPow2(Math.floor(va / PAGE_SIZE), 512);
    const mem = this.machine.mem;
    let table = this.pgd;
    for (let level = 0; level < 3; level++) {
      const at = table * PAGE_SIZE + 8 * this.index(va, level);
      const e = mem.read64(at);
      if (modPow2(e, 2) === 0) {
        if (!create) return -1;
        const t = this.newTable();
        this.tablePages++;
        mem.write64(at, t * PAGE_SIZE + this.tableFlags);
        table = t;
      } else table = Math.floor(e / PAGE_SIZE);
    }
    this.cacheSpan = span;
    this.cacheTable = table;
    return table * PAGE_SIZE + 8 * this.index(va, 3);
  }

  /** Maps page `va` to frame `pfn`. */
  map(va: number, pfn: number, flags: number): void {
    this.machine.mem.write64(this.slot(va, true), pfn * PAGE_SIZE + flags);
  }

  /**
   * Maps `n` consecutive pages from `va` to `pfns[0..n)`, walking the upper
   * levels once per PTE table (`vmap_pages_range`).
   */
  mapPages(va: number, pfns: ArrayLike<number>, n: number, flags: number): void {
    const mem = this.machine.mem;
    const run = this.runBuf;
    for (let i = 0; i < n; ) {
      const a = va + i * PAGE_SIZE;
      // The pages up to the end of this PTE table: one run of consecutive slots.
      const len = Math.min(n - i, (PMD_SIZE - modPow2(a, PMD_SIZE)) / PAGE_SIZE);
      const slot = this.slot(a, true);
      for (let k = 0; k < len; k++) run[k] = pfns[i + k]! * PAGE_SIZE + flags;
      mem.write64s(slot, len, run);
      i += len;
    }
  }

  /**
   * Clears `n` consecutive PTEs from `va` (`vunmap_range_noflush`; tables
   * stay). Frames that were mapped go to `out[i]` (-1 where none) when given.
   *
   * @returns the number of present entries cleared
   */
  unmapPages(va: number, n: number, out?: Int32Array): number {
    const mem = this.machine.mem;
    const run = this.runBuf;
    let cleared = 0;
    for (let i = 0; i < n; ) {
      const a = va + i * PAGE_SIZE;
      const len = Math.min(n - i, (PMD_SIZE - modPow2(a, PMD_SIZE)) / PAGE_SIZE);
      const slot = this.slot(a, false);
      if (slot < 0) {
        if (out) out.fill(-1, i, i + len);
        i += len;
        continue;
      }
      mem.read64s(slot, len, run);
      let present = 0;
      for (let k = 0; k < len; k++) {
        const e = run[k]!;
        const on = modPow2(e, 2) !== 0;
        if (on) present++;
        if (out) out[i + k] = on ? Math.floor(e / PAGE_SIZE) : -1;
      }
      // Only present entries are written: all at once when every one is.
      if (present === len) mem.write64s(slot, len, ZERO_RUN);
      else {
        for (let k = 0; k < len; k++) if (modPow2(run[k]!, 2) !== 0) mem.write64(slot + 8 * k, 0);
      }
      cleared += present;
      i += len;
    }
    return cleared;
  }

  /** The PTEs of `n` consecutive pages from `va` into `out` (0 where none), walking once per PTE table. */
  readPtes(va: number, n: number, out: Float64Array): void {
    const mem = this.machine.mem;
    for (let i = 0; i < n; ) {
      const a = va + i * PAGE_SIZE;
      // The run of pages up to the end of this PTE table (one table page: its slots are consecutive).
      const run = Math.min(n - i, (PMD_SIZE - modPow2(a, PMD_SIZE)) / PAGE_SIZE);
      const slot = this.slot(a, false);
      if (slot < 0) out.fill(0, i, i + run);
      else mem.read64s(slot, run, out, i);
      i += run;
    }
  }

  /** The PTE of `va` (0 when none). */
  pte(va: number): number {
    const s = this.slot(va, false);
    return s < 0 ? 0 : this.machine.mem.read64(s);
  }

  /**
   * Calls `fn(va, slot, pte)` for every present leaf entry of
   * `[start, end)` in address order; `slot` is the entry's physical address,
   * which `fn` may rewrite. Absent entries at any level skip their span
   * (`zap_p4d_range` → `zap_pud_range` → `zap_pmd_range` → `zap_pte_range`).
   *
   * @remarks O(entries of the tables present in the range); `fn` must not
   *   map new pages while the walk runs.
   */
  walkPresent(start: number, end: number, fn: (va: number, slot: number, pte: number) => void): void {
    if (end > start) this.walkLevel(this.pgd, 0, 0, start, end, fn);
  }

  private walkLevel(table: number, level: number, base: number, start: number, end: number, fn: (va: number, slot: number, pte: number) => void): void {
    const mem = this.machine.mem;
    const span = SPANS[level]!;
    const first = Math.max(0, Math.floor((start - base) / span));
    const last = Math.min(PTRS_PER_TABLE - 1, Math.floor((end - 1 - base) / span));
    for (let i = first; i <= last; i++) {
      this.walkSteps++;
      const at = table * PAGE_SIZE + 8 * i;
      const e = mem.read64(at);
      if (modPow2(e, 2) === 0) continue;
      const va = base + i * span;
      if (level === PTE_LEVEL) fn(va, at, e);
      else this.walkLevel(Math.floor(e / PAGE_SIZE), level + 1, va, start, end, fn);
    }
  }

  /**
   * Clears every present PTE of `[start, end)`, calling `onFrame` with each
   * frame it mapped and the address it was mapped at (`unmap_page_range`;
   * the tables stay).
   *
   * @returns the number of PTEs cleared
   */
  zapRange(start: number, end: number, onFrame: (pfn: number, va: number) => void): number {
    const mem = this.machine.mem;
    let n = 0;
    this.walkPresent(start, end, (va, slot, e) => {
      mem.write64(slot, 0);
      onFrame(Math.floor(e / PAGE_SIZE), va);
      n++;
    });
    return n;
  }

  /** Rewrites the flags of every present PTE of `[start, end)` to `flags`, frames kept (`change_protection`). */
  protectRange(start: number, end: number, flags: number): void {
    const mem = this.machine.mem;
    this.walkPresent(start, end, (_va, slot, e) => mem.write64(slot, Math.floor(e / PAGE_SIZE) * PAGE_SIZE + flags));
  }

  /**
   * `free_pgd_range`: frees the page tables of the unmapped range
   * `[addr, end)`. `floor` is the end of the VMA below (0: none) and
   * `ceiling` the start of the VMA above (0: none, the top of the address
   * space); a table is freed only when its whole span lies between them, so
   * a table a neighbouring VMA may still use stays. The PTEs in the range
   * must be clear already (zapped or moved).
   *
   * @remarks O(entries of the tables present in the range).
   */
  freePgdRange(addr: number, end: number, floor: number, ceiling: number): void {
    this.cacheSpan = -1;
    let c = ceiling === 0 ? TOP_OF_TABLES : ceiling;
    let a = alignDown(addr, PMD_SIZE);
    if (a < floor) a += PMD_SIZE;
    c = alignDown(c, PMD_SIZE);
    if (c === 0) return;
    let e = end;
    if (e > c) e -= PMD_SIZE;
    if (a >= e) return;
    this.freeLevel(this.pgd, 0, 0, a, e, floor, c);
  }

  /** The loop of `free_pud_range`/`free_pmd_range` over `table` (at `level`) for `[addr, end)`. */
  private freeLevel(table: number, level: number, base: number, addr: number, end: number, floor: number, ceiling: number): void {
    const mem = this.machine.mem;
    const span = SPANS[level]!;
    const first = Math.floor((addr - base) / span);
    const last = Math.floor((end - 1 - base) / span);
    for (let i = first; i <= last; i++) {
      this.walkSteps++;
      const at = table * PAGE_SIZE + 8 * i;
      const e = mem.read64(at);
      if (modPow2(e, 2) === 0) continue;
      const child = Math.floor(e / PAGE_SIZE);
      if (level === PMD_LEVEL) {
        // free_pte_range: every PTE table below a PMD entry of the trimmed range goes.
        this.freeTable(at, child, PTE_LEVEL);
        continue;
      }
      const from = Math.max(addr, base + i * span);
      const to = Math.min(end, base + (i + 1) * span);
      this.freeLevel(child, level + 1, base + i * span, from, to, floor, ceiling);
      // The tail of free_pmd_range / free_pud_range: the child table goes
      // when nothing outside [floor, ceiling) shares the span of this entry.
      const start = alignDown(from, span);
      if (start < floor) continue;
      const c = alignDown(ceiling, span);
      if (c === 0 || to > c) continue;
      this.freeTable(at, child, level + 1);
    }
  }

  /** Clears the entry at `at` and frees the table `child` (of `level`) with any tables still below it. */
  private freeTable(at: number, child: number, level: number): void {
    if (level < PTE_LEVEL) this.freeBelow(child, level);
    this.machine.mem.write64(at, 0);
    this.pages.freePages(asPfn(child), 0);
    this.tablePages--;
  }

  /** Frees every table below the PGD and the PGD itself (exit_mmap); leaf frames are the caller's. */
  destroy(): void {
    this.cacheSpan = -1;
    this.freeBelow(this.pgd, 0);
    this.pages.freePages(asPfn(this.pgd), 0);
    this.tablePages = 0;
  }

  /** Frees every table below `table` (of `level` < PTE_LEVEL), clearing its entries. */
  private freeBelow(table: number, level: number): void {
    const mem = this.machine.mem;
    for (let i = 0; i < PTRS_PER_TABLE; i++) {
      const at = table * PAGE_SIZE + 8 * i;
      const e = mem.read64(at);
      if (modPow2(e, 2) === 0) continue;
      this.freeTable(at, Math.floor(e / PAGE_SIZE), level + 1);
    }
  }

  /**
   * Calls `fn(va, pte)` for every present leaf entry, in address order.
   *
   * @remarks Each table is read in one bulk copy (the invariant checks walk
   *   the whole table after every fuzz command); `fn` must not change the
   *   table.
   */
  forEachPresent(fn: (va: number, pte: number) => void): void {
    const mem = this.machine.mem;
    const rows = this.walkRows;
    const walk = (table: number, level: number, base: number): void => {
      const row = rows[level]!;
      mem.read64s(table * PAGE_SIZE, PTRS_PER_TABLE, row, 0);
      const span = SPANS[level]!;
      for (let i = 0; i < PTRS_PER_TABLE; i++) {
        const e = row[i]!;
        if (modPow2(e, 2) === 0) continue;
        if (level === PTE_LEVEL) fn(base + i * span, e);
        else walk(Math.floor(e / PAGE_SIZE), level + 1, base + i * span);
      }
    };
    walk(this.pgd, 0, 0);
  }

  /** Frames reachable as tables (PGD included). */
  countTables(): number {
    const mem = this.machine.mem;
    const count = (table: number, level: number): number => {
      if (level === 3) return 1;
      let n = 1;
      for (let i = 0; i < 512; i++) {
        const e = mem.read64(table * PAGE_SIZE + 8 * i);
        if (modPow2(e, 2) === 1) n += count(Math.floor(e / PAGE_SIZE), level + 1);
      }
      return n;
    };
    return count(this.pgd, 0);
  }
}

/** Page number of an address. */
export const vpn = (va: number): number => Math.floor(va / PAGE_SIZE);