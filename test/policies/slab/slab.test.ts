/** Linux 6.1 SLAB (mm/slab.c) behaviour the simulation must reproduce. */
import { describe, expect, it } from '@jest/globals';
import { isAllocatorError } from '../../../src/interfaces/errors.js';
import { GFP_KERNEL, __GFP_ZERO } from '../../../src/interfaces/gfp.js';
import { formatViolations } from '../../../src/interfaces/invariants.js';
import { SLAB_CACHE_DMA, SLAB_HWCACHE_ALIGN, SLAB_KMALLOC, SLAB_RECLAIM_ACCOUNT, SLAB_TYPESAFE_BY_RCU, type CacheSpec } from '../../../src/interfaces/slab.js';
import { PAGE_OFFSET, kptr } from '../../../src/interfaces/units.js';
import { Rng } from '../../../src/machine/rng.js';
import { ClassicSlabBackend } from '../../../src/policies/slab/slab.js';
import { createSystem } from '../../../src/system.js';

const KMALLOC_FLAGS = SLAB_HWCACHE_ALIGN | SLAB_KMALLOC;

function setup(machine: { memBytes?: number; cpus?: number; nodes?: number } = {}) {
  const sys = createSystem({ machine: { memBytes: 64 << 20, kernelImageBytes: 4 << 20, cpus: 4, ...machine } });
  const slab = new ClassicSlabBackend(sys.machine, sys.config, sys.pages);
  const check = (): void => {
    const v = [...slab.checkInvariants(), ...sys.checkInvariants()];
    if (v.length) throw new Error(formatViolations(v));
  };
  return { sys, slab, check };
}

const spec = (name: string, size: number, flags = 0, extra: Partial<CacheSpec> = {}): CacheSpec => ({ name, size, align: 0, flags, ...extra });
const kname = (size: number): string => (size >= 1024 ? `kmalloc-${size / 1024}k` : `kmalloc-${size}`);

/** Expects `fn` to throw an AllocatorError of `kind` whose message contains `text`. */
function expectError(fn: () => unknown, kind: string, text?: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(isAllocatorError(caught)).toBe(true);
  if (isAllocatorError(caught)) {
    expect(caught.kind).toBe(kind);
    if (text !== undefined) expect(caught.message).toContain(text);
  }
}

