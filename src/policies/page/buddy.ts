/**
 * How the buddy allocator works here (Linux 6.8, mm/page_alloc.c).
 *
 * Memory is split into zones (DMA, DMA32, Normal per node). Each zone keeps
 * `free_area[order].free_list[migratetype]`: intrusive PFN lists of free
 * blocks of `1 << order` pages, order 0..10, naturally aligned. A free block's
 * head carries `PG_buddy` and its order.
 *
 * Allocation (`__alloc_pages`): walk the zonelist of the preferred node from
 * the highest zone the GFP mask allows down, skipping zones whose free pages
 * would fall below the watermark (low on the fast path, min in the slow path,
 * lower still for __GFP_HIGH and atomic requests, each zone's
 * `lowmem_reserve` added). Orders 0–3 (and the THP order) are served from
 * the current CPU's per-CPU list (`rmqueue_pcplist`), refilled in batches
 * from the free lists (`rmqueue_bulk`, appended at the tail). Otherwise, and
 * on refill, `__rmqueue_smallest` takes the *first* block of the smallest
 * order ≥ the request in the wanted migrate type and `expand` splits it,
 * returning the low half and putting each upper half at the *head* of the
 * list one order down. When the wanted type has nothing,
 * `__rmqueue_fallback` searches the fallback types from the *largest* order
 * down, steals whole pageblocks when the request is big enough or not
 * movable, and relabels a pageblock when at least half of it is free or
 * alike.
 *
 * Free (`__free_pages`): orders that have per-CPU lists go to the head of the
 * current CPU's list; when the list's page count reaches `high`, a
 * batch is freed from list *tails*, round robin over the lists starting with
 * the one just freed to (`free_pcppages_bulk`). `__free_one_page` merges
 * with the buddy (pfn ^ (1 << order)) while the buddy is a free block of the
 * same order in the same zone (never across an isolated pageblock), then puts
 * the block at the list tail if the next-larger buddy is free too (it will
 * likely merge soon; `buddy_merge_likely`) and at the head otherwise. Boot
 * memory is freed to the tail (`FPI_TO_TAIL`), so allocation starts at low
 * addresses.
 *
 * Slow path: wake "kswapd" and retry at the min watermark, then (for
 * __GFP_DIRECT_RECLAIM) run the registered shrinkers, drain every per-CPU
 * list and retry, as many times as reclaim makes progress. Atomic requests
 * may dip into the reserve below min. `__GFP_NOFAIL` that still fails
 * throws (Linux would loop and invoke the OOM killer).
 *
 * Layers it may call: none (it is the bottom layer); it reads and writes the
 * machine's struct-page arrays and, for __GFP_ZERO, its byte storage.
 *
 * Known limitations: no compaction, no OOM killer, no CMA, no memory
 * hot-plug or isolation API, kswapd and direct reclaim are one synchronous
 * call into the shrinkers, `decay_pcp_high` (the vmstat worker) does not
 * run, highatomic reserves are never created (no high-order atomic
 * pressure model), one pageblock type per 2 MiB even in small zones.
 */

import { inject, injectable, optional } from 'inversify';
import { CONFIG, KASAN, MACHINE } from '../../interfaces/tokens.js';
import type { KasanApi } from '../../interfaces/detectors.js';
import type { SystemConfig } from '../../interfaces/config.js';
import type { Machine, StructPageArray, ZoneLayout } from '../../interfaces/machine.js';
import type { PcpReport, PageAllocStats, PageAllocator, Shrinker, ZoneReport } from '../../interfaces/page-allocator.js';
import { AllocatorError } from '../../interfaces/errors.js';
import {
  MAX_NR_ZONES,
  MIGRATE_PCPTYPES,
  MIGRATE_TYPES,
  MigrateType,
  __GFP_ACCOUNT,
  __GFP_COMP,
  __GFP_DIRECT_RECLAIM,
  __GFP_HIGH,
  __GFP_KSWAPD_RECLAIM,
  __GFP_MEMALLOC,
  __GFP_NOFAIL,
  __GFP_NOMEMALLOC,
  __GFP_NORETRY,
  __GFP_NOWARN,
  __GFP_RETRY_MAYFAIL,
  __GFP_ZERO,
  formatGfp,
  gfpMigratetype,
  gfpZone,
  type Gfp,
} from '../../interfaces/gfp.js';
import { MAX_VIOLATIONS, type Violation } from '../../interfaces/invariants.js';
import {
  MAX_PAGE_ORDER,
  NR_PAGE_ORDERS,
  PAGEBLOCK_NR_PAGES,
  PAGEBLOCK_ORDER,
  PAGE_ALLOC_COSTLY_ORDER,
  type Pfn,
} from '../../interfaces/units.js';
import {
  OWNER_MASK,
  PG_ALLOCATED,
  PG_BUDDY,
  PG_PCP,
  PG_RESERVED,
  flagPairs,
  nextFlagged,
} from '../../machine/memmap.js';
import { PAGE_POISON, PageCounters, PageZone, allocFailure, checkFreeTails, checkNewPages, clearFreedBlock, countNuma, pageStr, prepAllocatedBlock, splitNonCompoundOnPut, touchBlock, validateAlloc, validateFree, validateGetPage } from './page-alloc-common.js';
import { Cost, CostStruct, type CostMeterApi } from '../../interfaces/cost.js';
import { BULK_OP, checkBulkArgs } from '../../mm/page-bulk.js';
import { zoneBatchsize, zoneHighsize, zoneLimits, MIN_PERCPU_PAGELIST_HIGH_FRACTION } from './zone-math.js';

// alloc_flags (mm/internal.h, v6.8).
const ALLOC_WMARK_MIN = 0;
const ALLOC_WMARK_LOW = 1;
const ALLOC_WMARK_HIGH = 2;
const ALLOC_NO_WATERMARKS = 4;
const ALLOC_WMARK_MASK = ALLOC_NO_WATERMARKS - 1;
const ALLOC_OOM = 0x08;
const ALLOC_NON_BLOCK = 0x10;
const ALLOC_MIN_RESERVE = 0x20;
const ALLOC_HIGHATOMIC = 0x200;
const ALLOC_KSWAPD = 0x800;
const ALLOC_NOFRAGMENT = 0x100;
const ALLOC_RESERVES = ALLOC_NON_BLOCK | ALLOC_MIN_RESERVE | ALLOC_HIGHATOMIC | ALLOC_OOM;

/** Per-CPU list count: 3 types × orders 0..3, plus one THP list (`NR_PCP_LISTS`). */
export const NR_PCP_LISTS = MIGRATE_PCPTYPES * (PAGE_ALLOC_COSTLY_ORDER + 1) + 1;
/** THP order (PMD). */
export const HPAGE_PMD_ORDER = 9;
/** `ZONE_MOVABLE`, the index whose lowmem_reserve the free path's high-watermark test uses. */
const ZONE_MOVABLE = 3;
const ZONE_NORMAL = 2;
/** `CONFIG_PCP_BATCH_SCALE_MAX` default. */
export const PCP_BATCH_SCALE_MAX = 5;
const PCPF_PREV_FREE_HIGH_ORDER = 1;
const PCPF_FREE_HIGH_BATCH = 2;
/** `MAX_RECLAIM_RETRIES`. */
const MAX_RECLAIM_RETRIES = 16;

/** Fallback migrate types (`fallbacks[]`, v6.8). */
const FALLBACKS: readonly (readonly number[])[] = [
  [MigrateType.RECLAIMABLE, MigrateType.MOVABLE],
  [MigrateType.RECLAIMABLE, MigrateType.UNMOVABLE],
  [MigrateType.UNMOVABLE, MigrateType.MOVABLE],
];

/** Whether orders use per-CPU lists (`pcp_allowed_order`, THP on). */
const pcpAllowedOrder = (order: number): boolean => order <= PAGE_ALLOC_COSTLY_ORDER || order === HPAGE_PMD_ORDER;
/** List index on a CPU (`order_to_pindex`). */
const orderToPindex = (mt: number, order: number): number =>
  order > PAGE_ALLOC_COSTLY_ORDER ? MIGRATE_PCPTYPES * (PAGE_ALLOC_COSTLY_ORDER + 1) : MIGRATE_PCPTYPES * order + mt;
