/** /sys/kernel/debug/extfrag/unusable_index: Linux's unusable_free_index() and the file's format. */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { unusableFreeIndex, unusableFreeIndices, unusableIndex, unusableIndexLine } from '../../src/proc/extfrag.js';
import { createSystem } from '../../src/system.js';

describe('unusable_index', () => {
  it('computes (free − free in blocks ≥ order) × 1000 / free, rounded down, as mm/vmstat.c does', () => {
    // A hand-made zone: 3 order-0 blocks, 1 order-2 block, 2 order-3 blocks: 3 + 4 + 16 = 23 free pages.
    const nrFree = [3, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0];
    expect(unusableFreeIndex(nrFree, 0)).toBe(0);
    expect(unusableFreeIndex(nrFree, 1)).toBe(Math.floor((3 * 1000) / 23)); // 130
    expect(unusableFreeIndex(nrFree, 2)).toBe(130);
    expect(unusableFreeIndex(nrFree, 3)).toBe(Math.floor((7 * 1000) / 23)); // 304
    expect(unusableFreeIndex(nrFree, 4)).toBe(1000);
    // No free memory: all of it unusable.
    expect(unusableFreeIndex(new Array<number>(11).fill(0), 0)).toBe(1000);
  });

  it('computes every order in one pass exactly as order by order', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(1 << 20), { minLength: 11, maxLength: 11 }), (nrFree) => {
        const out = new Float64Array(11);
        unusableFreeIndices(nrFree, out);
        expect([...out]).toEqual(nrFree.map((_, o) => unusableFreeIndex(nrFree, o)));
      }),
    );
  });

  it('prints one line per populated zone, every order as %d.%03d followed by a space', () => {
    expect(unusableIndexLine({ node: 0, name: 'Normal', nrFree: [3, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0] })).toBe('Node 0, zone   Normal 0.000 0.130 0.130 0.304 1.000 1.000 1.000 1.000 1.000 1.000 1.000 \n');
    const sys = createSystem({ machine: { memBytes: 2 ** 30, cpus: 2 } });
    const lines = unusableIndex(sys.pages).split('\n').filter(Boolean);
    expect(lines.map((l) => l.slice(0, 22))).toEqual(['Node 0, zone      DMA ', 'Node 0, zone    DMA32 ']);
    for (const l of lines) expect(l).toMatch(/^Node 0, zone +\w+ ([01]\.\d{3} ){11}$/);
  });
});
