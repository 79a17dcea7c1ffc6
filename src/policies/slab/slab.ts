/**
 * How SLAB works here (Linux 6.1, mm/slab.c).
 *
 * Geometry (`__kmem_cache_create`). The object size is rounded to 8 bytes
 * and to the cache's alignment (`calculate_alignment`: with
 * SLAB_HWCACHE_ALIGN a 64-byte line halved while the object fits in half of
 * it; kmalloc caches of a power-of-two size are naturally aligned, as
 * `create_boot_cache` does), and to at least 16 bytes (`SLAB_OBJ_MIN_SIZE`)
 * because the freelist index is one byte (`freelist_idx_t`, at most 255
 * objects per slab). Three places for that index array are tried in order
 * (`set_objfreelist_slab_cache`, `set_off_slab_cache`, `set_on_slab_cache`):
 * OBJFREELIST keeps it inside a free object of the slab (no constructor, no
 * RCU, and `num` bytes must fit in `object_size`); OFF_SLAB keeps it in a
 * kmalloc object (only when that kmalloc cache's objects are at most half
 * this cache's size and the slab's left-over could not hold it anyway);
 * on-slab keeps it in the last `num` bytes of the slab. For each mode
 * `calculate_slab_order` takes the first order that holds an object and
 * stops at `slab_max_order` (1 when RAM > 32 MiB, else 0), when the waste
 * is ≤ 1/8 of the slab, or at once for SLAB_RECLAIM_ACCOUNT caches. The
 * left-over bytes give `colour = left_over / colour_off` cache-line offsets
 * (`colour_off = max(64, align)`); each node's `colour_next` is incremented
 * *before* use, so successive slabs start at 1, 2, …, colour−1, 0, … times
 * colour_off.
 *
 * A slab (`cache_grow_begin`): `1 << order` pages from SlabPages, objects
 * at `s_mem = page_address + colour offset` plus `i * size`, the index
 * array initialised to 0, 1, …, num−1 (no CONFIG_SLAB_FREELIST_RANDOM).
 * `slab_get_obj` returns object `freelist[active++]`; `slab_put_obj` writes
 * the freed index at `freelist[--active]`. The index bytes are read and
 * written in simulated memory. Each node keeps `slabs_partial`,
 * `slabs_full` and `slabs_free` (intrusive lists over the slab head's
 * struct page links), `free_objects` (objects free *in slabs*),
 * `total_slabs`, `free_slabs` and `free_limit = (1 + cpus of node) *
 * batchcount + num`.
 *
 * Per-CPU array caches (`enable_cpucache`): `limit` 120/54/24/8/1 for
 * size ≤ 256/≤ 1024/≤ 4096/≤ 128 KiB/larger, `batchcount = (limit+1)/2`,
 * and a per-node shared array of `8 * batchcount` entries when size ≤
 * PAGE_SIZE and there is more than one CPU. Allocation pops
 * `entry[--avail]` (LIFO). An empty array is refilled
 * (`cache_alloc_refill`) with `batchcount` objects (at most
 * BATCHREFILL_LIMIT = 16 while the array is untouched): first from the
 * shared array, else from the partial slabs then the free slabs (each slab
 * moved to the head of the full or partial list), and only when nothing was
 * found from a newly grown slab. A free pushes onto the current CPU's array;
 * a full array is first flushed (`cache_flusharray`): its *oldest*
 * `batchcount` entries go to the shared array (as many as fit) or back to
 * their slabs (`free_block`: a slab that becomes empty goes to the head of
 * `slabs_free`, others to the *tail* of `slabs_partial`; free slabs beyond
 * `free_limit` are destroyed from the tail), and the rest moves down.
 *
 * `shrink` is `__kmem_cache_shrink`: drain every CPU array and the shared
 * arrays (`drain_cpu_caches`), then destroy every free slab
 * (`drain_freelist`). {@link ClassicSlabBackend.reap} is one round of
 * `cache_reap` on every CPU: untouched arrays give back `(limit+4)/5`
 * objects, touched ones are only marked untouched, and each node whose free
 * list was not touched since the last round frees up to `(free_limit +
 * 5*num − 1) / (5*num)` free slabs.
 *
 * Layers it may call: the page allocator (through SlabPages); for OFF_SLAB
 * caches, itself (the freelist is a kmalloc object).
 *
 * Known limitations: CONFIG_DEBUG_SLAB layouts (red zones, poisoning,
 * store-user) are not simulated: debug flags are accepted and change
 * nothing, as on a non-debug kernel. No freelist randomisation, no
 * pfmemalloc slabs, no memcg. The array caches themselves are JS typed
 * arrays, not kmalloc'd simulated memory. The tunables cannot be rewritten
 * (no `/proc/slabinfo` write). NUMA: no alien caches — a free of an object
 * whose slab is on another node than the current CPU goes straight back to
 * its slab (the `noaliencache` path); allocation always refills from the
 * current CPU's node, a new slab is listed on the node its pages came from,
 * and `free_block` lists each slab on its own node (Linux trusts the
 * caller's node; they only differ when the page allocator fell back to
 * another node, which `__GFP_THISNODE` forbids in Linux). OFF_SLAB
 * freelists live in a kmalloc object only when a normal kmalloc cache of
 * the needed size class was created here with `kmalloc = true` before the
 * cache (the front end creates them at boot); otherwise they are kept in a
 * JS array beside the slab. SLAB_TYPESAFE_BY_RCU slabs are freed at once.
 */

import { inject, injectable, optional } from 'inversify';
import type { KasanApi } from '../../interfaces/detectors.js';
import { AllocatorError } from '../../interfaces/errors.js';
import { __GFP_ZERO, type Gfp } from '../../interfaces/gfp.js';
import { MAX_VIOLATIONS, type Violation } from '../../interfaces/invariants.js';
import type { PageAllocator } from '../../interfaces/page-allocator.js';
import {
  CACHE_LINE_SIZE,
  SLAB_ACCOUNT,
  SLAB_CACHE_DMA,
  SLAB_CACHE_DMA32,
  SLAB_HWCACHE_ALIGN,
  SLAB_NOLEAKTRACE,
  SLAB_RECLAIM_ACCOUNT,
  SLAB_TYPESAFE_BY_RCU,
  type CacheCounters,
  type CacheSpec,
} from '../../interfaces/slab.js';
import { Cost, CostStruct } from '../../interfaces/cost.js';
import { CONFIG, KASAN, MACHINE, PAGE_ALLOCATOR } from '../../interfaces/tokens.js';
import type { SystemConfig } from '../../interfaces/config.js';
import { PAGE_OFFSET, PAGE_SIZE, alignUp, hex, isPow2, kptr } from '../../interfaces/units.js';
import type { Machine } from '../../interfaces/machine.js';
import { PG_SLAB, PG_TAIL } from '../../machine/memmap.js';
import { SlabBackendBase, SlabLiveMap } from './backend-base.js';
import { calculateAlignment } from './slab-math.js';

