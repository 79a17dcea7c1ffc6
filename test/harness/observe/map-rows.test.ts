import { describe, expect, it } from '@jest/globals';
import { MAP_WIDTH, mapRows } from '../../../src/harness/observe/html.js';
import { MapClass } from '../../../src/harness/observe/memory-map.js';
import { MAX_PAGE_ORDER } from '../../../src/interfaces/units.js';

const FREE10 = MapClass.FREE_0 + MAX_PAGE_ORDER;
/** A map of `rows` pageblocks, all free order 10 except the rows listed. */
const map = (rows: number, busy: readonly number[]): { classes: Uint8Array } => {
  const classes = new Uint8Array(rows * MAP_WIDTH).fill(FREE10);
  for (const r of busy) classes[r * MAP_WIDTH + 5] = MapClass.KERNEL_IMAGE;
  return { classes };
};

describe('memory-map rows', () => {
  it('folds runs of two or more all-free pageblocks into one row, keeping single ones', () => {
    expect(mapRows([map(10, [0, 2, 6])])).toEqual([0, 1, 2, -3, 6, -3]);
  });
  it('keeps a pageblock that is busy in any map of the report', () => {
    expect(mapRows([map(6, [0]), map(6, [3])])).toEqual([0, -2, 3, -2]);
  });
  it('never folds a partial last row', () => {
    const m = { classes: new Uint8Array(2 * MAP_WIDTH + 10).fill(FREE10) };
    expect(mapRows([m])).toEqual([-2, 2]);
  });
});
