/**
 * What SLAB, SLUB and SLOB share below the contract (the parts of Linux's
 * `struct kmem_cache` bookkeeping that are not the allocator's strategy):
 * the cache table with its validated lookup, the geometry fixed at
 * creation, the slab pages and the operation counters, the default kmalloc
 * routing and `ksize`, and the per-slab live map — the simulator's own
 * record of which objects a client holds.
 *
 * Layers it may call: the page allocator (through {@link SlabPages}).
 */

import { AllocatorError } from '../../interfaces/errors.js';
import type { KasanApi } from '../../interfaces/detectors.js';
import type { Gfp } from '../../interfaces/gfp.js';
import type { Violation } from '../../interfaces/invariants.js';
import type { CostMeterApi } from '../../interfaces/cost.js';
import type { Machine } from '../../interfaces/machine.js';
import type { PageAllocator } from '../../interfaces/page-allocator.js';
import type { CacheCounters, CacheGeometry, CacheSpec, SlabBackend, SlabStats } from '../../interfaces/slab.js';
import { kptr } from '../../interfaces/units.js';
import { grownTo } from '../../machine/grow.js';
import { KMALLOC_INDEX_SIZE } from './slab-math.js';
import { SlabCounters, SlabPages } from './slab-pages.js';

/** The fields every backend's cache record has. */
export interface BackendCache {
  readonly name: string;
  /** Set by `destroyCache` when nothing was live. */
  destroyed: boolean;
}

/**
 * The kmalloc size classes Linux creates for a backend
 * (`create_kmalloc_caches`): each power of two from the smallest to the
 * largest, with 96 right after 64 and 192 right after 128 when the
 * smallest class allows them.
 */
export function kmallocSizeClasses(minSize: number, maxSize: number): number[] {
  const out: number[] = [];
  for (let size = minSize; size <= maxSize; size *= 2) {
    out.push(size);
    if (size === 64 && minSize <= 32) out.push(KMALLOC_INDEX_SIZE[1]);
    if (size === 128 && minSize <= 64) out.push(KMALLOC_INDEX_SIZE[2]);
  }
  return out;
}

/** The bits of a live map with no slab yet (shared, never written). */
const NO_BITS = new Uint8Array(0);

/**
 * The simulator's record of which objects of one cache's slabs a client
 * holds: one bit per object, a fixed-size slot per slab in one growing
 * typed array (Linux keeps no such map; it makes double-free and
 * never-allocated checks O(1) where walking a freelist would be O(objects)).
 */
export class SlabLiveMap {
  private bits: Uint8Array;
  private readonly slotBytes: number;
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;

  /** @param objectsPerSlab - the most objects a slab of the cache can hold */
  constructor(objectsPerSlab: number) {
    this.slotBytes = Math.max(1, Math.ceil(objectsPerSlab / 8));
    // Allocated by the first slab: a booted kernel has some fifty caches, most never used in a short run.
    this.bits = NO_BITS;
  }

  /** A cleared slot for a new slab. */
  take(): number {
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.nextSlot++;
      if ((slot + 1) * this.slotBytes > this.bits.length) this.bits = this.bits === NO_BITS ? new Uint8Array(this.slotBytes * 8) : grownTo(this.bits, this.bits.length * 2);
    }
    this.bits.fill(0, slot * this.slotBytes, (slot + 1) * this.slotBytes);
    return slot;
  }

  /** Gives a freed slab's slot back. */
  release(slot: number): void {
    this.freeSlots.push(slot);
  }

  /** Whether object `i` of the slab in `slot` is held by a client. */
  get(slot: number, i: number): boolean {
    const b = slot * this.slotBytes * 8 + i;
    return ((this.bits[b >>> 3]! >>> (b & 7)) & 1) === 1;
  }

  /** Marks object `i` of the slab in `slot` held or not. */
  set(slot: number, i: number, live: boolean): void {
    const b = slot * this.slotBytes * 8 + i;
    if (live) this.bits[b >>> 3] = this.bits[b >>> 3]! | (1 << (b & 7));
    else this.bits[b >>> 3] = this.bits[b >>> 3]! & ~(1 << (b & 7));
  }
}