/** `BYTES_PER_WORD`. */
const BYTES_PER_WORD = 8;
/** `SLAB_OBJ_MIN_SIZE` = min(KMALLOC_MIN_SIZE, 16). */
export const SLAB_OBJ_MIN_SIZE = 16;
/** Bytes per freelist index (`sizeof(freelist_idx_t)`: 1 with 4 KiB pages). */
export const FREELIST_IDX_BYTES = 1;
/** `SLAB_OBJ_MAX_NUM` for a byte index. */
export const SLAB_OBJ_MAX_NUM = 255;
/** `KMALLOC_MAX_ORDER` (KMALLOC_SHIFT_MAX − PAGE_SHIFT). */
const KMALLOC_MAX_ORDER = 10;
/** `SLAB_MAX_ORDER_HI` / `SLAB_MAX_ORDER_LO`. */
const SLAB_MAX_ORDER_HI = 1;
const SLAB_MAX_ORDER_LO = 0;
/** RAM above which `slab_max_order` is HI (32 MiB). */
const SLAB_MAX_ORDER_RAM_BYTES = 32 << 20;
/** `BATCHREFILL_LIMIT`. */
export const BATCHREFILL_LIMIT = 16;
/** Shared array factor (`shared = 8`). */
const SHARED_FACTOR = 8;
/** `KMALLOC_MAX_CACHE_SIZE` for SLAB 6.1. */
const SLAB_KMALLOC_MAX_CACHE_SIZE = 8192;
/** `slab->freelist` value meaning "kept in a JS array" (OFF_SLAB without a kmalloc cache). */
const FREELIST_JS = -1;
/** `slab->freelist == NULL` (a full OBJFREELIST slab). */
const FREELIST_NULL = 0;

/** Which node list a slab is on. */
const ON_NONE = 0;
const ON_PARTIAL = 1;
const ON_FULL = 2;
const ON_FREE = 3;
const LIST_NAMES = ['none', 'slabs_partial', 'slabs_full', 'slabs_free'] as const;

/** Where a cache keeps its freelist index array. */
export type SlabMode = 'OBJFREELIST' | 'OFF_SLAB' | 'ON_SLAB';

/** `cache_estimate`: objects per slab of `order` and the bytes left over. */
function cacheEstimate(order: number, size: number, mode: SlabMode): { num: number; leftOver: number } {
  const slabSize = PAGE_SIZE << order;
  const stride = mode === 'ON_SLAB' ? size + FREELIST_IDX_BYTES : size;
  return { num: Math.floor(slabSize / stride), leftOver: slabSize % stride };
}

/** Normal kmalloc size class for `n` bytes under SLAB (KMALLOC_MIN_SIZE 32, with the 96 and 192 classes). */
function kmallocClass(n: number): number {
  if (n <= 32) return 32;
  if (n <= 64) return 64;
  if (n <= 96) return 96;
  if (n <= 128) return 128;
  if (n <= 192) return 192;
  let c = 256;
  while (c < n) c *= 2;
  return c;
}

/** `enable_cpucache`: limit, batchcount, shared. */
function cpucacheTunables(size: number, cpus: number): [number, number, number] {
  const limit = size > 131072 ? 1 : size > PAGE_SIZE ? 8 : size > 1024 ? 24 : size > 256 ? 54 : 120;
  const shared = size <= PAGE_SIZE && cpus > 1 ? SHARED_FACTOR : 0;
  return [limit, Math.floor((limit + 1) / 2), shared];
}

/** One `struct kmem_cache` with its `kmem_cache_node`s and `array_cache`s. */
class SlabCache {
  readonly id: number;
  readonly name: string;
  readonly flags: number;
  readonly ctor: ((obj: number) => void) | undefined;
  readonly kmalloc: boolean;
  /** `object_size`. */
  readonly objectSize: number;
  /** `size`: the stride. */
  readonly size: number;
  readonly align: number;
  /** Objects per slab (`num`). */
  readonly num: number;
  /** `gfporder`. */
  readonly order: number;
  readonly leftOver: number;
  /** Number of colours (`colour`) and their step (`colour_off`). */
  readonly colour: number;
  readonly colourOff: number;
  readonly mode: SlabMode;
  /** `freelist_size` = num bytes. */
  readonly freelistSize: number;
  /** Backend id of `freelist_cache` (OFF_SLAB with a kmalloc cache), else -1. */
  readonly freelistCache: number;
  readonly limit: number;
  readonly batchcount: number;
  readonly shared: number;
  /** Entries of each node's shared array (`shared * batchcount`). */
  readonly sharedLimit: number;

  // kmem_cache_node, one slot per node.
  readonly slabsPartial: number[];
  readonly slabsFull: number[];
  readonly slabsFree: number[];
  /** Objects free in slabs (not in array caches): Σ (num − active) over the node's slabs. */
  readonly freeObjects: Int32Array;
  /** Slabs on the three lists. */
  readonly totalSlabs: Int32Array;
  /** Length of slabs_free. */
  readonly freeSlabs: Int32Array;
  readonly freeLimit: Int32Array;
  readonly freeTouched: Uint8Array;
  readonly colourNext: Int32Array;
  readonly sharedEntries: Float64Array[];
  readonly sharedAvail: Int32Array;
  readonly sharedTouched: Uint8Array;

  // array_cache, one per CPU.
  readonly acEntries: Float64Array[];
  readonly acAvail: Int32Array;
  readonly acTouched: Uint8Array;

  /** Objects handed to clients and not freed. */
  live = 0;
  /** Which objects of each slab a client holds (slot per slab in `slabSlot`). */
  readonly liveMap: SlabLiveMap;
  /** Slabs this cache destroyed (for shrink's page count). */
  slabsDestroyed = 0;
  destroyed = false;

  constructor(
    id: number,
    spec: CacheSpec,
    kmalloc: boolean,
    g: {
      size: number;
      align: number;
      num: number;
      order: number;
      leftOver: number;
      colour: number;
      colourOff: number;
      mode: SlabMode;
      freelistCache: number;
      tunables: [number, number, number];
    },
    machine: Machine,
  ) {
    this.id = id;
    this.name = spec.name;
    this.flags = spec.flags;
    this.ctor = spec.ctor;
    this.kmalloc = kmalloc;
    this.objectSize = spec.size;
    this.size = g.size;
    this.align = g.align;
    this.num = g.num;
    this.order = g.order;
    this.leftOver = g.leftOver;
    this.colour = g.colour;
    this.colourOff = g.colourOff;
    this.mode = g.mode;
    this.freelistSize = g.num * FREELIST_IDX_BYTES;
    this.freelistCache = g.freelistCache;
    [this.limit, this.batchcount, this.shared] = g.tunables;
    this.sharedLimit = this.shared * this.batchcount;
    const nodes = machine.layout.nodes.length;
    const cpus = machine.opts.cpus;
    const lists = machine.memmap.lists;
    this.slabsPartial = Array.from({ length: nodes }, () => lists.newHead());
    this.slabsFull = Array.from({ length: nodes }, () => lists.newHead());
    this.slabsFree = Array.from({ length: nodes }, () => lists.newHead());
    this.freeObjects = new Int32Array(nodes);
    this.totalSlabs = new Int32Array(nodes);
    this.freeSlabs = new Int32Array(nodes);
    this.freeLimit = Int32Array.from(machine.layout.nodes, (n) => (1 + n.cpus.length) * this.batchcount + this.num);
    this.freeTouched = new Uint8Array(nodes);
    this.colourNext = new Int32Array(nodes);
    this.sharedEntries = Array.from({ length: nodes }, () => new Float64Array(this.sharedLimit));
    this.sharedAvail = new Int32Array(nodes);
    this.sharedTouched = new Uint8Array(nodes);
    this.acEntries = Array.from({ length: cpus }, () => new Float64Array(this.limit));
    this.acAvail = new Int32Array(cpus);
    this.acTouched = new Uint8Array(cpus);
    this.liveMap = new SlabLiveMap(g.num);
  }
}

