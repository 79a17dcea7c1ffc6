/** The slab front end over SLUB: kmalloc API edges, merging, large kmalloc, reclaim, mempool. */
import { describe, expect, it } from '@jest/globals';
import { GFP_ATOMIC, GFP_KERNEL, __GFP_DMA, __GFP_NOWARN, __GFP_RECLAIMABLE, __GFP_ACCOUNT } from '../../../src/interfaces/gfp.js';
import { isAllocatorError } from '../../../src/interfaces/errors.js';
import { SLAB_POISON, ZERO_SIZE_PTR } from '../../../src/interfaces/slab.js';
import { NO_PFN, PAGE_OFFSET } from '../../../src/interfaces/units.js';
import { Mempool } from '../../../src/policies/slab/mempool.js';
import { SlubBackend } from '../../../src/policies/slab/slub.js';
import { createSystem } from '../../../src/system.js';

const mk = (mem = 128 << 20) => createSystem({ machine: { memBytes: mem, kernelImageBytes: 4 << 20, cpus: 2 } });
describe('kmalloc front end', () => {
  it('routes requests to the size classes of the kmalloc_size_index table', () => {
    const sys = mk();
    const expectClass = (size: number, cls: number) => expect(sys.kmem.kmallocBytesAlloc(size)).toBe(cls);
    [[1, 8], [8, 8], [9, 16], [17, 32], [33, 64], [65, 96], [96, 96], [97, 128], [129, 192], [193, 256], [257, 512], [1025, 2048], [8192, 8192], [8193, 16384], [16385, 32768]].forEach(([s, c]) => expectClass(s!, c!));
  });

  it('picks dma-, rcl- and cg- caches by GFP flags (DMA > RECLAIMABLE > ACCOUNT)', () => {
    const sys = mk();
    const inuse = (name: string) => sys.kmem.caches().find((c) => c.name === name)!.counters.inUse;
    sys.kmem.kmalloc(40, GFP_KERNEL | __GFP_DMA | __GFP_RECLAIMABLE);
    sys.kmem.kmalloc(40, GFP_KERNEL | __GFP_RECLAIMABLE | __GFP_ACCOUNT);
    sys.kmem.kmalloc(40, GFP_KERNEL | __GFP_ACCOUNT);
    expect([inuse('dma-kmalloc-64'), inuse('kmalloc-rcl-64'), inuse('kmalloc-cg-64'), inuse('kmalloc-64')]).toEqual([1, 1, 1, 0]);
  });

  it('handles kmalloc(0), kfree(NULL/ZERO_SIZE_PTR), huge and overflowing sizes', () => {
    const sys = mk();
    expect(sys.kmem.kmalloc(0, GFP_KERNEL)).toBe(ZERO_SIZE_PTR);
    expect(() => sys.kmem.kfree(0)).not.toThrow();
    expect(() => sys.kmem.kfree(ZERO_SIZE_PTR)).not.toThrow();
    expect(sys.kmem.kmalloc((4 << 20) + 1, GFP_KERNEL | __GFP_NOWARN)).toBe(0);
    expect(sys.kmem.kmallocArray(2 ** 40, 2 ** 30, GFP_KERNEL)).toBe(0);
    expect(sys.kmem.kcalloc(2 ** 33, 2 ** 33, GFP_KERNEL)).toBe(0);
    const z = sys.kmem.kcalloc(10, 30, GFP_KERNEL);
    expect(sys.machine.mem.findNot(z - PAGE_OFFSET, 300, 0)).toBe(-1);
  });

  it('serves large kmallocs from compound pages and routes kfree by page metadata', () => {
    const sys = mk();
    const before = sys.pages.stats().allocatedPages;
    const p = sys.kmem.kmalloc(20000, GFP_KERNEL);
    expect((p - PAGE_OFFSET) % 4096).toBe(0);
    expect(sys.kmem.ksize(p)).toBe(32768);
    expect(sys.kmem.slabPages()[1]).toBeGreaterThanOrEqual(8);
    expect(() => sys.kmem.kfree(p + 4096)).toThrow(/points inside the large kmalloc/);
    sys.kmem.kfree(p);
    sys.pages.drainPcp();
    expect(sys.pages.stats().allocatedPages).toBe(before);
  });

  it('krealloc keeps contents, reuses in place when ksize suffices, and frees on size 0', () => {
    const sys = mk();
    const p = sys.kmem.kmalloc(40, GFP_KERNEL);
    sys.machine.mem.write32(p - PAGE_OFFSET, 0xfeedbeef);
    expect(sys.kmem.krealloc(p, 60, GFP_KERNEL)).toBe(p);
    const q = sys.kmem.krealloc(p, 300, GFP_KERNEL);
    expect(q).not.toBe(p);
    expect(sys.machine.mem.read32(q - PAGE_OFFSET)).toBe(0xfeedbeef);
    expect(() => sys.kmem.kfree(p)).toThrow(/Object already free/);
    expect(sys.kmem.krealloc(q, 0, GFP_KERNEL)).toBe(ZERO_SIZE_PTR);
    expect(sys.kmem.krealloc(0, 10, GFP_KERNEL)).not.toBe(0);
  });

  it('merges a compatible cache into an existing one and lists it once', () => {
    const sys = mk();
    const a = sys.kmem.kmemCacheCreate('my_a', 120, 0, 0);
    const b = sys.kmem.kmemCacheCreate('my_b', 116, 0, 0);
    expect(b).toBe(a);
    expect(sys.kmem.findCache('my_b')).toBe(a);
    const c = sys.kmem.kmemCacheCreate('my_c', 120, 0, SLAB_POISON);
    expect(c).not.toBe(a);
    expect(sys.kmem.kmemCacheDestroy(b)).toBe(0);
    expect(sys.kmem.findCache('my_b')).toBe(-1);
    expect(sys.kmem.findCache('my_a')).toBe(a);
  });

  it('lets a backend keep some caches out of merging (cacheMergeable), in both directions', () => {
    class NoMergeForPrivate extends SlubBackend {
      cacheMergeable(name: string): boolean {
        return !name.startsWith('private_');
      }
    }
    const sys = createSystem({ machine: { memBytes: 128 << 20, kernelImageBytes: 4 << 20, cpus: 2 } }, { slab: NoMergeForPrivate });
    const a = sys.kmem.kmemCacheCreate('my_a', 120, 0, 0);
    expect(sys.kmem.kmemCacheCreate('private_b', 120, 0, 0)).not.toBe(a);
    const p = sys.kmem.kmemCacheCreate('private_c', 200, 0, 0);
    expect(sys.kmem.kmemCacheCreate('my_d', 200, 0, 0)).not.toBe(p);
    expect(sys.kmem.kmemCacheCreate('my_e', 116, 0, 0)).toBe(a);
  });

  it('reports live objects when a cache is destroyed and keeps it', () => {
    const sys = mk();
    const h = sys.kmem.kmemCacheCreate('leaky', 77, 0, SLAB_POISON);
    const o = sys.kmem.kmemCacheAlloc(h, GFP_KERNEL);
    expect(sys.kmem.kmemCacheDestroy(h)).toBe(1);
    expect(sys.machine.log.list().join('\n')).toMatch(/BUG leaky \(Not tainted\): Objects remaining on __kmem_cache_shutdown\(\)/);
    sys.kmem.kmemCacheFree(h, o);
    expect(sys.kmem.kmemCacheDestroy(h)).toBe(0);
    expect(() => sys.kmem.kmemCacheAlloc(h, GFP_KERNEL)).toThrow(/does not name a live cache/);
  });

  it('validates kmem_cache_create, collecting every problem', () => {
    const sys = mk();
    let err: unknown;
    try {
      sys.kmem.kmemCacheCreate('', 0, 3, 1 << 30);
    } catch (e) {
      err = e;
    }
    expect(isAllocatorError(err, 'config')).toBe(true);
    expect((err as { info: { problems: string[] } }).info.problems).toHaveLength(4);
  });

  it('lets the page allocator reclaim empty slabs through the slab shrinker', () => {
    const sys = mk(32 << 20);
    const objs: number[] = [];
    for (;;) {
      const o = sys.kmem.kmalloc(1024, GFP_KERNEL | __GFP_NOWARN);
      if (o === 0) break;
      objs.push(o);
    }
    // Free everything on another CPU: slabs pile up on partial lists instead of going back.
    sys.machine.ctx.setCpu(1);
    for (const o of objs) sys.kmem.kfree(o);
    const p = sys.pages.allocPages(3, GFP_KERNEL);
    expect(p).not.toBe(NO_PFN);
    expect(sys.pages.stats().reclaimRuns).toBeGreaterThan(0);
    expect(sys.checkInvariants()).toEqual([]);
  });
});

describe('mempool', () => {
  it('falls back to its reserve when the allocator fails, and refills on free', () => {
    const sys = mk(32 << 20);
    const h = sys.kmem.kmemCacheCreate('pool_obj', 512);
    const pool = Mempool.slab(sys.kmem, 4, h);
    const hog: number[] = [];
    for (;;) {
      const o = sys.kmem.kmalloc(4096, GFP_ATOMIC | __GFP_NOWARN);
      if (o === 0) break;
      hog.push(o);
    }
    const got = Array.from({ length: 60 }, () => pool.alloc(GFP_ATOMIC));
    expect(pool.reserveHits).toBe(4);
    expect(got[got.length - 1]).toBe(0);
    for (const g of got) pool.free(g);
    expect(pool.currNr).toBe(4);
    pool.destroy();
    expect(() => pool.alloc(GFP_KERNEL)).toThrow(/after mempool_destroy/);
    for (const o of hog) sys.kmem.kfree(o);
    expect(sys.checkInvariants()).toEqual([]);
  });
});