/**
 * Base of the built-in slab backends: the cache table, geometry, slab pages,
 * counters and the kmalloc defaults of the contract. A backend implements
 * its strategy (object layout, per-CPU state, alloc/free paths, invariants).
 */
export abstract class SlabBackendBase<C extends BackendCache> implements SlabBackend {
  abstract readonly policy: string;
  abstract readonly kmallocMinSize: number;
  abstract readonly kmallocCacheFlags: number;
  abstract readonly kmallocMaxCacheSize: number;
  abstract readonly hasSlabinfo: boolean;
  abstract readonly mergeable: boolean;
  /** {@inheritDoc SlabBackend.kmallocCache} */
  readonly kmallocCache: number = -1;
  protected readonly machine: Machine;
  /** Slab pages from the page allocator, tagged with their cache. */
  protected readonly slabPages: SlabPages;
  /** Operation counters (one SlabStats shape for every backend). */
  protected readonly opCounters = new SlabCounters();
  /** The caches by id (destroyed ones stay, marked). */
  protected readonly caches: C[] = [];
  private readonly geos: CacheGeometry[] = [];

  /**
   * @param machine - the machine
   * @param pages - the page allocator slabs come from
   * @param kasan - KASAN when enabled (new slabs are poisoned)
   */
  /** The cost meter (`debug.cost`), or null. */
  protected readonly cost: CostMeterApi | null;

  constructor(machine: Machine, pages: PageAllocator, kasan: KasanApi | undefined) {
    this.machine = machine;
    this.cost = machine.cost;
    this.slabPages = new SlabPages(machine, pages, kasan);
  }

  /** {@inheritDoc SlabBackend.kmallocSizes} */
  get kmallocSizes(): readonly number[] {
    return kmallocSizeClasses(this.kmallocMinSize, this.kmallocMaxCacheSize);
  }

  /** Adds a cache record with its geometry (fixed from now on); returns its id. */
  protected addCache(c: C, geo: CacheGeometry): number {
    this.caches.push(c);
    this.geos.push(geo);
    return this.caches.length - 1;
  }

  /** The live cache `id`. @throws AllocatorError `misuse` for an unknown or destroyed cache */
  protected cache(id: number, op: string): C {
    const c = Number.isInteger(id) ? this.caches[id] : undefined;
    if (!c) throw new AllocatorError('misuse', `cache #${String(id)} does not exist`, { policy: this.policy, op });
    if (c.destroyed) throw new AllocatorError('misuse', `cache ${c.name} (#${id}) was destroyed`, { policy: this.policy, op });
    return c;
  }

  /** {@inheritDoc SlabBackend.geometry} */
  geometry(id: number): CacheGeometry {
    this.cache(id, 'geometry');
    return this.geos[id]!;
  }

  /** {@inheritDoc SlabBackend.cacheOf} */
  cacheOf(addr: number): number {
    return this.slabPages.cacheOf(addr);
  }

  /** {@inheritDoc SlabBackend.stats} */
  stats(): SlabStats {
    return this.opCounters.snapshot(this.slabPages);
  }

  /** {@link SlabBackend.kmallocBytes}; here: the cache's stride. */
  kmallocBytes(cache: number, _size: number): number {
    return this.geometry(cache).size;
  }

  /** {@link SlabBackend.ksize}; here: the cache's usable size, for an object start. */
  ksize(cache: number, addr: number): number {
    const geo = this.geometry(cache);
    if (this.objectStart(addr) !== addr) throw new AllocatorError('misuse', `ksize(${kptr(addr)}): not the start of an object`, { policy: this.policy, op: 'ksize', addr });
    return geo.usable;
  }

  abstract createCache(spec: CacheSpec, kmalloc: boolean): number;
  abstract destroyCache(cache: number): number;
  abstract alloc(cache: number, gfp: Gfp, reqSize?: number): number;
  abstract free(cache: number, addr: number): void;
  abstract shrink(cache: number): number;
  abstract objectStart(addr: number): number;
  abstract counters(cache: number): CacheCounters;
  abstract checkInvariants(): Violation[];
}
