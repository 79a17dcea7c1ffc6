/**
 * The SLUB-with-sheaves plug-in: the slab and dev_kmalloc contracts and the
 * slab fuzz campaign on the class as the loader would bind it, the sheaf
 * paths one by one, and a planted bug the fuzz must catch.
 */
import { describe, expect, it } from '@jest/globals';
import { GFP_ATOMIC, GFP_KERNEL, PAGE_OFFSET, Rng, SLAB_RED_ZONE, __GFP_NOWARN, createSystem, type SlubCache, type System } from 'allocsim';
import { FUZZ_CAMPAIGNS } from 'allocsim';
import { devContract, fuzzSlab, slabContract } from 'allocsim/testing';
import SheavesSlubBackend, { SHEAF_HEADER_SIZE, Sheaves618SlubBackend } from './sheaves.js';

/** Sheaves of 4 objects: barns fill up and exchanges happen after a handful of operations. */
class SmallSheaves extends SheavesSlubBackend {
  protected override sheafCapacityFor(): number {
    return 4;
  }
}

/** Counts free-pointer reads and writes: SLUB touching a slab object's memory. */
class CountingSheaves extends SmallSheaves {
  touches = 0;
  protected override getFreePointer(c: SlubCache, obj: number): number {
    this.touches++;
    return super.getFreePointer(c, obj);
  }
  protected override setFreePointer(c: SlubCache, obj: number, next: number): void {
    this.touches++;
    super.setFreePointer(c, obj, next);
  }
}

/** The planted bug: a sheaf pop hands the object out but forgets to decrement the size. */
class PopKeepsSize extends SheavesSlubBackend {
  protected override sheafPop(s: number): number {
    const obj = super.sheafPop(s);
    this.sheafPush(s, obj);
    return obj;
  }
}

const mk = (cls: typeof SheavesSlubBackend = SheavesSlubBackend, machine: object = {}): { sys: System; be: SheavesSlubBackend } => {
  const sys = createSystem({ machine: { memBytes: 64 << 20, kernelImageBytes: 4 << 20, cpus: 2, ...machine } }, { slab: cls });
  return { sys, be: sys.slab as SheavesSlubBackend };
};

slabContract({ label: 'slub-sheaves plug-in', overrides: { slab: SheavesSlubBackend } }, { describe, it });
devContract({ label: 'dev_kmalloc over the slub-sheaves plug-in', overrides: { slab: SheavesSlubBackend } }, { describe, it });

describe('slub-sheaves fuzz', () => {
  it('keeps every invariant with sheaves of 4 objects (barn exchanges, E2BIG flushes, CPU switches)', () => {
    fuzzSlab({ label: 'slub-sheaves with sheaves of 4', overrides: { slab: SmallSheaves } }, { seed: 7, numRuns: 25, maxCommands: 80 });
  });

  it('catches a sheaf that forgets to decrement its size', () => {
    const r = FUZZ_CAMPAIGNS.slab.run({ config: FUZZ_CAMPAIGNS.slab.machine, overrides: { slab: PopKeepsSize } }, { seed: 1, numRuns: 20, maxCommands: 100 });
    expect(r.ok).toBe(false);
    expect(r.codes?.some((c) => ['SH1', 'S3', 'X1', 'SH5'].includes(c))).toBe(true);
  });
});