describe('SLAB geometry (__kmem_cache_create, calculate_slab_order)', () => {
  // §3.6: name, objsize, align, mode, objperslab, pagesperslab, left_over, colour, colour_off, tunables.
  const table: [number, number, number, string, number, number, number, number, number, [number, number, number]][] = [
    [32, 32, 32, 'ON_SLAB', 124, 1, 4, 0, 64, [120, 60, 8]],
    [64, 64, 64, 'OBJFREELIST', 64, 1, 0, 0, 64, [120, 60, 8]],
    [96, 128, 64, 'OBJFREELIST', 32, 1, 0, 0, 64, [120, 60, 8]],
    [128, 128, 128, 'OBJFREELIST', 32, 1, 0, 0, 128, [120, 60, 8]],
    [192, 192, 64, 'OBJFREELIST', 21, 1, 64, 1, 64, [120, 60, 8]],
    [256, 256, 256, 'OBJFREELIST', 16, 1, 0, 0, 256, [120, 60, 8]],
    [512, 512, 512, 'OBJFREELIST', 8, 1, 0, 0, 512, [54, 27, 8]],
    [1024, 1024, 1024, 'OBJFREELIST', 4, 1, 0, 0, 1024, [54, 27, 8]],
    [2048, 2048, 2048, 'OBJFREELIST', 2, 1, 0, 0, 2048, [24, 12, 8]],
    [4096, 4096, 4096, 'OBJFREELIST', 1, 1, 0, 0, 4096, [24, 12, 8]],
    [8192, 8192, 8192, 'OBJFREELIST', 1, 2, 0, 0, 8192, [8, 4, 0]],
  ];
  it.each(table)('kmalloc-%i: objsize %i align %i %s, %i objects in %i pages, left over %i, colour %i × %i, tunables %j', (size, objsize, align, mode, num, pages, leftOver, colour, colourOff, tunables) => {
    const { slab } = setup();
    const id = slab.createCache(spec(kname(size), size, KMALLOC_FLAGS), true);
    const g = slab.geometry(id);
    expect(g.objectSize).toBe(size);
    expect(g.size).toBe(objsize);
    expect(g.align).toBe(align);
    expect(g.objPerSlab).toBe(num);
    expect(1 << g.order).toBe(pages);
    expect(g.tunables).toEqual(tunables);
    expect(g.usable).toBe(size);
    expect(g.details).toMatchObject({ mode, leftOver, colour, colourOff });
  });

  it('creates the whole kmalloc table in one backend, boot order, as the front end does', () => {
    const { slab } = setup();
    for (const [size, objsize, , mode, num, pages] of table) {
      const g = slab.geometry(slab.createCache(spec(kname(size), size, KMALLOC_FLAGS), true));
      expect([g.size, g.objPerSlab, 1 << g.order, g.details['mode']]).toEqual([objsize, num, pages, mode]);
    }
  });

  it('matches the quoted /proc/slabinfo lines (Babka 2018, openzfs #3748)', () => {
    const { slab } = setup();
    const line = (name: string, size: number, flags: number): string => {
      const g = slab.geometry(slab.createCache(spec(name, size, flags | KMALLOC_FLAGS), true));
      return `${g.size} ${g.objPerSlab} ${1 << g.order} : tunables ${g.tunables.join(' ')}`;
    };
    expect(line('kmalloc-rcl-96', 96, SLAB_RECLAIM_ACCOUNT)).toBe('128 32 1 : tunables 120 60 8');
    expect(line('kmalloc-rcl-64', 64, SLAB_RECLAIM_ACCOUNT)).toBe('64 64 1 : tunables 120 60 8');
    expect(line('kmalloc-rcl-32', 32, SLAB_RECLAIM_ACCOUNT)).toBe('32 124 1 : tunables 120 60 8');
    // ≤ 6.0 caches (the geometry rules are the same).
    expect(line('kmalloc-4M', 4 << 20, 0)).toBe('4194304 1 1024 : tunables 1 1 0');
    expect(line('kmalloc-2M', 2 << 20, 0)).toBe('2097152 1 512 : tunables 1 1 0');
    expect(line('kmalloc-1M', 1 << 20, 0)).toBe('1048576 1 256 : tunables 1 1 0');
    expect(line('dma-kmalloc-131072', 131072, SLAB_CACHE_DMA)).toBe('131072 1 32 : tunables 8 4 0');
    expect(line('dma-kmalloc-8192', 8192, SLAB_CACHE_DMA)).toBe('8192 1 2 : tunables 8 4 0');
    expect(line('dma-kmalloc-4096', 4096, SLAB_CACHE_DMA)).toBe('4096 1 1 : tunables 24 12 8');
    expect(line('dma-kmalloc-2048', 2048, SLAB_CACHE_DMA)).toBe('2048 2 1 : tunables 24 12 8');
    expect(line('dma-kmalloc-1024', 1024, SLAB_CACHE_DMA)).toBe('1024 4 1 : tunables 54 27 8');
  });

  it('computes arbitrary kmem_cache_create sizes by the formulas', () => {
    const { slab } = setup();
    const noop = (): void => undefined;
    // [spec, size, num, order, leftOver, colour, mode, tunables], worked by hand from §3.1–3.5.
    const cases: [CacheSpec, number, number, number, number, number, string, [number, number, number]][] = [
      // 600: OBJFREELIST, 6 objects, 496 left (≤ 1/8), 7 colours of 64.
      [spec('a600', 600), 600, 6, 0, 496, 7, 'OBJFREELIST', [54, 27, 8]],
      // 16: 256 objects > 255 in both free-list-outside modes → on-slab 4096/17.
      [spec('a16', 16), 16, 240, 0, 16, 0, 'ON_SLAB', [120, 60, 8]],
      // 8 is raised to SLAB_OBJ_MIN_SIZE.
      [spec('a8', 8), 16, 240, 0, 16, 0, 'ON_SLAB', [120, 60, 8]],
      // ctor, 512: off-slab (8 index bytes in kmalloc-32 ≤ 256), no left-over to hold them.
      [spec('c512', 512, 0, { ctor: noop }), 512, 8, 0, 0, 0, 'OFF_SLAB', [54, 27, 8]],
      // ctor, 40: the freelist caches (128, 256) are bigger than 20 → on-slab 4096/41.
      [spec('c40', 40, 0, { ctor: noop }), 40, 99, 0, 37, 0, 'ON_SLAB', [120, 60, 8]],
      // ctor, 1000: off-slab would leave 96 bytes ≥ 4 → on-slab 4096/1001.
      [spec('c1000', 1000, 0, { ctor: noop }), 1000, 4, 0, 92, 1, 'ON_SLAB', [54, 27, 8]],
      // RCU behaves like a ctor for the mode choice.
      [spec('r512', 512, SLAB_TYPESAFE_BY_RCU), 512, 8, 0, 0, 0, 'OFF_SLAB', [54, 27, 8]],
      // 3000: order 0 wastes 1096 > 512 → order 1 (slab_max_order), 2 objects.
      [spec('a3000', 3000), 3000, 2, 1, 2192, 34, 'OBJFREELIST', [24, 12, 8]],
      // Reclaimable caches stop at the first order that fits.
      [spec('r3000', 3000, SLAB_RECLAIM_ACCOUNT), 3000, 1, 0, 1096, 17, 'OBJFREELIST', [24, 12, 8]],
      // 5000: order 1, one object, > PAGE_SIZE → no shared array.
      [spec('a5000', 5000), 5000, 1, 1, 3192, 49, 'OBJFREELIST', [8, 4, 0]],
      // HWCACHE_ALIGN 20 → align 32, size 32: like kmalloc-32.
      [spec('h20', 20, SLAB_HWCACHE_ALIGN), 32, 124, 0, 4, 0, 'ON_SLAB', [120, 60, 8]],
      // 100 bytes aligned to 64 by the caller: 128 per object.
      [{ name: 'al100', size: 100, align: 64, flags: 0 }, 128, 32, 0, 0, 0, 'OBJFREELIST', [120, 60, 8]],
      // 200 000 bytes: order 6, > 128 KiB → limit 1.
      [spec('big', 200000), 200000, 1, 6, 62144, 971, 'OBJFREELIST', [1, 1, 0]],
    ];
    for (const [s, size, num, order, leftOver, colour, mode, tunables] of cases) {
      const g = slab.geometry(slab.createCache(s, false));
      expect({ name: s.name, size: g.size, num: g.objPerSlab, order: g.order, leftOver: g.details['leftOver'], colour: g.details['colour'], mode: g.details['mode'], tunables: g.tunables }).toEqual({
        name: s.name,
        size,
        num,
        order,
        leftOver,
        colour,
        mode,
        tunables,
      });
    }
  });

  it('keeps slabs at order 0 when RAM is at most 32 MiB (slab_max_order 0)', () => {
    const { slab } = setup({ memBytes: 32 << 20 });
    const g = slab.geometry(slab.createCache(spec('a3000', 3000), false));
    expect([g.order, g.objPerSlab, g.details['leftOver']]).toEqual([0, 1, 1096]);
    const k8 = slab.geometry(slab.createCache(spec('kmalloc-8k', 8192, KMALLOC_FLAGS), true));
    expect([k8.order, k8.objPerSlab]).toEqual([1, 1]);
  });

  it('has no shared array on a single CPU', () => {
    const { slab } = setup({ cpus: 1 });
    expect(slab.geometry(slab.createCache(spec('kmalloc-64', 64, KMALLOC_FLAGS), true)).tunables).toEqual([120, 60, 0]);
  });

  it('rejects an object that fits no slab', () => {
    const { slab } = setup();
    expectError(() => slab.createCache(spec('huge', 8 << 20), false), 'config', 'do not fit');
  });
});

