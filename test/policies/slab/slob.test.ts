/** Linux 6.3 SLOB behaviour the simulation must reproduce (mm/slob.c). */
import { describe, expect, it } from '@jest/globals';
import { GFP_KERNEL, __GFP_NOWARN, __GFP_ZERO } from '../../../src/interfaces/gfp.js';
import { isAllocatorError } from '../../../src/interfaces/errors.js';
import { formatViolations } from '../../../src/interfaces/invariants.js';
import { SLAB_HWCACHE_ALIGN, SLAB_TYPESAFE_BY_RCU } from '../../../src/interfaces/slab.js';
import { NO_PFN, PAGE_OFFSET, PAGE_SIZE, kptr, type Pfn } from '../../../src/interfaces/units.js';
import { PG_SLAB } from '../../../src/machine/memmap.js';
import { Rng } from '../../../src/machine/rng.js';
import { SLOB_KMALLOC_CACHE, SLOB_PAGE_UNITS, SlobBackend, slobUnits } from '../../../src/policies/slab/slob.js';
import { createSystem } from '../../../src/system.js';

const mk = () => {
  const sys = createSystem({ machine: { memBytes: 64 << 20, kernelImageBytes: 4 << 20, cpus: 2 } });
  const slob = new SlobBackend(sys.machine, sys.config, sys.pages);
  return { sys, slob, mem: sys.machine.mem };
};
type Env = ReturnType<typeof mk>;

/** Start of the page holding virtual `a`. */
const pageOf = (a: number): number => a - ((a - PAGE_OFFSET) % PAGE_SIZE);
const pfnOf = (a: number): number => Math.floor((a - PAGE_OFFSET) / PAGE_SIZE);
/** Signed s16 of the SLOB encoding at virtual `a`. */
const s16 = (env: Env, a: number): number => {
  const v = env.mem.read16(a - PAGE_OFFSET);
  return v >= 0x8000 ? v - 0x10000 : v;
};
/** The free block encoded at virtual `a`: [size, next] in units (1-unit blocks store −next). */
const freeBlockAt = (env: Env, a: number): [number, number] => {
  const u0 = s16(env, a);
  return u0 < 0 ? [1, -u0] : [u0, s16(env, a + 2)];
};
const expectHealthy = (env: Env): void => {
  const v = env.slob.checkInvariants();
  if (v.length) throw new Error(formatViolations(v));
};
const thrown = (f: () => unknown): unknown => {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
};

