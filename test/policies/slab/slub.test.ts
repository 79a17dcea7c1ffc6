/** SLUB (Linux 6.8) fidelity: geometry from the kernel's formulas and the real 6.1 slabinfo, runtime order of objects, misuse. */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { GFP_KERNEL } from '../../../src/interfaces/gfp.js';
import { isAllocatorError } from '../../../src/interfaces/errors.js';
import fc from 'fast-check';
import { SLAB_CONSISTENCY_CHECKS, SLAB_HWCACHE_ALIGN, SLAB_POISON, SLAB_RED_ZONE, SLAB_STORE_USER } from '../../../src/interfaces/slab.js';
import { slubOrder } from '../../../src/policies/slab/slub.js';
import { createSystem } from '../../../src/system.js';
import { slabinfo } from '../../../src/proc/slab.js';

const DATA = new URL('../../../data/linux-6.1-qemu-smp4/', import.meta.url);
const sys4 = () => createSystem({ machine: { memBytes: 256 << 20, kernelImageBytes: 8 << 20, cpus: 4 }, policies: { slab: 'slub' } });

/**
 * Objects/pages per slab of each kmalloc cache by CPU count, worked out by
 * hand from mm/slub.c's `calculate_order()` (v6.8: min_objects =
 * 4 × (fls(nr_cpus) + 1), fractions 16, 8, 4, 2 up to order 3; v6.1's
 * `calc_slab_order()` loop gives the same orders for every size ≤ 8192).
 * The 4-CPU column is what data/linux-6.1-qemu-smp4/slabinfo.txt shows.
 */
const TABLE: Record<number, string[]> = {
  8: ['512/1', '512/1', '512/1', '512/1', '512/1', '512/1', '512/1', '512/1', '512/1'],
  16: ['256/1', '256/1', '256/1', '256/1', '256/1', '256/1', '256/1', '256/1', '256/1'],
  32: ['128/1', '128/1', '128/1', '128/1', '128/1', '128/1', '128/1', '128/1', '128/1'],
  64: ['64/1', '64/1', '64/1', '64/1', '64/1', '64/1', '64/1', '64/1', '64/1'],
  96: ['42/1', '42/1', '42/1', '42/1', '42/1', '42/1', '42/1', '42/1', '42/1'],
  128: ['32/1', '32/1', '32/1', '32/1', '32/1', '32/1', '32/1', '64/2', '64/2'],
  192: ['21/1', '21/1', '21/1', '21/1', '42/2', '42/2', '42/2', '42/2', '42/2'],
  256: ['16/1', '16/1', '16/1', '32/2', '32/2', '32/2', '32/2', '64/4', '64/4'],
  512: ['8/1', '16/2', '16/2', '32/4', '32/4', '32/4', '32/4', '64/8', '64/8'],
  1024: ['8/2', '16/4', '16/4', '32/8', '32/8', '32/8', '32/8', '32/8', '32/8'],
  2048: ['8/4', '16/8', '16/8', '16/8', '16/8', '16/8', '16/8', '16/8', '16/8'],
  4096: ['8/8', '8/8', '8/8', '8/8', '8/8', '8/8', '8/8', '8/8', '8/8'],
  8192: ['4/8', '4/8', '4/8', '4/8', '4/8', '4/8', '4/8', '4/8', '4/8'],
};
const CPUS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

