/**
 * Wiring: every combination of the named policies (page × slab × malloc ×
 * vmap) builds and runs a short workload through every layer with every
 * invariant intact; and a user-written class binds at each of the seven
 * layer tokens with no other change, and passes that layer's contract
 * suite and fuzz campaign.
 */
import { beforeEach, describe, expect, it } from '@jest/globals';
import { GFP_KERNEL, __GFP_NOWARN } from '../src/interfaces/gfp.js';
import { builtinPolicyNames, policyEntry, policyNames } from '../src/policies/registry.js';
import { createSystem, type System, type SystemOverrides } from '../src/system.js';
import { Rng } from '../src/machine/rng.js';
import { pageContract } from '../src/testing/contracts/page.js';
import { slabContract } from '../src/testing/contracts/slab.js';
import { devContract } from '../src/testing/contracts/dev.js';
import { vmallocContract } from '../src/testing/contracts/vmalloc.js';
import { vmapContract } from '../src/testing/contracts/vmap.js';
import { userMallocContract } from '../src/testing/contracts/user.js';
import { BuddyAllocator } from '../src/policies/page/buddy.js';
import { SlobBackend } from '../src/policies/slab/slob.js';
import { ClassicSlabBackend } from '../src/policies/slab/slab.js';
import { SlabCommon } from '../src/policies/slab/slab-common.js';
import { DevKmalloc } from '../src/policies/devres/dev-kmalloc.js';
import { Vmalloc } from '../src/policies/vmalloc/vmalloc.js';
import { VmapListSpace } from '../src/policies/vmalloc/vmap-list.js';
import { SegregatedFit } from '../src/policies/user/segregated.js';
import { DelegatingDev, DelegatingKmem, DelegatingMalloc, DelegatingPages, DelegatingSlab, DelegatingVmalloc, DelegatingVmap, delegateCalls } from './support/delegates.js';

const SMALL = { memBytes: 48 << 20, kernelImageBytes: 2 << 20, cpus: 2 };

/** A short seeded workload through every layer; returns what it did. */
function workload(sys: System, seed: number): { pages: number; objects: number; areas: number; blocks: number } {
  const rng = new Rng(seed);
  const pages: [number, number][] = [];
  const objs: number[] = [];
  const cache = sys.kmem.kmemCacheCreate('wiring_obj', 72);
  const cached: number[] = [];
  const dev = sys.dev.registerDevice('wiring0');
  const devPtrs: number[] = [];
  const areas: number[] = [];
  const { mm, libc } = sys.spawn('wiring');
  const blocks: number[] = [];
  for (let i = 0; i < 300; i++) {
    const r = rng.int(8);
    if (r === 0) {
      const order = rng.int(4);
      const pfn = sys.pages.allocPages(order, GFP_KERNEL | __GFP_NOWARN);
      if (pfn >= 0) pages.push([pfn, order]);
    } else if (r === 1) {
      const p = sys.kmem.kmalloc(1 + rng.int(3000), GFP_KERNEL);
      if (p) objs.push(p);
    } else if (r === 2) {
      const o = sys.kmem.kmemCacheAlloc(cache, GFP_KERNEL);
      if (o) cached.push(o);
    } else if (r === 3) {
      const p = sys.dev.devKmalloc(dev, 1 + rng.int(500), GFP_KERNEL);
      if (p) devPtrs.push(p);
    } else if (r === 4) {
      const a = sys.vmalloc.vmalloc((1 + rng.int(8)) * 4096);
      if (a) areas.push(a);
    } else if (r === 5) {
      const b = libc.malloc(1 + rng.int(5000));
      if (b) {
        mm.write8(b, 0x5a);
        blocks.push(b);
      }
    } else {
      // Free something at random.
      const lists = [pages, objs, cached, devPtrs, areas, blocks] as const;
      const which = rng.int(lists.length);
      const list = lists[which] as unknown[];
      if (list.length) {
        const [x] = list.splice(rng.int(list.length), 1);
        if (which === 0) sys.pages.freePages((x as [number, number])[0] as never, (x as [number, number])[1]);
        else if (which === 1) sys.kmem.kfree(x as number);
        else if (which === 2) sys.kmem.kmemCacheFree(cache, x as number);
        else if (which === 3) sys.dev.devKfree(x as number);
        else if (which === 4) sys.vmalloc.vfree(x as number);
        else {
          expect(mm.read8(x as number)).toBe(0x5a);
          libc.free(x as number);
        }
      }
    }
  }
  return { pages: pages.length, objects: objs.length + cached.length + devPtrs.length, areas: areas.length, blocks: blocks.length };
}

const combos = policyNames('page').flatMap((page) =>
  policyNames('slab').flatMap((slab) => policyNames('malloc').flatMap((malloc) => policyNames('vmap').map((vmap) => [page, slab, malloc, vmap] as const))),
);

