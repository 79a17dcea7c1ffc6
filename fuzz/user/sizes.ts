/**
 * Request sizes of the user-malloc fuzz, across every range glibc treats
 * differently (x86_64, glibc 2.36 defaults): fastbins (requests up to 120
 * bytes), the tcache (up to 1032), small bins (chunks below 1024), large
 * bins, and mmap (from 128 KiB, the initial mmap threshold), with the edges
 * of each range drawn on purpose.
 */

import fc from 'fast-check';
import { int } from '../schema.js';

/** Largest request of malloc, realloc and memalign. */
export const USER_MAX_REQUEST = 1 << 20;

/** A request size field. */
export const SIZE_FIELD = int(0, USER_MAX_REQUEST);

/** Largest request of a fill macro (tcache, fastbin and small-bin sizes). */
export const FILL_MAX_SIZE = 1032;

/** Most blocks one fill macro allocates. */
export const FILL_MAX_COUNT = 32;

/** calloc's element count and element size bounds (the product stays below 256 KiB: calloc clears what it hands out). */
export const CALLOC_MAX_NMEMB = 16;
/** Largest calloc element. */
export const CALLOC_MAX_SIZE = 16 << 10;

/** memalign alignments are 2^k for k in this range (8 bytes … 64 KiB). */
export const ALIGN_LOG2_MIN = 3;
/** Largest alignment exponent. */
export const ALIGN_LOG2_MAX = 16;

/** Largest malloc_trim pad. */
export const TRIM_MAX_PAD = 1 << 20;

/** The edges of glibc's ranges. */
const EDGES = [0, 1, 8, 24, 25, 40, 56, 88, 120, 121, 1000, 1008, 1016, 1024, 1032, 1033, 4096, 65536, 131056, 131072, 131073];

/** Request sizes: mostly tcache and fastbin sizes, then small, large and mmapped ones. */
export const REQUEST_SIZE: fc.Arbitrary<number> = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 120 }) },
  { weight: 3, arbitrary: fc.integer({ min: 121, max: 1032 }) },
  { weight: 2, arbitrary: fc.constantFrom(...EDGES) },
  { weight: 2, arbitrary: fc.integer({ min: 1033, max: 64 << 10 }) },
  { weight: 1, arbitrary: fc.integer({ min: 128 << 10, max: USER_MAX_REQUEST }) },
);

/** Sizes of the fill macro: one tcache / fastbin / small-bin class. */
export const FILL_SIZE: fc.Arbitrary<number> = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 120 }) }, { weight: 1, arbitrary: fc.integer({ min: 121, max: FILL_MAX_SIZE }) });
