/**
 * How SLOB works here (Linux 6.1–6.3 mm/slob.c; SLOB was removed in 6.4).
 *
 * SLOB ("simple list of blocks") is a first-fit heap carved out of order-0
 * pages. Memory is counted in 2-byte units (`slobidx_t` is s16 when
 * PAGE_SIZE ≤ 64 KiB), so a 4 KiB page holds 2048 units. Every page that
 * SLOB owns carries PG_slab and, in its `struct slab`, two fields: `units`,
 * the free units left in the page, and `freelist`, the first free block.
 * The free blocks of a page form an address-ordered singly linked list whose
 * links live *inside the free blocks*, in simulated memory: a block of more
 * than one unit stores its size in units[0] and the page-relative unit
 * offset of the next free block in units[1]; a 1-unit block has room for one
 * s16 only and stores −next. The last block's "next" is the page end
 * (offset 2048), which `slob_last` recognises by its page alignment.
 *
 * Pages with free space sit on one of three global lists, threaded through
 * the pages' struct-page `next`/`prev` links (an allocated order-0 page does
 * not use them): `free_slob_small` for requests below SLOB_BREAK1 (256
 * bytes), `free_slob_medium` below SLOB_BREAK2 (1024) and `free_slob_large`
 * for the rest. The size compared is the whole block passed to `slob_alloc`
 * (for kmalloc it includes the 8-byte header). Every cache and kmalloc share
 * these lists; SLOB has no per-cache pages and no per-CPU layer.
 *
 * Allocation (`slob_alloc`): walk the chosen list from its head, skip pages
 * whose `units` is too small, and in each candidate page run a first fit over
 * its free blocks (`slob_page_alloc`). With an alignment the block starts at
 * `ALIGN(cur + align_offset, align) − align_offset`; the skipped head
 * fragment stays a free block of its own, and any tail beyond the request
 * becomes a new free block. A page whose `units` drops to 0 leaves its list.
 * A page that satisfied the request and stays on the list becomes the list
 * head by *rotating* the circular list (`list_rotate_to_front`: the pages in
 * front of it move, in order, to the tail), so the next search starts there
 * (Knuth vol. 1 §2.5). If nothing fits, a fresh page is added at the head
 * and the block is cut from its start. `__GFP_ZERO` clears the requested
 * bytes.
 *
 * Free (`slob_free`): when the block would make the page entirely free, the
 * page leaves its list and goes straight back to the page allocator. A page
 * that was full rejoins, as a one-block free list, the list chosen by the
 * *freed block's* size, at the head. Otherwise the block is inserted in
 * address order and merged with the following and the preceding free block
 * when they are adjacent.
 *
 * kmalloc (`__do_kmalloc_node`): requests below PAGE_SIZE − 8 (the front end
 * sends us at most 4087 bytes) become `slob_alloc(size + 8, align, 8)` where
 * `align` is 8, or the size itself for a power of two; the requested size is
 * stored as a u32 in the 8-byte header just below the returned pointer, so a
 * block costs SLOB_UNITS(size + 8) units and power-of-two requests come back
 * naturally aligned. `kfree` reads the header back; `ksize` is the size
 * rounded up to a unit.
 *
 * kmem_cache: objects have no header. `c->size` is the object size (plus the
 * 24-byte `struct slob_rcu` footer for SLAB_TYPESAFE_BY_RCU); objects below
 * PAGE_SIZE are `slob_alloc(c->size, c->align, 0)`, larger ones whole
 * `get_order(c->size)` blocks of pages. The constructor runs on every
 * allocation (SLOB keeps no constructed free objects).
 *
 * Validation. Linux SLOB trusts its callers completely. We keep a compact
 * record of live blocks (a Map from block start to cache and size) so that
 * frees can be checked before anything is touched: an address that lies in a
 * free block is a `double-free`, anything else that is not a live block of
 * the right kind is an `invalid-free`. The record is also what fills the
 * per-cache counters, which Linux SLOB cannot provide.
 *
 * Cache ids: id 0 ({@link SLOB_KMALLOC_CACHE}) is an internal pseudo-cache
 * named `kmalloc`, created at construction. Every slob page is tagged with
 * it in the shared {@link SlabPages} map, and `cacheOf` returns it for
 * addresses inside kmalloc blocks and for free space of slob pages, so the
 * front end routes `kfree` of such addresses to {@link SlobBackend.kfree},
 * which reports the misuse precisely. `cacheOf` returns the owning cache for
 * addresses inside kmem_cache objects and −1 outside slob memory.
 *
 * Layers it may call: the page allocator, through {@link SlabPages} only; it
 * reads and writes the machine's bytes (free-block encoding, kmalloc header,
 * __GFP_ZERO) and struct-page list links of its own pages.
 *
 * Known limitations:
 * - Pages for kmem_cache objects ≥ PAGE_SIZE are marked PG_slab and tagged
 *   with their cache (Linux leaves them plain pages accounted as slab), so
 *   `cacheOf` and the S11 check cover them.
 * - All SLOB pages are accounted unreclaimable (as Linux does); the cache's
 *   SLAB_RECLAIM_ACCOUNT / SLAB_CACHE_DMA flags are ignored, and DMA bits of
 *   the caller's GFP mask are dropped by the shared page helper.
 * - SLAB_TYPESAFE_BY_RCU frees are immediate (no RCU grace period); the
 *   24-byte footer is still counted in the object size.
 * - No NUMA node preference (`slob_alloc`'s node argument), single lock
 *   domain, no `reclaim_state` accounting.
 * - A double free of the last block of a page cannot be told from a foreign
 *   pointer once the page went back to the page allocator (`invalid-free`).
 */

import { inject, injectable, optional } from 'inversify';
import type { KasanApi } from '../../interfaces/detectors.js';
import { AllocatorError, type AllocatorErrorKind } from '../../interfaces/errors.js';
import { __GFP_ZERO, type Gfp } from '../../interfaces/gfp.js';
import { MAX_VIOLATIONS, type Violation } from '../../interfaces/invariants.js';
import type { PageAllocator } from '../../interfaces/page-allocator.js';
import {
  ARCH_KMALLOC_MINALIGN,
  CACHE_LINE_SIZE,
  KMALLOC_MAX_SIZE,
  SLAB_HWCACHE_ALIGN,
  SLAB_TYPESAFE_BY_RCU,
  type CacheCounters,
  type CacheSpec,
} from '../../interfaces/slab.js';
import { Cost, CostStruct } from '../../interfaces/cost.js';
import { CONFIG, KASAN, MACHINE, PAGE_ALLOCATOR } from '../../interfaces/tokens.js';
import type { SystemConfig } from '../../interfaces/config.js';
import { PAGE_OFFSET, PAGE_SIZE, getOrder, hex, isPow2, kptr, type Pfn } from '../../interfaces/units.js';
import { HOST_LITTLE_ENDIAN } from '../../machine/physmem.js';
import type { Machine } from '../../interfaces/machine.js';
import { OWNER_MASK, OWNER_SHIFT, Owner, PG_SLAB } from '../../machine/memmap.js';
import { SlabBackendBase } from './backend-base.js';