describe('SLAB allocation and free paths', () => {
  it('refills an untouched array with BATCHREFILL_LIMIT objects and hands them out LIFO', () => {
    const { slab, check } = setup();
    const id = slab.createCache(spec('kmalloc-64', 64, KMALLOC_FLAGS), true);
    const first = slab.alloc(id, GFP_KERNEL);
    const page = first - ((first - PAGE_OFFSET) % 4096);
    // Objects 0..15 went to the array; the last one comes out first.
    expect(first).toBe(page + 15 * 64);
    expect(slab.alloc(id, GFP_KERNEL)).toBe(page + 14 * 64);
    let c = slab.counters(id);
    expect(c).toMatchObject({ numObjs: 64, activeObjs: 16, inUse: 2, numSlabs: 1, activeSlabs: 1, partialSlabs: 1, sharedAvail: 0, pages: 1 });
    for (let i = 0; i < 14; i++) slab.alloc(id, GFP_KERNEL);
    // Touched now: the next refill takes min(60, 48 left) from the partial slab, and does not grow.
    expect(slab.alloc(id, GFP_KERNEL)).toBe(page + 63 * 64);
    c = slab.counters(id);
    expect(c).toMatchObject({ numObjs: 64, activeObjs: 64, inUse: 17, numSlabs: 1, partialSlabs: 0 });
    expect(slab.stats()).toMatchObject({ allocs: 17, fastAllocs: 15, slabsCreated: 1 });
    check();
  });

  it('reuses the most recently freed object first (LIFO)', () => {
    const { slab, check } = setup();
    const id = slab.createCache(spec('kmalloc-128', 128, KMALLOC_FLAGS), true);
    const a = slab.alloc(id, GFP_KERNEL);
    const b = slab.alloc(id, GFP_KERNEL);
    slab.free(id, a);
    expect(slab.alloc(id, GFP_KERNEL)).toBe(a);
    slab.free(id, a);
    slab.free(id, b);
    expect(slab.alloc(id, GFP_KERNEL)).toBe(b);
    expect(slab.alloc(id, GFP_KERNEL)).toBe(a);
    expect(slab.stats().fastFrees).toBe(3);
    check();
  });

  it('flushes the oldest batchcount entries of a full array to the shared array, which refills other CPUs newest first', () => {
    const { sys, slab, check } = setup();
    const id = slab.createCache(spec('kmalloc-64', 64, KMALLOC_FLAGS), true);
    sys.machine.ctx.setCpu(0);
    const objs = Array.from({ length: 121 }, () => slab.alloc(id, GFP_KERNEL));
    sys.machine.ctx.setCpu(1);
    for (const o of objs) slab.free(id, o);
    // 120 fit; the 121st flushes objs[0..59] to the shared array.
    expect(slab.counters(id).sharedAvail).toBe(60);
    expect(slab.stats().fastFrees).toBe(120);
    sys.machine.ctx.setCpu(2);
    // CPU 2's untouched array takes 16 from the shared array's top: objs[44..59]; objs[59] comes out first.
    expect(slab.alloc(id, GFP_KERNEL)).toBe(objs[59]);
    expect(slab.counters(id).sharedAvail).toBe(44);
    expect(slab.alloc(id, GFP_KERNEL)).toBe(objs[58]);
    check();
  });

  it('flushes to the slabs when the shared array is full, and destroys free slabs beyond free_limit', () => {
    const { slab, check } = setup();
    const id = slab.createCache(spec('kmalloc-64', 64, KMALLOC_FLAGS), true);
    const objs = Array.from({ length: 3000 }, () => slab.alloc(id, GFP_KERNEL));
    const slabsBefore = slab.counters(id).numSlabs;
    for (const o of objs) slab.free(id, o);
    const c = slab.counters(id);
    expect(c.sharedAvail).toBe(480);
    expect(c.inUse).toBe(0);
    // free_limit = (1 + 4 CPUs) * 60 + 64 = 364 objects free in slabs at most (every slab here empties completely).
    expect(c.numObjs - c.activeObjs).toBeLessThanOrEqual(364);
    expect(c.numSlabs).toBeLessThan(slabsBefore);
    expect(slab.stats().slabsFreed).toBeGreaterThan(0);
    check();
  });

  it('cycles colour offsets 1, 2, …, colour−1, 0 per node', () => {
    const { slab, check } = setup();
    const id = slab.createCache(spec('a600', 600), false);
    const g = slab.geometry(id);
    expect(g.details['colour']).toBe(7);
    const firstOffsetOfPage = new Map<number, number>();
    for (let i = 0; i < 6 * 9; i++) {
      const o = slab.alloc(id, GFP_KERNEL);
      const page = o - ((o - PAGE_OFFSET) % 4096);
      firstOffsetOfPage.set(page, Math.min(firstOffsetOfPage.get(page) ?? Infinity, o - page));
    }
    expect([...firstOffsetOfPage.values()]).toEqual([1, 2, 3, 4, 5, 6, 0, 1, 2].map((k) => k * 64));
    check();
  });

  it('gives kmalloc-192 (one colour) offset 0 on every slab', () => {
    const { slab } = setup();
    const id = slab.createCache(spec('kmalloc-192', 192, KMALLOC_FLAGS), true);
    const pages = new Set<number>();
    for (let i = 0; i < 21 * 4; i++) {
      const o = slab.alloc(id, GFP_KERNEL);
      expect((o - PAGE_OFFSET) % 4096 % 192).toBe(0);
      pages.add(o - ((o - PAGE_OFFSET) % 4096));
    }
    expect(pages.size).toBe(4);
  });

  it('keeps the on-slab index array in simulated memory (corrupting it is caught as S10)', () => {
    const { sys, slab } = setup();
    const id = slab.createCache(spec('kmalloc-32', 32, KMALLOC_FLAGS), true);
    const o = slab.alloc(id, GFP_KERNEL);
    const phys = o - PAGE_OFFSET;
    const pagePhys = phys - (phys % 4096);
    const freelist = pagePhys + 4096 - 124;
    // 16 objects were taken: freelist[16..123] are free indexes 16..123.
    expect(sys.machine.mem.read8(freelist + 16)).toBe(16);
    expect(slab.checkInvariants()).toEqual([]);
    sys.machine.mem.write8(freelist + 17, 16);
    expect(slab.checkInvariants().map((v) => v.code)).toContain('S10');
  });

  it('keeps OBJFREELIST indexes inside the last free object and frees into a full slab through the freed object', () => {
    const { sys, slab, check } = setup();
    const id = slab.createCache(spec('kmalloc-1k', 1024, KMALLOC_FLAGS), true);
    const objs = Array.from({ length: 4 }, () => slab.alloc(id, GFP_KERNEL));
    // One slab, objects handed out 3, 2, 1, 0 (array LIFO); the freelist lived in object 3.
    const base = Math.min(...objs);
    expect(objs).toEqual([3, 2, 1, 0].map((i) => base + i * 1024));
    check();
    // Writing into every object is harmless: a full slab has no freelist.
    for (const o of objs) sys.machine.mem.fill(o - PAGE_OFFSET, 1024, 0xab);
    for (const o of objs) slab.free(id, o);
    check();
    expect(slab.shrink(id)).toBe(1);
    check();
  });

  it('puts OFF_SLAB freelists in a kmalloc object when the kmalloc cache exists, and runs the ctor on each new object', () => {
    const { slab, check } = setup();
    const k32 = slab.createCache(spec('kmalloc-32', 32, KMALLOC_FLAGS), true);
    const seen: number[] = [];
    const id = slab.createCache(spec('inode', 512, 0, { ctor: (obj) => seen.push(obj) }), false);
    expect(slab.geometry(id).details['mode']).toBe('OFF_SLAB');
    const objs = Array.from({ length: 20 }, () => slab.alloc(id, GFP_KERNEL));
    const slabs = slab.counters(id).numSlabs;
    expect(seen.length).toBe(slabs * 8);
    expect(new Set(objs.map((o) => seen.includes(o))).has(false)).toBe(false);
    expect(slab.counters(k32).inUse).toBe(slabs);
    check();
    for (const o of objs) slab.free(id, o);
    expect(slab.shrink(id)).toBe(slabs);
    expect(slab.counters(k32).inUse).toBe(0);
    check();
    expect(slab.shrink(k32)).toBe(1);
    expect(slab.stats().pagesUnreclaimable).toBe(0);
    check();
  });

  it('keeps OFF_SLAB freelists beside the slab when no kmalloc cache exists', () => {
    const { slab, check } = setup();
    const id = slab.createCache(spec('inode', 512, 0, { ctor: () => undefined }), false);
    const objs = Array.from({ length: 30 }, () => slab.alloc(id, GFP_KERNEL));
    check();
    for (const o of objs.reverse()) slab.free(id, o);
    check();
    expect(slab.destroyCache(id)).toBe(0);
    expect(slab.stats().pagesUnreclaimable).toBe(0);
  });

  it('frees an object of another node straight back to its slab (no alien caches)', () => {
    const { sys, slab, check } = setup({ nodes: 2, memBytes: 128 << 20 });
    const id = slab.createCache(spec('kmalloc-64', 64, KMALLOC_FLAGS), true);
    sys.machine.ctx.setCpu(0); // node 0
    const a = slab.alloc(id, GFP_KERNEL);
    expect(sys.machine.layout.nodeOf(Math.floor((a - PAGE_OFFSET) / 4096))).toBe(0);
    const before = slab.counters(id);
    sys.machine.ctx.setCpu(3); // node 1
    slab.free(id, a);
    expect(slab.stats().fastFrees).toBe(0);
    // The object is free in its slab again: one fewer active object for slabinfo.
    expect(slab.counters(id).activeObjs).toBe(before.activeObjs - 1);
    check();
  });

  it('zeroes objects for __GFP_ZERO', () => {
    const { sys, slab } = setup();
    const id = slab.createCache(spec('kmalloc-256', 256, KMALLOC_FLAGS), true);
    const o = slab.alloc(id, GFP_KERNEL);
    sys.machine.mem.fill(o - PAGE_OFFSET, 256, 0x5a);
    slab.free(id, o);
    expect(slab.alloc(id, GFP_KERNEL | __GFP_ZERO)).toBe(o);
    expect(sys.machine.mem.findNot(o - PAGE_OFFSET, 256, 0)).toBe(-1);
  });

  it('returns 0 when the page allocator is exhausted', () => {
    const { slab, check } = setup();
    const id = slab.createCache(spec('kmalloc-8k', 8192, KMALLOC_FLAGS), true);
    const objs: number[] = [];
    for (let i = 0; i < 100000; i++) {
      const o = slab.alloc(id, GFP_KERNEL);
      if (o === 0) break;
      objs.push(o);
    }
    expect(objs.length).toBeGreaterThan(1000);
    expect(objs.length).toBeLessThan(64 * 128);
    check();
    for (const o of objs) slab.free(id, o);
    slab.shrink(id);
    expect(slab.counters(id).numSlabs).toBe(0);
    check();
  });
});

