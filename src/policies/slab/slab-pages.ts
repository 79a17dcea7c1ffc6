/**
 * Pages for slabs, shared by every slab backend (`allocate_slab` /
 * `__free_slab`'s page part): order-N blocks from the page allocator,
 * compound when N > 0, marked PG_slab with the SLAB owner on every frame,
 * and a per-frame cache id so any address inside a slab finds its cache
 * (`virt_to_slab(addr)->slab_cache`). The mark is cleared before the pages
 * go back; a backend that forgets leaves PG_slab set and the page allocator
 * reports a bad page.
 */

import { GFP_KERNEL, __GFP_COMP, __GFP_DMA, __GFP_DMA32, __GFP_RECLAIMABLE, type Gfp } from '../../interfaces/gfp.js';
import type { KasanApi } from '../../interfaces/detectors.js';
import type { PageAllocator } from '../../interfaces/page-allocator.js';
import { NO_PFN, PAGE_OFFSET, PAGE_SIZE, type Pfn } from '../../interfaces/units.js';
import type { Machine } from '../../interfaces/machine.js';
import { OWNER_MASK, OWNER_SHIFT, Owner, PG_SLAB } from '../../machine/memmap.js';
import { SLAB_CACHE_DMA, SLAB_CACHE_DMA32, SLAB_RECLAIM_ACCOUNT, type SlabStats } from '../../interfaces/slab.js';

/** Slab pages of one system: allocation, release, and address → cache lookup. */
export class SlabPages {
  /** Cache id + 1 per frame (0 = not a slab frame). */
  private readonly cacheOfFrame: Int32Array;
  /** Pages held for slabs. */
  reclaimable = 0;
  unreclaimable = 0;
  /** Page-allocator calls made for slabs. */
  calls = 0;

  constructor(
    private readonly machine: Machine,
    private readonly pages: PageAllocator,
    private readonly kasan: KasanApi | undefined,
  ) {
    this.cacheOfFrame = new Int32Array(machine.layout.nrPages);
  }

  /** GFP mask for a new slab of a cache with `flags` (`kmem_cache->allocflags` + caller's). */
  static slabGfp(gfp: Gfp, cacheFlags: number, order: number): Gfp {
    let g = gfp & ~(__GFP_DMA | __GFP_DMA32);
    if (order > 0) g |= __GFP_COMP;
    if (cacheFlags & SLAB_RECLAIM_ACCOUNT) g |= __GFP_RECLAIMABLE;
    if (cacheFlags & SLAB_CACHE_DMA) g |= __GFP_DMA;
    if (cacheFlags & SLAB_CACHE_DMA32) g |= __GFP_DMA32;
    return g;
  }

  /**
   * Allocates a slab of `order` for cache `cache`; returns the head pfn or
   * -1. Every frame gets PG_slab, the SLAB owner and the cache id.
   */
  alloc(cache: number, order: number, gfp: Gfp, cacheFlags: number): number {
    this.calls++;
    const pfn = this.pages.allocPages(order, SlabPages.slabGfp(gfp, cacheFlags, order));
    if (pfn === NO_PFN) return -1;
    const n = 1 << order;
    const f = this.machine.memmap.flags;
    const bits = PG_SLAB | (Owner.SLAB << OWNER_SHIFT);
    for (let p = pfn; p < pfn + n; p++) f[p] = (f[p]! & ~OWNER_MASK) | bits;
    this.cacheOfFrame.fill(cache + 1, pfn, pfn + n);
    this.kasan?.onNewSlab(pfn, n);
    if (cacheFlags & SLAB_RECLAIM_ACCOUNT) this.reclaimable += n;
    else this.unreclaimable += n;
    return pfn;
  }

  /** Clears the slab marks and returns the pages. */
  free(pfn: number, order: number, cacheFlags: number): void {
    this.calls++;
    const n = 1 << order;
    const f = this.machine.memmap.flags;
    for (let p = pfn; p < pfn + n; p++) f[p] = (f[p]! & ~(PG_SLAB | OWNER_MASK)) | (Owner.PAGE_CLIENT << OWNER_SHIFT);
    this.cacheOfFrame.fill(0, pfn, pfn + n);
    if (cacheFlags & SLAB_RECLAIM_ACCOUNT) this.reclaimable -= n;
    else this.unreclaimable -= n;
    this.pages.freePages(pfn as Pfn, order);
  }

  /** Cache id of the slab holding kernel virtual address `addr`, or -1. */
  cacheOf(addr: number): number {
    const off = addr - PAGE_OFFSET;
    if (!(off >= 0 && off < this.machine.mem.bytes)) return -1;
    return this.cacheOfFrame[Math.floor(off / PAGE_SIZE)]! - 1;
  }

  /** Head pfn of the slab holding `addr` when that slab belongs to `cache`, else -1 (one lookup for the free path). */
  headIfCache(addr: number, cache: number): number {
    const off = addr - PAGE_OFFSET;
    if (!(off >= 0 && off < this.machine.mem.bytes)) return -1;
    const pfn = Math.floor(off / PAGE_SIZE);
    if (this.cacheOfFrame[pfn] !== cache + 1) return -1;
    return this.machine.memmap.compoundHead(pfn);
  }

  /** Head pfn of the slab holding `addr` (compound head), or -1 when not a slab frame. */
  headOf(addr: number): number {
    const off = addr - PAGE_OFFSET;
    if (!(off >= 0 && off < this.machine.mem.bytes)) return -1;
    const pfn = Math.floor(off / PAGE_SIZE);
    if (this.cacheOfFrame[pfn] === 0) return -1;
    return this.machine.memmap.compoundHead(pfn);
  }
}

/** The counters every backend keeps, and the one SlabStats shape they report. */
export class SlabCounters {
  allocs = 0;
  frees = 0;
  fastAllocs = 0;
  fastFrees = 0;
  slabsCreated = 0;
  slabsFreed = 0;

  /** The statistics, with the page figures of `pages`. */
  snapshot(pages: SlabPages): SlabStats {
    return {
      allocs: this.allocs,
      frees: this.frees,
      fastAllocs: this.fastAllocs,
      fastFrees: this.fastFrees,
      slabsCreated: this.slabsCreated,
      slabsFreed: this.slabsFreed,
      pageAllocatorCalls: pages.calls,
      pagesReclaimable: pages.reclaimable,
      pagesUnreclaimable: pages.unreclaimable,
    };
  }
}

/** Default GFP for slab growth when a caller passes none (tests). */
export const SLAB_DEFAULT_GFP = GFP_KERNEL;