describe('SLUB geometry', () => {
  it.each(Object.keys(TABLE).map(Number))('kmalloc-%i has the kernel objects/pages for 1…256 CPUs', (size) => {
    CPUS.forEach((cpus, i) => {
      const order = slubOrder(size, cpus);
      expect(`${Math.floor((4096 << order) / size)}/${1 << order}`).toBe(TABLE[size]![i]);
    });
  });

  it('creates the kmalloc caches with the 4-CPU geometry and free pointer in the middle', () => {
    const sys = sys4();
    const geo = (name: string) => sys.kmem.caches().find((c) => c.name === name)!.geometry;
    expect(geo('kmalloc-192')).toMatchObject({ size: 192, objPerSlab: 21, order: 0 });
    expect(geo('kmalloc-1k')).toMatchObject({ size: 1024, objPerSlab: 16, order: 2, align: 1024 });
    expect(geo('kmalloc-96')).toMatchObject({ size: 96, align: 8 });
    expect(geo('kmalloc-96').details['offset']).toBe(48);
    expect(geo('kmalloc-8').details['offset']).toBe(0);
  });

  it('moves the free pointer after the object for ctors, poisoning and RCU', () => {
    const sys = sys4();
    const h = sys.kmem.kmemCacheCreate('withctor', 100, 0, 0, () => undefined);
    const g = sys.kmem.caches().find((c) => c.handle === h)!.geometry;
    expect(g.details['offset']).toBe(104);
    expect(g.size).toBe(112);
    const ph = sys.kmem.kmemCacheCreate('poisoned', 64, 0, SLAB_POISON);
    const p = sys.kmem.caches().find((c) => c.handle === ph)!.geometry;
    expect(p.details['offset']).toBe(64);
  });

  it.each([
    [8, 16, 16, 8, 112, '36/1'],
    [16, 24, 24, 16, 128, '32/1'],
    [32, 40, 40, 32, 160, '25/1'],
    [64, 72, 72, 64, 256, '16/1'],
    [96, 104, 104, 8, 200, '20/1'],
    [128, 136, 136, 128, 384, '21/2'],
    [192, 200, 200, 8, 296, '27/2'],
    [256, 264, 264, 256, 768, '21/4'],
    [512, 520, 520, 512, 1536, '21/8'],
    [1024, 1032, 1032, 1024, 3072, '10/8'],
    [2048, 2056, 2056, 2048, 6144, '5/8'],
    [4096, 4104, 4104, 4096, 12288, '2/8'],
    [8192, 8200, 8200, 8192, 24576, '1/8'],
  ])('lays out kmalloc-%i with slub_debug=FZPU as the reference computes (inuse %i, fp %i, red_left_pad %i, size %i, %s)', (size, inuse, fp, rlp, stride, geo) => {
    const sys = sys4();
    const id = sys.slab.createCache({ name: `dbg-${size}`, size, align: 0, flags: SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER }, true);
    const g = sys.slab.geometry(id);
    expect([g.details['inuse'], g.details['offset'], g.details['redLeftPad'], g.size, `${g.objPerSlab}/${1 << g.order}`]).toEqual([inuse, fp, rlp, stride, geo]);
    expect(g.usable).toBe(size);
    // Objects start after the left red zone, and the layout holds up under use.
    const a = sys.slab.alloc(id, GFP_KERNEL);
    const b = sys.slab.alloc(id, GFP_KERNEL);
    expect((a - 0x888000000000) % 4096).toBe(rlp % 4096);
    if (g.objPerSlab > 1) expect(b - a).toBe(stride);
    sys.slab.free(id, a);
    sys.slab.free(id, b);
    expect(sys.checkInvariants()).toEqual([]);
  });

  it('reproduces objperslab and pagesperslab of every cache in the real 6.1 slabinfo (4 CPUs) from its objsize', () => {
    const lines = readFileSync(new URL('slabinfo.txt', DATA), 'utf8').split('\n').slice(2).filter(Boolean);
    expect(lines.length).toBeGreaterThan(100);
    for (const line of lines) {
      const f = line.trim().split(/\s+/);
      const [name, objsize, objperslab, pages] = [f[0]!, Number(f[3]), Number(f[4]), Number(f[5])];
      const order = slubOrder(objsize, 4);
      expect(`${name} ${Math.floor((4096 << order) / objsize)} ${1 << order}`).toBe(`${name} ${objperslab} ${pages}`);
    }
  });

  it('gives every kmalloc in the real trace the bytes_alloc the real SLUB gave', () => {
    const sys = sys4();
    const text = gunzipSync(readFileSync(new URL('kmem-trace.txt.gz', DATA))).toString('utf8');
    let n = 0;
    for (const m of text.matchAll(/ kmalloc: .*?bytes_req=(\d+) bytes_alloc=(\d+)/g)) {
      expect(sys.kmem.kmallocBytesAlloc(Number(m[1]))).toBe(Number(m[2]));
      n++;
    }
    expect(n).toBeGreaterThan(500);
  });

  it('prints slabinfo in the kernel layout', () => {
    const sys = sys4();
    const text = slabinfo('slub', true, sys.kmem.caches());
    expect(text.split('\n')[0]).toBe('slabinfo - version: 2.1');
    expect(text).toMatch(/^kmalloc-8k {13}0 {6}0 {3}8192 {4}4 {4}8 : tunables {4}0 {4}0 {4}0 : slabdata {6}0 {6}0 {6}0$/m);
    const order = text.split('\n').map((l) => l.split(' ')[0]);
    expect(order.indexOf('kmalloc-8k')).toBeLessThan(order.indexOf('kmalloc-8'));
    expect(order.indexOf('dma-kmalloc-8')).toBeLessThan(order.indexOf('kmalloc-rcl-8k'));
  });
});

