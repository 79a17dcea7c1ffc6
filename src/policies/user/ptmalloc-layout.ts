/**
 * glibc 2.36 malloc's layout constants and index arithmetic (the macros of
 * malloc/malloc.c: chunk header, bins, tcache, Safe-Linking), shared by the
 * allocator and its heap check.
 */

/** `SIZE_SZ` on x86_64. */
export const SIZE_SZ = 8;
/** Two size words: the chunk header. */
export const CHUNK_HDR_SZ = 16;
/** `MALLOC_ALIGNMENT`. */
export const MALLOC_ALIGNMENT = 16;
export const MALLOC_ALIGN_MASK = 15;
/** Smallest chunk. */
export const MINSIZE = 32;
/** Size-word flag: the previous chunk is in use. */
export const PREV_INUSE = 1;
/** Size-word flag: the chunk was obtained with mmap. */
export const IS_MMAPPED = 2;
/** Size-word flag: the chunk belongs to a non-main arena. */
export const NON_MAIN_ARENA = 4;
export const SIZE_BITS = 7;
/** Number of bins (bin 0 unused, bin 1 unsorted). */
export const NBINS = 128;
/** Chunks below this size go to the small bins. */
export const MIN_LARGE_SIZE = 1024;
/** Number of fastbins. */
export const NFASTBINS = 10;
export const BINMAPSHIFT = 5;
export const BINMAPSIZE = 4;
/** tcache bins. */
export const TCACHE_MAX_BINS = 64;
/** Entries per tcache bin (`tcache_count` default). */
export const TCACHE_FILL_COUNT = 7;
export const DEFAULT_MXFAST = (64 * SIZE_SZ) / 4;
export const FASTBIN_CONSOLIDATION_THRESHOLD = 65536;
/** Default and minimum mmap threshold. */
export const DEFAULT_MMAP_THRESHOLD_MIN = 128 * 1024;
/** Largest value the dynamic mmap threshold may take (64-bit). */
export const DEFAULT_MMAP_THRESHOLD_MAX = 4 * 1024 * 1024 * 8;
/** `DEFAULT_TOP_PAD` as malloc-machine.h sets it. */
export const DEFAULT_TOP_PAD = 131072;
export const DEFAULT_TRIM_THRESHOLD = 128 * 1024;
export const DEFAULT_MMAP_MAX = 65536;
export const MMAP_AS_MORECORE_SIZE = 1024 * 1024;
export const PAGESIZE = 4096;
export const NONCONTIGUOUS_BIT = 2;
/** Largest request honoured (stands in for PTRDIFF_MAX). */
export const MAX_REQUEST = Number.MAX_SAFE_INTEGER - 2 * PAGESIZE;
export const TWO32 = 4294967296;

/** `struct malloc_state` field offsets (x86_64). */
export const ARENA = {
  MUTEX: 0,
  FLAGS: 4,
  HAVE_FASTCHUNKS: 8,
  FASTBINS: 16,
  TOP: 96,
  LAST_REMAINDER: 104,
  BINS: 112,
  BINMAP: 2144,
  NEXT: 2160,
  NEXT_FREE: 2168,
  ATTACHED_THREADS: 2176,
  SYSTEM_MEM: 2184,
  MAX_SYSTEM_MEM: 2192,
  SIZE: 2200,
} as const;

/** `tcache_perthread_struct` layout. */
export const TCACHE_COUNTS = 0;
export const TCACHE_ENTRIES = 2 * TCACHE_MAX_BINS;
/** sizeof(tcache_perthread_struct). */
export const TCACHE_STRUCT_SIZE = TCACHE_ENTRIES + 8 * TCACHE_MAX_BINS;

/** `request2size`. */
export function request2size(req: number): number {
  return req + SIZE_SZ + MALLOC_ALIGN_MASK < MINSIZE ? MINSIZE : Math.floor((req + SIZE_SZ + MALLOC_ALIGN_MASK) / 16) * 16;
}

/** `checked_request2size`: 0 when the request is too large. */
export function checkedRequest2size(req: number): number {
  if (!(req >= 0) || req > MAX_REQUEST) return 0;
  return request2size(req);
}

/** `fastbin_index`. */
export function fastbinIndex(sz: number): number {
  return Math.floor(sz / 16) - 2;
}

/** `smallbin_index` (sz < 1024). */
export function smallbinIndex(sz: number): number {
  return Math.floor(sz / 16);
}

/** `largebin_index_64`. */
export function largebinIndex(sz: number): number {
  const s6 = Math.floor(sz / 64);
  if (s6 <= 48) return 48 + s6;
  const s9 = Math.floor(sz / 512);
  if (s9 <= 20) return 91 + s9;
  const s12 = Math.floor(sz / 4096);
  if (s12 <= 10) return 110 + s12;
  const s15 = Math.floor(sz / 32768);
  if (s15 <= 4) return 119 + s15;
  const s18 = Math.floor(sz / 262144);
  if (s18 <= 2) return 124 + s18;
  return 126;
}

/** `bin_index`. */
export function binIndex(sz: number): number {
  return sz < MIN_LARGE_SIZE ? smallbinIndex(sz) : largebinIndex(sz);
}

/** `csize2tidx`. */
export function csize2tidx(x: number): number {
  return Math.floor((x - MINSIZE + MALLOC_ALIGNMENT - 1) / MALLOC_ALIGNMENT);
}

/** 64-bit XOR of two non-negative integers below 2^53. */
export function xor53(a: number, b: number): number {
  const hi = (Math.floor(a / TWO32) ^ Math.floor(b / TWO32)) >>> 0;
  return hi * TWO32 + (((a >>> 0) ^ (b >>> 0)) >>> 0);
}

/** `PROTECT_PTR(pos, ptr)`. */
export function protectPtr(pos: number, ptr: number): number {
  return xor53(Math.floor(pos / 4096), ptr);
}