/**
 * The SLAB backend (Linux 6.1 mm/slab.c).
 *
 * Invariants (checked by {@link ClassicSlabBackend.checkInvariants}):
 * 1. S1 object addressing: every object handed out, listed in a free index
 *    or held in an array cache is `page_address + colour offset + i * size`
 *    with `i < num`; the colour offset is `k * colour_off` with `k <
 *    max(colour, 1)`; an on-slab freelist is the slab's last `num` bytes.
 * 2. S2 freelist: `0 ≤ active ≤ num`, and `active` equals the slab's
 *    objects held by clients plus those in array caches; an OBJFREELIST
 *    slab's freelist is NULL exactly when it is full, otherwise it lies at
 *    the start of the free object whose index is `freelist[num − 1]`; an
 *    OFF_SLAB freelist is a live object of the freelist cache.
 * 3. S3 disjointness: each object is exactly one of live, free in its slab,
 *    or in one array cache (per-CPU or shared), once.
 * 4. S4 capacity: `num` = `cache_estimate(order, size, mode)` and the
 *    objects end before the on-slab freelist or the slab end.
 * 5. S5 lists and counters: a slab on `slabs_full` has `active == num`, on
 *    `slabs_partial` `0 < active < num`, on `slabs_free` `active == 0`;
 *    every slab of the cache is on exactly one list of its node;
 *    `total_slabs`, `free_slabs`, `free_objects` and the live count match
 *    the walks; `avail ≤ limit` for every array.
 * 6. S10 (SLAB): the free part of the index array, `freelist[active..num)`,
 *    has no duplicates and no index ≥ num.
 * 7. S11 page coupling: every frame of every slab has PG_slab and maps back
 *    to the cache.
 *
 * Every list walk is bounded by the number of slab frames found in
 * struct page, so a corrupted list reports a cycle instead of hanging.
 */
@injectable()
export class ClassicSlabBackend extends SlabBackendBase<SlabCache> {
  readonly policy = 'slab';
  readonly kmallocMinSize = 32;
  readonly kmallocCacheFlags = SLAB_HWCACHE_ALIGN;
  readonly kmallocMaxCacheSize = SLAB_KMALLOC_MAX_CACHE_SIZE;
  readonly hasSlabinfo = true;
  readonly mergeable = true;

  /** Normal kmalloc caches by size class (`kmalloc_caches[KMALLOC_NORMAL]`), for OFF_SLAB freelists. */
  private readonly kmallocBySize = new Map<number, number>();
  /** `slab_max_order`. */
  private readonly slabMaxOrder: number;
  private readonly nodeOfCpu: readonly number[];
  private readonly nrNodes: number;

  // Per-slab state, indexed by the slab's head pfn (`struct slab`).
  /** `active`: objects taken from the slab's freelist. */
  private readonly slabActive: Uint16Array;
  /** Colour offset of `s_mem` from the slab start. */
  private readonly slabColour: Int32Array;
  /** `freelist`: virtual address of the index array, FREELIST_NULL or FREELIST_JS. */
  private readonly slabFreelist: Float64Array;
  /** Which list the slab is on. */
  private readonly slabOn: Uint8Array;
  /** Slot of each slab (by head pfn) in its cache's live map; -1 for none. */
  private readonly slabSlot: Int32Array;
  /** OFF_SLAB index arrays kept in JS (no kmalloc cache to hold them). */
  private readonly jsFreelists = new Map<number, Uint8Array>();


  /**
   * @param machine - the simulated machine
   * @param _config - the system configuration (SLAB has no options; every slab backend takes it)
   * @param pages - the page allocator slabs come from
   * @param kasan - KASAN when enabled
   */
  constructor(@inject(MACHINE) machine: Machine, @inject(CONFIG) _config: SystemConfig, @inject(PAGE_ALLOCATOR) pages: PageAllocator, @inject(KASAN) @optional() kasan?: KasanApi) {
    super(machine, pages, kasan);
    const n = machine.layout.nrPages;
    this.slabActive = new Uint16Array(n);
    this.slabColour = new Int32Array(n);
    this.slabFreelist = new Float64Array(n);
    this.slabOn = new Uint8Array(n);
    this.slabSlot = new Int32Array(n).fill(-1);
    this.nodeOfCpu = machine.layout.cpuNode;
    this.nrNodes = machine.layout.nodes.length;
    // kmem_cache_init: totalram_pages() > 32 MiB → SLAB_MAX_ORDER_HI.
    this.slabMaxOrder = pages.stats().managedPages * PAGE_SIZE > SLAB_MAX_ORDER_RAM_BYTES ? SLAB_MAX_ORDER_HI : SLAB_MAX_ORDER_LO;
  }

  // ------------------------------------------------------------ geometry

  /** {@link SlabBackend.createCache}; here: `create_boot_cache` / `create_cache` + `__kmem_cache_create`. */
  createCache(spec: CacheSpec, kmalloc: boolean): number {
    let align = spec.align || BYTES_PER_WORD;
    if (kmalloc && isPow2(spec.size)) align = Math.max(align, spec.size);
    align = calculateAlignment(spec.flags, align, spec.size);
    // __kmem_cache_create
    let size = alignUp(spec.size, BYTES_PER_WORD);
    const colourOff = Math.max(CACHE_LINE_SIZE, align);
    size = alignUp(size, align);
    if (size < SLAB_OBJ_MIN_SIZE) size = alignUp(SLAB_OBJ_MIN_SIZE, align);

    let chosen: { mode: SlabMode; num: number; order: number; leftOver: number } | undefined;
    // set_objfreelist_slab_cache
    if (!spec.ctor && !(spec.flags & SLAB_TYPESAFE_BY_RCU)) {
      const r = this.calculateSlabOrder(spec, size, 'OBJFREELIST');
      if (r.num > 0 && r.num * FREELIST_IDX_BYTES <= spec.size) chosen = { mode: 'OBJFREELIST', ...r };
    }
    // set_off_slab_cache
    if (!chosen && !(spec.flags & SLAB_NOLEAKTRACE)) {
      const r = this.calculateSlabOrder(spec, size, 'OFF_SLAB');
      if (r.num > 0 && r.leftOver < r.num * FREELIST_IDX_BYTES) chosen = { mode: 'OFF_SLAB', ...r };
    }
    // set_on_slab_cache
    if (!chosen) {
      const r = this.calculateSlabOrder(spec, size, 'ON_SLAB');
      if (r.num > 0) chosen = { mode: 'ON_SLAB', ...r };
    }
    if (!chosen) {
      throw new AllocatorError('config', `cache ${spec.name}: objects of ${size} bytes do not fit a slab (E2BIG)`, { policy: this.policy, op: 'kmem_cache_create', size: spec.size });
    }
    const freelistCache = chosen.mode === 'OFF_SLAB' ? (this.kmallocBySize.get(kmallocClass(chosen.num * FREELIST_IDX_BYTES)) ?? -1) : -1;
    const cache = new SlabCache(
      this.caches.length,
      spec,
      kmalloc,
      {
        size,
        align,
        num: chosen.num,
        order: chosen.order,
        leftOver: chosen.leftOver,
        colour: Math.floor(chosen.leftOver / colourOff),
        colourOff,
        mode: chosen.mode,
        freelistCache,
        tunables: cpucacheTunables(size, this.machine.opts.cpus),
      },
      this.machine,
    );
    const id = this.addCache(cache, {
      objectSize: cache.objectSize,
      size: cache.size,
      align: cache.align,
      objPerSlab: cache.num,
      order: cache.order,
      // slab_ksize() without SLUB: object_size.
      usable: cache.objectSize,
      tunables: [cache.limit, cache.batchcount, cache.shared],
      details: { mode: cache.mode, colour: cache.colour, colourOff: cache.colourOff, leftOver: cache.leftOver, freelistSize: cache.freelistSize },
    });
    const normal = !(spec.flags & (SLAB_RECLAIM_ACCOUNT | SLAB_CACHE_DMA | SLAB_CACHE_DMA32 | SLAB_ACCOUNT));
    if (kmalloc && normal && kmallocClass(spec.size) === spec.size && !this.kmallocBySize.has(spec.size)) this.kmallocBySize.set(spec.size, id);
    return id;
  }