describe('SLUB geometry for arbitrary caches', () => {
  /** The kernel's formulas, restated: calculate_alignment, calculate_sizes (no debug, no ctor), calculate_order. */
  const expected = (size: number, align: number, hw: boolean, cpus: number) => {
    let a = align;
    if (hw) {
      let r = 64;
      while (size <= r / 2) r /= 2;
      a = Math.max(a, r);
    }
    a = Math.ceil(Math.max(a, 8) / 8) * 8;
    const stride = Math.ceil(Math.ceil(size / 8) * 8 / a) * a;
    const order = slubOrder(stride, cpus);
    return { size: stride, objPerSlab: Math.floor((4096 << order) / stride), order };
  };

  it('matches the formulas for sizes 8…8192, power-of-two alignments up to 4096, with and without SLAB_HWCACHE_ALIGN', () => {
    fc.assert(
      fc.property(fc.integer({ min: 8, max: 8192 }), fc.constantFrom(0, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096), fc.boolean(), fc.constantFrom(1, 2, 4, 8, 16, 64, 256), (size, align, hw, cpus) => {
        const sys = createSystem({ machine: { memBytes: 64 << 20, kernelImageBytes: 4 << 20, cpus } });
        const id = sys.slab.createCache({ name: 'prop', size, align, flags: hw ? SLAB_HWCACHE_ALIGN : 0 }, false);
        const g = sys.slab.geometry(id);
        expect({ size: g.size, objPerSlab: g.objPerSlab, order: g.order }).toEqual(expected(size, align, hw, cpus));
      }),
      { numRuns: 150, seed: 3 },
    );
  });
});

