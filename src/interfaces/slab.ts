/**
 * The slab layer contract (Linux `mm/slab.h`): one strategy-free front end
 * (`SlabCommon`, our `slab_common.c`: cache registry, validation, merging,
 * kmalloc size classes, large kmalloc, tracing, statistics, /proc/slabinfo)
 * over three backends (SLUB, SLAB, SLOB) that implement only what differs:
 * object layout, slab geometry, per-CPU state and the alloc/free paths.
 *
 * Addresses are kernel virtual addresses in the direct map (PAGE_OFFSET +
 * physical). A backend keeps free pointers, freelist index arrays and SLOB
 * headers in simulated memory, where Linux keeps them.
 */

import type { Gfp } from './gfp.js';
import type { InvariantChecked } from './invariants.js';

// SLAB_* cache flags, Linux 6.8 values (include/linux/slab.h).

/** SLUB_DEBUG `F`: sanity checks on alloc and free. */
export const SLAB_CONSISTENCY_CHECKS = 0x100;
/** SLUB_DEBUG `Z`: red zones around each object. */
export const SLAB_RED_ZONE = 0x400;
/** SLUB_DEBUG `P`: poison free objects (0x6b, end 0xa5). */
export const SLAB_POISON = 0x800;
/** The cache is a kmalloc cache. */
export const SLAB_KMALLOC = 0x1000;
/** Align objects to the cache line. */
export const SLAB_HWCACHE_ALIGN = 0x2000;
/** Slabs from ZONE_DMA. */
export const SLAB_CACHE_DMA = 0x4000;
/** Slabs from ZONE_DMA32. */
export const SLAB_CACHE_DMA32 = 0x8000;
/** SLUB_DEBUG `U`: store the alloc and free tracks. */
export const SLAB_STORE_USER = 0x10000;
/** Slabs count as reclaimable (__GFP_RECLAIMABLE). */
export const SLAB_RECLAIM_ACCOUNT = 0x20000;
/** Panic if the cache cannot be created. */
export const SLAB_PANIC = 0x40000;
/** Slabs are freed after an RCU grace period (the free pointer lives outside the object). */
export const SLAB_TYPESAFE_BY_RCU = 0x80000;
/** SLUB_DEBUG `T`: trace every alloc and free. */
export const SLAB_TRACE = 0x200000;
/** kmemleak does not track the cache. */
export const SLAB_NOLEAKTRACE = 0x800000;
/** Never merge the cache with another. */
export const SLAB_NO_MERGE = 0x1000000;
/** Charge objects to the memory cgroup. */
export const SLAB_ACCOUNT = 0x4000000;
/** Flags a cache may be created with. */
export const SLAB_FLAGS_MASK =
  SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON | SLAB_KMALLOC | SLAB_HWCACHE_ALIGN | SLAB_CACHE_DMA | SLAB_CACHE_DMA32 | SLAB_STORE_USER |
  SLAB_RECLAIM_ACCOUNT | SLAB_PANIC | SLAB_TYPESAFE_BY_RCU | SLAB_TRACE | SLAB_NOLEAKTRACE | SLAB_NO_MERGE | SLAB_ACCOUNT;
/** Flags that make a cache unmergeable (`SLAB_NEVER_MERGE`). */
export const SLAB_NEVER_MERGE = SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER | SLAB_TRACE | SLAB_TYPESAFE_BY_RCU | SLAB_NOLEAKTRACE | SLAB_NO_MERGE;
/** Flags that must agree for two caches to merge (`SLAB_MERGE_SAME`). */
export const SLAB_MERGE_SAME = SLAB_RECLAIM_ACCOUNT | SLAB_CACHE_DMA | SLAB_CACHE_DMA32 | SLAB_ACCOUNT;

/** `ZERO_SIZE_PTR`: what kmalloc(0) returns. */
export const ZERO_SIZE_PTR = 16;
/** Largest object a kmem_cache may have (we follow KMALLOC_MAX_SIZE, 4 MiB). */
export const KMALLOC_MAX_SIZE = 4 << 20;
/** `ARCH_KMALLOC_MINALIGN` on x86_64. */
export const ARCH_KMALLOC_MINALIGN = 8;
/** Cache line size on x86_64. */
export const CACHE_LINE_SIZE = 64;