/** Order of a list index (`pindex_to_order`). */
const pindexToOrder = (pindex: number): number =>
  pindex >= MIGRATE_PCPTYPES * (PAGE_ALLOC_COSTLY_ORDER + 1) ? HPAGE_PMD_ORDER : Math.floor(pindex / MIGRATE_PCPTYPES);

/** One zone's buddy state. */
class BuddyZone extends PageZone {
  /** NR_FREE_PAGES: pages in the free lists. */
  freePages = 0;
  /** List head id per (order, migratetype): index order * MIGRATE_TYPES + mt. */
  readonly freeList: Int32Array;
  /** free_area[order].nr_free. */
  readonly nrFree = new Int32Array(NR_PAGE_ORDERS);
  /** Blocks per (order, mt), for pagetypeinfo. */
  readonly nrFreeMt = new Int32Array(NR_PAGE_ORDERS * MIGRATE_TYPES);
  /** Set while free pages are below the high watermark (ZONE_BELOW_HIGH). */
  belowHigh = false;
  // Per-CPU pages, one slot per CPU.
  readonly pcpLists: Int32Array;
  readonly pcpCount: Int32Array;
  readonly pcpHigh: Int32Array;
  readonly pcpFreeCount: Int32Array;
  readonly pcpAllocFactor: Int32Array;
  readonly pcpFlags: Int32Array;
  pcpBatch = 1;
  pcpHighMin = 0;
  pcpHighMax = 0;

  constructor(z: ZoneLayout, mm: StructPageArray, cpus: number) {
    super(z);
    this.freeList = new Int32Array(NR_PAGE_ORDERS * MIGRATE_TYPES);
    for (let i = 0; i < this.freeList.length; i++) this.freeList[i] = mm.lists.newHead();
    this.pcpLists = new Int32Array(cpus * NR_PCP_LISTS);
    for (let i = 0; i < this.pcpLists.length; i++) this.pcpLists[i] = mm.lists.newHead();
    this.pcpCount = new Int32Array(cpus);
    this.pcpHigh = new Int32Array(cpus);
    this.pcpFreeCount = new Int32Array(cpus);
    this.pcpAllocFactor = new Int32Array(cpus);
    this.pcpFlags = new Int32Array(cpus);
  }
}

/**
 * The Linux 6.8 buddy page allocator with per-CPU lists, migrate types,
 * watermarks and reclaim hooks.
 *
 * Invariants (checked by {@link BuddyAllocator.checkInvariants}):
 * 1. B1 Partition — free blocks, per-CPU blocks, allocated blocks and
 *    reserved frames tile every zone's RAM exactly once.
 * 2. B2 Alignment — every block of order k starts at a multiple of 2^k.
 * 3. B3 Maximal coalescing — no free block of order k < MAX has a free
 *    buddy of order k in the same zone (per-CPU blocks are exempt: they are
 *    allocated from the buddy's view).
 * 4. B4 Free-list coherence — a block is on free_list[k][mt] exactly when it
 *    carries PG_buddy with order k and mt; nr_free[k] equals the list
 *    lengths; lists are acyclic and doubly linked.
 * 5. B5 Page state — free and per-CPU blocks have refcount 0, no
 *    allocated/slab/head/tail flags and owner NONE.
 * 6. B6 Counters — each zone's NR_FREE_PAGES equals the pages on its free
 *    lists; each pcp count equals the pages on that CPU's lists.
 */
@injectable()
export class BuddyAllocator implements PageAllocator {
  readonly policy: string = 'buddy';
  /** Zones by global id. */
  protected readonly zoneArr: BuddyZone[];
  protected readonly mm: StructPageArray;
  protected readonly machine: Machine;
  /** The cost meter (`debug.cost`), or null. */
  protected readonly cost: CostMeterApi | null;
  /** KASAN when enabled (`kasan_unpoison_pages` / `kasan_poison_pages` in the alloc and free hooks). */
  protected readonly kasan: KasanApi | undefined;
  private readonly ctx: Machine['ctx'];
  private readonly tracer: Machine['tracer'];
  /** Pageblock migrate type, one byte per pageblock. */
  protected readonly blockMt: Uint8Array;
  /** zonelist per (node, highest zone type): zone ids in fallback order. */
  private readonly zonelists: Int32Array[][];
  private readonly shrinkers: Shrinker[] = [];
  private readonly checks: boolean;
  private readonly nodeOfCpu: Int32Array;
  /** ALLOC_NOFRAGMENT per (node, highest zone). */
  private readonly nofragment: Uint8Array;
  /** Operation counters (the PageAllocStats every policy reports). */
  protected readonly opCounters = new PageCounters();

  /**
   * Builds the zones and takes every free boot block from memblock
   * (`memblock_free_all`), then sets watermarks and per-CPU limits.
   */
  constructor(@inject(MACHINE) machine: Machine, @inject(CONFIG) config: SystemConfig, @inject(KASAN) @optional() kasan?: KasanApi) {
    this.machine = machine;
    this.cost = machine.cost;
    this.kasan = kasan;
    this.ctx = machine.ctx;
    this.tracer = machine.tracer;
    this.mm = machine.memmap;
    this.checks = config.debug.checks;
    const layout = machine.layout;
    const cpus = machine.opts.cpus;
    this.zoneArr = layout.zones.map((z) => new BuddyZone(z, this.mm, cpus));
    // memmap_init_range marks MOVABLE every pageblock whose first frame is RAM;
    // blocks starting in a hole (block 0: frame 0 is not RAM) stay UNMOVABLE.
    this.blockMt = new Uint8Array(Math.ceil(layout.nrPages / PAGEBLOCK_NR_PAGES));
    for (const r of layout.memory) {
      for (let b = Math.ceil(r.start / PAGEBLOCK_NR_PAGES); b * PAGEBLOCK_NR_PAGES < r.end; b++) this.blockMt[b] = MigrateType.MOVABLE;
    }
    this.nodeOfCpu = Int32Array.from(layout.cpuNode);
    this.zonelists = layout.nodes.map((n) => Array.from({ length: MAX_NR_ZONES }, (_, highest) => Int32Array.from(layout.zonelist(n.id, highest))));
    for (const [pfn, order] of layout.bootBlocks()) this.freeBootBlock(pfn, order);
    this.setupWatermarks(machine, config);
    this.nofragment = this.computeNofragment();
  }

  /** `__free_pages_core`: hands one boot block to the allocator (tail of the list). */
  private freeBootBlock(pfn: number, order: number): void {
    const n = 1 << order;
    const f = this.mm.flags;
    for (let p = pfn; p < pfn + n; p++) f[p] = 0;
    const zone = this.zoneArr[this.machine.layout.zoneOf(pfn)]!;
    zone.managed += n;
    if (this.machine.pagePoison) this.machine.mem.setBackground(pfn as Pfn, n, PAGE_POISON);
    this.freeOneBlock(zone, pfn, order, this.blockMt[pfn >>> PAGEBLOCK_ORDER]!, true);
  }

  /** Watermarks, lowmem reserve and per-CPU batch/high limits (`init_per_zone_wmark_min`, `zone_pcp_update`). */
  private setupWatermarks(machine: Machine, config: SystemConfig): void {
    const limits = zoneLimits(this.zoneArr, config.machine);
    for (const z of this.zoneArr) {
      z.setLimits(limits[z.id]!);
      const lowWmark = z.wmark[1]!;
      const nodeCpus = machine.layout.nodes[z.node]!.cpus.length;
      const batch = zoneBatchsize(z.managed);
      z.pcpBatch = batch;
      // pcp->high starts at 0 and is clamped into [high_min, high_max] on first use.
      z.pcpHighMin = zoneHighsize(z.managed, lowWmark, batch, nodeCpus, 0);
      z.pcpHighMax = zoneHighsize(z.managed, lowWmark, batch, nodeCpus, MIN_PERCPU_PAGELIST_HIGH_FRACTION);
    }
  }

  // ---------------------------------------------------------------- helpers

