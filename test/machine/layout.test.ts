import { describe, expect, it } from '@jest/globals';
import { HOST_BYTES_PER_FRAME, MachineLayout, minMemBytes, validateMachine } from '../../src/machine/layout.js';
import { DEFAULT_CONFIG, createSystem } from '../../src/system.js';
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

  it('accepts exactly the smallest machine its reservations fit in, and says so below it', () => {
    // Default 32 MiB kernel image at 16 MiB: 48 MiB + mem_map (1/64) rounds up to 52 MiB.
    expect(minMemBytes(1, 32 << 20)).toBe(52 << 20);
    expect(validateMachine({ ...DEFAULT_CONFIG.machine, memBytes: 52 << 20 })).toEqual([]);
    for (const mem of [8 << 20, 48 << 20]) {
      expect(validateMachine({ ...DEFAULT_CONFIG.machine, memBytes: mem })).toEqual([
        `memory size ${mem >> 20} MiB is below the 52 MiB this machine needs: the first MiB, a 32 MiB kernel image at 16 MiB and the mem_map (64 bytes per 4 KiB frame) must fit in RAM without overlapping`,
      ]);
    }
    // Without a kernel image one order-10 block is enough, and the machine boots on it.
    expect(minMemBytes(1, 0)).toBe(4 << 20);
    const tiny = m({ memBytes: 4 << 20, kernelImageBytes: 0 });
    expect(tiny.freeRanges().reduce((s, r) => s + r.end - r.start, 0)).toBeGreaterThan(512);
    expect(validateMachine({ ...DEFAULT_CONFIG.machine, memBytes: 0, kernelImageBytes: 0 })[0]).toMatch(/^memory size 0 bytes is outside 4 MiB \.\. 4 TiB$/);
    // Each node's mem_map sits at the node's top, so node 0 must hold the kernel image below it.
    expect(minMemBytes(2, 32 << 20)).toBe(104 << 20);
    expect(validateMachine({ ...DEFAULT_CONFIG.machine, memBytes: 80 << 20, nodes: 4, kernelImageBytes: 4 << 20 })).toEqual([
      "memory size 80 MiB cannot be laid out: node 0's mem_map (19.69–20 MiB) overlaps the kernel image (16–20 MiB) (the first MiB, a 4 MiB kernel image at 16 MiB and each node's mem_map (64 bytes per 4 KiB frame) must fit in RAM without overlapping)",
    ]);
  });

  it('refuses a machine whose page metadata would not fit in half the host, with the figures', () => {
    const host = 1 << 30;
    // Half of 1 GiB at 50 bytes a frame holds 10 737 418 frames: 40 GiB of simulated memory.
    expect(HOST_BYTES_PER_FRAME).toBe(50);
    expect(validateMachine({ ...DEFAULT_CONFIG.machine, memBytes: 40 * 2 ** 30 }, { hostMemBytes: host })).toEqual([]);
    expect(validateMachine({ ...DEFAULT_CONFIG.machine, memBytes: 4 * 2 ** 40 }, { hostMemBytes: host })).toEqual([
      'memory size 4 TiB needs about 50 GiB of host memory for its page metadata (about 50 bytes per 4 KiB frame); ' +
        'this host has 1 GiB and a simulated machine may take at most 50 % of it, enough for 40.9 GiB of simulated memory',
    ]);
    expect(validateMachine({ ...DEFAULT_CONFIG.machine, memBytes: 44 * 2 ** 30 }, { hostMemBytes: host })).toHaveLength(1);
  });

  it('allocates no more host memory per simulated frame than HOST_BYTES_PER_FRAME says', () => {
    const frames = (4 * 2 ** 30) / 4096;
    const before = process.memoryUsage().arrayBuffers;
    const sys = createSystem({ machine: { memBytes: 4 * 2 ** 30 }, debug: { checks: false } });
    const perFrame = (process.memoryUsage().arrayBuffers - before) / frames;
    expect(sys.pages.stats().managedPages).toBeGreaterThan(frames * 0.9);
    expect(perFrame).toBeLessThanOrEqual(HOST_BYTES_PER_FRAME);
  });
});