/** What `kmem_cache_create` asks for. */
export interface CacheSpec {
  readonly name: string;
  /** `object_size`: bytes the user asked for. */
  readonly size: number;
  /** Requested alignment (0 or a power of two). */
  readonly align: number;
  /** SLAB_* flags. */
  readonly flags: number;
  /** Constructor run on each object when its slab is created (Linux semantics). */
  readonly ctor?: (obj: number) => void;
}

/** A cache's geometry as the backend computed it. */
export interface CacheGeometry {
  /** `object_size`. */
  readonly objectSize: number;
  /** Stride between objects (`s->size` / `cachep->size`): /proc/slabinfo's objsize. */
  readonly size: number;
  /** Final alignment. */
  readonly align: number;
  /** Objects per slab of the preferred order (`oo_objects` / `cachep->num`). */
  readonly objPerSlab: number;
  /** Slab order (pages per slab = 1 << order). */
  readonly order: number;
  /** Bytes `ksize()` reports for objects of this cache. */
  readonly usable: number;
  /** /proc/slabinfo tunables: limit, batchcount, sharedfactor (0 0 0 for SLUB). */
  readonly tunables: readonly [number, number, number];
  /** Backend-specific layout facts for reports (free pointer offset, colour, mode, …). */
  readonly details: Readonly<Record<string, number | string>>;
}

/** A cache's object and slab counts, with the backend's /proc/slabinfo semantics. */
export interface CacheCounters {
  readonly activeObjs: number;
  readonly numObjs: number;
  readonly activeSlabs: number;
  readonly numSlabs: number;
  readonly sharedAvail: number;
  /** Objects currently allocated to clients (exact, whatever slabinfo says). */
  readonly inUse: number;
  /** Slabs on partial lists (node and per-CPU). */
  readonly partialSlabs: number;
  /** Pages held by the cache's slabs. */
  readonly pages: number;
}

/** Statistics of a backend, the same shape for every policy. */
export interface SlabStats {
  readonly allocs: number;
  readonly frees: number;
  /** Allocations served by the per-CPU fast path (SLUB cpu freelist, SLAB array cache hit). */
  readonly fastAllocs: number;
  /** Frees served by the per-CPU fast path. */
  readonly fastFrees: number;
  /** Slabs created and destroyed (pages from and to the page allocator). */
  readonly slabsCreated: number;
  readonly slabsFreed: number;
  /** Page-allocator calls made (allocations + frees). */
  readonly pageAllocatorCalls: number;
  /** Pages currently held for slabs, by reclaimability. */
  readonly pagesReclaimable: number;
  readonly pagesUnreclaimable: number;
}

/**
 * A slab backend. Cache ids are small integers the backend hands out;
 * every method validates its arguments and throws AllocatorError on misuse
 * (unknown cache, foreign or interior pointer, double free), leaving the
 * state unchanged. Out of memory is 0.
 */
export interface SlabBackend extends InvariantChecked {
  /** Policy name as in `POLICIES.slab`. */
  readonly policy: string;
  /** Smallest kmalloc size class (`KMALLOC_MIN_SIZE`): 8 SLUB/SLOB, 32 SLAB. */
  readonly kmallocMinSize: number;
  /** Flags kmalloc caches are created with (`ARCH_KMALLOC_FLAGS`): 0 SLUB, SLAB_HWCACHE_ALIGN SLAB. */
  readonly kmallocCacheFlags: number;
  /** Largest kmalloc request served by the backend; larger ones go to the page allocator (8192 SLUB/SLAB; 4087 SLOB: `size < PAGE_SIZE - 8`). */
  readonly kmallocMaxCacheSize: number;
  /** Whether /proc/slabinfo exists (false for SLOB). */
  readonly hasSlabinfo: boolean;
  /** Whether `kmem_cache_create` may alias an existing compatible cache (`__kmem_cache_alias`): SLUB and SLAB yes, SLOB no. */
  readonly mergeable: boolean;
  /**
   * The per-cache merge rule of a backend whose caches differ, when
   * {@link SlabBackend.mergeable} is true: false when the cache called `name`
   * — a new one about to be created, or an existing one — must neither alias
   * another cache nor be aliased (Linux 6.18: `__kmem_cache_create_args`
   * skips `__kmem_cache_alias` for a cache asking for `sheaf_capacity`, and
   * `slab_unmergeable` refuses a cache with per-CPU sheaves). Absent: every
   * cache may merge.
   */
  cacheMergeable?(name: string): boolean;

