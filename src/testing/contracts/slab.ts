/** The slab-layer contract, for every slab policy and any class bound at SLAB_BACKEND, KMEM or DEV_KMALLOC. */
import { expect } from '../expect.js';
import { GFP_KERNEL, __GFP_NOWARN, __GFP_ZERO } from '../../interfaces/gfp.js';
import { SLAB_HWCACHE_ALIGN, ZERO_SIZE_PTR } from '../../interfaces/slab.js';
import { PAGE_OFFSET } from '../../interfaces/units.js';
import { createSystem, type System } from '../../system.js';
import { Mempool } from '../../policies/slab/mempool.js';
import { fuzzSlab } from '../fuzz.js';
import { kindOf, type ContractTarget, defaultRunner, type TestRunner } from '../target.js';

/** Registers the slab-layer contract suite (kmalloc, kmem_cache_*, misuse, krealloc, mempool) for `target`. */
export function slabContract(target: ContractTarget, runner: TestRunner = defaultRunner()): void {
  const { describe, it } = runner;
  const mk = (mem = 128 << 20): System => createSystem({ ...target.config, machine: { memBytes: mem, kernelImageBytes: 4 << 20, cpus: 2 } }, target.overrides);
  describe(`slab contract: ${target.label}`, () => {
    it('kmalloc gives at least the request, aligned to 8, power-of-two sizes naturally aligned up to a page', () => {
      const sys = mk();
      for (const size of [1, 7, 8, 24, 64, 96, 100, 128, 200, 256, 1000, 1024, 3000, 4096, 5000, 8192, 9000, 70000]) {
        const p = sys.kmem.kmalloc(size, GFP_KERNEL);
        expect(p).not.toBe(0);
        expect(sys.kmem.ksize(p)).toBeGreaterThanOrEqual(size);
        expect(p % 8).toBe(0);
        if ((size & (size - 1)) === 0 && size <= 4096) expect((p - PAGE_OFFSET) % size).toBe(0);
      }
      expect(sys.checkInvariants()).toEqual([]);
    });

    it('kmalloc(0) is ZERO_SIZE_PTR, kzalloc zeroes, huge sizes fail as a value', () => {
      const sys = mk();
      expect(sys.kmem.kmalloc(0, GFP_KERNEL)).toBe(ZERO_SIZE_PTR);
      const p = sys.kmem.kmalloc(300, GFP_KERNEL);
      sys.machine.mem.fill(p - PAGE_OFFSET, 300, 0xab);
      sys.kmem.kfree(p);
      const z = sys.kmem.kzalloc(300, GFP_KERNEL);
      expect(sys.machine.mem.findNot(z - PAGE_OFFSET, 300, 0)).toBe(-1);
      expect(sys.kmem.kmalloc(8 << 20, GFP_KERNEL | __GFP_NOWARN)).toBe(0);
    });

    it('kmem_cache objects: ctor runs, alignment holds, bulk is all or nothing, shrink returns pages', () => {
      const sys = mk();
      const seen: number[] = [];
      const h = sys.kmem.kmemCacheCreate('ctor_obj', 120, 0, SLAB_HWCACHE_ALIGN, (o) => seen.push(o));
      const objs = sys.kmem.kmemCacheAllocBulk(h, GFP_KERNEL, 50);
      expect(objs).toHaveLength(50);
      for (const o of objs) expect(o % 64).toBe(0);
      expect(seen.length).toBeGreaterThanOrEqual(50);
      sys.kmem.kmemCacheFreeBulk(h, objs);
      sys.kmem.kmemCacheShrink(h);
      expect(sys.kmem.kmemCacheDestroy(h)).toBe(0);
      expect(sys.checkInvariants()).toEqual([]);
    });

    it('detects double, interior, foreign and wrong-cache frees and leaves the state unchanged', () => {
      const sys = mk();
      const a = sys.kmem.kmemCacheCreate('obj_a', 200, 0, SLAB_HWCACHE_ALIGN);
      const b = sys.kmem.kmemCacheCreate('obj_b', 200, 0, SLAB_HWCACHE_ALIGN | 0x1000000);
      const oa = sys.kmem.kmemCacheAlloc(a, GFP_KERNEL);
      const k = sys.kmem.kmalloc(100, GFP_KERNEL);
      const large = sys.kmem.kmalloc(40000, GFP_KERNEL);
      const before = JSON.stringify([sys.slab.stats(), sys.pages.stats()]);
      expect(kindOf(() => sys.kmem.kmemCacheFree(b, oa))).toBe('invalid-free');
      expect(kindOf(() => sys.kmem.kmemCacheFree(a, oa + 8))).toBe('invalid-free');
      expect(kindOf(() => sys.kmem.kfree(k + 4))).toBe('invalid-free');
      expect(kindOf(() => sys.kmem.kfree(large + 100))).toBe('invalid-free');
      expect(kindOf(() => sys.kmem.kfree(PAGE_OFFSET + 4096 * 1000))).toBe('invalid-free');
      expect(kindOf(() => sys.kmem.kmemCacheAlloc(999, GFP_KERNEL))).toBe('unknown-name');
      expect(JSON.stringify([sys.slab.stats(), sys.pages.stats()])).toBe(before);
      sys.kmem.kfree(k);
      expect(kindOf(() => sys.kmem.kfree(k))).toMatch(/double-free|invalid-free/);
      sys.kmem.kmemCacheFree(a, oa);
      expect(kindOf(() => sys.kmem.kmemCacheFree(a, oa))).toMatch(/double-free|invalid-free/);
      sys.kmem.kfree(large);
      expect(sys.checkInvariants()).toEqual([]);
    });

    it('krealloc keeps contents across moves', () => {
      const sys = mk();
      let p = sys.kmem.kmalloc(10, GFP_KERNEL);
      sys.machine.mem.write32(p - PAGE_OFFSET, 0x12345678);
      for (const size of [20, 100, 500, 5000, 20000, 30]) {
        p = sys.kmem.krealloc(p, size, GFP_KERNEL | __GFP_ZERO);
        expect(sys.machine.mem.read32(p - PAGE_OFFSET)).toBe(0x12345678);
      }
      sys.kmem.kfree(p);
      expect(sys.checkInvariants()).toEqual([]);
    });

    it('reports live objects on destroy and a mempool survives memory exhaustion', () => {
      const sys = mk(32 << 20);
      const h = sys.kmem.kmemCacheCreate('pool_obj', 256);
      const pool = Mempool.slab(sys.kmem, 3, h);
      const hog: number[] = [];
      for (;;) {
        const o = sys.kmem.kmalloc(4096, GFP_KERNEL | __GFP_NOWARN);
        if (o === 0) break;
        hog.push(o);
      }
      const got = Array.from({ length: 40 }, () => pool.alloc(GFP_KERNEL));
      expect(pool.reserveHits).toBe(3);
      expect(sys.kmem.kmemCacheDestroy(h)).toBeGreaterThan(0);
      for (const g of got) pool.free(g);
      pool.destroy();
      for (const o of hog) sys.kmem.kfree(o);
      expect(sys.kmem.kmemCacheDestroy(h)).toBe(0);
      expect(sys.checkInvariants()).toEqual([]);
    });

    it('survives the slab fuzz campaign (seed 1, 20 runs of 100 commands)', () => {
      fuzzSlab(target, { seed: 1, numRuns: 20, maxCommands: 100 });
    });
  });
}