/** Bytes per SLOB unit (`SLOB_UNIT` = sizeof(slob_t), s16 index). */
export const SLOB_UNIT = 2;
/** Units per page (`SLOB_UNITS(PAGE_SIZE)`). */
export const SLOB_PAGE_UNITS = PAGE_SIZE / SLOB_UNIT;
/** Requests below this many bytes use the small list. */
export const SLOB_BREAK1 = 256;
/** Requests below this many bytes (and ≥ SLOB_BREAK1) use the medium list. */
export const SLOB_BREAK2 = 1024;
/** kmalloc header bytes and minimum alignment (`max(ARCH_KMALLOC_MINALIGN, ARCH_SLAB_MINALIGN)`). */
export const SLOB_KMALLOC_MINALIGN = ARCH_KMALLOC_MINALIGN;
/** `sizeof(struct slob_rcu)`: rcu_head (16) + int size, padded (24). */
export const SLOB_RCU_BYTES = 24;
/** Largest kmalloc request SLOB serves itself (`size < PAGE_SIZE − minalign`). */
export const SLOB_KMALLOC_MAX = PAGE_SIZE - SLOB_KMALLOC_MINALIGN - 1;
/** Id of the internal `kmalloc` pseudo-cache (kmalloc blocks and slob pages). */
export const SLOB_KMALLOC_CACHE = 0;
/** The three lists, by index. */
export const SLOB_LIST_NAMES = ['small', 'medium', 'large'] as const;

/** `SLOB_UNITS(bytes)`: units covering `bytes`. */
export const slobUnits = (bytes: number): number => Math.ceil(bytes / SLOB_UNIT);
/** List index (0 small, 1 medium, 2 large) for a block of `size` bytes. */
export const slobListFor = (size: number): number => (size < SLOB_BREAK1 ? 0 : size < SLOB_BREAK2 ? 1 : 2);

const NOT_ON_LIST = -1;

/** One kmem_cache (or the kmalloc pseudo-cache). */
interface SlobCache {
  readonly name: string;
  readonly objectSize: number;
  /** Linux `c->size`: object size plus the RCU footer; decides slob vs pages. */
  readonly rawSize: number;
  readonly align: number;
  readonly flags: number;
  readonly ctor: ((obj: number) => void) | undefined;
  /** Page order for objects ≥ PAGE_SIZE, −1 for slob objects. */
  readonly order: number;
  /** Blocks carry the 8-byte kmalloc header (only the kmalloc pseudo-cache). */
  readonly header: boolean;
  /** Created as a kmalloc cache by the front end (recorded only; SLOB serves kmalloc itself). */
  readonly kmalloc: boolean;
  /** Live objects (exact). */
  live: number;
  /** Slob pages holding live objects of this cache: pfn → objects. */
  readonly pages: Map<number, number>;
  destroyed: boolean;
}

/** A live block: cache id and the bytes given to slob_alloc (kmalloc: requested size, header excluded). */
interface LiveBlock {
  readonly cache: number;
  readonly size: number;
}

/** Sizes fit 23 bits (≤ 4 MiB objects); the cache id goes above them. */
const LIVE_SIZE_BITS = 2 ** 23;

/**
 * Live blocks by start address, as a Map from the unit index (a small
 * integer the engine hashes fast, unlike a 47-bit address) to cache and
 * size packed in one number: no allocation per operation. `get` returns a
 * shared record, valid until the next call.
 */
class LiveTable {
  private readonly map = new Map<number, number>();
  private readonly scratch = { cache: 0, size: 0 };
  /** Unit index of an address; a small integer (Smi) below 2 GiB of memory, which Maps hash fastest. */
  private static key(addr: number): number {
    const k = (addr - PAGE_OFFSET) / SLOB_UNIT;
    if (k !== Math.floor(k)) return -1; // an odd address is never a block start
    return k < 0x40000000 ? k | 0 : k;
  }
  get(addr: number): LiveBlock | undefined {
    const v = this.map.get(LiveTable.key(addr));
    if (v === undefined) return undefined;
    this.scratch.cache = Math.floor(v / LIVE_SIZE_BITS);
    this.scratch.size = v % LIVE_SIZE_BITS;
    return this.scratch;
  }
  set(addr: number, rec: LiveBlock): void {
    if (LiveTable.key(addr) < 0) throw new AllocatorError('misuse', `slob: block start ${kptr(addr)} is not unit-aligned`, { policy: 'slob', op: 'alloc' });
    this.map.set(LiveTable.key(addr), rec.cache * LIVE_SIZE_BITS + rec.size);
  }
  delete(addr: number): void {
    this.map.delete(LiveTable.key(addr));
  }
  get size(): number {
    return this.map.size;
  }
  *[Symbol.iterator](): Generator<[number, LiveBlock]> {
    for (const [k, v] of this.map) yield [PAGE_OFFSET + k * SLOB_UNIT, { cache: Math.floor(v / LIVE_SIZE_BITS), size: v % LIVE_SIZE_BITS }];
  }
}

/**
 * The SLOB slab backend (Linux 6.3 mm/slob.c).
 *
 * Invariants (checked by {@link SlobBackend.checkInvariants}):
 * 1. S10 Free blocks — in every slob page the free blocks, walked from
 *    `freelist` (at most 2048 steps), are address-sorted, non-overlapping
 *    and inside the page; the last one links to the page end; the sum of
 *    their sizes equals the page's `units`; a full page's `freelist` is the
 *    page end.
 * 2. S10 Lists — the three lists are acyclic, doubly linked and hold only
 *    slob pages; a page is on a list exactly when `units` > 0, and on the
 *    list its record names; every live block in a page belongs to that
 *    page's size class (blocks enter a page only from its list, and a full
 *    page rejoins by the freed block's size, so a page never changes class).
 * 3. S10 Conservation — live blocks lie inside slob pages, overlap neither
 *    free blocks nor each other, and live units plus free units equal 2048
 *    in every page; every kmalloc header holds the recorded size; per-cache
 *    live counts match the record.
 * 4. S11 Page coupling — every slob page and every page block of a large
 *    cache object carries PG_slab, the SLAB owner and the right cache tag,
 *    and the slab page counters equal the pages held.
 */
