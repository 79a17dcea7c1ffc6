import { describe, expect, it } from '@jest/globals';
import { MachineLayout } from '../../src/machine/layout.js';
import { DEFAULT_CONFIG } from '../../src/system.js';
import { isAllocatorError } from '../../src/interfaces/errors.js';

const m = (over: Partial<typeof DEFAULT_CONFIG.machine>) => new MachineLayout({ ...DEFAULT_CONFIG.machine, ...over });

describe('MachineLayout', () => {
  it('lays out the DMA zone as the real 6.1 zoneinfo shows it', () => {
    const l = m({ memBytes: 2 * 2 ** 30 });
    const dma = l.zones[0]!;
    expect(dma.name).toBe('DMA');
    expect(dma.startPfn).toBe(1);
    expect(dma.spanned).toBe(4095);
    expect(dma.present).toBe(3998);
    expect(dma.present - dma.reserved).toBe(3840);
    expect(l.zones[1]!.name).toBe('DMA32');
    expect(l.zones[1]!.startPfn).toBe(4096);
    expect(l.zones[2]!.present).toBe(0);
  });

  it('has a Normal zone above 4 GiB and splits nodes', () => {
    const l = m({ memBytes: 8 * 2 ** 30, nodes: 2, cpus: 4 });
    expect(l.zones[2]!.present).toBe(0); // node 0 is all below 4 GiB
    expect(l.nodes[1]!.zones[2]!.present).toBe(1 << 20);
    expect(l.cpuNode).toEqual([0, 0, 1, 1]);
    expect(l.zoneOf(l.nodes[1]!.startPfn)).toBe(5 + 2);
  });

  it('hands out boot blocks naturally aligned, ascending, inside free RAM', () => {
    const l = m({ memBytes: 64 << 20, kernelImageBytes: 4 << 20 });
    let last = -1;
    let total = 0;
    for (const [pfn, order] of l.bootBlocks()) {
      expect(pfn % (1 << order)).toBe(0);
      expect(pfn).toBeGreaterThan(last);
      expect(l.reserved.some((r) => pfn < r.end && pfn + (1 << order) > r.start)).toBe(false);
      last = pfn;
      total += 1 << order;
    }
    expect(total).toBe(l.freeRanges().reduce((s, r) => s + r.end - r.start, 0));
  });

  it('collects every problem of an impossible machine', () => {
    let err: unknown;
    try {
      m({ memBytes: 5, cpus: 0, nodes: 0, kernelImageBytes: -1 });
    } catch (e) {
      err = e;
    }
    expect(isAllocatorError(err, 'config')).toBe(true);
    expect((err as { info: { problems: string[] } }).info.problems.length).toBe(4);
  });
});