describe('SLUB runtime', () => {
  it('hands out a new slab in ascending order and reuses freed objects LIFO on the same CPU', () => {
    const sys = sys4();
    const a = Array.from({ length: 5 }, () => sys.kmem.kmalloc(64, GFP_KERNEL));
    for (let i = 1; i < 5; i++) expect(a[i]! - a[i - 1]!).toBe(64);
    sys.kmem.kfree(a[2]!);
    sys.kmem.kfree(a[4]!);
    expect(sys.kmem.kmalloc(64, GFP_KERNEL)).toBe(a[4]);
    expect(sys.kmem.kmalloc(64, GFP_KERNEL)).toBe(a[2]);
  });

  it('keeps free pointers in simulated memory, so the next object is where the pointer says', () => {
    const sys = sys4();
    const a = sys.kmem.kmalloc(128, GFP_KERNEL);
    const b = sys.kmem.kmalloc(128, GFP_KERNEL);
    sys.kmem.kfree(b);
    sys.kmem.kfree(a);
    // a is the CPU freelist head; its free pointer (offset 64) holds b.
    expect(sys.machine.mem.read64(a - 0x888000000000 + 64)).toBe(b);
  });

  it('sends a remote free of a full slab to the freeing CPU\'s partial list and keeps counts right', () => {
    const sys = sys4();
    const objs = Array.from({ length: 64 * 3 }, () => sys.kmem.kmalloc(64, GFP_KERNEL));
    sys.machine.ctx.setCpu(2);
    sys.kmem.kfree(objs[0]!);
    const c = sys.kmem.caches().find((x) => x.name === 'kmalloc-64')!.counters;
    expect(c.partialSlabs).toBeGreaterThanOrEqual(1);
    expect(c.inUse).toBe(64 * 3 - 1);
    expect(sys.checkInvariants()).toEqual([]);
  });

  it('shrink frees empty slabs back to the page allocator', () => {
    const sys = sys4();
    const before = sys.pages.stats().allocatedPages;
    const objs = Array.from({ length: 2000 }, () => sys.kmem.kmalloc(256, GFP_KERNEL));
    for (const o of objs) sys.kmem.kfree(o);
    const h = sys.kmem.findCache('kmalloc-256');
    expect(sys.kmem.kmemCacheShrink(h)).toBeGreaterThan(0);
    expect(sys.pages.stats().allocatedPages).toBeLessThan(before + 8);
    expect(sys.checkInvariants()).toEqual([]);
  });

  it('traces kmalloc, kfree, kmem_cache_alloc and kmem_cache_free in the kernel text format', () => {
    const sys = createSystem({ machine: { memBytes: 64 << 20, kernelImageBytes: 4 << 20, cpus: 2 }, debug: { trace: true } });
    const p = sys.kmem.kmalloc(40, GFP_KERNEL);
    sys.kmem.kfree(p);
    const h = sys.kmem.kmemCacheCreate('traced', 100);
    const o = sys.kmem.kmemCacheAlloc(h, GFP_KERNEL);
    sys.kmem.kmemCacheFree(h, o);
    const t = sys.machine.tracer.format();
    expect(t).toMatch(/ kmalloc: call_site=\S+ ptr=ffff888[0-9a-f]{9} bytes_req=40 bytes_alloc=64 gfp_flags=GFP_KERNEL node=-1 accounted=false\n/);
    expect(t).toMatch(/ kfree: call_site=\S+ ptr=ffff888[0-9a-f]{9}\n/);
    expect(t).toMatch(/ kmem_cache_alloc: call_site=\S+ ptr=ffff888[0-9a-f]{9} bytes_req=100 bytes_alloc=104 gfp_flags=GFP_KERNEL node=-1 accounted=false\n/);
    expect(t).toMatch(/ kmem_cache_free: call_site=\S+ ptr=ffff888[0-9a-f]{9} name=traced\n/);
  });

  it('rejects double, interior and wrong-cache frees with typed errors and unchanged state', () => {
    const sys = sys4();
    const h = sys.kmem.kmemCacheCreate('thing', 200, 0, SLAB_RED_ZONE | SLAB_STORE_USER);
    const o = sys.kmem.kmemCacheAlloc(h, GFP_KERNEL);
    const k = sys.kmem.kmalloc(64, GFP_KERNEL);
    const kinds = (fn: () => void) => {
      try {
        fn();
      } catch (e) {
        return isAllocatorError(e) ? e.kind : 'other';
      }
      return 'none';
    };
    expect(kinds(() => sys.kmem.kmemCacheFree(h, o + 8))).toBe('invalid-free');
    expect(kinds(() => sys.kmem.kmemCacheFree(h, k))).toBe('invalid-free');
    expect(kinds(() => sys.kmem.kfree(k + 1))).toBe('invalid-free');
    expect(kinds(() => sys.kmem.kfree(0x888000000000 + 4096 * 300))).toBe('invalid-free');
    sys.kmem.kmemCacheFree(h, o);
    expect(kinds(() => sys.kmem.kmemCacheFree(h, o))).toBe('double-free');
    expect(() => sys.kmem.kfree(k)).not.toThrow();
    expect(() => sys.kmem.kfree(k)).toThrow(/Object already free/);
    expect(sys.checkInvariants()).toEqual([]);
  });
});