@injectable()
export class SlobBackend extends SlabBackendBase<SlobCache> {
  readonly policy: string = 'slob';
  readonly kmallocMinSize = 8;
  readonly kmallocCacheFlags = 0;
  readonly kmallocMaxCacheSize = SLOB_KMALLOC_MAX;
  readonly hasSlabinfo = false;
  readonly mergeable = false;
  /** kmalloc is served from the `kmalloc` pseudo-cache: header-prefixed blocks of any size, no size classes. */
  override readonly kmallocCache = SLOB_KMALLOC_CACHE;
  /** List heads: small, medium, large. */
  private readonly heads: Int32Array;
  /** `slab->units` per pfn: free units in the page. */
  private readonly pageUnits: Int32Array;
  /** `slab->freelist` per pfn: unit offset of the first free block (SLOB_PAGE_UNITS = none). */
  private readonly freelist: Int32Array;
  /** List the page is on (`PG_slob_free` + which list), NOT_ON_LIST when full. */
  private readonly onList: Int8Array;
  /** Size class the page serves (the list it was last put on). */
  private readonly pageClass: Int8Array;
  /** Pages SLOB holds for slob blocks (not the large-object blocks). */
  private readonly slobPfns = new Set<number>();
  /** Live blocks by block start (kmalloc: the header address). */
  private readonly live = new LiveTable();
  /**
   * Block starts freed since they were last handed out (simulator state, not
   * SLOB's): a second free of one is a double free even after its page went
   * back to the page allocator.
   */
  private readonly recentlyFreed = new Set<number>();
  /** Word views of the pages SLOB holds: slot + 1 per pfn, views dense by slot. */
  private readonly viewSlot: Int32Array;
  private readonly views: Int16Array[] = [];
  private readonly freeViewSlots: number[] = [];
  /** Set by pageAlloc when the page left its list. */
  private removedFromList = false;
  // Statistics: allocs + frees count kmalloc and kmem_cache operations.

  /** Creates the three lists and the `kmalloc` pseudo-cache (id 0). */
  constructor(@inject(MACHINE) machine: Machine, @inject(CONFIG) _config: SystemConfig, @inject(PAGE_ALLOCATOR) pages: PageAllocator, @inject(KASAN) @optional() kasan?: KasanApi) {
    super(machine, pages, kasan);
    const n = machine.layout.nrPages;
    this.pageUnits = new Int32Array(n);
    this.viewSlot = new Int32Array(n);
    this.freelist = new Int32Array(n);
    this.onList = new Int8Array(n).fill(NOT_ON_LIST);
    this.pageClass = new Int8Array(n).fill(NOT_ON_LIST);
    this.heads = Int32Array.from(SLOB_LIST_NAMES, () => machine.memmap.lists.newHead());
    this.addCache(
      { name: 'kmalloc', objectSize: 0, rawSize: 0, align: SLOB_KMALLOC_MINALIGN, flags: 0, ctor: undefined, order: -1, header: true, kmalloc: true, live: 0, pages: new Map(), destroyed: false },
      { objectSize: 0, size: 0, align: SLOB_KMALLOC_MINALIGN, objPerSlab: 0, order: 0, usable: 0, tunables: [0, 0, 0], details: { mode: 'kmalloc', header: SLOB_KMALLOC_MINALIGN, unit: SLOB_UNIT } },
    );
  }

  /** SLOB has no kmalloc size classes. */
  override get kmallocSizes(): readonly number[] {
    return [];
  }

  // ---------------------------------------------------------------- encoding

  private static physOf(pfn: number, off: number): number {
    return pfn * PAGE_SIZE + off * SLOB_UNIT;
  }

  /** Reads the s16 at unit `off` of page `pfn`. */
  private readWord(pfn: number, off: number): number {
    if (HOST_LITTLE_ENDIAN) return this.view(pfn)[off]!;
    const v = this.machine.mem.read16(SlobBackend.physOf(pfn, off));
    return v >= 0x8000 ? v - 0x10000 : v;
  }

  private writeWord(pfn: number, off: number, v: number): void {
    if (HOST_LITTLE_ENDIAN) this.view(pfn)[off] = v;
    else this.machine.mem.write16(SlobBackend.physOf(pfn, off), v & 0xffff);
  }

  /** The page's words, cached while SLOB holds the page (the same bytes every accessor sees). */
  private view(pfn: number): Int16Array {
    const slot = this.viewSlot[pfn]!;
    if (slot !== 0) return this.views[slot - 1]!;
    const v = this.machine.mem.pageInt16(pfn as Pfn);
    const s = this.freeViewSlots.pop() ?? this.views.length;
    this.views[s] = v;
    this.viewSlot[pfn] = s + 1;
    return v;
  }

  /** Counts the cache line of the block header at unit `off` (its two words; a header straddling two lines counts both). */
  private costHeader(pfn: number, off: number): void {
    const cost = this.cost!;
    const at = SlobBackend.physOf(pfn, off);
    cost.line(at);
    cost.line(at + SLOB_UNIT);
  }

  /** {@link costHeader} of up to three headers (−1: none). */
  private costHeaders(pfn: number, a: number, b: number, c: number): void {
    if (a >= 0 && a < SLOB_PAGE_UNITS) this.costHeader(pfn, a);
    if (b >= 0 && b < SLOB_PAGE_UNITS) this.costHeader(pfn, b);
    if (c >= 0 && c < SLOB_PAGE_UNITS) this.costHeader(pfn, c);
  }

  /** `set_slob`: encodes a free block of `size` units at `off` linking to `next`. */
  private setSlob(pfn: number, off: number, size: number, next: number): void {
    if (size > 1) {
      this.writeWord(pfn, off, size);
      this.writeWord(pfn, off + 1, next);
    } else this.writeWord(pfn, off, -next);
  }

  /** `slob_units`: size of the free block at `off`. */
  private blockUnits(pfn: number, off: number): number {
    const v = this.readWord(pfn, off);
    return v > 0 ? v : 1;
  }

  /** `slob_next`: unit offset of the free block after the one at `off`. */
  private blockNext(pfn: number, off: number): number {
    const v = this.readWord(pfn, off);
    return v < 0 ? -v : this.readWord(pfn, off + 1);
  }

  /** `slob_last`: the block's next is page-aligned (the page end). */
  private isLast(pfn: number, off: number): boolean {
    return this.blockNext(pfn, off) % SLOB_PAGE_UNITS === 0;
  }

  // ---------------------------------------------------------------- core

