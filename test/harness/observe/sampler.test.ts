/** The time-series sampler and the physical memory map. */
import { describe, expect, it } from '@jest/globals';
import { createSystem } from '../../../src/system.js';
import { runPageWorkload } from '../../../src/harness/workloads/page.js';
import { liveRequestedBytes, runSlabWorkload, type LiveSet } from '../../../src/harness/workloads/slab.js';
import { Col, Sampler, SeriesTable } from '../../../src/harness/observe/sampler.js';
import { MapClass } from '../../../src/harness/observe/memory-map.js';
import { unusableFreeIndex } from '../../../src/proc/extfrag.js';
import { PG_BUDDY, PG_SLAB } from '../../../src/machine/memmap.js';
import { pfnToVirt, type Pfn } from '../../../src/interfaces/units.js';

const MEM = 64 * 2 ** 20;
const sysOf = (slab = 'slub') => createSystem({ machine: { memBytes: MEM, cpus: 2, kernelImageBytes: 4 << 20 }, policies: { slab }, debug: { cost: true } });

describe('SeriesTable', () => {
  it('grows its columns by doubling and reads a late column as zeros before it existed', () => {
    const t = new SeriesTable(1);
    for (let i = 0; i < 5; i++) {
      const row = t.addRow(); // before column(): a full table replaces its arrays
      t.column('a')[row] = i;
    }
    t.column('b')[4] = 9;
    expect([...t.get('a')!]).toEqual([0, 1, 2, 3, 4]);
    expect([...t.get('b')!]).toEqual([0, 0, 0, 0, 9]);
    expect(t.names()).toEqual(['a', 'b']);
  });
});

describe('Sampler', () => {
  it('needs the cost meter', () => {
    expect(() => new Sampler(createSystem({ machine: { memBytes: MEM, kernelImageBytes: 4 << 20 } }), { every: 10 })).toThrow(/debug\.cost/);
  });

  it('counts operations from where it started (a warm-up before it is not on its axis)', () => {
    const sys = sysOf();
    runSlabWorkload(sys, 'kernel-mix', 500, 1, true);
    const s = new Sampler(sys, { every: 100, mapAt: [0, 250] });
    runSlabWorkload(sys, 'uniform-small', 1000, 2, true);
    s.finish();
    expect(s.ops0).toBe(500);
    expect(s.ops).toBe(1000);
    expect([...s.table.get(Col.OPS)!]).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
    expect(s.maps.map((m) => m.ops)).toEqual([0, 250, 1000]);
  });

  it('samples every N operations of the meter clock: ops/N samples plus the first', () => {
    const sys = sysOf();
    const s = new Sampler(sys, { every: 100 });
    runSlabWorkload(sys, 'kernel-mix', 3000, 1, true);
    expect(sys.machine.cost!.ops).toBe(3000);
    expect(s.table.length).toBe(3000 / 100 + 1);
    s.finish(false);
    expect(s.table.length).toBe(31); // the clock did not move since the last sample
    expect([...s.table.get(Col.OPS)!.subarray(0, 3)]).toEqual([0, 100, 200]);
  });

  it('records the slab pages, per-cache pages, requested bytes and free lists as the system has them at the end', () => {
    const sys = sysOf();
    let live: LiveSet | undefined;
    const s = new Sampler(sys, { every: 50, requested: () => (live ? liveRequestedBytes(live) : 0) });
    runSlabWorkload(sys, 'kernel-mix', 2000, 3, true, (l) => (live = l));
    s.finish();
    const last = s.table.length - 1;
    const [a, b] = sys.kmem.slabPages();
    expect(s.table.get(Col.SLAB_PAGES)![last]).toBe(a + b);
    for (const c of sys.kmem.caches()) expect(s.table.get(Col.cache(c.name))![last]).toBe(c.counters.pages);
    // The clock ticks when the operation returns, before the workload records it: at most the last request behind.
    expect(Math.abs(s.table.get(Col.REQUESTED)![last]! - liveRequestedBytes(live!))).toBeLessThanOrEqual(32768);
    const zones = sys.pages.zones().filter((z) => z.present > 0);
    let freePages = 0;
    const all = new Array<number>(11).fill(0);
    for (const z of zones) z.nrFree.forEach((n, o) => ((freePages += n * 2 ** o), (all[o]! += n)));
    let sampledFree = 0;
    for (let o = 0; o < 11; o++) for (let mt = 0; mt < 5; mt++) sampledFree += s.table.get(Col.free(o, mt))![last]!;
    expect(sampledFree).toBe(freePages);
    for (let o = 0; o < 11; o++) expect(s.table.get(Col.unusable(o))![last]).toBe(unusableFreeIndex(all, o) / 1000);
    expect(s.table.get(Col.LARGEST_FREE_ORDER)![last]).toBe(Math.max(...all.map((n, o) => (n > 0 ? o : -1))));
    expect(s.table.get(Col.cost('memLines'))![last]).toBe(sys.machine.cost!.totals[0]);
  });

  it('maps every frame to its owner at the chosen moments', () => {
    const sys = sysOf();
    const s = new Sampler(sys, { every: 1000, mapAt: [0, 500] });
    runSlabWorkload(sys, 'kernel-mix', 1000, 5, true);
    s.finish();
    expect(s.maps.map((m) => m.ops)).toEqual([0, 500, 1000]);
    const m = s.maps[2]!;
    const mm = sys.machine.memmap;
    let checkedSlab = 0;
    let checkedFree = 0;
    for (let p = 0; p < mm.nrPages; p++) {
      const f = mm.flags[p]!;
      if (f & PG_BUDDY) {
        expect(m.classes[p]).toBe(MapClass.FREE_0 + mm.order[p]!);
        checkedFree++;
      }
      if (f & PG_SLAB) {
        const name = sys.kmem.caches().find((c) => c.geometry === sys.slab.geometry(sys.slab.cacheOf(pfnToVirt(p as Pfn))))!.name;
        expect(m.names[m.classes[p]!]).toBe(`slab ${name}`);
        checkedSlab++;
      }
    }
    expect(checkedSlab).toBeGreaterThan(0);
    expect(checkedFree).toBeGreaterThan(0);
    // The kernel image (16 MiB, 4 MiB long) and the first MiB.
    expect(m.names[m.classes[(16 << 20) / 4096]!]).toBe('kernel image');
    expect(m.names[m.classes[1]!]).toBe('reserved');
  });

  it('samples a page workload with the default probes: requested = pages clients hold', () => {
    const sys = sysOf();
    const s = new Sampler(sys, { every: 200 });
    runPageWorkload(sys, 'kernel-mix', 2000, 1, true);
    s.finish();
    const last = s.table.length - 1;
    expect(s.table.get(Col.REQUESTED)![last]).toBe(sys.pages.stats().allocatedPages * 4096);
  });
});
