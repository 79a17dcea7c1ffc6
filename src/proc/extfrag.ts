/**
 * `/sys/kernel/debug/extfrag/unusable_index` in the exact Linux 6.8 format
 * (mm/vmstat.c: `fill_contig_page_info`, `unusable_free_index`,
 * `unusable_show_print`): per populated zone, for every order, the share of
 * the zone's free pages that sit in blocks too small for an allocation of
 * that order, to three decimals. It reads only `zones()`, so every page
 * policy prints.
 */

import type { PageAllocator, ZoneReport } from '../interfaces/page-allocator.js';
import { NR_PAGE_ORDERS } from '../interfaces/units.js';

/**
 * `unusable_free_index()` of one zone for `order`, scaled by 1000 as the
 * kernel returns it: (free pages − free pages in blocks of order ≥ `order`)
 * × 1000 / free pages, rounded down; 1000 when nothing is free ("no free
 * memory is interpreted as all free memory is unusable").
 *
 * @param nrFree - free blocks per order (`free_area[o].nr_free`)
 */
export function unusableFreeIndex(nrFree: readonly number[], order: number): number {
  let freePages = 0;
  let suitablePages = 0;
  for (let o = 0; o < nrFree.length; o++) {
    const pages = nrFree[o]! * 2 ** o;
    freePages += pages;
    if (o >= order) suitablePages += pages;
  }
  if (freePages === 0) return 1000;
  return Math.floor(((freePages - suitablePages) * 1000) / freePages);
}

/**
 * {@link unusableFreeIndex} for every order at once, into `out[0…nrFree.length)`:
 * one pass from the highest order down (what is suitable for order o is
 * what is suitable for o + 1 plus the pages of order o).
 */
export function unusableFreeIndices(nrFree: ArrayLike<number>, out: Float64Array): void {
  let freePages = 0;
  for (let o = 0; o < nrFree.length; o++) freePages += nrFree[o]! * (1 << o);
  let suitable = 0;
  for (let o = nrFree.length - 1; o >= 0; o--) {
    suitable += nrFree[o]! * (1 << o);
    out[o] = freePages === 0 ? 1000 : Math.floor(((freePages - suitable) * 1000) / freePages);
  }
}

/** One zone's line: `Node N, zone NAME i.iii …` with a space after every order. */
export function unusableIndexLine(z: Pick<ZoneReport, 'node' | 'name' | 'nrFree'>): string {
  let out = `Node ${z.node}, zone ${z.name.padStart(8)} `;
  for (let o = 0; o < NR_PAGE_ORDERS; o++) {
    const index = unusableFreeIndex(z.nrFree, o);
    out += `${Math.floor(index / 1000)}.${String(index % 1000).padStart(3, '0')} `;
  }
  return `${out}\n`;
}

/** The whole file: one line per populated zone (`walk_zones_in_node` with `assert_populated`). */
export function unusableIndex(pages: PageAllocator): string {
  return pages
    .zones()
    .filter((z) => z.present > 0)
    .map(unusableIndexLine)
    .join('');
}