  /** `calculate_slab_order` for one management mode; num 0 when none fits. */
  private calculateSlabOrder(spec: CacheSpec, size: number, mode: SlabMode): { num: number; order: number; leftOver: number } {
    let best = { num: 0, order: 0, leftOver: 0 };
    for (let order = 0; order <= KMALLOC_MAX_ORDER; order++) {
      const { num, leftOver } = cacheEstimate(order, size, mode);
      if (num === 0) continue;
      if (num > SLAB_OBJ_MAX_NUM) break;
      if (mode === 'OFF_SLAB') {
        const fl = this.freelistCacheFacts(num * FREELIST_IDX_BYTES);
        if (fl.offSlab) continue;
        // cachep->size still holds the requested size here.
        if (fl.size > spec.size / 2) continue;
      }
      best = { num, order, leftOver };
      if (spec.flags & SLAB_RECLAIM_ACCOUNT) break;
      if (order >= this.slabMaxOrder) break;
      if (leftOver * 8 <= PAGE_SIZE << order) break;
    }
    return best;
  }

  /** Size and mode of the kmalloc cache `kmalloc_slab(bytes)` would give; computed by formula when none was created here. */
  private freelistCacheFacts(bytes: number): { size: number; offSlab: boolean } {
    const cls = kmallocClass(bytes);
    const id = this.kmallocBySize.get(cls);
    if (id !== undefined) {
      const c = this.caches[id]!;
      return { size: c.size, offSlab: c.mode === 'OFF_SLAB' };
    }
    return { size: alignUp(cls, calculateAlignment(SLAB_HWCACHE_ALIGN, isPow2(cls) ? cls : BYTES_PER_WORD, cls)), offSlab: false };
  }

  // ---------------------------------------------------------- slab access

  private slabBase(pfn: number): number {
    return PAGE_OFFSET + pfn * PAGE_SIZE;
  }
  /** `s_mem`. */
  private sMem(pfn: number): number {
    return this.slabBase(pfn) + this.slabColour[pfn]!;
  }
  /** `get_free_obj`. */
  private getFreeObj(pfn: number, i: number): number {
    const fl = this.slabFreelist[pfn]!;
    if (fl === FREELIST_JS) return this.jsFreelists.get(pfn)![i]!;
    return this.machine.mem.read8(fl - PAGE_OFFSET + i);
  }
  /** `set_free_obj`. */
  private setFreeObj(pfn: number, i: number, v: number): void {
    const fl = this.slabFreelist[pfn]!;
    if (fl === FREELIST_JS) this.jsFreelists.get(pfn)![i] = v;
    else this.machine.mem.write8(fl - PAGE_OFFSET + i, v);
  }
  /** `slab_get_obj`: the object at `freelist[active++]`. */
  private slabGetObj(c: SlabCache, pfn: number): number {
    const a = this.slabActive[pfn]!;
    const obj = this.sMem(pfn) + this.getFreeObj(pfn, a) * c.size;
    this.slabActive[pfn] = a + 1;
    return obj;
  }
  /** `slab_put_obj`: the freed index goes to `freelist[--active]`. */
  private slabPutObj(c: SlabCache, pfn: number, obj: number): void {
    const objnr = (obj - this.sMem(pfn)) / c.size;
    const a = this.slabActive[pfn]! - 1;
    this.slabActive[pfn] = a;
    if (c.mode === 'OBJFREELIST' && this.slabFreelist[pfn] === FREELIST_NULL) this.slabFreelist[pfn] = obj;
    this.setFreeObj(pfn, a, objnr);
  }

  private isLive(c: SlabCache, pfn: number, obj: number): boolean {
    return c.liveMap.get(this.slabSlot[pfn]!, (obj - this.sMem(pfn)) / c.size);
  }
  private setLive(c: SlabCache, pfn: number, obj: number, live: boolean): void {
    c.liveMap.set(this.slabSlot[pfn]!, (obj - this.sMem(pfn)) / c.size, live);
  }

  // --------------------------------------------------------------- slabs

  /** `cache_grow_begin`: a new slab, colour chosen, index array initialised; on no list yet. Returns the head pfn or -1. */
  private cacheGrowBegin(c: SlabCache, gfp: Gfp): number {
    const pfn = this.slabPages.alloc(c.id, c.order, gfp & ~__GFP_ZERO, c.flags);
    if (pfn < 0) return -1;
    const node = this.machine.layout.nodeOf(pfn);
    c.colourNext[node]!++;
    if (c.colourNext[node]! >= c.colour) c.colourNext[node] = 0;
    let offset = c.colourNext[node]!;
    if (offset >= c.colour) offset = 0;
    offset *= c.colourOff;
    // alloc_slabmgmt
    const base = this.slabBase(pfn);
    let freelist: number;
    if (c.mode === 'OBJFREELIST') freelist = FREELIST_NULL;
    else if (c.mode === 'OFF_SLAB') {
      if (c.freelistCache >= 0) {
        freelist = this.allocObject(this.caches[c.freelistCache]!, gfp & ~__GFP_ZERO);
        if (freelist === 0) {
          this.slabPages.free(pfn, c.order, c.flags);
          return -1;
        }
      } else {
        freelist = FREELIST_JS;
        this.jsFreelists.set(pfn, new Uint8Array(c.num));
      }
    } else freelist = base + (PAGE_SIZE << c.order) - c.freelistSize;
    this.slabColour[pfn] = offset;
    this.slabActive[pfn] = 0;
    this.slabOn[pfn] = ON_NONE;
    this.slabSlot[pfn] = c.liveMap.take();
    // cache_init_objs
    const sMem = base + offset;
    if (c.mode === 'OBJFREELIST') freelist = sMem + (c.num - 1) * c.size;
    this.slabFreelist[pfn] = freelist;
    for (let i = 0; i < c.num; i++) {
      if (c.ctor) c.ctor(sMem + i * c.size);
      this.setFreeObj(pfn, i, i);
    }
    this.opCounters.slabsCreated++;
    return pfn;
  }

  /** `cache_grow_end`: lists the new slab on its node. */
  private cacheGrowEnd(c: SlabCache, pfn: number): void {
    if (pfn < 0) return;
    const node = this.machine.layout.nodeOf(pfn);
    c.totalSlabs[node]!++;
    if (this.slabActive[pfn] === 0) {
      this.machine.memmap.lists.addTail(c.slabsFree[node]!, pfn);
      this.slabOn[pfn] = ON_FREE;
      c.freeSlabs[node]!++;
    } else this.fixupSlabList(c, node, pfn);
    c.freeObjects[node]! += c.num - this.slabActive[pfn]!;
  }

  /** `fixup_slab_list`: to the head of slabs_full (freelist NULL for OBJFREELIST) or slabs_partial. */
  private fixupSlabList(c: SlabCache, node: number, pfn: number): void {
    const lists = this.machine.memmap.lists;
    if (this.slabOn[pfn] !== ON_NONE) lists.del(pfn);
    if (this.slabActive[pfn] === c.num) {
      lists.addHead(c.slabsFull[node]!, pfn);
      this.slabOn[pfn] = ON_FULL;
      if (c.mode === 'OBJFREELIST') this.slabFreelist[pfn] = FREELIST_NULL;
    } else {
      lists.addHead(c.slabsPartial[node]!, pfn);
      this.slabOn[pfn] = ON_PARTIAL;
    }
  }

