/**
 * How the slab front end works here (our `mm/slab_common.c`).
 *
 * One strategy-free layer over whichever backend (SLUB, SLAB, SLOB) is
 * bound: it validates `kmem_cache_create` arguments, keeps the cache
 * registry (newest first, as /proc/slabinfo lists it), merges compatible
 * caches as `find_mergeable` does when the backend allows it, creates the
 * kmalloc size classes (kmalloc-, kmalloc-cg-, kmalloc-rcl-, dma-kmalloc-,
 * in Linux's creation order: each power of two with 96 after 64 and 192
 * after 128), routes kmalloc by the `kmalloc_size_index` table and
 * `fls(size - 1)`, sends requests above the backend's largest class to the
 * page allocator as compound pages (`kmalloc_large`), routes kfree by the
 * page's metadata (slab → its cache, large → the page allocator), implements
 * kzalloc/kcalloc/kmalloc_array/krealloc/ksize, traces the kmem events in
 * the kernel's text format, and registers a shrinker that shrinks every
 * cache under memory pressure.
 *
 * Layers it may call: the slab backend and the page allocator.
 *
 * Known limitations: kmalloc-cg caches exist (kmem accounting on, as in
 * distribution kernels) but no memory cgroup charges anything; no
 * CONFIG_RANDOM_KMALLOC_CACHES copies; `kmem_cache_create` refuses a
 * duplicate name (Linux only warns in debug builds).
 */

import { inject, injectable, optional } from 'inversify';
import type { KasanApi, KmemleakApi } from '../../interfaces/detectors.js';
import { AllocatorError } from '../../interfaces/errors.js';
import { __GFP_ACCOUNT, __GFP_COMP, __GFP_DMA, __GFP_RECLAIMABLE, __GFP_ZERO, formatGfp, type Gfp } from '../../interfaces/gfp.js';
import type { PageAllocator } from '../../interfaces/page-allocator.js';
import {
  KMALLOC_MAX_SIZE,
  SLAB_ACCOUNT,
  SLAB_CACHE_DMA,
  SLAB_FLAGS_MASK,
  SLAB_KMALLOC,
  SLAB_MERGE_SAME,
  SLAB_NEVER_MERGE,
  SLAB_NO_MERGE,
  SLAB_RECLAIM_ACCOUNT,
  ZERO_SIZE_PTR,
  type CacheGeometry,
  type CacheHandle,
  type CacheInfo,
  type KmemApi,
  type KmemStats,
  type SlabBackend,
} from '../../interfaces/slab.js';
import { KASAN, KMEMLEAK, MACHINE, PAGE_ALLOCATOR, SLAB_BACKEND } from '../../interfaces/tokens.js';
import { NO_PFN, PAGE_OFFSET, PAGE_SIZE, formatKernelAddr, getOrder, kptr, type Pfn } from '../../interfaces/units.js';
import type { Machine } from '../../interfaces/machine.js';
import { OWNER_SHIFT, Owner, PG_ALLOCATED, OWNER_MASK } from '../../machine/memmap.js';
import { KMALLOC_INDEX_SIZE, KMALLOC_SIZE_INDEX, calculateAlignment, fls } from './slab-math.js';


/** kmalloc cache types in Linux's creation order (6.x with kmem accounting). */
export const KMALLOC_TYPES = [
  { prefix: 'kmalloc-', flags: 0 },
  { prefix: 'kmalloc-cg-', flags: SLAB_ACCOUNT },
  { prefix: 'kmalloc-rcl-', flags: SLAB_RECLAIM_ACCOUNT },
  { prefix: 'dma-kmalloc-', flags: SLAB_CACHE_DMA },
] as const;
const TYPE_NORMAL = 0;
const TYPE_CGROUP = 1;
const TYPE_RECLAIM = 2;
const TYPE_DMA = 3;
/** Largest alignment kmem_cache_create accepts. */
const MAX_ALIGN = PAGE_SIZE;

/** Name of kmalloc size class `size` (`kmalloc-1k` style since 4.20). */
export function kmallocName(prefix: string, size: number): string {
  return prefix + (size >= 1024 ? `${size / 1024}k` : String(size));
}