  /**
   * `slob_page_alloc`: first fit in page `pfn`. Returns the unit offset of
   * the block, or −1; sets {@link removedFromList} when the page filled up.
   */
  private pageAlloc(pfn: number, size: number, align: number, alignOffset: number): number {
    const units = slobUnits(size);
    const base = PAGE_OFFSET + pfn * PAGE_SIZE;
    this.removedFromList = false;
    const cost = this.cost;
    let prev = -1;
    let cur = this.freelist[pfn]!;
    for (let guard = 0; guard < SLOB_PAGE_UNITS && cur < SLOB_PAGE_UNITS; guard++) {
      // The walk reads each free block's header (its size and next words).
      if (cost !== null) this.costHeader(pfn, cur);
      let avail = this.blockUnits(pfn, cur);
      let delta = 0;
      let aligned = cur;
      if (align) {
        const curAddr = base + cur * SLOB_UNIT;
        const alignedAddr = Math.ceil((curAddr + alignOffset) / align) * align - alignOffset;
        aligned = cur + (alignedAddr - curAddr) / SLOB_UNIT;
        delta = aligned - cur;
      }
      if (avail >= units + delta) {
        if (delta) {
          // Fragment the head to align: it stays free, linked to the rest.
          const next = this.blockNext(pfn, cur);
          this.setSlob(pfn, aligned, avail - delta, next);
          this.setSlob(pfn, cur, delta, aligned);
          prev = cur;
          cur = aligned;
          avail = this.blockUnits(pfn, cur);
        }
        const next = this.blockNext(pfn, cur);
        if (avail === units) {
          if (prev >= 0) this.setSlob(pfn, prev, this.blockUnits(pfn, prev), next);
          else this.freelist[pfn] = next;
        } else {
          if (prev >= 0) this.setSlob(pfn, prev, this.blockUnits(pfn, prev), cur + units);
          else this.freelist[pfn] = cur + units;
          this.setSlob(pfn, cur + units, avail - units, next);
        }
        // Headers written: the previous block's, the aligned one's, the remainder's.
        if (cost !== null) this.costHeaders(pfn, prev, aligned, cur + units);
        this.pageUnits[pfn]! -= units;
        if (this.pageUnits[pfn] === 0) {
          this.machine.memmap.lists.del(pfn);
          this.onList[pfn] = NOT_ON_LIST;
          this.removedFromList = true;
        }
        return cur;
      }
      if (this.isLast(pfn, cur)) return -1;
      prev = cur;
      cur = this.blockNext(pfn, cur);
    }
    return -1;
  }

  /** `list_rotate_to_front`: pages in front of `pfn` move, in order, to the tail of list `h`. */
  private rotateToFront(h: number, pfn: number): void {
    const lists = this.machine.memmap.lists;
    for (let guard = 0; guard <= this.slobPfns.size && lists.first(h) !== pfn; guard++) {
      const x = lists.first(h);
      lists.del(x);
      lists.addTail(h, x);
    }
  }

  /** `slob_alloc`: a block of `size` bytes; returns its virtual address or 0. */
  private slobAlloc(size: number, gfp: Gfp, align: number, alignOffset: number): number {
    const list = slobListFor(size);
    const h = this.heads[list]!;
    const lists = this.machine.memmap.lists;
    const need = slobUnits(size);
    let pfn = -1;
    let off = -1;
    let steps = 0;
    // spin_lock_irqsave(&slob_lock), then the walk reads each page's struct slab (sp->units).
    this.cost?.count(Cost.SLOB_LOCK);
    for (let p = lists.first(h); p >= 0 && steps <= this.slobPfns.size; p = lists.after(p), steps++) {
      this.cost?.touch(CostStruct.PAGE, p);
      if (this.pageUnits[p]! < need) continue;
      off = this.pageAlloc(p, size, align, alignOffset);
      if (off < 0) continue;
      pfn = p;
      // Start the next search here (the page is still on the list).
      if (!this.removedFromList && lists.first(h) !== p) this.rotateToFront(h, p);
      break;
    }
    if (off < 0) {
      const fresh = this.slabPages.alloc(SLOB_KMALLOC_CACHE, 0, gfp & ~__GFP_ZERO, 0);
      if (fresh < 0) return 0;
      this.opCounters.slabsCreated++;
      pfn = fresh;
      this.slobPfns.add(pfn);
      this.pageUnits[pfn] = SLOB_PAGE_UNITS;
      this.freelist[pfn] = 0;
      this.setSlob(pfn, 0, SLOB_PAGE_UNITS, SLOB_PAGE_UNITS);
      lists.addHead(h, pfn);
      this.onList[pfn] = list;
      this.pageClass[pfn] = list;
      off = this.pageAlloc(pfn, size, align, alignOffset);
      if (off < 0) throw new AllocatorError('misuse', `cannot place ${size} bytes aligned to ${align} in a fresh page (BUG_ON(!b))`, { policy: this.policy, op: 'slob_alloc', size });
    }
    const addr = PAGE_OFFSET + pfn * PAGE_SIZE + off * SLOB_UNIT;
    if (gfp & __GFP_ZERO) this.machine.mem.fill(addr - PAGE_OFFSET, size, 0);
    return addr;
  }

  /** `slob_free`: returns the block of `size` bytes at virtual `addr`. */
  private slobFree(addr: number, size: number): void {
    const phys = addr - PAGE_OFFSET;
    const pfn = Math.floor(phys / PAGE_SIZE);
    const b = (phys - pfn * PAGE_SIZE) / SLOB_UNIT;
    let units = slobUnits(size);
    const lists = this.machine.memmap.lists;
    if (this.cost) {
      this.cost.count(Cost.SLOB_LOCK);
      this.cost.touch(CostStruct.PAGE, pfn);
    }
    if (this.pageUnits[pfn]! + units === SLOB_PAGE_UNITS) {
      // Go directly to the page allocator.
      if (this.onList[pfn] !== NOT_ON_LIST) lists.del(pfn);
      this.onList[pfn] = NOT_ON_LIST;
      this.pageClass[pfn] = NOT_ON_LIST;
      this.pageUnits[pfn] = 0;
      this.slobPfns.delete(pfn);
      if (this.viewSlot[pfn] !== 0) {
        this.freeViewSlots.push(this.viewSlot[pfn]! - 1);
        this.viewSlot[pfn] = 0;
      }
      this.slabPages.free(pfn, 0, 0);
      this.opCounters.slabsFreed++;
      return;
    }
    if (this.onList[pfn] === NOT_ON_LIST) {
      // A full page becomes partially free: the list follows the freed block's size.
      const list = slobListFor(size);
      this.pageUnits[pfn] = units;
      this.freelist[pfn] = b;
      this.setSlob(pfn, b, units, SLOB_PAGE_UNITS);
      lists.addHead(this.heads[list]!, pfn);
      this.onList[pfn] = list;
      this.pageClass[pfn] = list;
      return;
    }
    this.pageUnits[pfn]! += units;
    const fl = this.freelist[pfn]!;
    if (b < fl) {
      if (this.cost !== null) this.costHeaders(pfn, b, fl, -1);
      let next = fl;
      if (b + units === fl) {
        units += this.blockUnits(pfn, fl);
        next = this.blockNext(pfn, fl);
      }
      this.setSlob(pfn, b, units, next);
      this.freelist[pfn] = b;
      return;
    }
    let prev = fl;
    let next = this.blockNext(pfn, prev);
    const cost = this.cost;
    for (let guard = 0; b > next && guard < SLOB_PAGE_UNITS; guard++) {
      if (cost !== null) this.costHeader(pfn, prev);
      prev = next;
      next = this.blockNext(pfn, prev);
    }
    // The freed block's header, its neighbours' (read to merge, written to link).
    if (cost !== null) this.costHeaders(pfn, prev, b, next);
    if (!this.isLast(pfn, prev) && b + units === next) {
      units += this.blockUnits(pfn, next);
      this.setSlob(pfn, b, units, this.blockNext(pfn, next));
    } else this.setSlob(pfn, b, units, next);
    if (prev + this.blockUnits(pfn, prev) === b) {
      const merged = this.blockUnits(pfn, b) + this.blockUnits(pfn, prev);
      this.setSlob(pfn, prev, merged, this.blockNext(pfn, b));
    } else this.setSlob(pfn, prev, this.blockUnits(pfn, prev), b);
  }