  /** `get_first_slab`: first partial slab, else first free slab (free_slabs−−, free_touched set). */
  private getFirstSlab(c: SlabCache, node: number): number {
    const lists = this.machine.memmap.lists;
    let pfn = lists.first(c.slabsPartial[node]!);
    if (pfn < 0) {
      c.freeTouched[node] = 1;
      pfn = lists.first(c.slabsFree[node]!);
      if (pfn >= 0) c.freeSlabs[node]!--;
    }
    return pfn;
  }

  /** `alloc_block`: moves up to `batch` objects of slab `pfn` into CPU `cpu`'s array; returns what is left of `batch`. */
  private allocBlock(c: SlabCache, cpu: number, pfn: number, batch: number): number {
    const ac = c.acEntries[cpu]!;
    while (this.slabActive[pfn]! < c.num) {
      if (batch-- === 0) break;
      ac[c.acAvail[cpu]!++] = this.slabGetObj(c, pfn);
    }
    return batch;
  }

  /** `slab_destroy` for every slab of `list`: pages back, then the off-slab freelist. */
  private slabsDestroy(c: SlabCache, list: number[]): void {
    for (const pfn of list) {
      const freelist = this.slabFreelist[pfn]!;
      this.slabPages.free(pfn, c.order, c.flags);
      c.liveMap.release(this.slabSlot[pfn]!);
      this.slabSlot[pfn] = -1;
      this.slabOn[pfn] = ON_NONE;
      if (c.mode === 'OFF_SLAB') {
        if (freelist === FREELIST_JS) this.jsFreelists.delete(pfn);
        else {
          const fc = this.caches[c.freelistCache]!;
          const fpfn = this.slabPages.headOf(freelist);
          this.setLive(fc, fpfn, freelist, false);
          fc.live--;
          this.opCounters.frees++;
          this.cacheFree(fc, freelist, fpfn);
        }
      }
      c.slabsDestroyed++;
      this.opCounters.slabsFreed++;
    }
  }

  /**
   * `free_block`: returns `count` objects from `entries[start..]` to their
   * slabs, then destroys free slabs beyond `free_limit` (collected in
   * `list`). Each slab is listed on its own node (see the file comment).
   */
  private freeBlock(c: SlabCache, entries: Float64Array, start: number, count: number, node: number, list: number[]): void {
    const lists = this.machine.memmap.lists;
    let otherNodes = 0;
    for (let k = start; k < start + count; k++) {
      const obj = entries[k]!;
      const pfn = this.slabPages.headOf(obj);
      const sn = this.nrNodes > 1 ? this.machine.layout.nodeOf(pfn) : 0;
      if (sn !== node) otherNodes++;
      c.freeObjects[sn]!++;
      lists.del(pfn);
      this.slabPutObj(c, pfn, obj);
      if (this.slabActive[pfn] === 0) {
        lists.addHead(c.slabsFree[sn]!, pfn);
        this.slabOn[pfn] = ON_FREE;
        c.freeSlabs[sn]!++;
      } else {
        // Unconditionally to the end of the partial list: maximum time for the other objects to be freed too.
        lists.addTail(c.slabsPartial[sn]!, pfn);
        this.slabOn[pfn] = ON_PARTIAL;
      }
    }
    const trim = (n: number): void => {
      while (c.freeObjects[n]! > c.freeLimit[n]! && !lists.isEmpty(c.slabsFree[n]!)) {
        c.freeObjects[n]! -= c.num;
        const pfn = lists.last(c.slabsFree[n]!);
        lists.del(pfn);
        this.slabOn[pfn] = ON_NONE;
        c.freeSlabs[n]!--;
        c.totalSlabs[n]!--;
        list.push(pfn);
      }
    };
    trim(node);
    if (otherNodes > 0) for (let n = 0; n < this.nrNodes; n++) if (n !== node) trim(n);
  }

  // ---------------------------------------------------------- alloc path

  /** {@link SlabBackend.alloc}; here: `slab_alloc_node` → `____cache_alloc`. */
  alloc(id: number, gfp: Gfp): number {
    const c = this.cache(id, 'alloc');
    const obj = this.allocObject(c, gfp);
    if (obj !== 0 && gfp & __GFP_ZERO) this.machine.mem.fill(obj - PAGE_OFFSET, c.objectSize, 0);
    return obj;
  }

  /** `____cache_alloc` plus the live bookkeeping; 0 when out of memory. */
  private allocObject(c: SlabCache, gfp: Gfp): number {
    const cpu = this.machine.ctx.cpu;
    let obj: number;
    // __do_cache_alloc runs with interrupts off and pops the array cache.
    if (this.cost) this.touchArray(c, cpu, c.acAvail[cpu]! - 1);
    if (c.acAvail[cpu]! > 0) {
      c.acTouched[cpu] = 1;
      obj = c.acEntries[cpu]![--c.acAvail[cpu]!]!;
      this.opCounters.fastAllocs++;
    } else {
      obj = this.cacheAllocRefill(c, cpu, gfp);
      if (obj === 0) return 0;
    }
    this.setLive(c, this.slabPages.headOf(obj), obj, true);
    c.live++;
    this.opCounters.allocs++;
    return obj;
  }

  /**
   * Counts an interrupts-off array-cache operation: the `array_cache`
   * header line (avail, limit) and the line of entry `idx` (entries follow
   * a 16-byte header, 8 bytes each).
   */
  private touchArray(c: SlabCache, cpu: number, idx: number): void {
    const cost = this.cost!;
    const base = (c.id * 4096 + cpu) * 64;
    cost.count(Cost.IRQ_OFF);
    cost.touch(CostStruct.CACHE_CPU, base);
    if (idx >= 0) cost.touch(CostStruct.CACHE_CPU, base + ((16 + 8 * idx) >> 6));
  }

  /** `cache_alloc_refill`: shared array, then partial and free slabs, then a new slab. */
  private cacheAllocRefill(c: SlabCache, cpu: number, gfp: Gfp): number {
    const node = this.nodeOfCpu[cpu]!;
    let batch = c.batchcount;
    if (!c.acTouched[cpu] && batch > BATCHREFILL_LIMIT) batch = BATCHREFILL_LIMIT;
    const ac = c.acEntries[cpu]!;
    if (this.cost) {
      // cache_alloc_refill reads kmem_cache_node and takes its list_lock.
      this.cost.touch(CostStruct.CACHE_NODE, c.id * 64 + node);
      this.cost.count(Cost.LIST_LOCK);
    }
    if (c.freeObjects[node] !== 0 || (c.sharedLimit > 0 && c.sharedAvail[node]! > 0)) {
      let fromShared = false;
      if (c.sharedLimit > 0) {
        // transfer_objects(ac, shared, batch): the newest shared entries.
        const sh = c.sharedEntries[node]!;
        const nr = Math.min(c.sharedAvail[node]!, batch, c.limit - c.acAvail[cpu]!);
        if (nr > 0) {
          const from = c.sharedAvail[node]! - nr;
          ac.set(sh.subarray(from, from + nr), c.acAvail[cpu]);
          c.sharedAvail[node] = from;
          c.acAvail[cpu]! += nr;
          c.sharedTouched[node] = 1;
          fromShared = true;
        }
      }
      if (!fromShared) {
        while (batch > 0) {
          const pfn = this.getFirstSlab(c, node);
          if (pfn < 0) break;
          batch = this.allocBlock(c, cpu, pfn, batch);
          this.fixupSlabList(c, node, pfn);
        }
        c.freeObjects[node]! -= c.acAvail[cpu]!;
      }
    }
    if (c.acAvail[cpu] === 0) {
      const pfn = this.cacheGrowBegin(c, gfp);
      if (c.acAvail[cpu] === 0 && pfn >= 0) this.allocBlock(c, cpu, pfn, batch);
      this.cacheGrowEnd(c, pfn);
      if (c.acAvail[cpu] === 0) return 0;
    }
    c.acTouched[cpu] = 1;
    return ac[--c.acAvail[cpu]!]!;
  }