interface CacheRecord {
  readonly handle: CacheHandle;
  /** Geometry is fixed at creation; kept here so hot paths do not ask the backend. */
  readonly geo: CacheGeometry;
  readonly name: string;
  readonly backendId: number;
  readonly kmalloc: boolean;
  readonly flags: number;
  readonly size: number;
  readonly align: number;
  readonly hasCtor: boolean;
  aliases: string[];
  refcount: number;
  alive: boolean;
}


/**
 * The slab front end: kmem_cache_* and kmalloc over any backend.
 */
@injectable()
export class SlabCommon implements KmemApi {
  readonly policy: string;
  private readonly records: CacheRecord[] = [];
  /** Layers above that can explain a bad free of one of their pointers (dev_kmalloc). */
  private readonly explainers: ((addr: number) => string | undefined)[] = [];
  /** Records by backend cache id. */
  private readonly byBackendId: CacheRecord[] = [];
  /** Backend cache serving kmalloc per [type][size index] (`kmalloc_caches`); -1 where absent. */
  protected readonly kmallocCaches: Int32Array[];
  private readonly ctx: Machine['ctx'];
  private readonly tracer: Machine['tracer'];
  private readonly maxCacheSize: number;
  private readonly minShift: number;
  private nKmalloc = 0;
  private nKfree = 0;
  private nCacheAlloc = 0;
  private nCacheFree = 0;
  private bytesReq = 0;
  private bytesAlloc = 0;
  private nLarge = 0;
  private largePages = 0;
  private nFailures = 0;

  constructor(
    @inject(SLAB_BACKEND) private readonly backend: SlabBackend,
    @inject(PAGE_ALLOCATOR) private readonly pages: PageAllocator,
    @inject(MACHINE) private readonly machine: Machine,
    @inject(KASAN) @optional() private readonly kasan?: KasanApi,
    @inject(KMEMLEAK) @optional() private readonly kmemleak?: KmemleakApi,
  ) {
    this.policy = backend.policy;
    this.maxCacheSize = backend.kmallocMaxCacheSize;
    this.minShift = fls(backend.kmallocMinSize) - 1;
    this.ctx = machine.ctx;
    this.tracer = machine.tracer;
    // A backend without size classes (SLOB) serves every kmalloc from its own kmalloc cache.
    this.kmallocCaches = KMALLOC_TYPES.map(() => new Int32Array(KMALLOC_INDEX_SIZE.length).fill(backend.kmallocCache));
    this.createKmallocCaches();
    pages.registerShrinker({
      name: `slab-${backend.policy}`,
      count: () => this.records.filter((r) => r.alive).reduce((s, r) => s + backend.counters(r.backendId).pages, 0),
      scan: () => this.records.filter((r) => r.alive && r.refcount > 0).reduce((s, r) => s + backend.shrink(r.backendId), 0),
    });
  }

  /** `create_kmalloc_caches`: every type × every size class the backend names, in its order. */
  private createKmallocCaches(): void {
    KMALLOC_TYPES.forEach((type, t) => {
      for (const size of this.backend.kmallocSizes) {
        const index = KMALLOC_INDEX_SIZE.indexOf(size as (typeof KMALLOC_INDEX_SIZE)[number]);
        if (index < 0) throw new AllocatorError('config', `${this.policy}: ${size} is not a kmalloc size class`, { policy: this.policy, op: 'create_kmalloc_caches' });
        const flags = type.flags | this.backend.kmallocCacheFlags | SLAB_KMALLOC | (t === TYPE_NORMAL ? SLAB_NO_MERGE : 0);
        const handle = this.register(kmallocName(type.prefix, size), size, 0, flags, undefined, true);
        this.kmallocCaches[t]![index] = this.records[handle]!.backendId;
      }
      // A backend may name fewer classes than Linux's (a prototype without kmalloc-96 or -192): a size whose class
      // is absent goes to the smallest class above it, as kmalloc_size_index does for KMALLOC_MIN_SIZE > 64.
      const table = this.kmallocCaches[t]!;
      if (this.backend.kmallocSizes.length === 0) return;
      for (let i = 1; i < KMALLOC_INDEX_SIZE.length; i++) {
        if (table[i] !== -1) continue;
        let best = -1;
        for (let j = 1; j < KMALLOC_INDEX_SIZE.length; j++) {
          if (table[j] !== -1 && KMALLOC_INDEX_SIZE[j]! >= KMALLOC_INDEX_SIZE[i]! && (best < 0 || KMALLOC_INDEX_SIZE[j]! < KMALLOC_INDEX_SIZE[best]!)) best = j;
        }
        if (best >= 0) table[i] = table[best]!;
      }
    });
  }