  // ---------------------------------------------------------------- validation helpers

  private fail(kind: AllocatorErrorKind, op: string, message: string, addr?: number, size?: number): never {
    throw new AllocatorError(kind, message, { policy: this.policy, op, ...(addr !== undefined ? { addr } : {}), ...(size !== undefined ? { size } : {}) });
  }

  private cacheRec(cache: number, op: string, allowKmalloc = false): SlobCache {
    const c = this.cache(cache, op);
    if (!allowKmalloc && cache === SLOB_KMALLOC_CACHE) return this.fail('misuse', op, `cache id ${cache} is the internal kmalloc pseudo-cache`);
    return c;
  }

  /** Pfn of a slob page holding virtual `addr`, or −1. */
  private slobPfnOf(addr: number): number {
    const phys = addr - PAGE_OFFSET;
    if (!(Number.isFinite(phys) && phys >= 0 && phys < this.machine.mem.bytes)) return -1;
    const pfn = Math.floor(phys / PAGE_SIZE);
    return this.slobPfns.has(pfn) ? pfn : -1;
  }

  /** True when virtual `addr` lies inside a free block of slob page `pfn` (bounded walk). */
  private inFreeBlock(pfn: number, addr: number): boolean {
    if (this.pageUnits[pfn] === 0) return false;
    const off = (addr - PAGE_OFFSET - pfn * PAGE_SIZE) / SLOB_UNIT;
    let cur = this.freelist[pfn]!;
    for (let guard = 0; guard < SLOB_PAGE_UNITS && cur < SLOB_PAGE_UNITS; guard++) {
      if (off >= cur && off < cur + this.blockUnits(pfn, cur)) return true;
      if (this.isLast(pfn, cur)) break;
      cur = this.blockNext(pfn, cur);
    }
    return false;
  }

  /** Bytes a live block occupies from its start (kmalloc: header included, rounded to units). */
  private blockBytes(rec: LiveBlock): number {
    const c = this.caches[rec.cache]!;
    if (c.order >= 0) return PAGE_SIZE << c.order;
    return slobUnits(c.header ? rec.size + SLOB_KMALLOC_MINALIGN : rec.size) * SLOB_UNIT;
  }

  /** Start of the live block containing virtual `addr` in a slob page, or −1 (scans down at most one page). */
  private liveBlockContaining(pfn: number, addr: number): number {
    const base = PAGE_OFFSET + pfn * PAGE_SIZE;
    for (let a = addr - ((addr - base) % SLOB_UNIT); a >= base; a -= SLOB_UNIT) {
      const rec = this.live.get(a);
      if (rec) return addr < a + this.blockBytes(rec) ? a : -1;
    }
    return -1;
  }

  /** Throws the right error for a free of `addr` (block start `block`) that is not a live block of the expected kind. */
  private rejectFree(op: string, addr: number, block: number, what: string): never {
    const pfn = this.slobPfnOf(addr);
    if (this.recentlyFreed.has(block) || (pfn >= 0 && this.slobPfnOf(block) === pfn && this.inFreeBlock(pfn, block))) {
      return this.fail('double-free', op, `${kptr(addr)} is already free (double free)`, addr);
    }
    if (pfn < 0 && this.slabPages.cacheOf(addr) < 0) return this.fail('invalid-free', op, `${kptr(addr)} is not in a slob page`, addr);
    return this.fail('invalid-free', op, `${kptr(addr)} is not ${what}`, addr);
  }

  // ---------------------------------------------------------------- kmem_cache

  /**
   * `__kmem_cache_create` with slab_common's `calculate_alignment`.
   *
   * @throws AllocatorError `config` for a size or alignment SLOB cannot serve
   */
  createCache(spec: CacheSpec, kmalloc: boolean): number {
    const problems: string[] = [];
    if (!(Number.isInteger(spec.size) && spec.size > 0 && spec.size <= KMALLOC_MAX_SIZE)) problems.push(`size ${spec.size} is not in 1..${KMALLOC_MAX_SIZE}`);
    if (!(Number.isInteger(spec.align) && (spec.align === 0 || isPow2(spec.align)))) problems.push(`align ${spec.align} is not 0 or a power of two`);
    let align = spec.align;
    if (spec.flags & SLAB_HWCACHE_ALIGN) {
      let ralign = CACHE_LINE_SIZE;
      while (spec.size <= ralign / 2) ralign /= 2;
      align = Math.max(align, ralign);
    }
    align = Math.max(align, SLOB_KMALLOC_MINALIGN);
    const rawSize = spec.size + (spec.flags & SLAB_TYPESAFE_BY_RCU ? SLOB_RCU_BYTES : 0);
    if (rawSize < PAGE_SIZE && align > PAGE_SIZE) problems.push(`align ${align} exceeds a page for a ${rawSize}-byte object (slob_alloc cannot place it)`);
    if (problems.length) throw new AllocatorError('config', `cannot create cache ${spec.name}: ${problems.join('; ')}`, { policy: this.policy, op: 'kmem_cache_create', problems, size: spec.size });
    const c: SlobCache = {
      name: spec.name,
      objectSize: spec.size,
      rawSize,
      align,
      flags: spec.flags,
      ctor: spec.ctor,
      order: rawSize < PAGE_SIZE ? -1 : getOrder(rawSize),
      header: false,
      kmalloc,
      live: 0,
      pages: new Map(),
      destroyed: false,
    };
    const size = slobUnits(rawSize) * SLOB_UNIT;
    const slob = c.order < 0;
    return this.addCache(c, {
      objectSize: c.objectSize,
      size,
      align: c.align,
      objPerSlab: slob ? Math.floor(PAGE_SIZE / size) : 1,
      order: slob ? 0 : c.order,
      usable: size,
      tunables: [0, 0, 0],
      details: slob ? { mode: 'slob', units: slobUnits(rawSize), list: SLOB_LIST_NAMES[slobListFor(rawSize)]! } : { mode: 'pages' },
    });
  }

