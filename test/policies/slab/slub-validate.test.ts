/** SLUB's validate walk: freelist and count problems are reported in SLUB's words and repaired; a healthy cache reports nothing. */
import { describe, expect, it } from '@jest/globals';
import { GFP_KERNEL } from '../../../src/interfaces/gfp.js';
import { PAGE_OFFSET } from '../../../src/interfaces/units.js';
import { isAllocatorError } from '../../../src/interfaces/errors.js';
import { createSystem, type System } from '../../../src/system.js';

function setup(slubDebug?: string): { sys: System; c: number; objs: number[]; per: number } {
  const sys = createSystem({ machine: { memBytes: 64 << 20, kernelImageBytes: 4 << 20, cpus: 2 }, ...(slubDebug !== undefined ? { debug: { slubDebug } } : {}) });
  sys.machine.ctx.setCpu(0);
  const c = sys.kmem.kmemCacheCreate('vcache', 64, 0, 0);
  const per = sys.kmem.caches().find((x) => x.handle === c)!.geometry.objPerSlab;
  const objs: number[] = [];
  for (let i = 0; i < 3 * per; i++) objs.push(sys.kmem.kmemCacheAlloc(c, GFP_KERNEL));
  for (let i = 0; i < 3 * per; i += 3) sys.kmem.kmemCacheFree(c, objs[i]!);
  return { sys, c, objs, per };
}

describe('SLUB validate', () => {
  it.each([undefined, 'FZPU'])('reports nothing on a healthy cache (slub_debug=%s), and keeps the invariants', (dbg) => {
    const { sys, c } = setup(dbg);
    expect(sys.kmem.kmemCacheValidate(c)).toBe(0);
    expect(sys.machine.reports.list()).toEqual([]);
    expect(sys.slab.checkInvariants()).toEqual([]);
  });

  it('finds a corrupt link as Freechain corrupt and cuts the chain there', () => {
    const { sys, c, objs } = setup();
    // objs[0] was freed first: it is the tail of its slab's free list.
    sys.machine.mem.fill(objs[0]! - PAGE_OFFSET, 64, 0x41);
    expect(sys.kmem.kmemCacheValidate(c)).toBe(1);
    const [r] = sys.machine.reports.list();
    expect(r!.kind).toBe('Freechain corrupt');
    expect(r!.text).toContain(`@offset=0 fp=0x4141414141414141`);
    sys.machine.reports.clear();
    expect(sys.kmem.kmemCacheValidate(c)).toBe(0);
    expect(sys.slab.checkInvariants()).toEqual([]);
  });

  it('cuts the chain at a corrupt head object; the objects behind it are lost and the count is adjusted', () => {
    const { sys, c, objs, per } = setup();
    // The first slab's free list starts at its last freed object (frees push at the head).
    const freed: number[] = [];
    for (let i = 0; i < per; i += 3) freed.push(objs[i]!);
    const head = freed[freed.length - 1]!;
    sys.machine.mem.fill(head - PAGE_OFFSET, 64, 0x41);
    expect(sys.kmem.kmemCacheValidate(c)).toBe(2);
    const [chain, count] = sys.machine.reports.list();
    expect(chain!.kind).toBe('Freechain corrupt');
    expect(chain!.text).toContain(`Object 0xffff${head.toString(16)} @offset=${head - objs[0]!} fp=0x4141414141414141`);
    expect(count!.kind).toBe('Wrong object count');
    expect(count!.text).toContain(`BUG vcache (Not tainted): Wrong object count. Counter is ${per - freed.length} but counted were ${per - 1}`);
    expect(count!.text).toContain('FIX vcache: Object count adjusted');
    sys.machine.reports.clear();
    expect(sys.kmem.kmemCacheValidate(c)).toBe(0);
  });

  it('with slub_debug=P, finds a write into a free object as Poison overwritten', () => {
    const { sys, c, objs } = setup('P');
    sys.machine.mem.write8(objs[3]! - PAGE_OFFSET + 5, 0x00);
    expect(sys.kmem.kmemCacheValidate(c)).toBe(1);
    expect(sys.machine.reports.list()[0]!.kind).toBe('Poison overwritten');
  });

  it('is refused under SLAB and SLOB, as Linux has no validate there', () => {
    for (const slab of ['slab', 'slob']) {
      const sys = createSystem({ machine: { memBytes: 64 << 20, kernelImageBytes: 4 << 20 }, policies: { slab } });
      const c = sys.kmem.kmemCacheCreate('x', 64, 0, 0);
      let err: unknown;
      try {
        sys.kmem.kmemCacheValidate(c);
      } catch (e) {
        err = e;
      }
      expect(isAllocatorError(err) && err.kind === 'misuse' && /no validate/.test(err.message)).toBe(true);
    }
  });
});