describe('SLAB misuse', () => {
  it('rejects interior pointers, foreign pointers, wrong caches and double frees, state unchanged', () => {
    const { sys, slab, check } = setup();
    const k64 = slab.createCache(spec('kmalloc-64', 64, KMALLOC_FLAGS), true);
    const k128 = slab.createCache(spec('kmalloc-128', 128, KMALLOC_FLAGS), true);
    const a = slab.alloc(k64, GFP_KERNEL);
    const b = slab.alloc(k64, GFP_KERNEL);
    const c = slab.alloc(k128, GFP_KERNEL);
    slab.free(k64, b);
    const snapshot = () => JSON.stringify([slab.counters(k64), slab.counters(k128), slab.stats(), sys.pages.stats()]);
    const before = snapshot();
    expectError(() => slab.free(k64, a + 8), 'invalid-free', `slab.free: ${kptr(a + 8)} is not an object of cache kmalloc-64`);
    expectError(() => slab.free(k64, c), 'invalid-free', 'is not an object of cache kmalloc-64 (it belongs to kmalloc-128)');
    expectError(() => slab.free(k128, a), 'invalid-free', 'is not an object of cache kmalloc-128');
    expectError(() => slab.free(k64, PAGE_OFFSET + 0x10000), 'invalid-free', 'is not an object of cache kmalloc-64');
    expectError(() => slab.free(k64, 0x1234), 'invalid-free');
    // b sits in the CPU array; an object still free in its slab is caught too.
    expectError(() => slab.free(k64, b), 'double-free', 'double free');
    expectError(() => slab.free(k64, a + 64 * 20), 'double-free');
    expectError(() => slab.free(99, a), 'misuse', 'does not exist');
    expectError(() => slab.alloc(-1, GFP_KERNEL), 'misuse');
    expect(snapshot()).toBe(before);
    check();
  });

  it('catches a double free after the object went back to its slab', () => {
    const { slab } = setup();
    const id = slab.createCache(spec('kmalloc-64', 64, KMALLOC_FLAGS), true);
    const a = slab.alloc(id, GFP_KERNEL);
    slab.free(id, a);
    slab.shrink(id);
    expectError(() => slab.free(id, a), 'invalid-free');
    const b = slab.alloc(id, GFP_KERNEL);
    const c = slab.alloc(id, GFP_KERNEL);
    slab.free(id, c);
    slab.shrink(id); // c back in its slab (b keeps the slab alive)
    expectError(() => slab.free(id, c), 'double-free');
    slab.free(id, b);
  });

  it('destroys a cache only when no object is live', () => {
    const { slab } = setup();
    const id = slab.createCache(spec('thing', 100), false);
    const a = slab.alloc(id, GFP_KERNEL);
    expect(slab.destroyCache(id)).toBe(1);
    expect(slab.counters(id).numSlabs).toBe(1);
    slab.free(id, a);
    expect(slab.destroyCache(id)).toBe(0);
    expectError(() => slab.alloc(id, GFP_KERNEL), 'misuse');
    expect(slab.stats().pagesUnreclaimable).toBe(0);
  });

  it('reports an object start with nearest_obj semantics and the owning cache', () => {
    const { slab } = setup();
    const id = slab.createCache(spec('a600', 600), false);
    const o = slab.alloc(id, GFP_KERNEL);
    expect(slab.cacheOf(o + 599)).toBe(id);
    expect(slab.objectStart(o + 599)).toBe(o);
    expect(slab.cacheOf(PAGE_OFFSET + 0x10000)).toBe(-1);
    expect(slab.objectStart(PAGE_OFFSET + 0x10000)).toBe(-1);
  });
});