describe('SLOB backend (Linux 6.3 mm/slob.c)', () => {
  it('declares the SLOB contract values', () => {
    const { slob } = mk();
    expect(slob.policy).toBe('slob');
    expect(slob.kmallocMinSize).toBe(8);
    expect(slob.kmallocMaxCacheSize).toBe(4087);
    expect(slob.kmallocCacheFlags).toBe(0);
    expect(slob.hasSlabinfo).toBe(false);
    expect(slob.mergeable).toBe(false);
  });

  it('charges SLOB_UNITS(n + 8) units per kmalloc(n) and encodes the tail free block in memory', () => {
    const env = mk();
    for (const n of [1, 2, 7, 8, 13, 24, 100, 255, 1000, 2040, 4000]) {
      const p = env.slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, n);
      const base = pageOf(p);
      // First block of a fresh page: header at the page start, pointer 8 bytes in.
      expect(p).toBe(base + 8);
      expect(env.mem.read32(base - PAGE_OFFSET)).toBe(n);
      const used = slobUnits(n + 8);
      expect(freeBlockAt(env, base + used * 2)).toEqual([SLOB_PAGE_UNITS - used, SLOB_PAGE_UNITS]);
      expectHealthy(env);
      env.slob.free(SLOB_KMALLOC_CACHE, p);
      expectHealthy(env);
    }
    // kmalloc(4087) takes exactly one whole page.
    const big = env.slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 4087);
    expect(env.slob.counters(SLOB_KMALLOC_CACHE).pages).toBe(1);
    const next = env.slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 1);
    expect(pageOf(next)).not.toBe(pageOf(big));
    expectHealthy(env);
  });

  it('aligns power-of-two requests naturally and reports ksize rounded to a unit', () => {
    const env = mk();
    env.slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 5); // leaves the free space at an odd-looking offset (14 bytes)
    for (let size = 8; size <= 2048; size *= 2) {
      const p = env.slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, size);
      expect((p - PAGE_OFFSET) % size).toBe(0);
      expect(env.slob.ksize(SLOB_KMALLOC_CACHE, p)).toBe(size);
      expectHealthy(env);
    }
    expect(env.slob.ksize(SLOB_KMALLOC_CACHE, env.slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 13))).toBe(14);
    expect(env.slob.ksize(SLOB_KMALLOC_CACHE, env.slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 24))).toBe(24);
    expect(env.slob.ksize(SLOB_KMALLOC_CACHE, env.slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 4087))).toBe(4088);
  });

  it('places blocks first fit, fragments the head to align, and merges with both neighbours on free', () => {
    const env = mk();
    const { slob } = env;
    const pagesBefore = env.sys.pages.stats().allocatedPages;
    const a = slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 24);
    const P = pageOf(a);
    expect(a).toBe(P + 8);
    const b = slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 24);
    expect(b).toBe(P + 40);
    // 64 is a power of two: block of 72 bytes whose pointer is 64-aligned.
    const c = slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 64);
    expect(c).toBe(P + 128);
    // The skipped head fragment [64, 120) stays free and links to the tail at 192 bytes (unit 96).
    expect(freeBlockAt(env, P + 64)).toEqual([28, 96]);
    // kmalloc(16): first fit lands in the hole, aligned to 16 with a 4-unit head fragment.
    const d = slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 16);
    expect(d).toBe(P + 80);
    expect(freeBlockAt(env, P + 64)).toEqual([4, 48]);
    expect(freeBlockAt(env, P + 96)).toEqual([12, 96]);
    expectHealthy(env);
    // Free d: merges with the following fragment and the preceding one.
    slob.free(SLOB_KMALLOC_CACHE, d);
    expect(freeBlockAt(env, P + 64)).toEqual([28, 96]);
    // Free c: merges with the tail and the hole before it.
    slob.free(SLOB_KMALLOC_CACHE, c);
    expect(freeBlockAt(env, P + 64)).toEqual([SLOB_PAGE_UNITS - 32, SLOB_PAGE_UNITS]);
    // Free a: new first block, not adjacent to the next one.
    slob.free(SLOB_KMALLOC_CACHE, a);
    expect(freeBlockAt(env, P)).toEqual([16, 32]);
    expectHealthy(env);
    expect(slob.stats().slabsFreed).toBe(0);
    // Free b: the page becomes entirely free and goes straight back.
    slob.free(SLOB_KMALLOC_CACHE, b);
    expect(slob.stats()).toMatchObject({ slabsCreated: 1, slabsFreed: 1, pagesUnreclaimable: 0, allocs: 4, frees: 4 });
    expect(env.sys.machine.memmap.flags[pfnOf(P)]! & PG_SLAB).toBe(0);
    expect(env.sys.pages.stats().allocatedPages).toBe(pagesBefore);
    expectHealthy(env);
    expect(env.sys.checkInvariants()).toEqual([]);
  });

  it('adds new pages at the list head and rotates the list to the page that satisfied a request', () => {
    const env = mk();
    const { slob } = env;
    // 248-byte objects (124 units, small list): 16 per page, 64 units left over.
    const cache = slob.createCache({ name: 'obj248', size: 248, align: 0, flags: 0 }, false);
    const objs = Array.from({ length: 48 }, () => slob.alloc(cache, GFP_KERNEL));
    const [A, B, C] = [pageOf(objs[0]!), pageOf(objs[16]!), pageOf(objs[32]!)];
    for (let i = 0; i < 48; i++) expect(objs[i]).toBe([A, B, C][Math.floor(i / 16)]! + (i % 16) * 248);
    expect(new Set([A, B, C]).size).toBe(3);
    expectHealthy(env);
    // The list is [C, B, A]. Free a hole in B; the next object comes from B (C is too full).
    slob.free(cache, B + 3 * 248);
    expect(slob.alloc(cache, GFP_KERNEL)).toBe(B + 3 * 248);
    // list_rotate_to_front: [C, B, A] becomes [B, A, C] (not [B, C, A]).
    const k1 = slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 100); // 54 units: fits in B's 64-unit tail
    expect(k1).toBe(B + 3968 + 8);
    const k2 = slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 100); // B has 10 units left; the next page is A
    expect(k2).toBe(A + 3968 + 8);
    const k3 = slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 100); // list is now [A, C, B]: A is skipped, C serves
    expect(k3).toBe(C + 3968 + 8);
    expectHealthy(env);
  });

  it('puts a full page back on the list chosen by the freed block size', () => {
    const env = mk();
    const { slob } = env;
    const p1 = slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 2040); // 2048-byte blocks: large list, two fill a page
    const P = pageOf(p1);
    const p2 = slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 2040);
    expect(p2).toBe(P + 2048 + 8);
    const q = slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 2040); // P is full and off the list
    expect(pageOf(q)).not.toBe(P);
    const m = slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 500); // medium list: a page of its own
    expect([P, pageOf(q)]).not.toContain(pageOf(m));
    slob.free(SLOB_KMALLOC_CACHE, p1); // P rejoins the large list at its head
    expect(freeBlockAt(env, P)).toEqual([1024, SLOB_PAGE_UNITS]);
    expectHealthy(env);
    const m2 = slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 500); // medium requests never see P
    expect(pageOf(m2)).toBe(pageOf(m));
    expect(slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 2040)).toBe(p1);
    expectHealthy(env);
  });

  it('keeps the free-block encoding in the old header and zeroes with __GFP_ZERO', () => {
    const env = mk();
    const { slob, mem } = env;
    const keep = slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 24);
    const a = slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 100);
    mem.fill(a - PAGE_OFFSET, 100, 0xab);
    slob.free(SLOB_KMALLOC_CACHE, a);
    // The free-block encoding lives in the old header (merged with the tail); SLOB does not poison the rest.
    expect(freeBlockAt(env, a - 8)).toEqual([SLOB_PAGE_UNITS - 16, SLOB_PAGE_UNITS]);
    expect(mem.findNot(a - PAGE_OFFSET, 100, 0xab)).toBe(-1);
    const b = slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 100);
    expect(b).toBe(a);
    mem.fill(b - PAGE_OFFSET, 100, 0xab);
    slob.free(SLOB_KMALLOC_CACHE, b);
    const z = slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL | __GFP_ZERO, 100);
    expect(z).toBe(a);
    expect(mem.findNot(z - PAGE_OFFSET, 100, 0)).toBe(-1);
    expect(mem.read32(z - 8 - PAGE_OFFSET)).toBe(100);
    slob.free(SLOB_KMALLOC_CACHE, z);
    slob.free(SLOB_KMALLOC_CACHE, keep);
    expectHealthy(env);
  });

  it('serves kmem_cache objects: alignment, ctor on every allocation, RCU footer, large objects, counters', () => {
    const env = mk();
    const { slob } = env;
    const built: number[] = [];
    const c100 = slob.createCache({ name: 'c100', size: 100, align: 0, flags: 0, ctor: (o) => built.push(o) }, false);
    expect(slob.geometry(c100)).toMatchObject({ objectSize: 100, size: 100, align: 8, order: 0, usable: 100 });
    const o1 = slob.alloc(c100, GFP_KERNEL);
    const o2 = slob.alloc(c100, GFP_KERNEL);
    expect(o2 - o1).toBe(104); // 50 units, then the next 8-aligned start
    slob.free(c100, o1);
    const o3 = slob.alloc(c100, GFP_KERNEL);
    expect(o3).toBe(o1);
    expect(built).toEqual([o1, o2, o3]); // SLOB constructs on every allocation
    expect(slob.counters(c100)).toMatchObject({ inUse: 2, activeObjs: 2, numObjs: 2, pages: 1, numSlabs: 1, partialSlabs: 1 });
    expect(slob.cacheOf(o2 + 50)).toBe(c100);
    expect(slob.objectStart(o2 + 50)).toBe(o2);
    const rcu = slob.createCache({ name: 'rcu', size: 100, align: 0, flags: SLAB_TYPESAFE_BY_RCU }, false);
    expect(slob.geometry(rcu).size).toBe(124);
    const hw = slob.createCache({ name: 'hw20', size: 20, align: 0, flags: SLAB_HWCACHE_ALIGN }, false);
    expect(slob.geometry(hw).align).toBe(32);
    for (let i = 0; i < 5; i++) expect((slob.alloc(hw, GFP_KERNEL) - PAGE_OFFSET) % 32).toBe(0);
    const big = slob.createCache({ name: 'big5000', size: 5000, align: 0, flags: 0 }, false);
    expect(slob.geometry(big)).toMatchObject({ order: 1, objPerSlab: 1 });
    const g = slob.alloc(big, GFP_KERNEL);
    expect((g - PAGE_OFFSET) % PAGE_SIZE).toBe(0);
    expect(slob.cacheOf(g + 4500)).toBe(big);
    expect(slob.objectStart(g + 4500)).toBe(g);
    expect(slob.counters(big)).toMatchObject({ inUse: 1, pages: 2 });
    const k = slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 30);
    expect(slob.cacheOf(k)).toBe(SLOB_KMALLOC_CACHE);
    expect(slob.objectStart(k + 10)).toBe(k);
    expect(slob.cacheOf(PAGE_OFFSET)).toBe(-1);
    expectHealthy(env);
    expect(slob.destroyCache(big)).toBe(1);
    slob.free(big, g);
    expect(slob.destroyCache(big)).toBe(0);
    expect(isAllocatorError(thrown(() => slob.destroyCache(big)), 'misuse')).toBe(true);
    expect(slob.shrink(c100)).toBe(0);
    // A cache the front end flags as kmalloc is still a plain, header-less SLOB cache.
    const k64 = slob.createCache({ name: 'kmalloc-64', size: 64, align: 0, flags: 0 }, true);
    const o = slob.alloc(k64, GFP_KERNEL);
    expect(slob.cacheOf(o)).toBe(k64);
    expect(slob.objectStart(o + 63)).toBe(o);
    expectHealthy(env);
    slob.free(k64, o);
    expectHealthy(env);
    expect(env.sys.checkInvariants()).toEqual([]);
  });

  it('rejects misuse with precise errors and leaves the state unchanged', () => {
    const env = mk();
    const { slob, mem } = env;
    const foo = slob.createCache({ name: 'foo', size: 64, align: 0, flags: 0 }, false);
    const bar = slob.createCache({ name: 'bar', size: 64, align: 0, flags: 0 }, false);
    const a = slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 24);
    const b = slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 24);
    const f = slob.alloc(foo, GFP_KERNEL);
    const P = pageOf(a);
    slob.free(SLOB_KMALLOC_CACHE, a);
    const snapshot = () =>
      JSON.stringify({ s: slob.stats(), k: slob.counters(SLOB_KMALLOC_CACHE), f: slob.counters(foo), bytes: Array.from(mem.readBytes(P - PAGE_OFFSET, PAGE_SIZE)) });
    const before = snapshot();
    const expectErr = (fn: () => unknown, kind: string, text?: string) => {
      const e = thrown(fn);
      expect(isAllocatorError(e)).toBe(true);
      expect((e as { kind: string }).kind).toBe(kind);
      if (text !== undefined) expect((e as Error).message).toBe(text);
      expect(snapshot()).toBe(before);
      expectHealthy(env);
    };
    const hex = kptr;
    expectErr(() => slob.free(SLOB_KMALLOC_CACHE, a), 'double-free', `slob.kfree: ${hex(a)} is already free (double free)`);
    expectErr(() => slob.free(SLOB_KMALLOC_CACHE, b + 2), 'invalid-free');
    expectErr(() => slob.free(SLOB_KMALLOC_CACHE, f), 'invalid-free', `slob.kfree: ${hex(f)} is not a kmalloc block`);
    expectErr(() => slob.free(foo, b), 'invalid-free', `slob.free: ${hex(b)} is not an object of cache foo`);
    expectErr(() => slob.free(bar, f), 'invalid-free', `slob.free: ${hex(f)} is not an object of cache bar`);
    expectErr(() => slob.free(foo, f + 8), 'invalid-free');
    expectErr(() => slob.free(99, f), 'misuse');
    expectErr(() => slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL), 'misuse');
    expectErr(() => slob.free(SLOB_KMALLOC_CACHE, PAGE_OFFSET + 0x1000), 'invalid-free');
    expectErr(() => slob.ksize(SLOB_KMALLOC_CACHE, f), 'invalid-free');
    expectErr(() => slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 0), 'misuse');
    expectErr(() => slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 4088), 'misuse');
    // A freed object: double free of a cache object.
    slob.free(foo, f);
    expect(isAllocatorError(thrown(() => slob.free(foo, f)), 'double-free')).toBe(true);
    // A clobbered header is caught by the invariants and refused by kfree.
    mem.write32(b - 8 - PAGE_OFFSET, 4000);
    expect(slob.checkInvariants().map((v) => v.code)).toContain('S10');
    expect(isAllocatorError(thrown(() => slob.free(SLOB_KMALLOC_CACHE, b)), 'invalid-free')).toBe(true);
    mem.write32(b - 8 - PAGE_OFFSET, 24);
    slob.free(SLOB_KMALLOC_CACHE, b);
    expectHealthy(env);
    expect(slob.stats().pagesUnreclaimable).toBe(0);
  });

  it('returns 0 when the page allocator is exhausted and stays healthy', () => {
    const env = mk();
    const { slob } = env;
    const keep = slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 24);
    const fill = slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 4087 - 40); // a second page, nearly full
    const grabbed: Pfn[] = [];
    for (let p = env.sys.pages.allocPages(0, GFP_KERNEL | __GFP_NOWARN); p !== NO_PFN; p = env.sys.pages.allocPages(0, GFP_KERNEL | __GFP_NOWARN)) grabbed.push(p);
    const before = JSON.stringify(slob.stats());
    expect(slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL | __GFP_NOWARN, 3000)).toBe(0);
    const c = slob.createCache({ name: 'big', size: 5000, align: 0, flags: 0 }, false);
    expect(slob.alloc(c, GFP_KERNEL | __GFP_NOWARN)).toBe(0);
    expect(JSON.stringify(slob.stats())).toBe(before.replace(/"pageAllocatorCalls":(\d+)/, (_, n: string) => `"pageAllocatorCalls":${Number(n) + 2}`));
    expectHealthy(env);
    // Small requests still fit in the pages SLOB holds.
    expect(slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 16)).not.toBe(0);
    for (const p of grabbed) env.sys.pages.freePages(p, 0);
    slob.free(SLOB_KMALLOC_CACHE, fill);
    slob.free(SLOB_KMALLOC_CACHE, keep);
    expectHealthy(env);
  });

  it('reports a corrupted in-memory free list instead of hanging', () => {
    const env = mk();
    const { slob, mem } = env;
    const a = slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 24);
    const b = slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 24);
    const c = slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, 24);
    slob.free(SLOB_KMALLOC_CACHE, a);
    slob.free(SLOB_KMALLOC_CACHE, c); // free blocks: [0, 16) -> [32, 2048)
    const P = pageOf(a);
    const link = P + 2 - PAGE_OFFSET; // units[1] of the first free block
    expect(mem.read16(link)).toBe(32);
    for (const bad of [0, 16, 8, 4000]) {
      mem.write16(link, bad);
      const v = slob.checkInvariants();
      expect(v.length).toBeGreaterThan(0);
      expect(v.every((x) => x.code === 'S10')).toBe(true);
    }
    mem.write16(link, 32);
    mem.write16(P + 64 - PAGE_OFFSET, 100); // size of the tail block
    expect(slob.checkInvariants().map((x) => x.message).join('\n')).toMatch(/free blocks hold 116 units/);
    mem.write16(P + 64 - PAGE_OFFSET, SLOB_PAGE_UNITS - 32);
    expectHealthy(env);
    slob.free(SLOB_KMALLOC_CACHE, b);
    expectHealthy(env);
  });

  it('survives a seeded random alloc/free stress with healthy invariants after every step', () => {
    const seed = 20230601;
    const env = mk();
    const { slob, mem } = env;
    const rng = new Rng(seed);
    const pagesBefore = env.sys.pages.stats().allocatedPages;
    const caches = [
      slob.createCache({ name: 's24', size: 24, align: 0, flags: 0 }, false),
      slob.createCache({ name: 's200', size: 200, align: 0, flags: 0, ctor: (o) => mem.fill(o - PAGE_OFFSET, 200, 0x5a) }, false),
      slob.createCache({ name: 's700a64', size: 700, align: 64, flags: 0 }, false),
      slob.createCache({ name: 's1500rcu', size: 1500, align: 0, flags: SLAB_TYPESAFE_BY_RCU }, false),
      slob.createCache({ name: 'big5000', size: 5000, align: 0, flags: 0 }, false),
    ];
    const sizes = [24, 200, 700, 1524, 5000];
    const held: { addr: number; size: number; cache: number; tag: number }[] = [];
    for (let step = 0; step < 3000; step++) {
      const r = rng.float();
      const ctx = `seed ${seed} step ${step}`;
      if (r < 0.4) {
        const band = rng.weighted([6, 3, 1]);
        const size = band === 0 ? 1 + rng.int(64) : band === 1 ? 65 + rng.int(448) : 513 + rng.int(4087 - 512);
        const p = slob.alloc(SLOB_KMALLOC_CACHE, GFP_KERNEL, size);
        expect(p).not.toBe(0);
        if ((size & (size - 1)) === 0) expect(`${ctx}: ${(p - PAGE_OFFSET) % Math.max(8, size)}`).toBe(`${ctx}: 0`);
        const tag = 1 + (step % 255);
        mem.fill(p - PAGE_OFFSET, size, tag);
        held.push({ addr: p, size, cache: -1, tag });
      } else if (r < 0.6) {
        const i = rng.int(caches.length);
        const p = slob.alloc(caches[i]!, GFP_KERNEL);
        expect(p).not.toBe(0);
        if (i === 1) expect(mem.findNot(p - PAGE_OFFSET, 200, 0x5a)).toBe(-1);
        const tag = 1 + (step % 255);
        mem.fill(p - PAGE_OFFSET, sizes[i]!, tag);
        held.push({ addr: p, size: sizes[i]!, cache: caches[i]!, tag });
      } else if (held.length) {
        const j = rng.int(held.length);
        const h = held[j]!;
        held[j] = held[held.length - 1]!;
        held.pop();
        // Nobody else wrote into the block while it was live.
        expect(`${ctx}: ${mem.findNot(h.addr - PAGE_OFFSET, h.size, h.tag)}`).toBe(`${ctx}: -1`);
        if (h.cache < 0) slob.free(SLOB_KMALLOC_CACHE, h.addr);
        else slob.free(h.cache, h.addr);
      }
      const v = slob.checkInvariants();
      if (v.length) throw new Error(`${ctx}\n${formatViolations(v)}`);
      if (step % 500 === 499) expect(env.sys.checkInvariants()).toEqual([]);
    }
    for (const h of held) {
      expect(mem.findNot(h.addr - PAGE_OFFSET, h.size, h.tag)).toBe(-1);
      if (h.cache < 0) slob.free(SLOB_KMALLOC_CACHE, h.addr);
      else slob.free(h.cache, h.addr);
    }
    expectHealthy(env);
    const s = slob.stats();
    expect(s.slabsCreated).toBe(s.slabsFreed);
    expect(s.slabsCreated).toBeGreaterThan(0);
    expect(s.pagesUnreclaimable).toBe(0);
    expect(s.fastAllocs + s.fastFrees).toBe(0);
    expect(env.sys.pages.stats().allocatedPages).toBe(pagesBefore);
    for (const c of caches) expect(slob.destroyCache(c)).toBe(0);
    expect(env.sys.checkInvariants()).toEqual([]);
  });
});