  /** Buddy of a block (`__find_buddy_pfn`). Mutants override this. */
  protected buddyPfn(pfn: number, order: number): number {
    return pfn ^ (1 << order);
  }

  /**
   * Whether `buddy` is a free block of `order` in `zone` (`page_is_buddy`).
   * Mutants override this.
   */
  protected pageIsBuddy(zone: BuddyZone, buddy: number, order: number): boolean {
    if (this.cost !== null && buddy >= zone.startPfn && buddy < zone.endPfn) this.cost.touch(CostStruct.PAGE, buddy);
    return buddy >= zone.startPfn && buddy < zone.endPfn && (this.mm.flags[buddy]! & PG_BUDDY) !== 0 && this.mm.order[buddy] === order;
  }

  /** Adds a free block to its list (`add_to_free_list[_tail]`). */
  protected addToFreeList(zone: BuddyZone, pfn: number, order: number, mt: number, tail: boolean): void {
    const mm = this.mm;
    mm.flags[pfn] = (mm.flags[pfn]! & ~OWNER_MASK) | PG_BUDDY;
    mm.order[pfn] = order;
    mm.mt[pfn] = mt;
    const h = zone.freeList[order * MIGRATE_TYPES + mt]!;
    if (tail) mm.lists.addTail(h, pfn);
    else mm.lists.addHead(h, pfn);
    zone.nrFree[order]!++;
    zone.nrFreeMt[order * MIGRATE_TYPES + mt]!++;
    zone.freePages += 1 << order;
  }

  /** Removes a free block from its list (`del_page_from_free_list`). Mutants override this. */
  protected delFromFreeList(zone: BuddyZone, pfn: number, order: number): void {
    const mm = this.mm;
    mm.lists.del(pfn);
    mm.flags[pfn] = mm.flags[pfn]! & ~PG_BUDDY;
    zone.nrFree[order]!--;
    zone.nrFreeMt[order * MIGRATE_TYPES + mm.mt[pfn]!]!--;
    zone.freePages -= 1 << order;
  }

  /**
   * `__free_one_page`: merges with free buddies as far as possible, then
   * queues the block at the head or tail.
   */
  protected freeOneBlock(zone: BuddyZone, pfn: number, order: number, mt: number, toTail: boolean): void {
    while (order < MAX_PAGE_ORDER) {
      const buddy = this.buddyPfn(pfn, order);
      if (!this.pageIsBuddy(zone, buddy, order)) break;
      if (order >= PAGEBLOCK_ORDER - 1 && this.isolatedMismatch(pfn, buddy)) break;
      this.delFromFreeList(zone, buddy, order);
      this.opCounters.merges++;
      pfn = buddy & pfn;
      order++;
    }
    let tail = toTail;
    if (!tail && order < MAX_PAGE_ORDER - 1) {
      // buddy_merge_likely: is the next-higher buddy free?
      const higher = this.buddyPfn(pfn, order) & pfn;
      const higherBuddy = this.buddyPfn(higher, order + 1);
      tail = this.pageIsBuddy(zone, higherBuddy, order + 1);
    }
    this.addToFreeList(zone, pfn, order, mt, tail);
  }

  /** Merging across pageblocks is refused when either is isolated (`migratetype_is_mergeable`). */
  private isolatedMismatch(a: number, b: number): boolean {
    const ma = this.blockMt[a >>> PAGEBLOCK_ORDER]!;
    const mb = this.blockMt[b >>> PAGEBLOCK_ORDER]!;
    return ma !== mb && (ma === MigrateType.ISOLATE || mb === MigrateType.ISOLATE || ma === MigrateType.HIGHATOMIC || mb === MigrateType.HIGHATOMIC);
  }

  /**
   * `expand`: splits a block of order `high` down to `low`, putting each
   * upper half at the head of the list one order down. Mutants override this.
   */
  protected expand(zone: BuddyZone, pfn: number, low: number, high: number, mt: number): void {
    let size = 1 << high;
    while (high > low) {
      high--;
      size >>= 1;
      this.addToFreeList(zone, pfn + size, high, mt, false);
      this.opCounters.splits++;
    }
  }

  /** `__rmqueue_smallest`: first block of the smallest fitting order in type `mt`. */
  protected rmqueueSmallest(zone: BuddyZone, order: number, mt: number): number {
    const lists = this.mm.lists;
    for (let o = order; o < NR_PAGE_ORDERS; o++) {
      const pfn = lists.first(zone.freeList[o * MIGRATE_TYPES + mt]!);
      if (pfn < 0) continue;
      this.delFromFreeList(zone, pfn, o);
      this.expand(zone, pfn, order, o, mt);
      this.mm.mt[pfn] = mt;
      if (this.tracer.enabled) {
        const refill = pcpAllowedOrder(order) && mt < MIGRATE_PCPTYPES ? 1 : 0;
        this.tracer.emit('mm_page_alloc_zone_locked', `page=${pageStr(pfn)} pfn=0x${pfn.toString(16)} order=${order} migratetype=${mt} percpu_refill=${refill}`);
      }
      return pfn;
    }
    return -1;
  }

  /** `__rmqueue`: the wanted type, then a fallback type. */
  private rmqueue(zone: BuddyZone, order: number, mt: number, allocFlags: number): number {
    for (;;) {
      const pfn = this.rmqueueSmallest(zone, order, mt);
      if (pfn >= 0) return pfn;
      if (!this.rmqueueFallback(zone, order, mt, allocFlags)) return -1;
    }
  }

  /**
   * `__rmqueue_fallback`: search the fallback types from the largest order
   * down (only whole pageblocks under ALLOC_NOFRAGMENT); a movable request
   * that may not steal takes the smallest suitable block instead. Moves at
   * least one block onto the wanted type's list and returns true, or false
   * when no fallback type has anything.
   */
  private rmqueueFallback(zone: BuddyZone, order: number, startMt: number, allocFlags: number): boolean {
    const minOrder = order < PAGEBLOCK_ORDER && allocFlags & ALLOC_NOFRAGMENT ? PAGEBLOCK_ORDER : order;
    let found = -1;
    let fmt = -1;
    let steal = false;
    for (let o = MAX_PAGE_ORDER; o >= minOrder; o--) {
      const [mt, canSteal] = this.findFallback(zone, o, startMt);
      if (mt < 0) continue;
      found = o;
      fmt = mt;
      steal = canSteal;
      if (!canSteal && startMt === MigrateType.MOVABLE && o > order) {
        // find_smallest: a movable request that cannot steal splits the smallest block.
        for (let s2 = order; s2 < NR_PAGE_ORDERS; s2++) {
          const [mt2, can2] = this.findFallback(zone, s2, startMt);
          if (mt2 >= 0) {
            found = s2;
            fmt = mt2;
            steal = can2;
            break;
          }
        }
      }
      break;
    }
    if (found < 0) return false;
    const pfn = this.mm.lists.first(zone.freeList[found * MIGRATE_TYPES + fmt]!);
    this.opCounters.fallbacks++;
    const blockBefore = this.blockMt[pfn >>> PAGEBLOCK_ORDER]!;
    this.stealSuitableFallback(zone, pfn, found, startMt, steal);
    if (this.tracer.enabled) {
      const changed = this.blockMt[pfn >>> PAGEBLOCK_ORDER] === startMt && blockBefore !== startMt ? 1 : 0;
      this.tracer.emit(
        'mm_page_alloc_extfrag',
        `page=${pageStr(pfn)} pfn=0x${pfn.toString(16)} alloc_order=${order} fallback_order=${found} pageblock_order=${PAGEBLOCK_ORDER} alloc_migratetype=${startMt} fallback_migratetype=${fmt} fragmenting=${found < PAGEBLOCK_ORDER ? 1 : 0} change_ownership=${changed}`,
      );
    }
    return true;
  }

  /** `can_steal_fallback`. */
  private canSteal(order: number, startMt: number): boolean {
    return order >= PAGEBLOCK_ORDER || order >= PAGEBLOCK_ORDER >> 1 || startMt === MigrateType.RECLAIMABLE || startMt === MigrateType.UNMOVABLE;
  }