  /** `__kmem_cache_shutdown`: returns the live objects (Linux SLOB cannot count them and says 0). */
  destroyCache(cache: number): number {
    const c = this.cacheRec(cache, 'kmem_cache_destroy');
    if (c.live === 0) c.destroyed = true;
    return c.live;
  }

  /** `slob_alloc_node`: an object of `cache`, constructed; 0 when out of memory. */
  alloc(cache: number, gfp: Gfp, reqSize = 0): number {
    if (cache === SLOB_KMALLOC_CACHE) return this.kmallocAlloc(reqSize, gfp);
    const c = this.cacheRec(cache, 'kmem_cache_alloc');
    let b: number;
    if (c.order < 0) {
      b = this.slobAlloc(c.rawSize, gfp, c.align, 0);
      if (!b) return 0;
      const pfn = Math.floor((b - PAGE_OFFSET) / PAGE_SIZE);
      c.pages.set(pfn, (c.pages.get(pfn) ?? 0) + 1);
    } else {
      const pfn = this.slabPages.alloc(cache, c.order, gfp, 0);
      if (pfn < 0) return 0;
      this.opCounters.slabsCreated++;
      b = PAGE_OFFSET + pfn * PAGE_SIZE;
    }
    this.live.set(b, { cache, size: c.rawSize });
    this.recentlyFreed.delete(b);
    c.live++;
    this.opCounters.allocs++;
    c.ctor?.(b);
    return b;
  }

  /** `kmem_cache_free`. @throws AllocatorError `invalid-free`, `double-free`, `misuse`; state unchanged */
  free(cache: number, addr: number): void {
    if (cache === SLOB_KMALLOC_CACHE) return this.kmallocFree(addr);
    const c = this.cacheRec(cache, 'free');
    const rec = this.live.get(addr);
    if (!rec || rec.cache !== cache) return this.rejectFree('free', addr, addr, `an object of cache ${c.name}`);
    this.live.delete(addr);
    this.recentlyFreed.add(addr);
    c.live--;
    this.opCounters.frees++;
    if (c.order < 0) {
      const pfn = Math.floor((addr - PAGE_OFFSET) / PAGE_SIZE);
      const n = c.pages.get(pfn)! - 1;
      if (n) c.pages.set(pfn, n);
      else c.pages.delete(pfn);
      this.slobFree(addr, c.rawSize);
    } else {
      this.slabPages.free(Math.floor((addr - PAGE_OFFSET) / PAGE_SIZE), c.order, 0);
      this.opCounters.slabsFreed++;
    }
  }

  /** `__kmem_cache_shrink`: SLOB returns empty pages at once, so nothing is left to free. */
  shrink(cache: number): number {
    this.cacheRec(cache, 'kmem_cache_shrink');
    return 0;
  }

  /**
   * Cache owning `addr`: the cache of the live block containing it,
   * {@link SLOB_KMALLOC_CACHE} for kmalloc blocks and for free space in slob
   * pages, the cache of a large object's pages, or −1 outside SLOB memory.
   */
  override cacheOf(addr: number): number {
    const tag = this.slabPages.cacheOf(addr);
    if (tag < 0) return -1;
    const pfn = this.slobPfnOf(addr);
    if (pfn < 0) return tag;
    const start = this.liveBlockContaining(pfn, addr);
    return start < 0 ? SLOB_KMALLOC_CACHE : this.live.get(start)!.cache;
  }

  /**
   * Object start for `addr`: the object (for kmalloc, the returned pointer)
   * containing it; −1 for free space, kmalloc headers and non-slob memory.
   */
  objectStart(addr: number): number {
    const tag = this.slabPages.cacheOf(addr);
    if (tag < 0) return -1;
    const pfn = this.slobPfnOf(addr);
    if (pfn < 0) {
      const head = this.slabPages.headOf(addr);
      return head < 0 ? -1 : PAGE_OFFSET + head * PAGE_SIZE;
    }
    const start = this.liveBlockContaining(pfn, addr);
    if (start < 0) return -1;
    const rec = this.live.get(start)!;
    if (!this.caches[rec.cache]!.header) return start;
    return addr >= start + SLOB_KMALLOC_MINALIGN ? start + SLOB_KMALLOC_MINALIGN : -1;
  }



  /**
   * Counters with SLOB semantics: objects are exact (activeObjs = numObjs =
   * inUse); for slob objects, slabs are the distinct slob pages holding at
   * least one live object of the cache (shared with other caches), partial
   * ones those still on a free list; for large objects, one slab of
   * `1 << order` pages per object. The kmalloc pseudo-cache counts kmalloc
   * blocks the same way.
   */
  counters(cache: number): CacheCounters {
    const c = this.cacheRec(cache, 'counters', true);
    let slabs: number;
    let pages: number;
    let partial = 0;
    if (c.order < 0) {
      slabs = c.pages.size;
      pages = slabs;
      for (const pfn of c.pages.keys()) if (this.onList[pfn] !== NOT_ON_LIST) partial++;
    } else {
      slabs = c.live;
      pages = c.live << c.order;
    }
    return { activeObjs: c.live, numObjs: c.live, activeSlabs: slabs, numSlabs: slabs, sharedAvail: 0, inUse: c.live, partialSlabs: partial, pages };
  }

  // ---------------------------------------------------------------- kmalloc