  private register(name: string, size: number, align: number, flags: number, ctor: ((o: number) => void) | undefined, kmalloc: boolean): CacheHandle {
    const backendId = this.backend.createCache({ name, size, align, flags, ctor }, kmalloc);
    const handle = this.records.length;
    const rec: CacheRecord = { handle, geo: this.backend.geometry(backendId), name, backendId, kmalloc, flags, size, align, hasCtor: ctor !== undefined, aliases: [], refcount: 1, alive: true };
    this.records.push(rec);
    this.byBackendId[backendId] = rec;
    return handle;
  }

  // --------------------------------------------------------- kmem_cache_*

  /** {@inheritDoc KmemApi.kmemCacheCreate} */
  kmemCacheCreate(name: string, size: number, align = 0, flags = 0, ctor?: (obj: number) => void): CacheHandle {
    const problems: string[] = [];
    if (typeof name !== 'string' || name.length === 0 || /\s/.test(name)) problems.push(`name ${JSON.stringify(name)} must be a non-empty word`);
    else if (this.findCache(name) >= 0) problems.push(`a cache named ${name} already exists`);
    if (!Number.isInteger(size) || size < 1 || size > KMALLOC_MAX_SIZE) problems.push(`size ${String(size)} is outside 1..${KMALLOC_MAX_SIZE}`);
    if (!Number.isInteger(align) || align < 0 || align > MAX_ALIGN || (align & (align - 1)) !== 0) problems.push(`alignment ${String(align)} is not 0 or a power of two up to ${MAX_ALIGN}`);
    if (!Number.isInteger(flags) || (flags & ~SLAB_FLAGS_MASK) !== 0) problems.push(`flags 0x${Number(flags).toString(16)} contain unknown SLAB_* bits`);
    if (problems.length) throw new AllocatorError('config', `kmem_cache_create(${String(name)}): ${problems.join('; ')}`, { policy: this.policy, op: 'kmem_cache_create', problems });
    const merged = this.findMergeable(name, size, align, flags, ctor);
    if (merged) {
      merged.aliases.push(name);
      merged.refcount++;
      return merged.handle;
    }
    return this.register(name, size, align, flags, ctor, false);
  }

  /** `find_mergeable`: an older live cache whose objects can serve these. */
  private findMergeable(name: string, size: number, align: number, flags: number, ctor: unknown): CacheRecord | undefined {
    if (!this.backend.mergeable || ctor || flags & SLAB_NEVER_MERGE || this.backend.cacheMergeable?.(name) === false) return undefined;
    const a = calculateAlignment(flags, align, size);
    const sz = Math.ceil(size / a) * a;
    for (const r of this.records) {
      if (!r.alive || r.hasCtor || r.flags & SLAB_NEVER_MERGE || r.geo.details['debugFlags'] || this.backend.cacheMergeable?.(r.name) === false) continue;
      const stride = r.geo.size;
      if (sz > stride) continue;
      if ((flags & SLAB_MERGE_SAME) !== (r.flags & SLAB_MERGE_SAME)) continue;
      if (stride % a !== 0) continue;
      if (stride - sz >= 8) continue;
      return r;
    }
    return undefined;
  }

  private record(cache: CacheHandle, op: string): CacheRecord {
    const r = this.records[cache];
    if (!r || !r.alive) throw new AllocatorError('unknown-name', `cache handle ${String(cache)} does not name a live cache`, { policy: this.policy, op });
    return r;
  }