  /** `find_suitable_fallback` (only_stealable false): the first fallback type with a block of `order`; -1 when none. */
  private findFallback(zone: BuddyZone, order: number, startMt: number): [mt: number, canSteal: boolean] {
    if (zone.nrFree[order] === 0) return [-1, false];
    for (const mt of FALLBACKS[startMt]!) {
      if (zone.nrFreeMt[order * MIGRATE_TYPES + mt] === 0) continue;
      return [mt, this.canSteal(order, startMt)];
    }
    return [-1, false];
  }

  /**
   * `steal_suitable_fallback`: a block of pageblock order or more relabels
   * its pageblocks; otherwise, when stealing is allowed, every free block of
   * the pageblock moves to the wanted type (list tails) and the pageblock is
   * relabelled when free + alike pages reach half of it; otherwise only the
   * found block moves (`move_to_free_list`, to the tail).
   */
  private stealSuitableFallback(zone: BuddyZone, pfn: number, order: number, startMt: number, wholeBlock: boolean): void {
    const block = pfn >>> PAGEBLOCK_ORDER;
    const oldMt = this.blockMt[block]!;
    if (oldMt !== MigrateType.HIGHATOMIC) {
      if (order >= PAGEBLOCK_ORDER) {
        const nblocks = 1 << (order - PAGEBLOCK_ORDER);
        for (let i = 0; i < nblocks; i++) this.blockMt[block + i] = startMt;
        this.opCounters.steals += nblocks;
      } else if (wholeBlock) {
        const moved = this.moveFreepagesBlock(zone, pfn, startMt);
        if (moved) {
          const [free, movable] = moved;
          const alike = startMt === MigrateType.MOVABLE ? movable : oldMt === MigrateType.MOVABLE ? PAGEBLOCK_NR_PAGES - free - movable : 0;
          if (free + alike >= PAGEBLOCK_NR_PAGES >> 1) {
            this.blockMt[block] = startMt;
            this.opCounters.steals++;
          }
          return;
        }
      }
    }
    this.moveToFreeList(zone, pfn, order, startMt);
  }

  /** `move_to_free_list`: moves a free block to the tail of another type's list. */
  private moveToFreeList(zone: BuddyZone, pfn: number, order: number, mt: number): void {
    this.delFromFreeList(zone, pfn, order);
    this.addToFreeList(zone, pfn, order, mt, true);
  }

  /**
   * `move_freepages_block`: moves every free block of `pfn`'s pageblock to
   * `mt` (list tails). Returns [pages moved, pages in allocated movable
   * blocks], or null when the pageblock ends outside the zone.
   */
  private moveFreepagesBlock(zone: BuddyZone, pfn: number, mt: number): [number, number] | null {
    const mm = this.mm;
    let start = pfn & ~(PAGEBLOCK_NR_PAGES - 1);
    const end = start + PAGEBLOCK_NR_PAGES;
    if (start < zone.startPfn) start = pfn;
    if (end > zone.endPfn) return null;
    let free = 0;
    let movable = 0;
    let p = start;
    while (p < end) {
      const f = mm.flags[p]!;
      if (f & PG_BUDDY) {
        const o = mm.order[p]!;
        this.moveToFreeList(zone, p, o, mt);
        free += 1 << o;
        p += 1 << o;
      } else {
        if (f & PG_ALLOCATED && mm.mt[p] === MigrateType.MOVABLE) {
          const n = Math.min(1 << mm.order[p]!, end - p);
          movable += n;
          p += n;
        } else p++;
      }
    }
    return [free, movable];
  }

  // ------------------------------------------------------------ per-CPU lists

  /** `nr_pcp_alloc`: refill batch size, with the alloc_factor doubling of 6.8. */
  private nrPcpAlloc(zone: BuddyZone, cpu: number, order: number): number {
    const base = zone.pcpBatch;
    let high = (zone.pcpHigh[cpu] = clamp(zone.pcpHigh[cpu]!, zone.pcpHighMin, zone.pcpHighMax));
    if (high < base) return 1;
    let batch = order ? base : base << zone.pcpAllocFactor[cpu]!;
    if (zone.pcpHighMin !== zone.pcpHighMax && !zone.belowHigh) {
      high = zone.pcpHigh[cpu] = Math.min(high + batch, zone.pcpHighMax);
    }
    if (!order) {
      const maxNr = Math.max(high - zone.pcpCount[cpu]! - base, base);
      if (batch <= maxNr && zone.pcpAllocFactor[cpu]! < PCP_BATCH_SCALE_MAX) zone.pcpAllocFactor[cpu]!++;
      batch = Math.min(batch, maxNr);
    }
    if (batch > 1) batch = Math.max(batch >> order, 2);
    return batch;
  }

  /** `rmqueue_bulk`: takes `count` blocks from the free lists onto the tail of a pcp list. */
  private rmqueueBulk(zone: BuddyZone, order: number, count: number, list: number, mt: number, allocFlags: number): number {
    const mm = this.mm;
    this.cost?.count(Cost.ZONE_LOCK);
    let i = 0;
    for (; i < count; i++) {
      const pfn = this.rmqueue(zone, order, mt, allocFlags);
      if (pfn < 0) break;
      mm.flags[pfn] = mm.flags[pfn]! | PG_PCP;
      mm.order[pfn] = order;
      mm.lists.addTail(list, pfn);
    }
    return i;
  }

  /** `rmqueue_pcplist`: the pcp lock, `free_count` halved, one block. */
  private rmqueuePcplist(zone: BuddyZone, order: number, mt: number, allocFlags: number): number {
    const cpu = this.ctx.cpu;
    if (this.cost !== null) this.costPcp(zone, cpu);
    zone.pcpFreeCount[cpu]! >>= 1;
    return this.takePcp(zone, cpu, order, mt, allocFlags, zone.pcpLists[cpu * NR_PCP_LISTS + orderToPindex(mt, order)]!);
  }

  /**
   * `__rmqueue_pcplist`, the pcp lock held: the first block of `list`,
   * refilling the list from the free lists when it is empty; -1 when the
   * refill found nothing.
   */
  private takePcp(zone: BuddyZone, cpu: number, order: number, mt: number, allocFlags: number, list: number): number {
    const mm = this.mm;
    let pfn = mm.lists.first(list);
    if (pfn < 0) {
      const batch = this.nrPcpAlloc(zone, cpu, order);
      const got = this.rmqueueBulk(zone, order, batch, list, mt, allocFlags);
      this.opCounters.pcpRefills++;
      zone.pcpCount[cpu]! += got << order;
      pfn = mm.lists.first(list);
      if (pfn < 0) return -1;
    } else this.opCounters.pcpHits++;
    mm.lists.del(pfn);
    mm.flags[pfn] = mm.flags[pfn]! & ~PG_PCP;
    zone.pcpCount[cpu]! -= 1 << order;
    return pfn;
  }

  /** A per-CPU list operation's costs: `pcp_spin_trylock` (6.0+) and the `per_cpu_pages` line. */
  private costPcp(zone: BuddyZone, cpu: number): void {
    this.cost!.count(Cost.PCP_LOCK);
    this.cost!.touch(CostStruct.PCP, zone.id * 4096 + cpu);
  }

  /** `nr_pcp_high`. */
  private nrPcpHigh(zone: BuddyZone, cpu: number, batch: number, freeHigh: boolean): number {
    const hmin = zone.pcpHighMin;
    const hmax = zone.pcpHighMax;
    let high = (zone.pcpHigh[cpu] = clamp(zone.pcpHigh[cpu]!, hmin, hmax));
    if (!high) return 0;
    if (freeHigh) {
      zone.pcpHigh[cpu] = Math.max(high - (batch << PCP_BATCH_SCALE_MAX), hmin);
      return 0;
    }
    if (hmin === hmax) return high;
    if (zone.belowHigh) {
      const fc = Math.max(zone.pcpFreeCount[cpu]!, batch);
      zone.pcpHigh[cpu] = Math.max(high - fc, hmin);
      high = Math.max(zone.pcpCount[cpu]!, hmin);
    } else if (zone.pcpCount[cpu]! >= high) {
      const need = zone.pcpFreeCount[cpu]! + batch;
      if (zone.pcpHigh[cpu] < need) zone.pcpHigh[cpu] = clamp(need, hmin, hmax);
    }
    return high;
  }

