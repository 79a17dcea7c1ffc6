/**
 * How mempool works here (Linux mm/mempool.c): a pool guarantees `min_nr`
 * elements to a client that must make progress under memory pressure. It is
 * filled at creation; `mempool_alloc` first tries the backing allocator
 * without direct reclaim or I/O (and with __GFP_NORETRY | __GFP_NOWARN |
 * __GFP_NOMEMALLOC), then takes a reserved element, then retries the
 * backing allocator with the caller's full mask; `mempool_free` refills the
 * reserve before it gives memory back.
 *
 * Known limitation: the simulation is single-threaded, so where Linux would
 * sleep until another task frees an element (a blocking mask with an empty
 * reserve), `alloc` returns 0.
 */

import { AllocatorError } from '../../interfaces/errors.js';
import { GFP_KERNEL, __GFP_DIRECT_RECLAIM, __GFP_IO, __GFP_NOMEMALLOC, __GFP_NORETRY, __GFP_NOWARN, type Gfp } from '../../interfaces/gfp.js';
import type { CacheHandle, KmemApi } from '../../interfaces/slab.js';

/** A reserve of pre-allocated elements over any allocator. */
export class Mempool {
  private readonly reserve: number[] = [];
  /** Elements served from the reserve so far. */
  reserveHits = 0;
  private destroyed = false;

  /**
   * `mempool_create`: fills the reserve with `minNr` elements.
   * @throws AllocatorError `misuse` for a bad minNr; `nofail-exhausted` when the reserve cannot be filled (Linux returns NULL)
   */
  constructor(
    readonly minNr: number,
    private readonly allocFn: (gfp: Gfp) => number,
    private readonly freeFn: (element: number) => void,
  ) {
    if (!Number.isInteger(minNr) || minNr < 1) throw new AllocatorError('misuse', `mempool min_nr ${String(minNr)} must be a positive integer`, { policy: 'mempool', op: 'mempool_create' });
    for (let i = 0; i < minNr; i++) {
      const e = allocFn(GFP_KERNEL);
      if (e === 0) {
        for (const x of this.reserve) freeFn(x);
        throw new AllocatorError('nofail-exhausted', `mempool_create: could not pre-allocate ${minNr} elements (got ${i})`, { policy: 'mempool', op: 'mempool_create' });
      }
      this.reserve.push(e);
    }
  }

  /** `mempool_create_slab_pool`. */
  static slab(kmem: KmemApi, minNr: number, cache: CacheHandle): Mempool {
    return new Mempool(minNr, (g) => kmem.kmemCacheAlloc(cache, g), (e) => kmem.kmemCacheFree(cache, e));
  }

  /** `mempool_create_kmalloc_pool`. */
  static kmalloc(kmem: KmemApi, minNr: number, size: number): Mempool {
    return new Mempool(minNr, (g) => kmem.kmalloc(size, g), (e) => kmem.kfree(e));
  }

  /** Elements held in reserve (`curr_nr`). */
  get currNr(): number {
    return this.reserve.length;
  }

  /** `mempool_alloc`. */
  alloc(gfp: Gfp): number {
    this.check('mempool_alloc');
    const mask = gfp | __GFP_NOMEMALLOC | __GFP_NORETRY | __GFP_NOWARN;
    let e = this.allocFn(mask & ~(__GFP_DIRECT_RECLAIM | __GFP_IO));
    if (e !== 0) return e;
    if (this.reserve.length) {
      this.reserveHits++;
      return this.reserve.pop()!;
    }
    e = this.allocFn(mask);
    return e;
  }

  /** `mempool_free`: refill the reserve first. */
  free(element: number): void {
    this.check('mempool_free');
    if (element === 0) return;
    if (this.reserve.length < this.minNr) this.reserve.push(element);
    else this.freeFn(element);
  }

  /** `mempool_destroy`: frees the reserve. */
  destroy(): void {
    this.check('mempool_destroy');
    for (const e of this.reserve) this.freeFn(e);
    this.reserve.length = 0;
    this.destroyed = true;
  }

  private check(op: string): void {
    if (this.destroyed) throw new AllocatorError('misuse', 'mempool used after mempool_destroy', { policy: 'mempool', op });
  }
}