describe('every combination of named policies wires and runs', () => {
  it('covers page × slab × malloc × vmap', () => {
    expect(combos.length).toBe(policyNames('page').length * policyNames('slab').length * policyNames('malloc').length * policyNames('vmap').length);
  });

  it.each(combos)('page=%s slab=%s malloc=%s vmap=%s', (page, slab, malloc, vmap) => {
    const sys = createSystem({ machine: SMALL, policies: { page, slab, malloc, vmap } });
    expect(sys.pages.policy).toBe(page);
    expect(sys.slab.policy).toBe(slab);
    expect(sys.kmem.policy).toBe(slab);
    expect(sys.vmalloc.space.policy).toBe(vmap);
    const did = workload(sys, 7);
    expect(did.pages + did.objects + did.areas + did.blocks).toBeGreaterThan(0);
    expect(sys.spawn().libc.name).toBe(malloc);
    expect(sys.checkInvariants()).toEqual([]);
  });

  it.each(builtinPolicyNames('slab'))("slab=%s: the registry's procSlabinfo is the backend's hasSlabinfo", (slab) => {
    const entry = policyEntry('slab', slab);
    expect(typeof entry?.procSlabinfo).toBe('boolean');
    expect(createSystem({ machine: SMALL, policies: { slab } }).slab.hasSlabinfo).toBe(entry?.procSlabinfo);
  });
});

describe('a user-written class binds at each layer token with no other edit', () => {
  beforeEach(() => {
    for (const k of Object.keys(delegateCalls)) delete delegateCalls[k];
  });

  const tokens: [keyof SystemOverrides, SystemOverrides, (sys: System) => unknown][] = [
    ['page', { page: DelegatingPages }, (sys) => sys.pages],
    ['slab', { slab: DelegatingSlab }, (sys) => sys.slab],
    ['kmem', { kmem: DelegatingKmem }, (sys) => sys.kmem],
    ['dev', { dev: DelegatingDev }, (sys) => sys.dev],
    ['vmalloc', { vmalloc: DelegatingVmalloc }, (sys) => sys.vmalloc],
    ['vmap', { vmap: DelegatingVmap }, (sys) => sys.vmalloc.space],
    ['malloc', { malloc: DelegatingMalloc }, (sys) => sys.spawn().libc],
  ];

  it.each(tokens)('%s', (layer, overrides, bound) => {
    const sys = createSystem({ machine: SMALL }, overrides);
    const cls = Object.values(overrides)[0] as new (...args: never[]) => unknown;
    expect(bound(sys)).toBeInstanceOf(cls);
    workload(sys, 11);
    expect(delegateCalls[layer]).toBeGreaterThan(0);
    expect(sys.checkInvariants()).toEqual([]);
  });
});

describe("each layer's contract suite and fuzz campaign run unchanged on the user-written classes", () => {
  pageContract({ label: 'user class at PAGE_ALLOCATOR', overrides: { page: DelegatingPages } }, { describe, it });
  slabContract({ label: 'user class at SLAB_BACKEND', overrides: { slab: DelegatingSlab } }, { describe, it });
  slabContract({ label: 'user class at KMEM', overrides: { kmem: DelegatingKmem } }, { describe, it });
  devContract({ label: 'user class at DEV_KMALLOC', overrides: { dev: DelegatingDev } }, { describe, it });
  vmallocContract({ label: 'user class at VMALLOC', overrides: { vmalloc: DelegatingVmalloc } }, { describe, it });
  vmapContract({ label: 'user class at VMAP_SPACE', overrides: { vmap: DelegatingVmap } }, { describe, it });
  userMallocContract({ label: 'user class at USER_MALLOC', overrides: { malloc: DelegatingMalloc } }, { describe, it });
});

describe('a class without decorators (plain JavaScript, a plug-in file) binds by its layer constructor convention', () => {
  // Subclasses of the built-ins with no decorators of their own: the convention must match the built-in constructors.
  class PlainBuddy extends BuddyAllocator {}
  class PlainSlob extends SlobBackend {}
  class PlainSlab extends ClassicSlabBackend {}
  class PlainKmem extends SlabCommon {}
  class PlainDev extends DevKmalloc {}
  class PlainVmalloc extends Vmalloc {}
  class PlainVmap extends VmapListSpace {}
  class PlainMalloc extends SegregatedFit {}
  it.each([
    ['page', { page: PlainBuddy }],
    ['slab (SLOB)', { slab: PlainSlob }],
    ['slab (SLAB)', { slab: PlainSlab }],
    ['kmem', { kmem: PlainKmem }],
    ['dev', { dev: PlainDev }],
    ['vmalloc', { vmalloc: PlainVmalloc }],
    ['vmap', { vmap: PlainVmap }],
    ['malloc', { malloc: PlainMalloc }],
  ] as [string, SystemOverrides][])('%s', (_layer, overrides) => {
    const sys = createSystem({ machine: SMALL, debug: { kasan: false } }, overrides);
    workload(sys, 5);
    expect(sys.checkInvariants()).toEqual([]);
    const cls = Object.values(overrides)[0] as new (...args: never[]) => unknown;
    const bound = [sys.pages, sys.slab, sys.kmem, sys.dev, sys.vmalloc, sys.vmalloc.space, sys.spawn().libc];
    expect(bound.some((b) => b instanceof cls)).toBe(true);
  });
});