  /** Creates a cache: computes its geometry. @throws AllocatorError `config` when impossible */
  createCache(spec: CacheSpec, kmalloc: boolean): number;
  /** Destroys a cache (`__kmem_cache_shutdown`): returns the number of objects still live (the cache is then left in place, as Linux does). */
  destroyCache(cache: number): number;
  /** Allocates an object; 0 when out of memory. `reqSize` is the kmalloc request (for the kmalloc red zone of debug caches). */
  alloc(cache: number, gfp: Gfp, reqSize?: number): number;
  /** Frees an object of `cache`. @throws AllocatorError `invalid-free`, `double-free`, `misuse` */
  free(cache: number, addr: number): void;
  /** Releases what can be released (`kmem_cache_shrink`): per-CPU state and empty slabs; returns pages freed. */
  shrink(cache: number): number;
  /**
   * Walks every slab of a cache checking freelists, counts and (debug
   * caches) objects, reporting and repairing what is wrong as SLUB's
   * `validate` does; returns the number of reports. Only SLUB has it (Linux
   * gives SLAB and SLOB no validate).
   */
  validate?(cache: number): number;
  /** Cache that owns `addr` (from the page's slab metadata), or -1 when `addr` is not in a slab. */
  cacheOf(addr: number): number;
  /** The object start that `addr` points into (`nearest_obj`), or -1 when not in a slab. */
  objectStart(addr: number): number;
  /** The cache's geometry, fixed at creation. */
  geometry(cache: number): CacheGeometry;
  /** The cache's object and slab counts (the backend's /proc/slabinfo semantics). */
  counters(cache: number): CacheCounters;
  /** The backend's counters. */
  stats(): SlabStats;
  /**
   * kmalloc size classes, in Linux's creation order (`create_kmalloc_caches`):
   * the front end creates a `kmalloc-<size>` cache of each kmalloc type for
   * every one and routes a request to the smallest that fits
   * (`kmalloc_slab`). Empty when the backend serves kmalloc itself from
   * {@link SlabBackend.kmallocCache} (SLOB: header-prefixed blocks of any size).
   */
  readonly kmallocSizes: readonly number[];
  /**
   * The backend cache that serves every kmalloc request up to
   * `kmallocMaxCacheSize` when `kmallocSizes` is empty (its objects are sized
   * per request: `alloc(kmallocCache, gfp, size)`); -1 otherwise.
   */
  readonly kmallocCache: number;
  /** `bytes_alloc` of a kmalloc request of `size` bytes served by `cache` (the stride; SLOB: the size plus its header). */
  kmallocBytes(cache: number, size: number): number;
  /**
   * `ksize()`: the usable bytes of the object starting at `addr` in `cache`
   * (from then on the client may use them all: SLUB stops checking the
   * kmalloc red zone, `skip_orig_size_check`).
   * @throws AllocatorError `misuse` when `addr` is not an object start; `invalid-free`/`double-free` for a dead SLOB block
   */
  ksize(cache: number, addr: number): number;
}

/** A cache handle returned by `kmemCacheCreate`. */
export type CacheHandle = number;

/** Information about one cache for listings and reports. */
export interface CacheInfo {
  readonly handle: CacheHandle;
  readonly name: string;
  /** Other names merged into this cache. */
  readonly aliases: readonly string[];
  readonly kmalloc: boolean;
  readonly flags: number;
  readonly geometry: CacheGeometry;
  readonly counters: CacheCounters;
}

/**
 * The slab layer's public API (the front end, `slab_common`): kmem_cache_*
 * and kmalloc. Every policy is reached through it.
 */