  /** `nr_pcp_free`. */
  private nrPcpFree(zone: BuddyZone, cpu: number, batch: number, high: number, freeHigh: boolean): number {
    const minNr = batch;
    const maxNr = high - batch;
    if (freeHigh) return Math.min(zone.pcpCount[cpu]!, batch << PCP_BATCH_SCALE_MAX);
    if (high < batch) return 1;
    return clamp(zone.pcpFreeCount[cpu]!, minNr, Math.max(maxNr, minNr));
  }

  /**
   * `free_unref_page_commit`: pushes a block on the current CPU's list
   * `pcpMt` (remembering its pageblock type `mt` for the drain) and trims
   * the lists past `high`.
   */
  private freeToPcp(zone: BuddyZone, pfn: number, order: number, pcpMt: number, mt: number): void {
    const cpu = this.ctx.cpu;
    const mm = this.mm;
    if (this.cost !== null) this.costPcp(zone, cpu);
    zone.pcpAllocFactor[cpu]! >>= 1;
    const pindex = orderToPindex(pcpMt, order);
    mm.flags[pfn] = (mm.flags[pfn]! & ~OWNER_MASK) | PG_PCP;
    mm.order[pfn] = order;
    mm.mt[pfn] = mt;
    mm.lists.addHead(zone.pcpLists[cpu * NR_PCP_LISTS + pindex]!, pfn);
    zone.pcpCount[cpu]! += 1 << order;
    const batch = zone.pcpBatch;
    let freeHigh = false;
    if (order && order <= PAGE_ALLOC_COSTLY_ORDER) {
      const fl = zone.pcpFlags[cpu]!;
      freeHigh = zone.pcpFreeCount[cpu]! >= batch && (fl & PCPF_PREV_FREE_HIGH_ORDER) !== 0 && (!(fl & PCPF_FREE_HIGH_BATCH) || zone.pcpCount[cpu]! >= batch);
      zone.pcpFlags[cpu] = fl | PCPF_PREV_FREE_HIGH_ORDER;
    } else if (zone.pcpFlags[cpu]! & PCPF_PREV_FREE_HIGH_ORDER) {
      zone.pcpFlags[cpu]! &= ~PCPF_PREV_FREE_HIGH_ORDER;
    }
    if (zone.pcpFreeCount[cpu]! < batch << PCP_BATCH_SCALE_MAX) zone.pcpFreeCount[cpu]! += 1 << order;
    const high = this.nrPcpHigh(zone, cpu, batch, freeHigh);
    if (zone.pcpCount[cpu]! >= high) {
      this.freePcppagesBulk(zone, cpu, this.nrPcpFree(zone, cpu, batch, high, freeHigh), pindex);
      if (zone.belowHigh && this.watermarkOk(zone, 0, zone.wmark[ALLOC_WMARK_HIGH]!, ZONE_MOVABLE, 0, zone.freePages)) zone.belowHigh = false;
    }
  }

  /** `free_pcppages_bulk`: frees `count` pages from list tails, round robin from `pindex`. */
  protected freePcppagesBulk(zone: BuddyZone, cpu: number, count: number, pindex: number): void {
    const mm = this.mm;
    const base = cpu * NR_PCP_LISTS;
    count = Math.min(count, zone.pcpCount[cpu]!);
    if (count > 0) this.cost?.count(Cost.ZONE_LOCK);
    pindex--;
    while (count > 0) {
      let list: number;
      do {
        if (++pindex > NR_PCP_LISTS - 1) pindex = 0;
        list = zone.pcpLists[base + pindex]!;
      } while (mm.lists.isEmpty(list));
      const order = pindexToOrder(pindex);
      const n = 1 << order;
      do {
        const pfn = mm.lists.last(list);
        const mt = mm.mt[pfn]!;
        mm.lists.del(pfn);
        mm.flags[pfn] = mm.flags[pfn]! & ~PG_PCP;
        count -= n;
        zone.pcpCount[cpu]! -= n;
        if (this.tracer.enabled) this.tracer.emit('mm_page_pcpu_drain', `page=${pageStr(pfn)} pfn=0x${pfn.toString(16)} order=${order} migratetype=${mt}`);
        this.freeOneBlock(zone, pfn, order, mt, false);
      } while (count > 0 && !mm.lists.isEmpty(list));
    }
  }

  /** {@inheritDoc PageAllocator.drainPcp} */
  drainPcp(cpu?: number): void {
    const cpus = cpu === undefined ? [...Array(this.machine.opts.cpus).keys()] : [this.checkCpu(cpu)];
    for (const c of cpus) {
      for (const zone of this.zoneArr) {
        if (zone.pcpCount[c]! > 0) this.freePcppagesBulk(zone, c, zone.pcpCount[c]!, 0);
      }
    }
  }