  /**
   * `__do_kmalloc_node` for `size` in 1..{@link SLOB_KMALLOC_MAX}: header +
   * slob_alloc; 0 when out of memory.
   *
   * @throws AllocatorError `misuse` for a size the front end should have handled
   */
  private kmallocAlloc(size: number, gfp: Gfp): number {
    if (!(Number.isInteger(size) && size >= 1 && size <= SLOB_KMALLOC_MAX)) {
      return this.fail('misuse', 'kmalloc', `size ${size} is not in 1..${SLOB_KMALLOC_MAX} (the front end handles 0 and large sizes)`, undefined, size);
    }
    const align = isPow2(size) ? Math.max(SLOB_KMALLOC_MINALIGN, size) : SLOB_KMALLOC_MINALIGN;
    const m = this.slobAlloc(size + SLOB_KMALLOC_MINALIGN, gfp, align, SLOB_KMALLOC_MINALIGN);
    if (!m) return 0;
    this.machine.mem.write32(m - PAGE_OFFSET, size);
    const k = this.caches[SLOB_KMALLOC_CACHE]!;
    const pfn = Math.floor((m - PAGE_OFFSET) / PAGE_SIZE);
    k.pages.set(pfn, (k.pages.get(pfn) ?? 0) + 1);
    k.live++;
    this.live.set(m, { cache: SLOB_KMALLOC_CACHE, size });
    this.recentlyFreed.delete(m);
    this.opCounters.allocs++;
    return m + SLOB_KMALLOC_MINALIGN;
  }

  /** Validates a kmalloc pointer; returns its header address. */
  private kmallocHeader(op: string, addr: number): number {
    const m = addr - SLOB_KMALLOC_MINALIGN;
    const rec = Number.isInteger(addr) ? this.live.get(m) : undefined;
    if (!rec || rec.cache !== SLOB_KMALLOC_CACHE) return this.rejectFree(op, addr, m, 'a kmalloc block');
    const hdr = this.machine.mem.read32(m - PAGE_OFFSET);
    if (hdr !== rec.size) return this.fail('invalid-free', op, `${kptr(addr)}: kmalloc header says ${hdr} bytes but ${rec.size} were allocated (header overwritten)`, addr, rec.size);
    return m;
  }

  /** `kfree` of a SLOB kmalloc block: reads the header and frees size + 8. @throws AllocatorError `invalid-free`, `double-free`; state unchanged */
  private kmallocFree(addr: number): void {
    const m = this.kmallocHeader('kfree', addr);
    const size = this.live.get(m)!.size;
    this.live.delete(m);
    this.recentlyFreed.add(m);
    const k = this.caches[SLOB_KMALLOC_CACHE]!;
    k.live--;
    const pfn = Math.floor((m - PAGE_OFFSET) / PAGE_SIZE);
    const n = k.pages.get(pfn)! - 1;
    if (n) k.pages.set(pfn, n);
    else k.pages.delete(pfn);
    this.opCounters.frees++;
    this.slobFree(m, size + SLOB_KMALLOC_MINALIGN);
  }

  /** `__ksize`: the header's size rounded up to a unit. @throws AllocatorError `invalid-free`, `double-free` for a non-kmalloc pointer */
  override ksize(cache: number, addr: number): number {
    if (cache !== SLOB_KMALLOC_CACHE) return super.ksize(cache, addr);
    const m = this.kmallocHeader('ksize', addr);
    return slobUnits(this.machine.mem.read32(m - PAGE_OFFSET)) * SLOB_UNIT;
  }

  /** `bytes_alloc` of a kmalloc block: the request plus the 8-byte header (what SLOB's kmalloc tracepoint prints). */
  override kmallocBytes(cache: number, size: number): number {
    return cache === SLOB_KMALLOC_CACHE ? size + SLOB_KMALLOC_MINALIGN : super.kmallocBytes(cache, size);
  }

  // ---------------------------------------------------------------- invariants

