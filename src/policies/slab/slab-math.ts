/**
 * Arithmetic every slab backend shares (mm/slab_common.c, include/linux/log2.h).
 */

import { CACHE_LINE_SIZE } from '../../interfaces/slab.js';
import { SLAB_HWCACHE_ALIGN } from '../../interfaces/slab.js';

/** Index of the highest set bit, 1-based; 0 for 0 (`fls`). */
export function fls(x: number): number {
  return x <= 0 ? 0 : Math.floor(Math.log2(x)) + 1;
}

/**
 * `calculate_alignment`: with SLAB_HWCACHE_ALIGN, a cache line halved while
 * the object fits in half of it; then at least 8 and a multiple of 8.
 */
export function calculateAlignment(flags: number, align: number, size: number): number {
  if (flags & SLAB_HWCACHE_ALIGN) {
    let ralign = CACHE_LINE_SIZE;
    while (size <= ralign / 2) ralign /= 2;
    align = Math.max(align, ralign);
  }
  align = Math.max(align, 8);
  return Math.ceil(align / 8) * 8;
}