  private checkCpu(cpu: number): number {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.machine.opts.cpus) {
      throw new AllocatorError('invalid-cpu', `cpu ${String(cpu)} does not exist`, { policy: this.policy, op: 'drain_pages' });
    }
    return cpu;
  }

  // -------------------------------------------------------------- watermarks

  /** `__zone_watermark_ok`. */
  private watermarkOk(zone: BuddyZone, order: number, mark: number, highestZone: number, allocFlags: number, freePages: number): boolean {
    // zone_watermark_fast: order 0 with no reserves to subtract.
    if (order === 0 && freePages > mark + zone.lowmemReserve[highestZone]!) return true;
    // __zone_watermark_unusable_free: pages that cannot serve this order.
    freePages -= (1 << order) - 1;
    let min = mark;
    if (allocFlags & ALLOC_RESERVES) {
      // A bare ALLOC_NON_BLOCK does not lower min: it only spares the highatomic reserve.
      if (allocFlags & ALLOC_MIN_RESERVE) {
        min -= Math.floor(min / 2);
        if (allocFlags & ALLOC_NON_BLOCK) min -= Math.floor(min / 4);
      }
      if (allocFlags & ALLOC_OOM) min -= Math.floor(min / 2);
    }
    if (freePages <= min + zone.lowmemReserve[highestZone]!) return false;
    if (!order) return true;
    for (let o = order; o < NR_PAGE_ORDERS; o++) {
      if (!zone.nrFree[o]) continue;
      for (let mt = 0; mt < MIGRATE_PCPTYPES; mt++) if (zone.nrFreeMt[o * MIGRATE_TYPES + mt]) return true;
      if (allocFlags & (ALLOC_HIGHATOMIC | ALLOC_OOM) && zone.nrFreeMt[o * MIGRATE_TYPES + MigrateType.HIGHATOMIC]) return true;
    }
    return false;
  }

  // --------------------------------------------------------------- allocation

  /** {@inheritDoc PageAllocator.allocPages} */
  allocPages(order: number, gfp: Gfp, nid?: number): Pfn {
    validateAlloc(order, gfp, this.policy);
    return this.allocNode(order, gfp, this.preferredNode(nid, 'alloc_pages')) as Pfn;
  }

  /** The node an allocation prefers: `nid`, checked, or the current CPU's. */
  private preferredNode(nid: number | undefined, op: string): number {
    if (nid === undefined) return this.nodeOfCpu[this.ctx.cpu]!;
    if (!(Number.isInteger(nid) && nid >= 0 && nid < this.zonelists.length)) {
      throw new AllocatorError('invalid-cpu', `node ${String(nid)} does not exist`, { policy: this.policy, op });
    }
    return nid;
  }

  /** `__alloc_pages` on validated arguments: the fast path, then the slow path; the head PFN or -1. */
  private allocNode(order: number, gfp: Gfp, node: number): number {
    const highest = gfpZone(gfp);
    const mt = gfpMigratetype(gfp);
    const zonelist = this.zonelists[node]![highest]!;
    let allocFlags = ALLOC_WMARK_LOW | (gfp & __GFP_KSWAPD_RECLAIM && this.nofragment[node * MAX_NR_ZONES + highest] ? ALLOC_NOFRAGMENT : 0);
    let pfn = this.getPageFromFreelist(zonelist, order, highest, mt, allocFlags);
    if (pfn < 0 && allocFlags & ALLOC_NOFRAGMENT) {
      allocFlags &= ~ALLOC_NOFRAGMENT;
      pfn = this.getPageFromFreelist(zonelist, order, highest, mt, allocFlags);
    }
    if (pfn < 0) pfn = this.slowpath(zonelist, order, gfp, highest, mt);
    if (pfn < 0) {
      this.opCounters.failures++;
      if (this.tracer.enabled) this.tracer.emit('mm_page_alloc', `page=0000000000000000 pfn=0x0 order=${order} migratetype=${mt} gfp_flags=${formatGfp(gfp)}`);
      return -1;
    }
    this.prepNewPage(pfn, order, gfp, mt, true);
    return pfn;
  }

  /**
   * {@inheritDoc PageAllocator.allocPagesBulk}
   *
   * @remarks `__alloc_pages_bulk` (6.8): entries already populated are
   * skipped; a request for one page, or with `__GFP_ACCOUNT` (memcg
   * accounting is taken as on, as on distribution kernels), goes to the
   * single-page allocator. Otherwise the first zone of the zonelist (never
   * another node's) whose free pages stay above the low watermark plus
   * `nr` is chosen, the pcp lock taken once, and each page taken with
   * `__rmqueue_pcplist` (refilling the list from the free lists as needed),
   * so pages come in the order single calls would hand them out. Unlike
   * `rmqueue_pcplist` it neither halves `free_count` nor looks at
   * `ZONE_BELOW_HIGH`, and `mm_page_alloc` is not traced. When no zone
   * qualifies, or the list gave nothing, one page comes from the full
   * allocator (slow path included). NUMA statistics are counted once for
   * the run. O(nr).
   */
  allocPagesBulk(nr: number, gfp: Gfp, out: Int32Array | number[], nid?: number): number {
    checkBulkArgs(nr, gfp, out, this.policy);
    const node = this.preferredNode(nid, BULK_OP);
    let populated = 0;
    while (populated < nr && out[populated]! >= 0) populated++;
    if (populated === nr) return nr;
    const zone = nr - populated === 1 || gfp & __GFP_ACCOUNT ? null : this.bulkZone(gfp, node, nr);
    if (zone !== null) {
      const cpu = this.ctx.cpu;
      const mt = gfpMigratetype(gfp);
      if (this.cost !== null) this.costPcp(zone, cpu);
      const list = zone.pcpLists[cpu * NR_PCP_LISTS + orderToPindex(mt, 0)]!;
      let account = 0;
      for (; populated < nr; populated++) {
        if (out[populated]! >= 0) continue;
        const pfn = this.takePcp(zone, cpu, 0, mt, ALLOC_WMARK_LOW, list);
        if (pfn < 0) break;
        this.prepNewPage(pfn, 0, gfp, mt, false);
        out[populated] = pfn;
        account++;
      }
      if (account > 0) {
        // bulkZone keeps to the preferred zone's node: every page is a NUMA hit.
        countNuma(zone, zone.node, this.nodeOfCpu[this.ctx.cpu]!, account);
        return populated;
      }
    }
    const pfn = this.allocNode(0, gfp, node);
    if (pfn >= 0) out[populated++] = pfn;
    return populated;
  }

  /**
   * The zone a bulk request of `nr` pages may use: the first of the
   * zonelist whose free pages exceed the low watermark plus `nr`
   * (`zone_watermark_fast` against the preferred zone's lowmem reserve);
   * null when a zone on another node comes first or none qualifies.
   */
  private bulkZone(gfp: Gfp, node: number, nr: number): BuddyZone | null {
    const zonelist = this.zonelists[node]![gfpZone(gfp)]!;
    if (zonelist.length === 0) return null;
    const preferred = this.zoneArr[zonelist[0]!]!;
    for (let i = 0; i < zonelist.length; i++) {
      const zone = this.zoneArr[zonelist[i]!]!;
      if (zone.node !== preferred.node) return null;
      this.cost?.touch(CostStruct.ZONE, zone.id);
      if (this.watermarkOk(zone, 0, zone.wmark[ALLOC_WMARK_LOW]! + nr, preferred.type, ALLOC_WMARK_LOW, zone.freePages)) return zone;
    }
    return null;
  }

  /**
   * `alloc_flags_nofragment` per (node, highest zone): ALLOC_NOFRAGMENT when
   * the preferred zone is Normal and DMA32 below it is populated.
   */
  private computeNofragment(): Uint8Array {
    const out = new Uint8Array(this.zonelists.length * MAX_NR_ZONES);
    this.zonelists.forEach((lists, node) =>
      lists.forEach((zl, highest) => {
        const first = this.zoneArr[zl[0]!];
        const below = first ? this.zoneArr[first.id - 1] : undefined;
        out[node * MAX_NR_ZONES + highest] = first && first.type === ZONE_NORMAL && below && below.managed > 0 ? 1 : 0;
      }),
    );
    return out;
  }

  /** `get_page_from_freelist`. */
  private getPageFromFreelist(zonelist: Int32Array, order: number, highest: number, mt: number, allocFlags: number): number {
    for (let i = 0; i < zonelist.length; i++) {
      const zone = this.zoneArr[zonelist[i]!]!;
      if (allocFlags & ALLOC_NOFRAGMENT && zone.node !== this.zoneArr[zonelist[0]!]!.node) {
        continue;
      }
      // The watermark test reads struct zone's free count and watermarks.
      this.cost?.touch(CostStruct.ZONE, zone.id);
      // 6.7+: a zone above its high watermark is used without the alloc-mark test;
      // the first time it is found below, ZONE_BELOW_HIGH is set.
      if (zone.belowHigh || !this.watermarkOk(zone, order, zone.wmark[ALLOC_WMARK_HIGH]!, highest, allocFlags, zone.freePages)) {
        zone.belowHigh = true;
        if (!(allocFlags & ALLOC_NO_WATERMARKS) && !this.watermarkOk(zone, order, zone.wmark[allocFlags & ALLOC_WMARK_MASK]!, highest, allocFlags, zone.freePages)) continue;
      }
      let pfn = pcpAllowedOrder(order) ? this.rmqueuePcplist(zone, order, mt, allocFlags) : -1;
      if (pfn < 0) pfn = this.rmqueueBuddy(zone, order, mt, allocFlags);
      if (pfn >= 0) {
        countNuma(zone, this.zoneArr[zonelist[0]!]!.node, this.nodeOfCpu[this.ctx.cpu]!);
        return pfn;
      }
    }
    return -1;
  }

  /** `rmqueue_buddy`: highatomic first when allowed, then the normal path, then highatomic for OOM victims. */
  private rmqueueBuddy(zone: BuddyZone, order: number, mt: number, allocFlags: number): number {
    this.cost?.count(Cost.ZONE_LOCK);
    let pfn = -1;
    if (allocFlags & ALLOC_HIGHATOMIC) pfn = this.rmqueueSmallest(zone, order, MigrateType.HIGHATOMIC);
    if (pfn < 0) pfn = this.rmqueue(zone, order, mt, allocFlags);
    if (pfn < 0 && allocFlags & ALLOC_OOM) pfn = this.rmqueueSmallest(zone, order, MigrateType.HIGHATOMIC);
    return pfn;
  }

  /** `gfp_to_alloc_flags`. */
  private gfpToAllocFlags(gfp: Gfp, order: number): number {
    let f = ALLOC_WMARK_MIN;
    if (gfp & __GFP_HIGH) f |= ALLOC_MIN_RESERVE;
    if (gfp & __GFP_KSWAPD_RECLAIM) f |= ALLOC_KSWAPD;
    if (!(gfp & __GFP_DIRECT_RECLAIM) && !(gfp & __GFP_NOMEMALLOC)) {
      f |= ALLOC_NON_BLOCK;
      if (order > 0) f |= ALLOC_HIGHATOMIC;
    }
    return f;
  }

  /**
   * `__alloc_pages_slowpath`, without compaction and the OOM killer: wake
   * kswapd, retry at the min watermark (with the reserves the mask allows),
   * then direct reclaim rounds while the shrinkers make progress.
   *
   * Divergence: Linux drains the per-CPU lists only after reclaim made
   * progress (there is always page cache to reclaim there); the simulation
   * has no page cache, so every reclaim round drains them — otherwise pages
   * parked on per-CPU lists could never serve a high-order request.
   */
  private slowpath(zonelist: Int32Array, order: number, gfp: Gfp, highest: number, mt: number): number {
    let allocFlags = this.gfpToAllocFlags(gfp, order);
    if (allocFlags & ALLOC_KSWAPD) this.wakeKswapd(zonelist, order, highest);
    let pfn = this.getPageFromFreelist(zonelist, order, highest, mt, allocFlags);
    if (pfn >= 0) return pfn;
    if (gfp & __GFP_MEMALLOC && !(gfp & __GFP_NOMEMALLOC)) {
      allocFlags = ALLOC_NO_WATERMARKS | (allocFlags & ALLOC_KSWAPD);
      pfn = this.getPageFromFreelist(zonelist, order, highest, mt, allocFlags);
      if (pfn >= 0) return pfn;
    }
    if (gfp & __GFP_DIRECT_RECLAIM) {
      const costly = order > PAGE_ALLOC_COSTLY_ORDER;
      for (let round = 0; round < MAX_RECLAIM_RETRIES; round++) {
        const progress = this.reclaim(1 << order, gfp);
        this.drainPcp();
        pfn = this.getPageFromFreelist(zonelist, order, highest, mt, allocFlags);
        if (pfn >= 0) return pfn;
        if (gfp & __GFP_NORETRY || (costly && !(gfp & __GFP_RETRY_MAYFAIL)) || progress === 0) break;
      }
    }
    allocFailure(this.machine, this.policy, order, gfp);
    return -1;
  }

  /** kswapd, run synchronously: reclaim while an eligible zone is below its low watermark. */
  private wakeKswapd(zonelist: Int32Array, order: number, highest: number): void {
    const below = Array.from(zonelist).some((id) => {
      const z = this.zoneArr[id]!;
      return !this.watermarkOk(z, order, z.wmark[1]!, highest, 0, z.freePages);
    });
    if (below) this.reclaim(1 << order, 0);
  }

  /** Runs every shrinker once; returns pages freed. */
  private reclaim(nrPages: number, gfp: Gfp): number {
    if (!this.shrinkers.length) return 0;
    this.opCounters.reclaimRuns++;
    let freed = 0;
    for (const s of this.shrinkers) {
      const can = s.count();
      if (can > 0) freed += s.scan(Math.max(nrPages, 32), gfp);
    }
    this.opCounters.reclaimedPages += freed;
    return freed;
  }

  /** `prep_new_page` / `post_alloc_hook`; `trace`: `__alloc_pages`'s `mm_page_alloc`. */
  private prepNewPage(pfn: number, order: number, gfp: Gfp, mt: number, trace: boolean): void {
    if (this.checks) checkNewPages(this.machine, pfn, order, this.policy);
    prepAllocatedBlock(this.machine, this.kasan, pfn, order, gfp, mt, trace);
    if (this.cost) touchBlock(this.cost, this.mm, pfn, order);
    this.opCounters.allocs++;
    this.opCounters.allocatedPages += 1 << order;
  }

  // -------------------------------------------------------------------- free

  /** {@inheritDoc PageAllocator.freePages} */
  freePages(pfn: Pfn, order: number): void {
    validateFree(this.machine, pfn, order, this.policy, this.isFreeFn);
    if (this.cost) {
      // put_page_testzero: an atomic decrement of the refcount; free_pages_prepare visits compound tails.
      this.cost.count(Cost.ATOMICS);
      touchBlock(this.cost, this.mm, pfn, order);
    }
    if (this.checks && order > 0) checkFreeTails(this.machine, pfn, order, this.policy);
    if (--this.mm.refcount[pfn]! > 0) {
      for (const [p, o] of splitNonCompoundOnPut(this.machine, pfn, order)) this.freeTheBlock(p, o);
      return;
    }
    this.freeTheBlock(pfn, order);
  }

  private readonly isFreeFn = (pfn: number): boolean => this.insideFreeBlock(pfn);

  /** True when `pfn` lies inside a free buddy block or a per-CPU block (bounded search). */
  private insideFreeBlock(pfn: number): boolean {
    const mm = this.mm;
    for (let o = 0; o <= MAX_PAGE_ORDER; o++) {
      const head = pfn & ~((1 << o) - 1);
      const f = mm.flags[head]!;
      if (f & (PG_BUDDY | PG_PCP) && mm.order[head]! >= o && head + (1 << mm.order[head]!) > pfn) return true;
    }
    return false;
  }

  /** `free_the_page`: clears state and sends the block to a pcp list or the buddy. */
  protected freeTheBlock(pfn: number, order: number): void {
    const n = 1 << order;
    this.clearOnFree(pfn, order);
    this.opCounters.frees++;
    this.opCounters.allocatedPages -= n;
    const zone = this.zoneArr[this.machine.layout.zoneOf(pfn)]!;
    const mt = this.blockMt[pfn >>> PAGEBLOCK_ORDER]!;
    if (pcpAllowedOrder(order) && mt !== MigrateType.ISOLATE) {
      this.freeToPcp(zone, pfn, order, mt >= MIGRATE_PCPTYPES ? MigrateType.MOVABLE : mt, mt);
    } else {
      // free_one_page takes zone->lock.
      this.cost?.count(Cost.ZONE_LOCK);
      this.freeOneBlock(zone, pfn, order, mt, false);
    }
  }

  /** `free_pages_prepare`: clears allocation, compound and owner state. Mutants override this. */
  protected clearOnFree(pfn: number, order: number): void {
    clearFreedBlock(this.machine, this.kasan, pfn, order);
  }

  /** {@inheritDoc PageAllocator.getPage} */
  getPage(pfn: Pfn): void {
    validateGetPage(this.machine, pfn, this.policy);
    this.mm.refcount[pfn]!++;
  }

  /** {@inheritDoc PageAllocator.registerShrinker} */
  registerShrinker(s: Shrinker): void {
    this.shrinkers.push(s);
  }

  /** {@inheritDoc PageAllocator.pageblockType} */
  pageblockType(pfn: Pfn): MigrateType {
    return this.blockMt[pfn >>> PAGEBLOCK_ORDER]! as MigrateType;
  }

  // ------------------------------------------------------------------ report

  /** {@inheritDoc PageAllocator.stats} */
  stats(): PageAllocStats {
    let free = 0;
    let pcp = 0;
    let managed = 0;
    for (const z of this.zoneArr) {
      free += z.freePages;
      managed += z.managed;
      for (let c = 0; c < z.pcpCount.length; c++) pcp += z.pcpCount[c]!;
    }
    return this.opCounters.snapshot(managed, free, pcp);
  }

  /** {@inheritDoc PageAllocator.zones} */
  /** Per zone, the pageblocks `pagetypeinfo` counts, found on first use (the layout never changes). */
  private readonly blocksCounted: (Int32Array | undefined)[] = [];

  /**
   * The pageblocks of a zone whose first frame in the zone is RAM, as
   * `pagetypeinfo_showblockcount` counts them (`pfn_to_online_page`).
   */
  private countedBlocks(z: BuddyZone): Int32Array {
    let out = this.blocksCounted[z.id];
    if (out) return out;
    const found: number[] = [];
    if (z.spanned > 0) {
      for (let b = z.startPfn >>> PAGEBLOCK_ORDER; b <= (z.endPfn - 1) >>> PAGEBLOCK_ORDER; b++) {
        if (this.machine.layout.isRam(Math.max(b << PAGEBLOCK_ORDER, z.startPfn))) found.push(b);
      }
    }
    out = this.blocksCounted[z.id] = Int32Array.from(found);
    return out;
  }

  /** The per-CPU lists of a zone for {@link zones} (a plain loop: zones() runs on every time-series sample). */
  private pcpReport(z: BuddyZone): PcpReport[] {
    const out: PcpReport[] = [];
    for (let cpu = 0; cpu < z.pcpCount.length; cpu++) out.push({ cpu, count: z.pcpCount[cpu]!, high: z.pcpHigh[cpu]!, batch: z.pcpBatch });
    return out;
  }

  zones(): ZoneReport[] {
    return this.zoneArr.map((z) => {
      const byType: number[][] = [];
      for (let mt = 0; mt < MIGRATE_TYPES; mt++) {
        const row = new Array<number>(NR_PAGE_ORDERS);
        for (let o = 0; o < NR_PAGE_ORDERS; o++) row[o] = z.nrFreeMt[o * MIGRATE_TYPES + mt]!;
        byType.push(row);
      }
      const blocks = new Array<number>(MIGRATE_TYPES).fill(0);
      const counted = this.countedBlocks(z);
      for (let i = 0; i < counted.length; i++) blocks[this.blockMt[counted[i]!]!]!++;
      return z.report({
        freePages: z.freePages,
        nrFree: Array.prototype.slice.call(z.nrFree) as number[],
        nrFreeByType: byType,
        pageblocksByType: blocks,
        pcp: this.pcpReport(z),
      });
    });
  }

  // -------------------------------------------------------------- invariants

  /** {@inheritDoc InvariantChecked.checkInvariants} */
  checkInvariants(): Violation[] {
    const out: Violation[] = [];
    const add = (v: Violation): void => {
      if (out.length < MAX_VIOLATIONS) out.push(v);
    };
    const mm = this.mm;
    const layout = this.machine.layout;
    for (const zone of this.zoneArr) {
      if (zone.spanned === 0) continue;
      // B4: walk the free lists.
      let listPages = 0;
      for (let o = 0; o < NR_PAGE_ORDERS; o++) {
        let perOrder = 0;
        for (let mt = 0; mt < MIGRATE_TYPES; mt++) {
          const w = mm.lists.walkInto(zone.freeList[o * MIGRATE_TYPES + mt]!, zone.spanned);
          if (!w.ok) add({ code: 'B4', message: `zone ${zone.name} free_list[${o}][${mt}] is corrupt: ${w.problem ?? ''}`, details: { zone: zone.id, order: o, mt } });
          for (let i = 0; i < w.n; i++) {
            const pfn = w.pfns[i]!;
            if (!(mm.flags[pfn]! & PG_BUDDY) || mm.order[pfn] !== o || mm.mt[pfn] !== mt) {
              add({ code: 'B4', message: `pfn 0x${pfn.toString(16)} is on free_list[${o}][${mt}] but carries ${mm.describeFlags(pfn)} order ${mm.order[pfn]} mt ${mm.mt[pfn]}`, details: { pfn, order: o } });
            }
            if (pfn < zone.startPfn || pfn + (1 << o) > zone.endPfn) add({ code: 'B1', message: `free block pfn 0x${pfn.toString(16)} order ${o} is outside zone ${zone.name}`, details: { pfn, order: o } });
          }
          if (w.n !== zone.nrFreeMt[o * MIGRATE_TYPES + mt]) {
            add({ code: 'B4', message: `zone ${zone.name} order ${o} type ${mt}: list has ${w.n} blocks, counter says ${zone.nrFreeMt[o * MIGRATE_TYPES + mt]}`, details: { order: o, mt } });
          }
          perOrder += w.n;
          listPages += w.n << o;
        }
        if (perOrder !== zone.nrFree[o]) add({ code: 'B4', message: `zone ${zone.name} nr_free[${o}] = ${zone.nrFree[o]} but the lists hold ${perOrder} blocks`, details: { order: o } });
      }
      if (listPages !== zone.freePages) add({ code: 'B6', message: `zone ${zone.name} NR_FREE_PAGES = ${zone.freePages} but the free lists hold ${listPages} pages`, details: { zone: zone.id } });
      // B6: per-CPU counts.
      for (let c = 0; c < zone.pcpCount.length; c++) {
        let pages = 0;
        for (let i = 0; i < NR_PCP_LISTS; i++) {
          const w = mm.lists.walkInto(zone.pcpLists[c * NR_PCP_LISTS + i]!, zone.spanned);
          if (!w.ok) add({ code: 'B4', message: `zone ${zone.name} cpu ${c} pcp list ${i} is corrupt: ${w.problem ?? ''}` });
          for (let k = 0; k < w.n; k++) {
            const pfn = w.pfns[k]!;
            if (!(mm.flags[pfn]! & PG_PCP) || mm.order[pfn] !== pindexToOrder(i)) add({ code: 'B4', message: `pfn 0x${pfn.toString(16)} on cpu ${c} pcp list ${i} carries ${mm.describeFlags(pfn)} order ${mm.order[pfn]}`, details: { pfn } });
          }
          pages += w.n << pindexToOrder(i);
        }
        if (pages !== zone.pcpCount[c]) add({ code: 'B6', message: `zone ${zone.name} cpu ${c} pcp count ${zone.pcpCount[c]} but its lists hold ${pages} pages`, details: { cpu: c } });
      }
      // B1, B2, B3, B5: one pass over the zone's frames.
      const flags = mm.flags;
      const pairs = flagPairs(flags);
      const zoneEnd = zone.endPfn;
      let p = zone.startPfn;
      while (p < zoneEnd && out.length < MAX_VIOLATIONS) {
        const f = flags[p]!;
        if (f & (PG_BUDDY | PG_PCP | PG_ALLOCATED)) {
          const o = mm.order[p]!;
          const n = 1 << o;
          if (p & (n - 1)) add({ code: 'B2', message: `block pfn 0x${p.toString(16)} of order ${o} is not aligned to ${n} pages`, details: { pfn: p, order: o } });
          if (p + n > zone.endPfn) add({ code: 'B1', message: `block pfn 0x${p.toString(16)} order ${o} runs past the end of zone ${zone.name}`, details: { pfn: p, order: o } });
          if (f & (PG_BUDDY | PG_PCP)) {
            if (mm.refcount[p] !== 0 || f & ~(PG_BUDDY | PG_PCP)) add({ code: 'B5', message: `free block pfn 0x${p.toString(16)} has refcount ${mm.refcount[p]} and flags ${mm.describeFlags(p)}`, details: { pfn: p } });
            if (f & PG_BUDDY && o < MAX_PAGE_ORDER) {
              const b = p ^ n;
              if (b >= zone.startPfn && b < zone.endPfn && mm.flags[b]! & PG_BUDDY && mm.order[b] === o && !this.isolatedMismatch(p, b)) {
                add({ code: 'B3', message: `free block pfn 0x${p.toString(16)} and its buddy 0x${b.toString(16)} are both free at order ${o} but not merged`, details: { pfn: p, buddy: b, order: o } });
              }
            }
          }
          // Tail frames: of an allocated block, no block flag (B1); of a free block, no flag at all (B1, else B5).
          const bad = f & (PG_BUDDY | PG_PCP) ? 0xffff : PG_BUDDY | PG_PCP | PG_ALLOCATED | PG_RESERVED;
          const tailEnd = Math.min(p + n, zoneEnd);
          const q = nextFlagged(flags, pairs, p + 1, tailEnd, bad);
          if (q < tailEnd) {
            if (flags[q]! & (PG_BUDDY | PG_PCP | PG_ALLOCATED | PG_RESERVED)) {
              add({ code: 'B1', message: `pfn 0x${q.toString(16)} (${mm.describeFlags(q)}) lies inside the order-${o} block at 0x${p.toString(16)}`, details: { pfn: q, head: p } });
            } else {
              add({ code: 'B5', message: `pfn 0x${q.toString(16)} inside free block 0x${p.toString(16)} has flags ${mm.describeFlags(q)}`, details: { pfn: q } });
            }
          }
          p += n;
        } else if (f & PG_RESERVED || !layout.isRam(p)) {
          p++;
        } else {
          add({ code: 'B1', message: `pfn 0x${p.toString(16)} (${mm.describeFlags(p)}) belongs to no free, per-CPU or allocated block`, details: { pfn: p } });
          p++;
        }
      }
    }
    return out;
  }
}

/** `clamp`. */
function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