  /** {@inheritDoc InvariantChecked.checkInvariants} */
  checkInvariants(): Violation[] {
    const out: Violation[] = [];
    const add = (v: Violation): void => {
      if (out.length < MAX_VIOLATIONS) out.push(v);
    };
    const mm = this.machine.memmap;
    const bits = PG_SLAB | (Owner.SLAB << OWNER_SHIFT);
    // Lists.
    let onListSeen = 0;
    for (let l = 0; l < this.heads.length; l++) {
      const w = mm.lists.walk(this.heads[l]!, this.slobPfns.size + 1);
      if (!w.ok) add({ code: 'S10', message: `slob ${SLOB_LIST_NAMES[l]} list is corrupt: ${w.problem ?? ''}`, details: { list: l } });
      for (const pfn of w.pfns) {
        onListSeen++;
        if (!this.slobPfns.has(pfn)) add({ code: 'S10', message: `pfn ${hex(pfn)} on the ${SLOB_LIST_NAMES[l]} list is not a slob page`, details: { pfn, list: l } });
        if (this.onList[pfn] !== l) add({ code: 'S10', message: `pfn ${hex(pfn)} is on the ${SLOB_LIST_NAMES[l]} list but recorded on list ${this.onList[pfn]}`, details: { pfn, list: l } });
        if (!(this.pageUnits[pfn]! > 0)) add({ code: 'S10', message: `pfn ${hex(pfn)} is on the ${SLOB_LIST_NAMES[l]} list with ${this.pageUnits[pfn]} free units`, details: { pfn } });
      }
    }
    // Pages and their free blocks.
    const freeRanges = new Map<number, number[]>();
    let onListRecorded = 0;
    for (const pfn of this.slobPfns) {
      const f = mm.flags[pfn]!;
      if ((f & (PG_SLAB | OWNER_MASK)) !== bits) add({ code: 'S11', message: `slob page ${hex(pfn)} is ${mm.describeFlags(pfn)}, not slab-owned with PG_slab`, details: { pfn } });
      if (this.slabPages.cacheOf(PAGE_OFFSET + pfn * PAGE_SIZE) !== SLOB_KMALLOC_CACHE) add({ code: 'S11', message: `slob page ${hex(pfn)} is not tagged as a slob page`, details: { pfn } });
      const units = this.pageUnits[pfn]!;
      if (this.onList[pfn] !== NOT_ON_LIST) onListRecorded++;
      if ((units > 0) !== (this.onList[pfn] !== NOT_ON_LIST)) add({ code: 'S10', message: `slob page ${hex(pfn)} has ${units} free units but list ${this.onList[pfn]}`, details: { pfn, units } });
      if (!(units >= 0 && units < SLOB_PAGE_UNITS)) add({ code: 'S10', message: `slob page ${hex(pfn)} has ${units} free units (0..${SLOB_PAGE_UNITS - 1} expected)`, details: { pfn, units } });
      const ranges: number[] = [];
      freeRanges.set(pfn, ranges);
      let cur = this.freelist[pfn]!;
      if (units === 0) {
        if (cur !== SLOB_PAGE_UNITS) add({ code: 'S10', message: `full slob page ${hex(pfn)} has freelist ${cur} instead of the page end`, details: { pfn, freelist: cur } });
        continue;
      }
      let sum = 0;
      let floor = 0;
      let ok = false;
      for (let guard = 0; guard < SLOB_PAGE_UNITS; guard++) {
        if (!(cur >= floor && cur < SLOB_PAGE_UNITS)) {
          add({ code: 'S10', message: `slob page ${hex(pfn)}: free block at unit ${cur} is out of order or outside the page (expected ≥ ${floor})`, details: { pfn, offset: cur } });
          break;
        }
        const size = this.blockUnits(pfn, cur);
        if (cur + size > SLOB_PAGE_UNITS) {
          add({ code: 'S10', message: `slob page ${hex(pfn)}: free block ${cur}+${size} runs past the page end`, details: { pfn, offset: cur, size } });
          break;
        }
        ranges.push(cur, cur + size);
        sum += size;
        floor = cur + size;
        const next = this.blockNext(pfn, cur);
        if (next % SLOB_PAGE_UNITS === 0) {
          if (next !== SLOB_PAGE_UNITS) add({ code: 'S10', message: `slob page ${hex(pfn)}: last free block at ${cur} links to ${next}, not the page end`, details: { pfn, offset: cur } });
          ok = true;
          break;
        }
        cur = next;
      }
      if (!ok && out.length < MAX_VIOLATIONS) add({ code: 'S10', message: `slob page ${hex(pfn)}: free list does not end at the page end within ${SLOB_PAGE_UNITS} blocks`, details: { pfn } });
      if (ok && sum !== units) add({ code: 'S10', message: `slob page ${hex(pfn)}: free blocks hold ${sum} units but units = ${units}`, details: { pfn, sum, units } });
    }
    if (onListSeen !== onListRecorded) add({ code: 'S10', message: `${onListSeen} pages on the slob lists but ${onListRecorded} recorded as listed`, details: { seen: onListSeen, recorded: onListRecorded } });
    // Live blocks.
    const liveUnits = new Map<number, number>();
    const liveStarts = new Map<number, number[]>();
    const perCache = new Int32Array(this.caches.length);
    let bigPages = 0;
    for (const [start, rec] of this.live) {
      const c = this.caches[rec.cache];
      if (!c) {
        add({ code: 'S10', message: `live block ${hex(start)} names unknown cache ${rec.cache}`, details: { addr: start } });
        continue;
      }
      perCache[rec.cache]!++;
      const phys = start - PAGE_OFFSET;
      const pfn = Math.floor(phys / PAGE_SIZE);
      if (c.order >= 0) {
        bigPages += 1 << c.order;
        if (phys % PAGE_SIZE !== 0 || this.slabPages.cacheOf(start) !== rec.cache || !(mm.flags[pfn]! & PG_SLAB)) {
          add({ code: 'S11', message: `large object ${hex(start)} of cache ${c.name} is not a slab-marked page block of its cache`, details: { addr: start } });
        }
        continue;
      }
      const bytes = this.blockBytes(rec);
      const off = (phys - pfn * PAGE_SIZE) / SLOB_UNIT;
      const units = bytes / SLOB_UNIT;
      if (!this.slobPfns.has(pfn) || !Number.isInteger(off) || off + units > SLOB_PAGE_UNITS) {
        add({ code: 'S10', message: `live block ${hex(start)} (${bytes} bytes, ${c.name}) is not inside a slob page`, details: { addr: start } });
        continue;
      }
      const size = c.header ? rec.size + SLOB_KMALLOC_MINALIGN : rec.size;
      if (slobListFor(size) !== this.pageClass[pfn]) {
        add({ code: 'S10', message: `live block ${hex(start)} (${size} bytes, ${SLOB_LIST_NAMES[slobListFor(size)]}) sits in a ${SLOB_LIST_NAMES[this.pageClass[pfn]!] ?? '?'} page`, details: { addr: start, pfn } });
      }
      if (c.header) {
        const hdr = this.machine.mem.read32(phys);
        if (hdr !== rec.size) add({ code: 'S10', message: `kmalloc header at ${hex(start)} says ${hdr} bytes, ${rec.size} were allocated`, details: { addr: start, header: hdr, size: rec.size } });
      }
      const ranges = freeRanges.get(pfn) ?? [];
      for (let i = 0; i < ranges.length; i += 2) {
        if (off < ranges[i + 1]! && ranges[i]! < off + units) {
          add({ code: 'S10', message: `live block ${hex(start)} (${bytes} bytes, ${c.name}) overlaps the free block at unit ${ranges[i]} of page ${hex(pfn)}`, details: { addr: start, pfn } });
          break;
        }
      }
      liveUnits.set(pfn, (liveUnits.get(pfn) ?? 0) + units);
      let starts = liveStarts.get(pfn);
      if (!starts) liveStarts.set(pfn, (starts = []));
      starts.push(off, off + units);
    }
    for (const pfn of this.slobPfns) {
      const used = liveUnits.get(pfn) ?? 0;
      if (used + this.pageUnits[pfn]! !== SLOB_PAGE_UNITS) {
        add({ code: 'S10', message: `slob page ${hex(pfn)}: ${used} live + ${this.pageUnits[pfn]} free units != ${SLOB_PAGE_UNITS}`, details: { pfn, used, free: this.pageUnits[pfn]! } });
      }
      const s = liveStarts.get(pfn);
      if (!s) continue;
      const pairs: [number, number][] = [];
      for (let i = 0; i < s.length; i += 2) pairs.push([s[i]!, s[i + 1]!]);
      pairs.sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < pairs.length; i++) {
        if (pairs[i]![0] < pairs[i - 1]![1]) add({ code: 'S10', message: `slob page ${hex(pfn)}: live blocks at units ${pairs[i - 1]![0]} and ${pairs[i]![0]} overlap`, details: { pfn } });
      }
    }
    for (let id = 0; id < this.caches.length; id++) {
      const c = this.caches[id]!;
      if (perCache[id] !== c.live) add({ code: 'S10', message: `cache ${c.name} counts ${c.live} live objects, the record holds ${perCache[id]}`, details: { cache: id } });
      let onPages = 0;
      for (const n of c.pages.values()) onPages += n;
      if (c.order < 0 && onPages !== c.live) add({ code: 'S10', message: `cache ${c.name} has ${c.live} live objects but its page map counts ${onPages}`, details: { cache: id } });
    }
    const held = this.slabPages.reclaimable + this.slabPages.unreclaimable;
    if (held !== this.slobPfns.size + bigPages) add({ code: 'S11', message: `slab page counters say ${held} pages, SLOB holds ${this.slobPfns.size} slob + ${bigPages} large-object pages`, details: { held } });
    return out;
  }
}