  // ----------------------------------------------------------- free path

  /** {@link SlabBackend.free}; here: `kmem_cache_free` → `___cache_free`. */
  free(id: number, addr: number): void {
    const c = this.cache(id, 'free');
    const pfn = this.checkObject(c, addr);
    this.setLive(c, pfn, addr, false);
    c.live--;
    this.opCounters.frees++;
    this.cacheFree(c, addr, pfn);
  }

  /** `___cache_free`: onto the current CPU's array, flushing it first when full. */
  private cacheFree(c: SlabCache, obj: number, pfn: number): void {
    const cpu = this.machine.ctx.cpu;
    const node = this.nodeOfCpu[cpu]!;
    if (this.cost) {
      // virt_to_slab reads the slab's struct page; ___cache_free runs with interrupts off.
      this.cost.touch(CostStruct.PAGE, pfn);
      this.touchArray(c, cpu, c.acAvail[cpu]! < c.limit ? c.acAvail[cpu]! : c.acAvail[cpu]! - c.batchcount);
    }
    if (this.nrNodes > 1) {
      const slabNode = this.machine.layout.nodeOf(pfn);
      if (slabNode !== node) {
        // cache_free_alien without alien caches: straight back to the slab's node.
        if (this.cost) {
          this.cost.count(Cost.REMOTE_FREES);
          this.cost.count(Cost.LIST_LOCK);
        }
        const list: number[] = [];
        this.freeBlock(c, Float64Array.of(obj), 0, 1, slabNode, list);
        this.slabsDestroy(c, list);
        return;
      }
    }
    if (c.acAvail[cpu]! < c.limit) this.opCounters.fastFrees++;
    else this.cacheFlusharray(c, cpu);
    c.acEntries[cpu]![c.acAvail[cpu]!++] = obj;
  }

  /** `cache_flusharray`: the oldest `batchcount` entries to the shared array (as many as fit) or to their slabs. */
  private cacheFlusharray(c: SlabCache, cpu: number): void {
    const node = this.nodeOfCpu[cpu]!;
    if (this.cost) {
      this.cost.touch(CostStruct.CACHE_NODE, c.id * 64 + node);
      this.cost.count(Cost.LIST_LOCK);
    }
    const ac = c.acEntries[cpu]!;
    let batch = c.batchcount;
    const list: number[] = [];
    let done = false;
    if (c.sharedLimit > 0) {
      const max = c.sharedLimit - c.sharedAvail[node]!;
      if (max > 0) {
        if (batch > max) batch = max;
        c.sharedEntries[node]!.set(ac.subarray(0, batch), c.sharedAvail[node]);
        c.sharedAvail[node]! += batch;
        done = true;
      }
    }
    if (!done) this.freeBlock(c, ac, 0, batch, node, list);
    c.acAvail[cpu]! -= batch;
    ac.copyWithin(0, batch, batch + c.acAvail[cpu]!);
    this.slabsDestroy(c, list);
  }

  /**
   * Validates that `addr` is a live object of `c` and returns its slab's
   * head pfn; throws, changing nothing, otherwise.
   */
  private checkObject(c: SlabCache, addr: number): number {
    const pfn = this.slabPages.headIfCache(addr, c.id);
    if (pfn < 0) {
      const owner = this.slabPages.cacheOf(addr);
      this.badFree(c, addr, 'invalid-free', owner >= 0 ? ` (it belongs to ${this.caches[owner]?.name ?? '?'})` : '');
    }
    const off = addr - this.sMem(pfn);
    if (!Number.isInteger(addr) || off < 0 || off % c.size !== 0 || off / c.size >= c.num) this.badFree(c, addr, 'invalid-free', '');
    if (!this.isLive(c, pfn, addr)) this.badFree(c, addr, 'double-free', '');
    return pfn;
  }

  private badFree(c: SlabCache, addr: number, kind: 'invalid-free' | 'double-free', detail: string): never {
    const msg = kind === 'double-free' ? `${kptr(addr)} in cache ${c.name}: double free (object is already free)` : `${kptr(addr)} is not an object of cache ${c.name}${detail}`;
    throw new AllocatorError(kind, msg, { policy: this.policy, op: 'free', addr });
  }


  // ------------------------------------------------------ drain and reap

  /** `drain_array_locked`: frees all of an array, or `(limit+4)/5` (at most half, rounded up) of it. */
  private drainArrayLocked(c: SlabCache, entries: Float64Array, avail: number, limit: number, node: number, freeAll: boolean, list: number[]): number {
    if (avail === 0) return 0;
    let tofree = freeAll ? avail : Math.floor((limit + 4) / 5);
    if (tofree > avail) tofree = Math.floor((avail + 1) / 2);
    this.freeBlock(c, entries, 0, tofree, node, list);
    entries.copyWithin(0, tofree, avail);
    return avail - tofree;
  }

  /** `drain_cpu_caches`: every CPU's array (`do_drain`), then every shared array. */
  private drainCpuCaches(c: SlabCache): void {
    for (let cpu = 0; cpu < c.acAvail.length; cpu++) {
      const list: number[] = [];
      this.freeBlock(c, c.acEntries[cpu]!, 0, c.acAvail[cpu]!, this.nodeOfCpu[cpu]!, list);
      c.acAvail[cpu] = 0;
      this.slabsDestroy(c, list);
    }
    for (let node = 0; node < this.nrNodes; node++) {
      const list: number[] = [];
      c.sharedAvail[node] = this.drainArrayLocked(c, c.sharedEntries[node]!, c.sharedAvail[node]!, c.sharedLimit, node, true, list);
      this.slabsDestroy(c, list);
    }
  }

  /** `drain_freelist`: destroys up to `tofree` free slabs of `node`, from the list tail; returns slabs destroyed. */
  private drainFreelist(c: SlabCache, node: number, tofree: number): number {
    const lists = this.machine.memmap.lists;
    let nr = 0;
    while (nr < tofree && !lists.isEmpty(c.slabsFree[node]!)) {
      const pfn = lists.last(c.slabsFree[node]!);
      lists.del(pfn);
      this.slabOn[pfn] = ON_NONE;
      c.freeSlabs[node]!--;
      c.totalSlabs[node]!--;
      c.freeObjects[node]! -= c.num;
      this.slabsDestroy(c, [pfn]);
      nr++;
    }
    return nr;
  }

  /** {@link SlabBackend.shrink}; here: `__kmem_cache_shrink`. */
  shrink(id: number): number {
    const c = this.cache(id, 'kmem_cache_shrink');
    const before = c.slabsDestroyed;
    this.drainCpuCaches(c);
    for (let node = 0; node < this.nrNodes; node++) this.drainFreelist(c, node, Number.MAX_SAFE_INTEGER);
    return (c.slabsDestroyed - before) << c.order;
  }

