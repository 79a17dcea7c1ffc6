/**
 * A small map-based {@link KmemApi} for replay tests: bump addresses from
 * the direct map, SLUB kmalloc size classes, strict free validation. Not a
 * slab allocator; it only checks that the replay calls the API correctly.
 */

import { AllocatorError } from '../../../src/interfaces/errors.js';
import type { Gfp } from '../../../src/interfaces/gfp.js';
import type { CacheHandle, CacheInfo, KmemStats, KmemApi } from '../../../src/interfaces/slab.js';
import { ZERO_SIZE_PTR } from '../../../src/interfaces/slab.js';

const PAGE_SIZE = 4096;
const SLUB_CLASSES = [8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192];
const KMALLOC_MAX_CACHE_SIZE = 8192;
/** Start of the simulated direct map (x86_64 PAGE_OFFSET without KASLR, low 48 bits). */
export const FAKE_BASE = 0x888000000000;
const OBJ_ALIGN = 8;

interface FakeCache {
  name: string;
  size: number;
  live: number;
}

/** Options of {@link FakeKmem}. */
export interface FakeKmemOpts {
  /** Live bytes beyond which allocations fail (return 0). */
  readonly capacity?: number;
}

/** Map-based fake front end. */
export class FakeKmem implements KmemApi {
  readonly policy = 'fake';
  /** Live objects: address → cache handle (-1 for kmalloc) and bytes. */
  readonly objects = new Map<number, { cache: number; bytes: number }>();
  readonly calls: string[] = [];
  private readonly cacheList: FakeCache[] = [];
  private next = FAKE_BASE;
  private liveBytes = 0;

  constructor(private readonly opts: FakeKmemOpts = {}) {}

  private misuse(op: string, msg: string, kind: 'invalid-free' | 'misuse' | 'config' = 'misuse'): never {
    throw new AllocatorError(kind, msg, { policy: 'fake', op });
  }

  private take(cache: number, bytes: number): number {
    if (this.liveBytes + bytes > (this.opts.capacity ?? Infinity)) return 0;
    const a = this.next;
    this.next += Math.ceil(bytes / OBJ_ALIGN) * OBJ_ALIGN;
    this.objects.set(a, { cache, bytes });
    this.liveBytes += bytes;
    return a;
  }

  private drop(addr: number): void {
    const o = this.objects.get(addr)!;
    this.objects.delete(addr);
    this.liveBytes -= o.bytes;
    if (o.cache >= 0) this.cacheList[o.cache]!.live--;
  }

  kmemCacheCreate(name: string, size: number): CacheHandle {
    this.calls.push(`create ${name} ${size}`);
    if (size <= 0) this.misuse('kmem_cache_create', `bad size ${size}`, 'config');
    if (this.findCache(name) >= 0) this.misuse('kmem_cache_create', `duplicate cache ${name}`, 'config');
    this.cacheList.push({ name, size: Math.ceil(size / OBJ_ALIGN) * OBJ_ALIGN, live: 0 });
    return this.cacheList.length - 1;
  }

  kmemCacheDestroy(cache: CacheHandle): number {
    return this.cacheList[cache]?.live ?? this.misuse('kmem_cache_destroy', `no cache ${cache}`);
  }

  kmemCacheAlloc(cache: CacheHandle, _gfp: Gfp): number {
    const c = this.cacheList[cache] ?? this.misuse('kmem_cache_alloc', `no cache ${cache}`);
    const a = this.take(cache, c.size);
    if (a !== 0) c.live++;
    return a;
  }

  kmemCacheFree(cache: CacheHandle, addr: number): void {
    const o = this.objects.get(addr);
    if (!o) this.misuse('kmem_cache_free', `0x${addr.toString(16)} is not a live object`, 'invalid-free');
    if (o.cache !== cache) this.misuse('kmem_cache_free', `0x${addr.toString(16)} is not an object of cache ${cache}`, 'invalid-free');
    this.drop(addr);
  }

  kmemCacheAllocBulk(): number[] {
    return this.misuse('kmem_cache_alloc_bulk', 'not in the fake');
  }

  kmemCacheFreeBulk(): void {
    this.misuse('kmem_cache_free_bulk', 'not in the fake');
  }

  kmemCacheValidate(): number {
    return 0;
  }
  kmemCacheShrink(): number {
    return 0;
  }

  findCache(name: string): CacheHandle {
    return this.cacheList.findIndex((c) => c.name === name);
  }

  kmalloc(size: number, _gfp: Gfp): number {
    if (size === 0) return ZERO_SIZE_PTR;
    return this.take(-1, this.kmallocBytesAlloc(size));
  }

  kzalloc(size: number, gfp: Gfp): number {
    return this.kmalloc(size, gfp);
  }

  kcalloc(n: number, size: number, gfp: Gfp): number {
    return this.kmalloc(n * size, gfp);
  }

  kmallocArray(n: number, size: number, gfp: Gfp): number {
    return this.kmalloc(n * size, gfp);
  }

  krealloc(): number {
    return this.misuse('krealloc', 'not in the fake');
  }

  kfree(addr: number): void {
    if (addr === 0 || addr === ZERO_SIZE_PTR) return;
    if (!this.objects.has(addr)) this.misuse('kfree', `0x${addr.toString(16)} is not a live object`, 'invalid-free');
    this.drop(addr);
  }

  ksize(addr: number): number {
    return this.objects.get(addr)?.bytes ?? 0;
  }

  kmallocBytesAlloc(size: number): number {
    if (size === 0) return 0;
    if (size > KMALLOC_MAX_CACHE_SIZE) {
      let bytes = PAGE_SIZE;
      while (bytes < size) bytes *= 2;
      return bytes;
    }
    return SLUB_CLASSES.find((c) => c >= size)!;
  }

  caches(): CacheInfo[] {
    return this.cacheList
      .map((c, handle) => ({
        handle,
        name: c.name,
        aliases: [],
        kmalloc: false,
        flags: 0,
        geometry: { objectSize: c.size, size: c.size, align: OBJ_ALIGN, objPerSlab: 1, order: 0, usable: c.size, tunables: [0, 0, 0] as const, details: {} },
        counters: { activeObjs: c.live, numObjs: c.live, activeSlabs: 0, numSlabs: 0, sharedAvail: 0, inUse: c.live, partialSlabs: 0, pages: 0 },
      }))
      .reverse();
  }

  /** The fake keeps no front-end counters (the replay does not read them). */
  kmemStats(): KmemStats {
    return { kmallocCalls: 0, kfreeCalls: 0, cacheAllocCalls: 0, cacheFreeCalls: 0, bytesRequested: 0, bytesAllocated: 0, largeAllocs: 0, largePages: 0, failures: 0 };
  }

  slabPages(): [number, number] {
    return [0, 0];
  }

  addMisuseExplainer(): void {}
}