  /** {@inheritDoc KmemApi.kmemCacheDestroy} */
  kmemCacheDestroy(cache: CacheHandle): number {
    const r = this.record(cache, 'kmem_cache_destroy');
    if (r.refcount > 1) {
      // A merged cache: only the alias goes away (the refcount drops).
      r.refcount--;
      r.aliases.pop();
      return 0;
    }
    if (r.kmalloc) throw new AllocatorError('misuse', `${r.name} is a kmalloc cache and cannot be destroyed`, { policy: this.policy, op: 'kmem_cache_destroy' });
    r.refcount--;
    // kasan_cache_shutdown: objects waiting in quarantine are freed first.
    this.kasan?.drainQuarantine();
    const live = this.backend.destroyCache(r.backendId);
    if (live > 0) {
      this.machine.reports.add({
        detector: 'slab',
        kind: 'Objects remaining on __kmem_cache_shutdown()',
        cache: r.name,
        addr: 0,
        text: [
          '=============================================================================',
          `BUG ${r.name} (Not tainted): Objects remaining on __kmem_cache_shutdown()`,
          '-----------------------------------------------------------------------------',
          '',
          `kmem_cache_destroy ${r.name}: Slab cache still has objects when called from ${this.ctx.caller}`,
        ].join('\n'),
      });
      r.refcount = 1;
      return live;
    }
    r.alive = false;
    return 0;
  }

  /** {@inheritDoc KmemApi.kmemCacheAlloc} */
  kmemCacheAlloc(cache: CacheHandle, gfp: Gfp): number {
    const r = this.record(cache, 'kmem_cache_alloc');
    const obj = this.backend.alloc(r.backendId, gfp);
    this.nCacheAlloc++;
    if (obj === 0) this.nFailures++;
    else {
      this.kasan?.onObjectAlloc({ start: obj, size: r.geo.objectSize, cache: r.name, cacheSize: r.geo.objectSize, allocTrack: this.ctx.caller });
      this.kmemleak?.onAlloc(obj, r.geo.objectSize);
    }
    if (this.tracer.enabled) {
      const geo = r.geo;
      this.tracer.emit('kmem_cache_alloc', `call_site=${this.callSite()} ptr=${obj ? formatKernelAddr(obj) : '0000000000000000'} bytes_req=${geo.objectSize} bytes_alloc=${geo.size} gfp_flags=${formatGfp(gfp)} node=-1 accounted=${r.flags & SLAB_ACCOUNT ? 'true' : 'false'}`);
    }
    return obj;
  }

  /** {@inheritDoc KmemApi.kmemCacheFree} */
  kmemCacheFree(cache: CacheHandle, addr: number): void {
    const r = this.record(cache, 'kmem_cache_free');
    const owner = this.backend.cacheOf(addr);
    // Where a page holds one cache's objects its tag names the owner; SLOB's pages are shared by every
    // cache (a backend with its own kmalloc cache), so SLOB checks ownership itself.
    if (owner !== r.backendId && this.backend.kmallocCache < 0) {
      const other = this.byBackendId[owner];
      throw new AllocatorError('invalid-free', `${kptr(addr)} is not an object of cache ${r.name}${other ? ` (it belongs to ${other.name})` : ''}`, {
        policy: this.policy,
        op: 'kmem_cache_free',
        addr,
      });
    }
    this.kmemleak?.onFree(addr);
    const kasan = this.kasan;
    if (kasan) {
      // KASAN checks the free and holds the object in quarantine; the backend frees it later.
      if (kasan.onObjectFree(addr, () => this.backend.free(r.backendId, addr), 'kmem_cache_free')) this.nCacheFree++;
      return;
    }
    this.backend.free(r.backendId, addr);
    this.nCacheFree++;
    if (this.tracer.enabled) this.tracer.emit('kmem_cache_free', `call_site=${this.callSite()} ptr=${formatKernelAddr(addr)} name=${r.name}`);
  }