  /**
   * One round of `cache_reap` on every CPU for every cache, as if each
   * CPU's 2 s reap timer fired once and every node's 4 s node reap was due:
   * touched arrays (per-CPU and shared) are marked untouched, untouched ones
   * give back `(limit+4)/5` objects (at most half); a node whose free list
   * was not touched since the last round frees up to
   * `(free_limit + 5*num − 1) / (5*num)` free slabs.
   *
   * @returns pages given back to the page allocator
   */
  reap(): number {
    let pages = 0;
    for (const c of this.caches) {
      if (c.destroyed) continue;
      const before = c.slabsDestroyed;
      for (let cpu = 0; cpu < c.acAvail.length; cpu++) {
        if (c.acAvail[cpu] === 0) continue;
        if (c.acTouched[cpu]) {
          c.acTouched[cpu] = 0;
          continue;
        }
        const list: number[] = [];
        c.acAvail[cpu] = this.drainArrayLocked(c, c.acEntries[cpu]!, c.acAvail[cpu]!, c.limit, this.nodeOfCpu[cpu]!, false, list);
        this.slabsDestroy(c, list);
      }
      for (let node = 0; node < this.nrNodes; node++) {
        if (c.sharedAvail[node]! > 0) {
          if (c.sharedTouched[node]) c.sharedTouched[node] = 0;
          else {
            const list: number[] = [];
            c.sharedAvail[node] = this.drainArrayLocked(c, c.sharedEntries[node]!, c.sharedAvail[node]!, c.sharedLimit, node, false, list);
            this.slabsDestroy(c, list);
          }
        }
        if (c.freeTouched[node]) c.freeTouched[node] = 0;
        else this.drainFreelist(c, node, Math.floor((c.freeLimit[node]! + 5 * c.num - 1) / (5 * c.num)));
      }
      pages += (c.slabsDestroyed - before) << c.order;
    }
    return pages;
  }

  /** {@link SlabBackend.destroyCache}; here: `__kmem_cache_shutdown`. */
  destroyCache(id: number): number {
    const c = this.cache(id, 'kmem_cache_destroy');
    this.shrink(id);
    if (c.live > 0) return c.live;
    c.destroyed = true;
    for (const [size, kid] of this.kmallocBySize) if (kid === id) this.kmallocBySize.delete(size);
    return 0;
  }

  /**
   * {@link SlabBackend.objectStart}: (`nearest_obj`: an address past
   * the last object, or in the colour area before `s_mem`, gives the last
   * object, as the unsigned arithmetic of Linux does).
   */
  objectStart(addr: number): number {
    const id = this.slabPages.cacheOf(addr);
    if (id < 0) return -1;
    const c = this.caches[id]!;
    const pfn = this.slabPages.headOf(addr);
    const off = addr - this.sMem(pfn);
    const i = off < 0 ? c.num - 1 : Math.min(Math.floor(off / c.size), c.num - 1);
    return this.sMem(pfn) + i * c.size;
  }

  // --------------------------------------------------------------- report

  /** {@link SlabBackend.counters}; here: `get_slabinfo`, SLAB semantics: objects in array caches count as active. */
  counters(id: number): CacheCounters {
    const c = this.cache(id, 'counters');
    const lists = this.machine.memmap.lists;
    let totalSlabs = 0;
    let freeSlabs = 0;
    let freeObjects = 0;
    let sharedAvail = 0;
    let partial = 0;
    for (let node = 0; node < this.nrNodes; node++) {
      totalSlabs += c.totalSlabs[node]!;
      freeSlabs += c.freeSlabs[node]!;
      freeObjects += c.freeObjects[node]!;
      sharedAvail += c.sharedAvail[node]!;
      for (let p = lists.first(c.slabsPartial[node]!), k = 0; p >= 0 && k < c.totalSlabs[node]!; p = lists.after(p), k++) partial++;
    }
    const numObjs = totalSlabs * c.num;
    return {
      activeObjs: numObjs - freeObjects,
      numObjs,
      activeSlabs: totalSlabs - freeSlabs,
      numSlabs: totalSlabs,
      sharedAvail,
      inUse: c.live,
      partialSlabs: partial,
      pages: totalSlabs << c.order,
    };
  }

  /** {@inheritDoc InvariantChecked.checkInvariants} */
  checkInvariants(): Violation[] {
    const out: Violation[] = [];
    const add = (v: Violation): void => {
      if (out.length < MAX_VIOLATIONS) out.push(v);
    };
    const mm = this.machine.memmap;
    // Slab heads from struct page, per cache.
    const heads = new Map<number, number[]>();
    let slabFrames = 0;
    for (let p = 0; p < mm.nrPages; p++) {
      const f = mm.flags[p]!;
      if (!(f & PG_SLAB)) continue;
      slabFrames++;
      if (f & PG_TAIL) continue;
      const id = this.slabPages.cacheOf(this.slabBase(p));
      if (id < 0 || !this.caches[id]) continue;
      let arr = heads.get(id);
      if (!arr) heads.set(id, (arr = []));
      arr.push(p);
    }
    const bound = slabFrames + 1;
    for (const c of this.caches) {
      if (c.destroyed) continue;
      this.checkCache(c, heads.get(c.id) ?? [], bound, add);
    }
    return out;
  }

  private checkCache(c: SlabCache, found: number[], bound: number, add: (v: Violation) => void): void {
    const mm = this.machine.memmap;
    const lists = mm.lists;
    const slabBytes = PAGE_SIZE << c.order;
    const sl = (pfn: number): string => `slab ${hex(pfn)} of ${c.name}`;
    // S4: geometry.
    const est = cacheEstimate(c.order, c.size, c.mode);
    if (est.num !== c.num) add({ code: 'S4', message: `${c.name}: num ${c.num} but cache_estimate(order ${c.order}, size ${c.size}, ${c.mode}) gives ${est.num}` });
    // Array caches: which objects they hold.
    const inArray = new Map<number, string>();
    // Arrays already reported as holding a non-object (one report per array).
    const badArrays = new Set<string>();
    const noteArray = (obj: number, where: string): void => {
      const prev = inArray.get(obj);
      if (prev !== undefined) add({ code: 'S3', message: `${c.name}: object ${kptr(obj)} is in both ${prev} and ${where}` });
      else inArray.set(obj, where);
      if (badArrays.has(where)) return;
      const pfn = this.slabPages.headOf(obj);
      if (this.slabPages.cacheOf(obj) !== c.id || pfn < 0) {
        add({ code: 'S1', message: `${c.name}: ${where} holds ${kptr(obj)}, which is not in a slab of this cache` });
        badArrays.add(where);
        return;
      }
      const off = obj - this.sMem(pfn);
      if (off < 0 || off % c.size !== 0 || off / c.size >= c.num) {
        add({ code: 'S1', message: `${c.name}: ${where} holds ${kptr(obj)}, which is not an object boundary of ${sl(pfn)}` });
        badArrays.add(where);
      } else if (this.slabSlot[pfn]! >= 0 && this.isLive(c, pfn, obj)) add({ code: 'S3', message: `${c.name}: object ${kptr(obj)} is in ${where} but allocated` });
    };
    for (let cpu = 0; cpu < c.acAvail.length; cpu++) {
      const avail = c.acAvail[cpu]!;
      if (avail < 0 || avail > c.limit) add({ code: 'S5', message: `${c.name} cpu ${cpu}: array avail ${avail} outside 0..${c.limit}` });
      for (let k = 0; k < Math.min(Math.max(avail, 0), c.limit); k++) noteArray(c.acEntries[cpu]![k]!, `cpu ${cpu} array`);
    }
    for (let node = 0; node < this.nrNodes; node++) {
      const avail = c.sharedAvail[node]!;
      if (avail < 0 || avail > c.sharedLimit) add({ code: 'S5', message: `${c.name} node ${node}: shared avail ${avail} outside 0..${c.sharedLimit}` });
      for (let k = 0; k < Math.min(Math.max(avail, 0), c.sharedLimit); k++) noteArray(c.sharedEntries[node]![k]!, `node ${node} shared array`);
    }
    // Lists.
    const listed = new Map<number, number>();
    let liveCount = 0;
    for (let node = 0; node < this.nrNodes; node++) {
      let freeObjs = 0;
      let total = 0;
      const kinds: [number, number][] = [
        [c.slabsPartial[node]!, ON_PARTIAL],
        [c.slabsFull[node]!, ON_FULL],
        [c.slabsFree[node]!, ON_FREE],
      ];
      for (const [head, kind] of kinds) {
        const w = lists.walk(head, bound);
        if (!w.ok) add({ code: 'S5', message: `${c.name} node ${node} ${LIST_NAMES[kind]} is corrupt: ${w.problem ?? ''}` });
        if (kind === ON_FREE && w.pfns.length !== c.freeSlabs[node]) add({ code: 'S5', message: `${c.name} node ${node}: free_slabs ${c.freeSlabs[node]} but slabs_free holds ${w.pfns.length}` });
        for (const pfn of w.pfns) {
          if (listed.has(pfn)) {
            add({ code: 'S5', message: `${sl(pfn)} is on two lists` });
            continue;
          }
          listed.set(pfn, kind);
          total++;
          if (this.slabOn[pfn] !== kind) add({ code: 'S5', message: `${sl(pfn)} is on ${LIST_NAMES[kind]} but marked ${LIST_NAMES[this.slabOn[pfn]!] ?? '?'}` });
          if (this.slabPages.cacheOf(this.slabBase(pfn)) !== c.id) {
            add({ code: 'S11', message: `${sl(pfn)} is listed but its frame does not belong to the cache` });
            continue;
          }
          const active = this.slabActive[pfn]!;
          if (active > c.num) {
            add({ code: 'S2', message: `${sl(pfn)}: active ${active} > num ${c.num}` });
            continue;
          }
          if (kind === ON_FULL && active !== c.num) add({ code: 'S5', message: `${sl(pfn)} is on slabs_full with ${c.num - active} free objects` });
          if (kind === ON_PARTIAL && (active === 0 || active === c.num)) add({ code: 'S5', message: `${sl(pfn)} is on slabs_partial with active ${active} of ${c.num}` });
          if (kind === ON_FREE && active !== 0) add({ code: 'S5', message: `${sl(pfn)} is on slabs_free with active ${active}` });
          freeObjs += c.num - active;
          liveCount += this.checkSlab(c, pfn, slabBytes, inArray, add);
        }
      }
      if (total !== c.totalSlabs[node]) add({ code: 'S5', message: `${c.name} node ${node}: total_slabs ${c.totalSlabs[node]} but the lists hold ${total}` });
      if (freeObjs !== c.freeObjects[node]) add({ code: 'S5', message: `${c.name} node ${node}: free_objects ${c.freeObjects[node]} but the slabs hold ${freeObjs} free objects` });
    }
    for (const pfn of found) if (!listed.has(pfn)) add({ code: 'S5', message: `${sl(pfn)} is on no list (lost)` });
    if (liveCount !== c.live) add({ code: 'S5', message: `${c.name}: ${c.live} objects counted live but ${liveCount} are marked allocated` });
  }

