/**
 * The page-allocator layer contract. Policies: `buddy` (Linux 6.8) and the
 * naive `firstfit` baseline; a user's own class bound to PAGE_ALLOCATOR
 * works with no other change.
 *
 * Contract on `struct page` (what the cross-layer checks X1/X2 and /proc
 * outputs rely on):
 * - every frame the allocator holds free carries no `PG_ALLOCATED` and owner
 *   `NONE`; frames it has never been given stay `PG_RESERVED`;
 * - the head of every allocated block carries `PG_ALLOCATED`, the block's
 *   order and a refcount ≥ 1, and every frame of the block an owner other
 *   than `NONE` (`PAGE_CLIENT` unless the caller set another).
 */

import type { Gfp, MigrateType, ZoneType } from './gfp.js';
import type { InvariantChecked } from './invariants.js';
import type { Pfn } from './units.js';

/** A reclaim hook the slow path runs before failing (`struct shrinker`). */
export interface Shrinker {
  /** Name for statistics (`slab-slub`, …). */
  readonly name: string;
  /** How many pages `scan` could free now (`count_objects`). */
  count(): number;
  /** Frees up to `nrToScan` pages' worth; returns pages freed (`scan_objects`). */
  scan(nrToScan: number, gfp: Gfp): number;
}

/** Per-CPU page list state of one CPU in one zone (`per_cpu_pages`). */
export interface PcpReport {
  readonly cpu: number;
  readonly count: number;
  readonly high: number;
  readonly batch: number;
}

/** What /proc needs to know about one zone. */
export interface ZoneReport {
  readonly node: number;
  readonly type: ZoneType;
  readonly name: string;
  readonly startPfn: number;
  readonly spanned: number;
  readonly present: number;
  readonly managed: number;
  /** Free pages in the free lists (`NR_FREE_PAGES`; pages on pcp lists are not free). */
  readonly freePages: number;
  readonly wmarkMin: number;
  readonly wmarkLow: number;
  readonly wmarkHigh: number;
  readonly boost: number;
  /** `lowmem_reserve[]` per zone type. */
  readonly lowmemReserve: readonly number[];
  /** Free blocks per order (`free_area[o].nr_free`). */
  readonly nrFree: readonly number[];
  /** Free blocks per migrate type and order (list lengths). */
  readonly nrFreeByType: readonly (readonly number[])[];
  /** Pageblocks per migrate type. */
  readonly pageblocksByType: readonly number[];
  /** Per-CPU lists. */
  readonly pcp: readonly PcpReport[];
  /** `zone_statistics` counters: numa_hit, numa_miss, numa_local, numa_other. */
  readonly numa: { readonly hit: number; readonly miss: number; readonly local: number; readonly other: number };
}

/** One statistics shape for every page-allocator policy. */
export interface PageAllocStats {
  /** Pages given to the allocator at boot (sum of zone managed). */
  readonly managedPages: number;
  /** Pages in the free lists. */
  readonly freePages: number;
  /** Pages parked on per-CPU lists (allocated from the free lists' view, free from the client's). */
  readonly pcpPages: number;
  /** Pages held by clients. */
  readonly allocatedPages: number;
  /** Successful allocations. */
  readonly allocs: number;
  /** Frees. */
  readonly frees: number;
  /** Allocations that returned no page. */
  readonly failures: number;
  /** Allocations served straight from a per-CPU list. */
  readonly pcpHits: number;
  /** Per-CPU refills from the free lists. */
  readonly pcpRefills: number;
  /** Block splits (one per halving). */
  readonly splits: number;
  /** Buddy merges (one per doubling). */
  readonly merges: number;
  /** Allocations that fell back to another migrate type. */
  readonly fallbacks: number;
  /** Pageblocks whose migrate type was changed by stealing. */
  readonly steals: number;
  /** Times the slow path ran reclaim hooks. */
  readonly reclaimRuns: number;
  /** Pages the reclaim hooks reported freed. */
  readonly reclaimedPages: number;
}

/** The page allocator. */
export interface PageAllocator extends InvariantChecked {
  /** Policy name as in `POLICIES.page`. */
  readonly policy: string;

  /**
   * Allocates a block of `1 << order` pages (`alloc_pages`).
   *
   * @param order - 0..MAX_PAGE_ORDER
   * @param gfp - GFP mask: zone, migrate type, reclaim and reserve rules
   * @param nid - preferred node; defaults to the current CPU's node
   * @returns the head PFN, or `NO_PFN` when out of memory
   * @throws AllocatorError `invalid-order`, `invalid-gfp`, `nofail-exhausted`
   */
  allocPages(order: number, gfp: Gfp, nid?: number): Pfn;

  /**
   * Allocates up to `nr` order-0 pages in one call (`alloc_pages_bulk_array`,
   * Linux's `__alloc_pages_bulk`) into the page array `out[0..nr)`.
   *
   * Entries that already hold a frame (≥ 0) are left alone and count as
   * placed; the others (`NO_PFN`, any negative value, a hole) are filled in
   * order until the allocator runs short. Each page placed is an allocated
   * order-0 block as {@link allocPages} returns it (refcount 1, owner
   * `PAGE_CLIENT`), freed with `freePages(pfn, 0)`.
   *
   * Optional: a policy without it is driven by the fallback helper
   * `allocPagesBulk` (src/mm/page-bulk.ts), a loop of `allocPages(0, …)`
   * with the same result shape; vmalloc always goes through that helper.
   *
   * @param nr - entries of `out` to populate: an integer in 0..out.length
   * @param gfp - GFP mask, as for {@link allocPages}
   * @param out - the page array
   * @param nid - preferred node; defaults to the current CPU's node
   * @returns n such that `out[0..n)` all hold frames (Linux's `nr_populated`):
   *   `nr` when the request was met, fewer when memory ran short (the
   *   entries from n on that were empty stay empty)
   * @throws AllocatorError `misuse` (bad `nr` or `out`), `invalid-gfp`, `invalid-cpu` (no such node)
   * @remarks A policy may come up short where a run of single allocations
   *   would not: Linux's bulk path refuses a zone whose free pages would fall
   *   within `nr` pages of the low watermark and then places one page only.
   */
  allocPagesBulk?(nr: number, gfp: Gfp, out: Int32Array | number[], nid?: number): number;

  /**
   * Frees a block (`__free_pages`): drops the head's reference and returns
   * the block when it reaches zero.
   *
   * @throws AllocatorError `invalid-free`, `double-free`, `invalid-order`; state unchanged
   */
  freePages(pfn: Pfn, order: number): void;

  /** Takes an extra reference on an allocated block head (`get_page`). */
  getPage(pfn: Pfn): void;

  /** Returns all per-CPU pages of `cpu` (or every CPU) to the free lists (`drain_local_pages` / `drain_all_pages`). */
  drainPcp(cpu?: number): void;

  /** Registers a reclaim hook for the slow path. */
  registerShrinker(s: Shrinker): void;

  /** Counters and totals. */
  stats(): PageAllocStats;

  /** Per-zone state, every zone of every node (empty ones too), for /proc. */
  zones(): ZoneReport[];

  /** Migrate type of the pageblock containing `pfn` (`get_pageblock_migratetype`). */
  pageblockType(pfn: Pfn): MigrateType;
}