export interface KmemApi {
  /** The backend's policy name. */
  readonly policy: string;
  /** `kmem_cache_create`. @throws AllocatorError `config` for size 0, absurd alignment, bad flags or a duplicate name */
  kmemCacheCreate(name: string, size: number, align?: number, flags?: number, ctor?: (obj: number) => void): CacheHandle;
  /** `kmem_cache_destroy`: returns objects still live (reported as `Objects remaining on __kmem_cache_shutdown()`). */
  kmemCacheDestroy(cache: CacheHandle): number;
  /** `kmem_cache_alloc`: an object of the cache; 0 when out of memory. */
  kmemCacheAlloc(cache: CacheHandle, gfp: Gfp): number;
  /** `kmem_cache_free`. @throws AllocatorError `invalid-free`, `double-free` (state unchanged) */
  kmemCacheFree(cache: CacheHandle, addr: number): void;
  /** `kmem_cache_alloc_bulk`: all or nothing; returns the objects (empty when out of memory). */
  kmemCacheAllocBulk(cache: CacheHandle, gfp: Gfp, n: number): number[];
  /** `kmem_cache_free_bulk`. */
  kmemCacheFreeBulk(cache: CacheHandle, addrs: readonly number[]): void;
  /** `kmem_cache_shrink`: returns pages freed. */
  kmemCacheShrink(cache: CacheHandle): number;
  /** Finds a cache by name (or alias); -1 when none. */
  findCache(name: string): CacheHandle;
  /** `kmalloc`: at least `size` bytes; ZERO_SIZE_PTR for 0, 0 when out of memory. */
  kmalloc(size: number, gfp: Gfp): number;
  /** `kzalloc`: kmalloc, zeroed. */
  kzalloc(size: number, gfp: Gfp): number;
  /** `kcalloc`: an array of `n` zeroed elements (0 on overflow). */
  kcalloc(n: number, size: number, gfp: Gfp): number;
  /** `kmalloc_array`: an array of `n` elements (0 on overflow). */
  kmallocArray(n: number, size: number, gfp: Gfp): number;
  /** `krealloc`: resized, contents kept up to the smaller size. */
  krealloc(addr: number, size: number, gfp: Gfp): number;
  /** `kfree`: a kmalloc or slab object (NULL and ZERO_SIZE_PTR are no-ops). @throws AllocatorError on a bad pointer */
  kfree(addr: number): void;
  /** `ksize`: the usable bytes of a kmalloc object. */
  ksize(addr: number): number;
  /**
   * `/sys/kernel/slab/NAME/validate`: checks every slab of the cache, reports
   * each problem in SLUB's words and repairs it; returns the number of reports.
   * @throws AllocatorError `misuse` under a policy without validate (SLAB, SLOB)
   */
  kmemCacheValidate(cache: CacheHandle): number;
  /** Bytes kmalloc really gives for a request (`kmalloc_size_roundup` as the allocator does it): what ftrace prints as bytes_alloc. */
  kmallocBytesAlloc(size: number): number;
  /** Every cache, newest first (the /proc/slabinfo order). */
  caches(): CacheInfo[];
  /** Front-end counters (cumulative). */
  kmemStats(): KmemStats;
  /** Slab pages for /proc/meminfo: [reclaimable, unreclaimable] (large kmallocs count as unreclaimable). */
  slabPages(): [number, number];
  /**
   * Registers a function that explains a bad free of a pointer a layer above
   * handed out (dev_kmalloc explains a `kfree` of its pointers); its text is
   * appended to the `invalid-free` error.
   */
  addMisuseExplainer(fn: (addr: number) => string | undefined): void;
}

/** Front-end statistics (cumulative). */
export interface KmemStats {
  readonly kmallocCalls: number;
  readonly kfreeCalls: number;
  readonly cacheAllocCalls: number;
  readonly cacheFreeCalls: number;
  /** Bytes asked for by every successful kmalloc. */
  readonly bytesRequested: number;
  /** Bytes those kmallocs really took (`bytes_alloc`). */
  readonly bytesAllocated: number;
  readonly largeAllocs: number;
  /** Pages held by large kmallocs now. */
  readonly largePages: number;
  readonly failures: number;
}

