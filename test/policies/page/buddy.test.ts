/** Linux 6.8 buddy behaviour the simulation must reproduce. */
import { describe, expect, it } from '@jest/globals';
import { GFP_ATOMIC, GFP_DMA, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, MigrateType, __GFP_ACCOUNT, __GFP_NOWARN } from '../../../src/interfaces/gfp.js';
import { NO_PFN, type Pfn } from '../../../src/interfaces/units.js';
import { createSystem } from '../../../src/system.js';
import { minFreeKbytes, zoneBatchsize, zoneHighsize, zoneWatermarks, lowmemReserves } from '../../../src/policies/page/zone-math.js';
import { statThreshold } from '../../../src/proc/page.js';
import { DEFAULT_CONFIG } from '../../../src/system.js';
import { ZoneType } from '../../../src/interfaces/gfp.js';

const sys1g = () => createSystem({ machine: { cpus: 2 } });

describe('buddy allocator (Linux 6.8)', () => {
  it('hands out ascending pfns from a fresh block (expand keeps the low half, upper halves go to list heads)', () => {
    const sys = sys1g();
    sys.machine.ctx.setCpu(0);
    const a = Array.from({ length: 8 }, () => sys.pages.allocPages(0, GFP_HIGHUSER_MOVABLE));
    for (let i = 1; i < a.length; i++) expect(a[i]).toBe(a[0]! + i);
    // Order 2 after a split of an order-10 block comes from the lowest free order-2 piece.
    const b = sys.pages.allocPages(3, GFP_HIGHUSER_MOVABLE);
    expect(b % 8).toBe(0);
  });

  it('merges freed buddies all the way back to order 10', () => {
    const sys = sys1g();
    const before = sys.pages.zones().map((z) => z.nrFree.join(','));
    const blocks = Array.from({ length: 50 }, (_, i) => [sys.pages.allocPages(i % 4, GFP_HIGHUSER_MOVABLE), i % 4] as const);
    for (const [p, o] of blocks.reverse()) sys.pages.freePages(p, o);
    sys.pages.drainPcp();
    expect(sys.pages.zones().map((z) => z.nrFree.join(','))).toEqual(before);
    expect(sys.pages.stats().merges).toBeGreaterThan(0);
  });

  it('parks order ≤ 3 frees on the per-CPU list and drains them', () => {
    const sys = sys1g();
    const p = sys.pages.allocPages(0, GFP_KERNEL);
    const free0 = sys.pages.stats().freePages;
    const pcp0 = sys.pages.stats().pcpPages;
    sys.pages.freePages(p, 0);
    expect(sys.pages.stats().pcpPages).toBe(pcp0 + 1);
    expect(sys.pages.stats().freePages).toBe(free0);
    // The next order-0 allocation on this CPU gets the same page back (LIFO).
    expect(sys.pages.allocPages(0, GFP_KERNEL)).toBe(p);
    sys.pages.drainPcp();
    expect(sys.pages.stats().pcpPages).toBe(0);
  });

  it('refills the per-CPU list in batches and starts pcp->high at 0 as 6.8 does', () => {
    const sys = sys1g();
    const dma32 = () => sys.pages.zones().find((z) => z.name === 'DMA32')!;
    expect(dma32().pcp[1]!.high).toBe(0);
    sys.machine.ctx.setCpu(1);
    sys.pages.allocPages(0, GFP_KERNEL);
    const pcp = dma32().pcp[1]!;
    expect(pcp.batch).toBe(63);
    expect(pcp.count).toBe(62);
    expect(pcp.high).toBeGreaterThan(0);
  });

  it('steals a movable pageblock for the first unmovable allocation', () => {
    const sys = sys1g();
    const p = sys.pages.allocPages(0, GFP_KERNEL);
    expect(sys.pages.pageblockType(p)).toBe(MigrateType.UNMOVABLE);
    expect(sys.pages.stats().fallbacks).toBeGreaterThan(0);
    expect(sys.pages.stats().steals).toBeGreaterThan(0);
  });

  it('keeps the first pageblock of DMA unmovable (frame 0 is a hole)', () => {
    const sys = sys1g();
    expect(sys.pages.pageblockType(1 as Pfn)).toBe(MigrateType.UNMOVABLE);
    expect(sys.pages.pageblockType(512 as Pfn)).toBe(MigrateType.MOVABLE);
  });

  it('lets GFP_ATOMIC dip below the min watermark where GFP_KERNEL fails', () => {
    const sys = createSystem({ machine: { memBytes: 64 << 20, kernelImageBytes: 4 << 20, cpus: 1 } });
    while (sys.pages.allocPages(0, GFP_KERNEL | __GFP_NOWARN) !== NO_PFN);
    const atomic = sys.pages.allocPages(0, GFP_ATOMIC | __GFP_NOWARN);
    expect(atomic).not.toBe(NO_PFN);
    expect(sys.checkInvariants()).toEqual([]);
  });

  it('runs registered shrinkers before failing', () => {
    const sys = createSystem({ machine: { memBytes: 64 << 20, kernelImageBytes: 4 << 20, cpus: 1 } });
    const held: Pfn[] = [];
    for (;;) {
      const p = sys.pages.allocPages(0, GFP_KERNEL | __GFP_NOWARN);
      if (p === NO_PFN) break;
      held.push(p);
    }
    let scans = 0;
    sys.pages.registerShrinker({
      name: 'test',
      count: () => held.length,
      scan: (n) => {
        scans++;
        const k = Math.min(n, held.length);
        for (let i = 0; i < k; i++) sys.pages.freePages(held.pop()!, 0);
        return k;
      },
    });
    expect(sys.pages.allocPages(0, GFP_KERNEL)).not.toBe(NO_PFN);
    expect(scans).toBeGreaterThan(0);
    expect(sys.pages.stats().reclaimRuns).toBeGreaterThan(0);
  });

  it('traces mm_page_alloc and mm_page_free in the kernel format', () => {
    const sys = createSystem({ machine: { cpus: 2 }, debug: { trace: true } });
    const p = sys.pages.allocPages(0, GFP_KERNEL);
    sys.pages.freePages(p, 0);
    const text = sys.machine.tracer.format();
    expect(text).toMatch(/^# tracer: nop/);
    expect(text).toMatch(new RegExp(`allocsim-1 +\\[000\\] \\.\\.\\.\\.\\. +\\d+\\.\\d{6}: mm_page_alloc: page=0xffffea[0-9a-f]+ pfn=0x${p.toString(16)} order=0 migratetype=0 gfp_flags=GFP_KERNEL`));
    expect(text).toMatch(new RegExp(`mm_page_free: page=0xffffea[0-9a-f]+ pfn=0x${p.toString(16)} order=0\\n`));
    expect(text).toMatch(/mm_page_alloc_zone_locked: .* percpu_refill=1/);
  });

  it('is deterministic: the same config gives the same pfns', () => {
    const run = () => {
      const sys = sys1g();
      const out: number[] = [];
      for (let i = 0; i < 300; i++) {
        sys.machine.ctx.setCpu(i % 2);
        const p = sys.pages.allocPages(i % 5, i % 3 ? GFP_KERNEL : GFP_HIGHUSER_MOVABLE);
        out.push(p);
        if (i % 4 === 0) sys.pages.freePages(p, i % 5);
      }
      return out;
    };
    expect(run()).toEqual(run());
  });

  it('alloc_pages_bulk hands out the pages single calls would, in the same order', () => {
    const single = sys1g();
    const bulk = sys1g();
    single.machine.ctx.setCpu(1);
    bulk.machine.ctx.setCpu(1);
    // 300 pages: several per-CPU refills inside one bulk call.
    const want = Array.from({ length: 300 }, () => single.pages.allocPages(0, GFP_KERNEL));
    const out = new Int32Array(300).fill(NO_PFN);
    expect(bulk.pages.allocPagesBulk!(300, GFP_KERNEL, out)).toBe(300);
    expect(Array.from(out)).toEqual(want);
    expect(bulk.pages.stats().pcpPages).toBe(single.pages.stats().pcpPages);
    expect(bulk.pages.zones().map((z) => z.numa.hit)).toEqual(single.pages.zones().map((z) => z.numa.hit));
    expect(bulk.checkInvariants()).toEqual([]);
  });

  it('alloc_pages_bulk refuses a zone within nr pages of its low watermark and places one page instead', () => {
    const sys = sys1g();
    sys.machine.ctx.setCpu(0);
    const dma = () => sys.pages.zones().find((z) => z.name === 'DMA' && z.node === 0)!;
    // Take DMA pages until its free lists hold just above the low watermark.
    while (dma().freePages + dma().pcp[0]!.count > dma().wmarkLow + 40) sys.pages.allocPages(0, GFP_KERNEL | GFP_DMA);
    sys.pages.drainPcp();
    const spare = dma().freePages - dma().wmarkLow;
    expect(spare).toBeGreaterThan(2);
    expect(spare).toBeLessThan(64);
    const out = new Int32Array(64).fill(NO_PFN);
    // free ≤ low + 64: not this zone; the single-page allocator places one page.
    expect(sys.pages.allocPagesBulk!(64, GFP_KERNEL | GFP_DMA | __GFP_NOWARN, out)).toBe(1);
    expect(out[1]).toBe(NO_PFN);
    // A request the zone can take above the watermark is met in full.
    const two = new Int32Array(2).fill(NO_PFN);
    expect(sys.pages.allocPagesBulk!(2, GFP_KERNEL | GFP_DMA, two)).toBe(2);
    expect(sys.checkInvariants()).toEqual([]);
  });

  it('alloc_pages_bulk goes to the single-page allocator for memcg-accounted requests', () => {
    const sys = sys1g();
    const out = new Int32Array(16).fill(NO_PFN);
    expect(sys.pages.allocPagesBulk!(16, GFP_KERNEL | __GFP_ACCOUNT, out)).toBe(1);
    expect(out[0]).not.toBe(NO_PFN);
    expect(out[1]).toBe(NO_PFN);
  });

  it('boots a 64 GiB machine', () => {
    const sys = createSystem({ machine: { memBytes: 64 * 2 ** 30, cpus: 8 } });
    expect(sys.pages.zones().find((z) => z.name === 'Normal')!.managed).toBeGreaterThan(15_000_000);
  });
});

describe('zone arithmetic against the real 6.1 qemu boot (data/linux-6.1-qemu-smp4, 2 GiB, 4 CPUs, THP)', () => {
  // At postcore time the zones had these managed counts (the watermarks solve to them;
  // the final zoneinfo shows more because initmem was freed afterwards).
  const dma = { type: ZoneType.DMA, node: 0, managed: 3840 };
  const dma32 = { type: ZoneType.DMA32, node: 0, managed: 495000 };
  const opts = { ...DEFAULT_CONFIG.machine, memBytes: 2 * 2 ** 30 };

  it('derives min_free_kbytes as khugepaged raises it', () => {
    expect(minFreeKbytes([dma, dma32], opts)).toBe(45056);
    expect(minFreeKbytes([dma, dma32], { ...opts, thp: false })).toBe(5650);
  });

  it('derives the min/low/high watermarks of zoneinfo.txt', () => {
    const kb = minFreeKbytes([dma, dma32], opts);
    expect(zoneWatermarks(dma32, dma.managed + dma32.managed, kb)).toEqual([11177, 13971, 16765]);
    expect(zoneWatermarks(dma, dma.managed + dma32.managed, kb)).toEqual([86, 107, 128]);
  });

  it('derives the per-CPU batch, high and stat threshold of zoneinfo.txt', () => {
    expect(zoneBatchsize(499574)).toBe(63);
    expect(zoneBatchsize(3840)).toBe(1);
    expect(zoneHighsize(499574, 13971, 63, 4, 0)).toBe(3492);
    expect(zoneHighsize(3840, 107, 1, 4, 0)).toBe(26);
    expect(statThreshold(499574, 4)).toBe(30);
    expect(statThreshold(3840, 4)).toBe(6);
  });

  it('derives the DMA protection line from the DMA32 zone', () => {
    const res = lowmemReserves([{ ...dma }, { type: ZoneType.DMA32, node: 0, managed: 1942 * 256 }, { type: ZoneType.NORMAL, node: 0, managed: 0 }, { type: ZoneType.MOVABLE, node: 0, managed: 0 }, { type: ZoneType.DEVICE, node: 0, managed: 0 }]);
    expect(res[0]).toEqual([0, 1942, 1942, 1942, 1942]);
    expect(res[1]).toEqual([0, 0, 0, 0, 0]);
  });
});