  /** Checks one listed slab (S1, S2, S3, S4, S10, S11); returns its live objects. */
  private checkSlab(c: SlabCache, pfn: number, slabBytes: number, inArray: Map<number, string>, add: (v: Violation) => void): number {
    const mm = this.machine.memmap;
    const sl = `slab ${hex(pfn)} of ${c.name}`;
    for (let p = pfn; p < pfn + (1 << c.order); p++) {
      if (!(mm.flags[p]! & PG_SLAB)) add({ code: 'S11', message: `frame ${hex(p)} of ${sl} lacks PG_slab` });
      else if (this.slabPages.cacheOf(this.slabBase(p)) !== c.id) add({ code: 'S11', message: `frame ${hex(p)} of ${sl} maps to another cache` });
    }
    const colourOff = this.slabColour[pfn]!;
    if (colourOff % c.colourOff !== 0 || colourOff / c.colourOff >= Math.max(c.colour, 1)) add({ code: 'S1', message: `${sl}: colour offset ${colourOff} is not k*${c.colourOff} with k < ${Math.max(c.colour, 1)}` });
    const base = this.slabBase(pfn);
    const sMem = this.sMem(pfn);
    const fl = this.slabFreelist[pfn]!;
    const active = this.slabActive[pfn]!;
    if (c.mode === 'ON_SLAB') {
      if (fl !== base + slabBytes - c.freelistSize) add({ code: 'S1', message: `${sl}: on-slab freelist at ${hex(fl)}, not the last ${c.freelistSize} bytes` });
      if (sMem + c.num * c.size > base + slabBytes - c.freelistSize) add({ code: 'S4', message: `${sl}: objects overlap the freelist` });
    } else if (sMem + c.num * c.size > base + slabBytes) add({ code: 'S4', message: `${sl}: objects run past the slab end` });
    if (c.mode === 'OBJFREELIST' && (fl === FREELIST_NULL) !== (active === c.num)) {
      add({ code: 'S2', message: `${sl}: freelist ${fl === FREELIST_NULL ? 'NULL' : hex(fl)} with active ${active} of ${c.num}` });
      return this.countLive(c, pfn);
    }
    if (c.mode === 'OFF_SLAB' && fl !== FREELIST_JS) {
      const fc = this.caches[c.freelistCache];
      const fpfn = this.slabPages.headOf(fl);
      if (!fc || this.slabPages.cacheOf(fl) !== fc.id || fpfn < 0 || !this.isLive(fc, fpfn, fl)) add({ code: 'S2', message: `${sl}: off-slab freelist ${hex(fl)} is not a live object of the freelist cache` });
    }
    // Free part of the index array.
    const isFree = new Uint8Array(c.num);
    let bad = false;
    if (fl !== FREELIST_NULL) {
      for (let i = active; i < c.num; i++) {
        const idx = this.getFreeObj(pfn, i);
        if (idx >= c.num) {
          add({ code: 'S10', message: `${sl}: freelist[${i}] = ${idx} ≥ num ${c.num}` });
          bad = true;
        } else if (isFree[idx]) {
          add({ code: 'S10', message: `${sl}: index ${idx} is free twice in the index array (double free)`, details: { obj: sMem + idx * c.size } });
          bad = true;
        } else isFree[idx] = 1;
      }
      if (c.mode === 'OBJFREELIST' && active < c.num && !bad) {
        const holder = this.getFreeObj(pfn, c.num - 1);
        if (fl !== sMem + holder * c.size) add({ code: 'S2', message: `${sl}: freelist ${hex(fl)} is not the free object freelist[num-1] = ${holder}` });
      }
    }
    let live = 0;
    let held = 0;
    for (let i = 0; i < c.num; i++) {
      const obj = sMem + i * c.size;
      const isLive = this.isLive(c, pfn, obj);
      const inArr = inArray.has(obj);
      if (isLive) live++;
      if (inArr) held++;
      const states = (isLive ? 1 : 0) + (inArr ? 1 : 0) + isFree[i]!;
      if (states !== 1 && !bad) {
        const what = states === 0 ? 'neither allocated, free nor cached (lost)' : `${isLive ? 'allocated ' : ''}${inArr ? `in ${inArray.get(obj)} ` : ''}${isFree[i] ? 'free in its slab' : ''}`.trim();
        add({ code: 'S3', message: `object ${kptr(obj)} of ${c.name} is ${what}`, details: { obj } });
        // One report per slab is enough; the rest would repeat it.
        bad = true;
      }
    }
    if (!bad && active !== live + held) add({ code: 'S2', message: `${sl}: active ${active} but ${live} objects are allocated and ${held} cached (Wrong object count)` });
    return live;
  }

  private countLive(c: SlabCache, pfn: number): number {
    let live = 0;
    for (let i = 0; i < c.num; i++) if (this.isLive(c, pfn, this.sMem(pfn) + i * c.size)) live++;
    return live;
  }
}