  /** {@inheritDoc KmemApi.kmemCacheAllocBulk} */
  kmemCacheAllocBulk(cache: CacheHandle, gfp: Gfp, n: number): number[] {
    if (!Number.isInteger(n) || n < 0) throw new AllocatorError('misuse', `bulk count ${String(n)} is not a non-negative integer`, { policy: this.policy, op: 'kmem_cache_alloc_bulk' });
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const o = this.kmemCacheAlloc(cache, gfp);
      if (o === 0) {
        this.kmemCacheFreeBulk(cache, out);
        return [];
      }
      out.push(o);
    }
    return out;
  }

  /** {@inheritDoc KmemApi.kmemCacheFreeBulk} */
  kmemCacheFreeBulk(cache: CacheHandle, addrs: readonly number[]): void {
    for (const a of addrs) this.kmemCacheFree(cache, a);
  }

  /** {@inheritDoc KmemApi.kmemCacheShrink} */
  kmemCacheShrink(cache: CacheHandle): number {
    const r = this.record(cache, 'kmem_cache_shrink');
    this.kasan?.drainQuarantine();
    return this.backend.shrink(r.backendId);
  }

  /** {@inheritDoc KmemApi.findCache} */
  findCache(name: string): CacheHandle {
    const r = this.records.find((x) => x.alive && (x.name === name || x.aliases.includes(name)));
    return r ? r.handle : -1;
  }

  // ---------------------------------------------------------------- kmalloc

  /** Backend cache for a request (`kmalloc_slab` + `kmalloc_type`). Mutants override this. */
  protected kmallocCache(size: number, gfp: Gfp): number {
    let index = size <= 192 ? KMALLOC_SIZE_INDEX[(size - 1) >> 3]! : 32 - Math.clz32(size - 1);
    if (index < this.minShift && index > 2) index = this.minShift;
    else if (size <= this.backend.kmallocMinSize) index = this.minShift;
    const type = gfp & __GFP_DMA ? TYPE_DMA : gfp & __GFP_RECLAIMABLE ? TYPE_RECLAIM : gfp & __GFP_ACCOUNT ? TYPE_CGROUP : TYPE_NORMAL;
    return this.kmallocCaches[type]![index]!;
  }

  /** {@inheritDoc KmemApi.kmalloc} */
  kmalloc(size: number, gfp: Gfp): number {
    if (!(size >= 0 && Number.isSafeInteger(size))) throw new AllocatorError('misuse', `kmalloc size ${String(size)} is not a byte count`, { policy: this.policy, op: 'kmalloc', size });
    this.nKmalloc++;
    if (size === 0) return ZERO_SIZE_PTR;
    let ptr: number;
    let bytesAlloc: number;
    if (size > KMALLOC_MAX_SIZE) {
      ptr = 0;
      bytesAlloc = 0;
    } else if (this.isLarge(size)) {
      ptr = this.kmallocLarge(size, gfp);
      bytesAlloc = PAGE_SIZE << getOrder(size);
      if (ptr) this.kasan?.onLargeAlloc(ptr, size, 1 << getOrder(size));
    } else {
      const id = this.kmallocCache(size <= this.maxCacheSize ? size : this.maxCacheSize, gfp);
      ptr = this.backend.alloc(id, gfp, size);
      bytesAlloc = this.backend.kmallocBytes(id, size);
      const r = this.byBackendId[id];
      if (ptr && r) this.kasan?.onObjectAlloc({ start: ptr, size, cache: r.name, cacheSize: r.geo.objectSize, allocTrack: this.ctx.caller });
    }
    if (ptr === 0) this.nFailures++;
    else {
      this.bytesReq += size;
      this.bytesAlloc += bytesAlloc;
      this.kmemleak?.onAlloc(ptr, size);
    }
    if (this.tracer.enabled) {
      this.tracer.emit('kmalloc', `call_site=${this.callSite()} ptr=${ptr ? formatKernelAddr(ptr) : '0000000000000000'} bytes_req=${size} bytes_alloc=${bytesAlloc} gfp_flags=${formatGfp(gfp)} node=-1 accounted=${gfp & __GFP_ACCOUNT ? 'true' : 'false'}`);
    }
    return ptr;
  }

  /** Whether a request goes to the page allocator. Mutants override this. */
  protected isLarge(size: number): boolean {
    return size > this.backend.kmallocMaxCacheSize;
  }

  /** `__kmalloc_large_node`: compound pages, owner KMALLOC_LARGE, counted as unreclaimable slab. */
  private kmallocLarge(size: number, gfp: Gfp): number {
    const order = getOrder(size);
    const pfn = this.pages.allocPages(order, gfp | __GFP_COMP);
    if (pfn === NO_PFN) return 0;
    this.machine.memmap.setOwner(pfn, 1 << order, Owner.KMALLOC_LARGE);
    this.nLarge++;
    this.largePages += 1 << order;
    return PAGE_OFFSET + pfn * PAGE_SIZE;
  }

  /** {@inheritDoc KmemApi.kzalloc} */
  kzalloc(size: number, gfp: Gfp): number {
    return this.kmalloc(size, gfp | __GFP_ZERO);
  }

  /** {@link KmemApi.kmallocArray}; here: `check_mul_overflow` on a 64-bit size_t; overflow gives NULL. */
  kmallocArray(n: number, size: number, gfp: Gfp): number {
    if (!Number.isInteger(n) || n < 0 || !Number.isInteger(size) || size < 0) throw new AllocatorError('misuse', `kmalloc_array(${String(n)}, ${String(size)}): counts must be non-negative integers`, { policy: this.policy, op: 'kmalloc_array' });
    if (BigInt(n) * BigInt(size) >= 2n ** 64n) return 0;
    const bytes = n * size;
    return bytes > KMALLOC_MAX_SIZE ? this.kmalloc(KMALLOC_MAX_SIZE + 1, gfp) : this.kmalloc(bytes, gfp);
  }

  /** {@inheritDoc KmemApi.kcalloc} */
  kcalloc(n: number, size: number, gfp: Gfp): number {
    return this.kmallocArray(n, size, gfp | __GFP_ZERO);
  }

  /** {@link KmemApi.krealloc}; here: 6.8 `__do_krealloc`: reuse when ksize suffices, else allocate, copy ksize bytes, free. */
  krealloc(addr: number, size: number, gfp: Gfp): number {
    if (addr === 0 || addr === ZERO_SIZE_PTR) return this.kmalloc(size, gfp);
    if (size === 0) {
      this.kfree(addr);
      return ZERO_SIZE_PTR;
    }
    const ks = this.ksize(addr);
    if (ks >= size) {
      if (gfp & __GFP_ZERO && size < ks) this.machine.mem.fill(addr - PAGE_OFFSET + size, ks - size, 0);
      return addr;
    }
    const ret = this.kmalloc(size, gfp);
    if (ret === 0) return 0;
    this.machine.mem.copy(ret - PAGE_OFFSET, addr - PAGE_OFFSET, ks);
    this.kfree(addr);
    return ret;
  }

  /** A large-kmalloc head pfn for `addr`, -1 when `addr` is not in one, throwing for interior pointers. */
  private largeHead(addr: number, op: string): number {
    const off = addr - PAGE_OFFSET;
    if (!(off >= 0 && off < this.machine.mem.bytes)) return -1;
    const mm = this.machine.memmap;
    const pfn = Math.floor(off / PAGE_SIZE);
    if (((mm.flags[pfn]! & OWNER_MASK) >>> OWNER_SHIFT) !== Owner.KMALLOC_LARGE) return -1;
    const head = mm.compoundHead(pfn);
    if (off !== head * PAGE_SIZE || !(mm.flags[head]! & PG_ALLOCATED)) {
      throw new AllocatorError('invalid-free', `${kptr(addr)} points inside the large kmalloc at ${kptr(PAGE_OFFSET + head * PAGE_SIZE)}`, { policy: this.policy, op, addr });
    }
    return head;
  }

  /** {@inheritDoc KmemApi.addMisuseExplainer} */
  addMisuseExplainer(fn: (addr: number) => string | undefined): void {
    this.explainers.push(fn);
  }

  /** Adds the explanation of a layer above to an invalid-free error. */
  private explained(e: unknown, addr: number): unknown {
    if (!(e instanceof AllocatorError) || e.kind !== 'invalid-free') return e;
    for (const fn of this.explainers) {
      const why = fn(addr);
      if (why) return new AllocatorError('invalid-free', `${e.message}: ${why}`, { ...e.info, policy: undefined, op: undefined });
    }
    return e;
  }

  /** {@inheritDoc KmemApi.kfree} */
  kfree(addr: number): void {
    if (addr <= ZERO_SIZE_PTR && addr >= 0) return;
    this.kmemleak?.onFree(addr);
    const kasan = this.kasan;
    if (kasan) {
      // KASAN checks the free; a good one is carried out now (large) or after the quarantine (slab).
      kasan.onObjectFree(addr, () => this.kfreeNow(addr), 'kfree');
      return;
    }
    this.kfreeNow(addr);
  }

  /** The free itself, routed by page metadata. */
  private kfreeNow(addr: number): void {
    this.nKfree++;
    const id = this.backend.cacheOf(addr);
    if (id >= 0) {
      try {
        this.backend.free(id, addr);
      } catch (e) {
        this.nKfree--;
        throw this.explained(e, addr);
      }
    } else {
      const head = this.largeHead(addr, 'kfree');
      if (head < 0) {
        this.nKfree--;
        // A backend with its own kmalloc cache (SLOB) may still know the address (a block whose page already went back).
        if (this.backend.kmallocCache >= 0) {
          try {
            this.backend.free(this.backend.kmallocCache, addr);
          } catch (e) {
            throw this.explained(e, addr);
          }
        }
        throw new AllocatorError('invalid-free', `${kptr(addr)} is neither a slab object nor a large kmalloc`, { policy: this.policy, op: 'kfree', addr });
      }
      const order = this.machine.memmap.order[head]!;
      this.machine.memmap.setOwner(head, 1 << order, Owner.PAGE_CLIENT);
      this.pages.freePages(head as Pfn, order);
      this.largePages -= 1 << order;
    }
    if (this.tracer.enabled) this.tracer.emit('kfree', `call_site=${this.callSite()} ptr=${formatKernelAddr(addr)}`);
  }

  /** {@inheritDoc KmemApi.ksize} */
  ksize(addr: number): number {
    if (addr <= ZERO_SIZE_PTR && addr >= 0) return 0;
    const id = this.backend.cacheOf(addr);
    if (id >= 0) {
      const usable = this.backend.ksize(id, addr);
      this.kasan?.onKsize(addr, usable);
      return usable;
    }
    const head = this.largeHead(addr, 'ksize');
    if (head < 0) throw new AllocatorError('misuse', `ksize(${kptr(addr)}): not a kmalloc'ed address`, { policy: this.policy, op: 'ksize', addr });
    return PAGE_SIZE << this.machine.memmap.order[head]!;
  }

  /** {@inheritDoc KmemApi.kmemCacheValidate} */
  kmemCacheValidate(cache: CacheHandle): number {
    const r = this.record(cache, 'validate');
    if (!this.backend.validate) throw new AllocatorError('misuse', `validate: the ${this.policy} policy has no validate (Linux offers it for SLUB only)`, { policy: this.policy, op: 'validate' });
    return this.backend.validate(r.backendId);
  }

  /** {@inheritDoc KmemApi.kmallocBytesAlloc} */
  kmallocBytesAlloc(size: number): number {
    if (size === 0) return 0;
    if (size > this.backend.kmallocMaxCacheSize) return PAGE_SIZE << getOrder(size);
    return this.backend.kmallocBytes(this.kmallocCache(size, 0), size);
  }

  // ---------------------------------------------------------------- report

  /** {@inheritDoc KmemApi.caches} */
  caches(): CacheInfo[] {
    return this.records
      .filter((r) => r.alive)
      .reverse()
      .map((r) => ({
        handle: r.handle,
        name: r.name,
        aliases: [...r.aliases],
        kmalloc: r.kmalloc,
        flags: r.flags,
        geometry: r.geo,
        counters: this.backend.counters(r.backendId),
      }));
  }

  /** {@inheritDoc KmemApi.kmemStats} */
  kmemStats(): KmemStats {
    return {
      kmallocCalls: this.nKmalloc,
      kfreeCalls: this.nKfree,
      cacheAllocCalls: this.nCacheAlloc,
      cacheFreeCalls: this.nCacheFree,
      bytesRequested: this.bytesReq,
      bytesAllocated: this.bytesAlloc,
      largeAllocs: this.nLarge,
      largePages: this.largePages,
      failures: this.nFailures,
    };
  }

  /** {@inheritDoc KmemApi.slabPages} */
  slabPages(): [number, number] {
    const s = this.backend.stats();
    return [s.pagesReclaimable, s.pagesUnreclaimable + this.largePages];
  }

  private callSite(): string {
    return this.ctx.caller;
  }
}
