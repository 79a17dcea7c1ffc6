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

/** `kmalloc_size_index[(size - 1) / 8]` for sizes 1..192 (index 1 = 96, 2 = 192). */
export const KMALLOC_SIZE_INDEX = [3, 4, 5, 5, 6, 6, 6, 6, 1, 1, 1, 1, 7, 7, 7, 7, 2, 2, 2, 2, 2, 2, 2, 2] as const;
/** Bytes of each kmalloc index. */
export const KMALLOC_INDEX_SIZE = [0, 96, 192, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192] as const;