describe('slub-sheaves paths', () => {
  it('serves a free then an alloc on the same CPU from the main sheaf, touching no slab', () => {
    const { sys, be } = mk(CountingSheaves);
    const h = sys.kmem.kmemCacheCreate('obj', 100);
    const warm = sys.kmem.kmemCacheAlloc(h, GFP_KERNEL); // refills the main sheaf from the slabs
    const counting = be as CountingSheaves;
    const before = { touches: counting.touches, pages: sys.slab.stats().pageAllocatorCalls, st: be.sheafStats('obj') };
    sys.kmem.kmemCacheFree(h, warm);
    expect(sys.kmem.kmemCacheAlloc(h, GFP_KERNEL)).toBe(warm);
    expect(counting.touches).toBe(before.touches);
    expect(sys.slab.stats().pageAllocatorCalls).toBe(before.pages);
    const st = be.sheafStats('obj');
    expect(st.freeMainHits - before.st.freeMainHits).toBe(1);
    expect(st.allocMainHits - before.st.allocMainHits).toBe(1);
    expect(st.sheafRefill).toBe(before.st.sheafRefill);
    expect(sys.checkInvariants()).toEqual([]);
  });

  it('exchanges a full main sheaf with the barn, and another CPU takes it from there without a refill', () => {
    const { sys, be } = mk(SmallSheaves);
    const h = sys.kmem.kmemCacheCreate('obj', 64);
    const objs = Array.from({ length: 12 }, () => sys.kmem.kmemCacheAlloc(h, GFP_KERNEL));
    for (const o of objs) sys.kmem.kmemCacheFree(h, o);
    let st = be.sheafState('obj')!;
    expect(st).toMatchObject({ capacity: 4, main: [4, 0], spare: [4, null], barnFull: [1], barnEmpty: [0] });
    expect(be.sheafStats('obj').barnPut).toBe(1);
    sys.machine.ctx.setCpu(1);
    const refills = be.sheafStats('obj').sheafRefill;
    const got = Array.from({ length: 4 }, () => sys.kmem.kmemCacheAlloc(h, GFP_KERNEL));
    expect(be.sheafStats('obj')).toMatchObject({ barnGet: 1, sheafRefill: refills });
    for (const g of got) expect(objs).toContain(g);
    st = be.sheafState('obj')!;
    expect(st).toMatchObject({ main: [4, 0], barnFull: [0], barnEmpty: [1] });
    expect(sys.checkInvariants()).toEqual([]);
  });

  it('stops at MAX_FULL_SHEAVES: with 10 full sheaves in the barn the full spare goes to the slabs (E2BIG)', () => {
    const { sys, be } = mk(SmallSheaves);
    const h = sys.kmem.kmemCacheCreate('obj', 64);
    const objs = Array.from({ length: 60 }, () => sys.kmem.kmemCacheAlloc(h, GFP_KERNEL));
    for (const o of objs) sys.kmem.kmemCacheFree(h, o);
    expect(be.sheafState('obj')).toMatchObject({ main: [4, 0], spare: [4, null], barnFull: [10] });
    const st = be.sheafStats('obj');
    expect(st.barnPutFail).toBe(3);
    expect(st.sheafFlush).toBe(12); // three full spares, 4 objects each
    expect(sys.checkInvariants()).toEqual([]);
  });

  it('stays consistent when direct reclaim inside a refill shrinks the very cache being refilled', () => {
    const { sys } = mk(SmallSheaves, { memBytes: 24 << 20, kernelImageBytes: 1 << 20, cpus: 4 });
    const rng = new Rng(3);
    const caches = [24, 300, 1500, 5000].map((size, i) => sys.kmem.kmemCacheCreate(`c${i}`, size));
    const live: [number, number][] = [];
    let failed = 0;
    for (let i = 0; i < 30000; i++) {
      if ((i & 63) === 0) sys.machine.ctx.setCpu(rng.int(4));
      if (live.length && rng.chance(i < 20000 ? 0.1 : 0.6)) {
        const k = rng.int(live.length);
        const [h, o] = live[k]!;
        live[k] = live[live.length - 1]!;
        live.pop();
        sys.kmem.kmemCacheFree(h, o);
      } else {
        const h = caches[rng.int(caches.length)]!;
        const o = sys.kmem.kmemCacheAlloc(h, (rng.chance(0.1) ? GFP_ATOMIC : GFP_KERNEL) | __GFP_NOWARN);
        if (o) live.push([h, o]);
        else failed++;
      }
      if (i % 5000 === 0) expect(sys.checkInvariants()).toEqual([]);
    }
    expect(failed).toBeGreaterThan(0);
    for (const [h, o] of live) sys.kmem.kmemCacheFree(h, o);
    for (const h of caches) expect(sys.kmem.kmemCacheDestroy(h)).toBe(0);
    expect(sys.checkInvariants()).toEqual([]);
  });

  it('sees the planted bug in the invariants too: a popped object still in its sheaf', () => {
    const { sys } = mk(PopKeepsSize);
    const h = sys.kmem.kmemCacheCreate('obj', 64);
    sys.kmem.kmemCacheAlloc(h, GFP_KERNEL);
    const codes = sys.checkInvariants().map((v) => v.code);
    expect(codes).toContain('SH1');
    expect(codes).toContain('S3');
  });

  it('sends a free of another node\'s object to its slab, not to the sheaves', () => {
    const { sys, be } = mk(SmallSheaves, { memBytes: 128 << 20, nodes: 2 });
    const h = sys.kmem.kmemCacheCreate('obj', 64);
    sys.machine.ctx.setCpu(0);
    const o = sys.kmem.kmemCacheAlloc(h, GFP_KERNEL);
    sys.machine.ctx.setCpu(1);
    sys.kmem.kmemCacheFree(h, o);
    expect(be.sheafStats('obj')).toMatchObject({ freeRemote: 1, freeCpuSheaf: 0 });
    expect(be.sheafState('obj')!.main[1]).toBe(0);
    expect(sys.checkInvariants()).toEqual([]);
  });

  it('falls back to the slabs when GFP_ATOMIC finds the sheaves empty and the barn has no full sheaf', () => {
    const { sys, be } = mk();
    const h = sys.kmem.kmemCacheCreate('obj', 64);
    const o = sys.kmem.kmemCacheAlloc(h, GFP_ATOMIC);
    expect(o).not.toBe(0);
    expect(be.sheafStats('obj')).toMatchObject({ allocFallback: 1, barnGetFail: 1, allocCpuSheaf: 0, sheafRefill: 0 });
    expect(sys.checkInvariants()).toEqual([]);
  });

  it('shrink flushes every CPU\'s sheaves and the barns back to the slabs, which are then freed', () => {
    const { sys, be } = mk(SmallSheaves);
    const h = sys.kmem.kmemCacheCreate('obj', 64);
    for (const cpu of [0, 1]) {
      sys.machine.ctx.setCpu(cpu);
      const objs = Array.from({ length: 30 }, () => sys.kmem.kmemCacheAlloc(h, GFP_KERNEL));
      for (const o of objs) sys.kmem.kmemCacheFree(h, o);
    }
    expect(be.sheafState('obj')!.barnFull[0]).toBeGreaterThan(0);
    const freed = sys.kmem.kmemCacheShrink(h);
    expect(freed).toBeGreaterThan(0);
    expect(be.sheafState('obj')).toMatchObject({ main: [0, 0], spare: [null, null], barnFull: [0], barnEmpty: [0] });
    expect(sys.kmem.caches().find((c) => c.name === 'obj')!.counters.numSlabs).toBe(0);
    expect(be.sheafStats('obj').sheafFlush).toBe(be.sheafStats('obj').sheafRefill);
    expect(sys.checkInvariants()).toEqual([]);
  });

  it('keeps objects[] in the sheaf\'s kmalloc object: a stray write there is an SH1 violation', () => {
    const { sys, be } = mk();
    const h = sys.kmem.kmemCacheCreate('obj', 64);
    sys.kmem.kmemCacheFree(h, sys.kmem.kmemCacheAlloc(h, GFP_KERNEL));
    const at = be.sheafState('obj')!.mainAt[0]!;
    expect(sys.kmem.caches().find((c) => c.name === 'kmalloc-512')!.counters.inUse).toBeGreaterThanOrEqual(2);
    sys.machine.mem.write64(at - PAGE_OFFSET + SHEAF_HEADER_SIZE, PAGE_OFFSET + 0x1234);
    expect(sys.checkInvariants().map((v) => v.code)).toContain('SH1');
  });

  it('gives sheaves to non-kmalloc caches without debug flags only, and frees them on destroy', () => {
    const { sys, be } = mk();
    const in512 = (): number => sys.kmem.caches().find((c) => c.name === 'kmalloc-512')!.counters.inUse;
    const base = in512();
    const h = sys.kmem.kmemCacheCreate('small', 24);
    sys.kmem.kmemCacheCreate('debugged', 24, 0, SLAB_RED_ZONE);
    expect(be.sheafCapacity('small')).toBe(60);
    expect(be.sheafCapacity('debugged')).toBe(0);
    expect(be.sheafCapacity('kmalloc-64')).toBe(0);
    expect(in512()).toBe(base + 2); // one 512-byte main sheaf per CPU
    expect(sys.kmem.kmemCacheDestroy(h)).toBe(0);
    expect(in512()).toBe(base);
    expect(sys.checkInvariants()).toEqual([]);
  });

  it('keeps caches that ask for sheaves out of merging, both ways; others merge as under SLUB', () => {
    const { sys, be } = mk(Sheaves618SlubBackend);
    const early = sys.kmem.kmemCacheCreate('early_256', 256);
    const maple = sys.kmem.kmemCacheCreate('maple_node', 256, 256);
    expect(maple).not.toBe(early);
    expect(be.sheafCapacity('maple_node')).toBe(32);
    expect(sys.kmem.kmemCacheCreate('late_256', 256)).toBe(early);
    const d = mk();
    expect(d.sys.kmem.kmemCacheCreate('b', 116)).not.toBe(d.sys.kmem.kmemCacheCreate('a', 120));
  });

  it('6.18 flavour: only vm_area_struct and maple_node get sheaves (32 objects, kmalloc-512 each)', () => {
    const { sys, be } = mk(Sheaves618SlubBackend);
    for (const [name, size] of [['vm_area_struct', 176], ['maple_node', 256], ['dentry', 192]] as const) sys.kmem.kmemCacheCreate(name, size, name === 'maple_node' ? 256 : 0);
    expect(be.policy).toBe('slub-sheaves-6.18');
    expect([be.sheafCapacity('vm_area_struct'), be.sheafCapacity('maple_node'), be.sheafCapacity('dentry')]).toEqual([32, 32, 0]);
    expect(sys.checkInvariants()).toEqual([]);
  });
});