describe('SLAB shrink, reap and stress', () => {
  it('shrink drains every array and frees every free slab', () => {
    const { sys, slab, check } = setup();
    const id = slab.createCache(spec('kmalloc-64', 64, KMALLOC_FLAGS), true);
    const freeBefore = sys.pages.stats().freePages + sys.pages.stats().pcpPages;
    const objs: number[] = [];
    for (let cpu = 0; cpu < 4; cpu++) {
      sys.machine.ctx.setCpu(cpu);
      for (let i = 0; i < 300; i++) objs.push(slab.alloc(id, GFP_KERNEL));
    }
    for (let i = 0; i < objs.length; i++) {
      sys.machine.ctx.setCpu(i % 4);
      slab.free(id, objs[i]!);
    }
    const held = slab.counters(id).pages;
    expect(held).toBeGreaterThan(0);
    expect(slab.shrink(id)).toBe(held);
    expect(slab.counters(id)).toMatchObject({ numSlabs: 0, numObjs: 0, sharedAvail: 0, pages: 0 });
    expect(slab.stats().pagesUnreclaimable).toBe(0);
    expect(sys.pages.stats().freePages + sys.pages.stats().pcpPages).toBe(freeBefore);
    check();
  });

  it('reap gives back part of untouched arrays and free slabs', () => {
    const { slab, check } = setup();
    const id = slab.createCache(spec('kmalloc-64', 64, KMALLOC_FLAGS), true);
    const objs = Array.from({ length: 100 }, () => slab.alloc(id, GFP_KERNEL));
    for (const o of objs) slab.free(id, o);
    // First round only clears the touched marks.
    expect(slab.reap()).toBe(0);
    const inArrays = () => slab.counters(id).activeObjs - slab.counters(id).inUse - slab.counters(id).sharedAvail;
    const before = inArrays();
    slab.reap();
    // (120 + 4) / 5 = 24 objects leave the untouched CPU array.
    expect(inArrays()).toBe(before - 24);
    check();
  });

  it.each([
    ['one node', {}],
    ['two nodes', { nodes: 2, memBytes: 128 << 20 }],
    ['one CPU', { cpus: 1 }],
  ])('random alloc/free over CPUs and caches keeps every invariant (%s)', (_name, machine) => {
    const { sys, slab, check } = setup(machine);
    const rng = new Rng(12345);
    const ids = [
      slab.createCache(spec('kmalloc-32', 32, KMALLOC_FLAGS), true),
      slab.createCache(spec('kmalloc-64', 64, KMALLOC_FLAGS), true),
      slab.createCache(spec('kmalloc-192', 192, KMALLOC_FLAGS), true),
      slab.createCache(spec('kmalloc-1k', 1024, KMALLOC_FLAGS), true),
      slab.createCache(spec('inode', 600, 0, { ctor: () => undefined }), false),
      slab.createCache(spec('a3000', 3000), false),
      slab.createCache(spec('a16', 16, SLAB_RECLAIM_ACCOUNT), false),
    ];
    const live: [number, number][] = [];
    const cpus = sys.machine.ctx.nrCpus;
    for (let step = 0; step < 6000; step++) {
      sys.machine.ctx.setCpu(rng.int(cpus));
      const r = rng.int(100);
      if (r < 55 || live.length === 0) {
        const id = ids[rng.int(ids.length)]!;
        const o = slab.alloc(id, GFP_KERNEL);
        expect(o).not.toBe(0);
        expect(live.some(([, x]) => x === o)).toBe(false);
        live.push([id, o]);
      } else if (r < 98) {
        const k = rng.int(live.length);
        const [id, o] = live[k]!;
        live[k] = live[live.length - 1]!;
        live.pop();
        slab.free(id, o);
      } else if (r < 99) {
        slab.shrink(ids[rng.int(ids.length)]!);
      } else slab.reap();
      if (step % 500 === 0) check();
    }
    check();
    for (const [id, o] of live) slab.free(id, o);
    // The off-slab cache first: its freelists go back to kmalloc caches, which are shrunk after.
    for (const id of [...ids].reverse()) slab.shrink(id);
    for (const id of ids) expect(slab.counters(id)).toMatchObject({ numSlabs: 0, inUse: 0 });
    expect(slab.stats().pagesUnreclaimable + slab.stats().pagesReclaimable).toBe(0);
    expect(slab.stats().allocs - slab.stats().frees).toBe(0);
    check();
  });
});
