/**
 * # How the mimalloc-style allocator works here
 *
 * A user-space malloc in the style of microsoft/mimalloc v1.9 (the 1.x line:
 * 4 MiB segments of 64 KiB, 512 KiB or 4 MiB pages; facts and constants from
 * the v1.9.9 sources named below, the code written anew). It is a plug-in:
 * one class, the default export of this file, bound at USER_MALLOC with
 * `createSystem(config, { malloc: MimallocStyle })` (or, with the plug-in
 * loader, `--malloc ./examples/mimalloc-style/mimalloc.ts`). Every piece of
 * metadata a C build keeps in mapped memory — segment headers, page headers,
 * every free-list link — lives in the simulated process memory, obtained
 * with `mmap` exactly as mimalloc's Linux OS layer obtains it; only what
 * mimalloc keeps in static memory (the `mi_heap_t` of the main thread, the
 * segment map, the arena table) is held in typed arrays and plain fields of
 * this object.
 *
 * ## Free-list sharding (page.c, alloc.c, free.c)
 *
 * Memory is handed out from *pages*, each holding blocks of one size class.
 * A page has three free lists, all singly linked through the first word of
 * the free blocks:
 *
 * - `free` — what `malloc` pops from (`_mi_page_malloc_zero`: pop, `used++`);
 * - `local_free` — where this thread's `free` pushes (`mi_free_block_local`);
 * - `thread_free` — where other threads push (`mi_free_block_mt`).
 *
 * When `free` runs dry, `_mi_page_free_collect` moves `thread_free` onto
 * `local_free` and then *swaps* `local_free` into `free` (no list walk: the
 * head pointer moves). Frees never touch the list malloc pops from, which is
 * mimalloc's "free-list sharding": the fast paths are a pop and a push, and
 * the slow path runs at most once per page-full of allocations. The
 * process is single-threaded (the simulator runs one thread per process),
 * so nothing ever lands on `thread_free` in a replay; the structure is
 * modelled all the same — the field, its two delayed-free bits, the heap's
 * `thread_delayed_free` list for pages in the full queue, and the collection
 * — and {@link MimallocStyle.freeFromOtherThread} performs
 * `mi_free_block_mt` so tests can exercise it.
 *
 * A page's blocks are not all threaded at once: `mi_page_extend_free` links
 * at most 4 KiB worth of new blocks (`MI_MAX_EXTEND_SIZE`, at least one
 * block) each time the free list is empty, so `capacity` (blocks linked so
 * far) grows towards `reserved` (blocks that fit) and untouched memory stays
 * untouched (no page faults until used).
 *
 * ## Size classes and page queues (page-queue.c `mi_bin`, init.c)
 *
 * `mi_bin` maps a size to one of 73 bins: exact 16-byte steps up to 64
 * bytes (x86_64 has a 16-byte `max_align_t`, `MI_ALIGN2W`), then four bins
 * per power of two (a block wastes less than a quarter of the request) up
 * to 1 MiB
 * (`MI_LARGE_OBJ_SIZE_MAX`), bin 73 for huge objects; bin 74 is the full
 * queue. The heap keeps one queue (doubly linked list of pages) per bin.
 * `_mi_malloc_generic` → `mi_find_free_page` tries the first page of the
 * bin's queue (collect, then pop); otherwise `mi_page_queue_find_free_ex`
 * walks the queue: each page is collected, a page with nothing free and no
 * room to extend moves to the *full queue* (`mi_page_to_full`), and the
 * best of up to 4 candidates (`MI_MAX_CANDIDATE_SEARCH`: fuller pages win)
 * is extended, moved to the front, and used; if there is none, a fresh page
 * is taken from a segment. A free into a page of the full queue moves it
 * back (`_mi_page_unfull`).
 *
 * Page retirement (`_mi_page_retire`): when a page's last block is freed
 * and it is the only page of its bin, it is kept for 16 more generic
 * allocations (4 for blocks over 8 KiB) before it is given back
 * (`_mi_heap_collect_retired`), so a program that frees and reallocates
 * one object does not bounce pages; otherwise the page goes straight back
 * to its segment (`_mi_page_free`). Every 100 generic allocations the heap
 * runs its deferred work, every 10,000 (`generic_collect`) a normal
 * `mi_heap_collect`.
 *
 * ## Segments, page kinds, huge objects (segment.c)
 *
 * Pages come from 4 MiB, 4 MiB-aligned *segments* (so `_mi_ptr_segment` of
 * any block is one mask, `(p - 1) & ~(4 MiB - 1)`), whose first bytes hold
 * the segment header and the array of page headers (`segment_info_size`,
 * rounded to 256 bytes; the first page starts after it). Blocks up to 8 KiB
 * live in *small* pages (64 per segment, 64 KiB each), up to 64 KiB in
 * *medium* pages (8 × 512 KiB), up to 1 MiB in a *large* page (the whole
 * segment). Small and medium segments with unclaimed pages sit on the
 * thread's segment free queue of their kind (`mi_segment_page_try_alloc_in_queue`);
 * a segment whose last page is freed is freed. A block start is aligned to
 * its size when that is at most 64 KiB (`_mi_segment_page_start`), which
 * is what makes `memalign` up to 64 KiB free for naturally aligned sizes.
 * Objects over 1 MiB get a *huge* segment of their own, sized
 * `_mi_os_good_alloc_size(size) + info` rounded to 256 KiB; alignments over
 * 2 MiB also get one, placed so the block sits 4 MiB after the segment
 * start (`mi_segment_os_alloc` with an alignment offset).
 *
 * Freed pages are *purged* (`madvise(MADV_DONTNEED)`, which is what
 * mimalloc's decommit does on Linux) after `purge_delay` (10 ms) unless they
 * are reused first (`mi_segment_schedule_purge`, `mi_pages_try_purge`).
 * The simulation has no clock, so time is counted in calls to the allocator:
 * {@link CALLS_PER_MS} = 1,000 (a program that spends about a microsecond
 * between malloc calls); subclasses can change {@link MimallocStyle.purgeDelay}
 * (0 purges at once, negative never, as `MIMALLOC_PURGE_DELAY` does).
 *
 * ## Arenas and the OS layer (arena.c, os.c, prim/unix/prim.c)
 *
 * Segments (and huge segments of at least 2 MiB) are carved from a 1 GiB
 * *arena* reserved with one `mmap` on the first segment allocation
 * (`mi_arena_reserve`, `arena_reserve` = 1 GiB): a bitmap of 4 MiB blocks,
 * first fit, each block remembering whether it was ever used (`dirty`: a
 * clean block reads as zero, which lets `calloc` skip its memset). A freed
 * arena block is purged after 10 × `purge_delay` (`arena_purge_mult`) unless
 * reused. Smaller huge segments, aligned ones and the arena itself come from
 * `_mi_os_alloc_aligned`: `mmap(hint, size, PROT_READ|PROT_WRITE,
 * MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE)` at mimalloc's aligned hint
 * addresses (from 2 TiB up, one 4 MiB gap between hinted mappings, not
 * randomized — what a debug build does), falling back to
 * over-allocating by the alignment and unmapping both ends when the kernel
 * puts the mapping elsewhere. `munmap` gives a huge segment back.
 *
 * ## The C API (alloc.c, alloc-aligned.c, alloc-posix.c)
 *
 * `malloc(0)` returns a minimal block; `realloc` keeps the block when the
 * new size fits and wastes at most half of it, else allocates, copies the
 * old usable size and frees; `realloc(p, 0)` returns a new minimal block
 * (mimalloc, unlike glibc, does not free-and-return-NULL); `calloc` zeroes
 * the whole block unless the page's free list is known zero;
 * `memalign`/`posix_memalign` use a naturally aligned block when the size
 * class guarantees it, else over-allocate by the alignment and mark the page
 * `has_aligned` so `free` finds the block start again
 * (`_mi_page_ptr_unalign`). `malloc_trim` becomes `mi_collect(true)`: retired
 * pages freed, local free lists merged, every pending purge done now; its
 * pad is ignored.
 *
 * Misuse is checked as a debug build checks it, in constant time, and
 * raises `malloc-abort`: a pointer outside every segment or with the wrong
 * cookie (`mi_free: pointer does not point to a valid heap space`), a
 * pointer into a page that holds no blocks or that is not the start of a
 * block, a free into a page with no block in use (a double free).
 *
 * ## Checked against the real library
 *
 * With {@link MimallocStyle.eightByteBin} on, replaying the three recorded
 * programs of data/traces/programs/ claims exactly the segments and pages
 * (peak, total, and current after the exit-time collect) and makes exactly
 * the mmap calls that the real mimalloc v1.9.9 reports with
 * `MIMALLOC_SHOW_STATS=1` on the same traces; on a 50,000-op synthetic mix
 * the segments match and pages and mmaps are within one (a page's capacity
 * depends on its address when the block size is not a power of two, and the
 * real arena's address is not ours). mimalloc.test.ts keeps those numbers.
 *
 * ## Not modelled (honest limits)
 *
 * - One thread: no abandoned segments, no reclaim, no cross-thread frees in
 *   replays (see above), no `pages_free_direct` cache (it always equals the
 *   first page of the bin's queue).
 * - Release build of the 1.x line: no guard pages or encoded free lists
 *   (`MI_SECURE`), no padding or canaries (`MI_PADDING`), no random
 *   free-list order; a double free that leaves blocks in use in its page is
 *   not detected at the call — it makes a cycle or a duplicate that
 *   {@link MimallocStyle.checkInvariants} reports.
 * - A block of size ≤ 8 bytes gets a 16-byte block (mimalloc has an 8-byte
 *   bin 1): the simulator's malloc contract wants 16-byte alignment from
 *   every call, as glibc gives.
 * - Commit tracking: Linux overcommits, mimalloc commits segments eagerly and
 *   decommits with `MADV_DONTNEED`, so every page is counted committed; no
 *   `mprotect`, no large OS pages, no NUMA, no arena exclusivity, no
 *   `mi_option_*` beyond the delays and the arena size. Under
 *   `vm.overcommit_memory` = 2 the kernel ignores MAP_NORESERVE, so the
 *   1 GiB arena is charged and usually refused; segments then come from the
 *   OS one by one, as mimalloc falls back to.
 * - Time is counted in calls (see purging).
 */

import {
  AllocatorError,
  alignDown,
  alignUp,
  MADV_DONTNEED,
  MAP_ANONYMOUS,
  MAP_NORESERVE,
  MAP_PRIVATE,
  MAX_VIOLATIONS,
  PROT_READ,
  PROT_WRITE,
  type BinRow,
  type ProcessMemory,
  type UserMalloc,
  type UserMallocOptions,
  type UserMallocStats,
  type Violation,
} from 'allocsim';

// ------------------------------------------------------------------ sizes (types.h, 64-bit)

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** OS page size. */
export const OS_PAGE_SIZE = 4 * KiB;
/** `MI_SMALL_PAGE_SHIFT`: 64 KiB small pages. */
export const SMALL_PAGE_SHIFT = 16;
/** `MI_MEDIUM_PAGE_SHIFT`: 512 KiB medium pages. */
export const MEDIUM_PAGE_SHIFT = 19;
/** `MI_LARGE_PAGE_SHIFT` = `MI_SEGMENT_SHIFT`: 4 MiB. */
export const LARGE_PAGE_SHIFT = 22;
/** `MI_SEGMENT_SIZE` (also `MI_SEGMENT_ALIGN`). */
export const SEGMENT_SIZE = 4 * MiB;
/** Page shift of a huge segment (`MI_SEGMENT_SHIFT + 1`: its one page is everything after the header). */
const HUGE_PAGE_SHIFT = 23;
/** `MI_SMALL_OBJ_SIZE_MAX`: 8 KiB. */
export const SMALL_OBJ_SIZE_MAX = 8 * KiB;
/** `MI_MEDIUM_OBJ_SIZE_MAX`: 64 KiB. */
export const MEDIUM_OBJ_SIZE_MAX = 64 * KiB;
/** `MI_LARGE_OBJ_SIZE_MAX`: 1 MiB; above it an object gets a huge segment. */
export const LARGE_OBJ_SIZE_MAX = 1 * MiB;
/** `MI_SMALL_SIZE_MAX` (128 words): the fast path's sizes. */
const SMALL_SIZE_MAX = 1024;
/** `MI_MAX_ALIGN_GUARANTEE`: blocks up to this size are aligned to their size. */
const MAX_ALIGN_GUARANTEE = MEDIUM_OBJ_SIZE_MAX;
/** `MI_BLOCK_ALIGNMENT_MAX`: larger alignments get a huge segment. */
const BLOCK_ALIGNMENT_MAX = SEGMENT_SIZE / 2;
/** `MI_MAX_ALIGN_SIZE` (`max_align_t`). */
const MAX_ALIGN_SIZE = 16;
/** `MI_PAGE_HUGE_ALIGN`: huge segments are a multiple of this. */
const PAGE_HUGE_ALIGN = 256 * KiB;
/** Segment info is rounded to `16 * MI_MAX_ALIGN_SIZE`. */
const SEGMENT_INFO_ALIGN = 256;
/** Largest request (PTRDIFF_MAX in C; here what a JS number holds exactly, with room to round). */
const MAX_ALLOC_SIZE = 2 ** 52;

/** `MI_BIN_HUGE`. */
export const BIN_HUGE = 73;
/** `MI_BIN_FULL`: the queue of full pages. */
export const BIN_FULL = 74;
/** Block size in words of each bin (init.c `MI_PAGE_QUEUES_EMPTY`); bins 65–72 are never used on 64-bit. */
const BIN_WORDS: readonly number[] = [
  1, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 896, 1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096,
  5120, 6144, 7168, 8192, 10240, 12288, 14336, 16384, 20480, 24576, 28672, 32768, 40960, 49152, 57344, 65536, 81920, 98304, 114688, 131072, 163840, 196608, 229376, 262144, 327680, 393216, 458752, 524288,
  131073, 131074,
];
/** `MI_LARGE_OBJ_WSIZE_MAX`. */
const LARGE_OBJ_WSIZE_MAX = LARGE_OBJ_SIZE_MAX / 8;

/** `MI_MAX_EXTEND_SIZE`: a free list grows by at most 4 KiB of blocks at a time. */
const MAX_EXTEND_SIZE = 4 * KiB;
/** `MI_MAX_CANDIDATE_SEARCH`. */
const MAX_CANDIDATE_SEARCH = 4;
/** `MI_RETIRE_CYCLES`. */
const RETIRE_CYCLES = 16;
/** `_mi_malloc_generic` runs deferred work every this many calls. */
const GENERIC_DEFERRED = 100;
/** `mi_option_generic_collect`: a normal heap collect every this many generic calls. */
const GENERIC_COLLECT = 10_000;

/** Calls to the allocator that stand for one millisecond (the simulation has no clock). */
export const CALLS_PER_MS = 1000;
/** `mi_option_purge_delay`: 10 ms. */
export const PURGE_DELAY_CALLS = 10 * CALLS_PER_MS;
/** `mi_option_arena_purge_mult`. */
const ARENA_PURGE_MULT = 10;
/** `mi_option_arena_reserve`: 1 GiB. */
export const ARENA_RESERVE = 1 * GiB;
/** `MI_ARENA_BLOCK_SIZE` (= a segment). */
const ARENA_BLOCK_SIZE = SEGMENT_SIZE;
/** `MI_ARENA_MIN_OBJ_SIZE`: smaller requests go to the OS directly. */
const ARENA_MIN_OBJ_SIZE = ARENA_BLOCK_SIZE / 2;
/** `MI_MAX_ARENAS`. */
const MAX_ARENAS = 132;
/** `MI_HINT_BASE`: aligned mmap hints start at 2 TiB. */
const HINT_BASE = 2 * 1024 * GiB;
/** `MI_HINT_MAX`: and wrap after 30 TiB. */
const HINT_MAX = 30 * 1024 * GiB;

// ------------------------------------------------------------------ layout in simulated memory

/** Page kinds (`mi_page_kind_t`). */
export const PAGE_KIND = { SMALL: 0, MEDIUM: 1, LARGE: 2, HUGE: 3 } as const;
const KIND_NAMES = ['small', 'medium', 'large', 'huge'];

/** Where a segment's memory came from (`mi_memkind_t`). */
const MEM_OS = 1;
const MEM_ARENA = 2;

// Segment header (`mi_segment_t`), one 64-bit word per field.
const SEG_MEM_KIND = 0;
const SEG_MEM_BASE = 8; // OS: start of the mapping (before an alignment offset); arena: arena index
const SEG_MEM_SIZE = 16; // OS: length of the mapping; arena: first block index
const SEG_MEM_ZERO = 24; // the memory was zero when obtained
const SEG_SIZE = 32; // segment_size
const SEG_NEXT = 40; // segment free queue
const SEG_PREV = 48;
const SEG_USED = 56; // pages in use
const SEG_CAPACITY = 64; // pages
const SEG_INFO_SIZE = 72; // segment_info_size: header + page array, rounded
const SEG_COOKIE = 80;
const SEG_THREAD_ID = 88;
const SEG_PAGE_SHIFT = 96;
const SEG_PAGE_KIND = 104;
/** Offset of the page-header array. */
export const SEG_PAGES = 112;

// Page header (`mi_page_t`).
const PG_IDX = 0; // u32 segment_idx
const PG_FLAGS = 4; // u32, F_* below
const PG_CAPACITY = 8; // u32 blocks linked so far
const PG_RESERVED = 12; // u32 blocks that fit
const PG_USED = 16; // u32 blocks in use (thread_free and delayed blocks included)
const PG_RETIRE = 20; // u32 retire_expire
/** Offset of a page header's `free` list head. */
export const PG_FREE = 24; // free list (in the purge queue: the expiry time)
/** Offset of a page header's `local_free` list head. */
export const PG_LOCAL_FREE = 32;
const PG_THREAD_FREE = 40; // xthread_free: block pointer | delayed state in the low 2 bits
const PG_BLOCK_SIZE = 48;
const PG_PAGE_START = 56;
const PG_HEAP = 64; // xheap: 1 when owned by the heap
const PG_NEXT = 72; // page queue (or purge queue) links
const PG_PREV = 80;
/** Bytes of one page header. */
export const PAGE_HDR = 88;

const F_IN_USE = 1; // segment_in_use
const F_ZERO_INIT = 2; // is_zero_init
const F_HUGE = 4; // is_huge
const F_IN_FULL = 8; // flags.in_full
const F_HAS_ALIGNED = 16; // flags.has_aligned
const F_FREE_IS_ZERO = 32; // free_is_zero

/** `mi_delayed_t` in the low bits of `xthread_free`. */
const USE_DELAYED_FREE = 0;
const NO_DELAYED_FREE = 2;
const NEVER_DELAYED_FREE = 3;

const COLLECT_NORMAL = 0;
const COLLECT_FORCE = 1;

const RW = PROT_READ | PROT_WRITE;
const MAP_FLAGS = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;

// ------------------------------------------------------------------ helpers

const hex = (n: number): string => `0x${n.toString(16)}`;
const isPow2 = (n: number): boolean => Number.isSafeInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n;

/**
 * `mi_bin`: the bin of a request of `size` bytes (1–64 regular bins, 73 huge).
 *
 * @param eightByteBin - mimalloc's own bins: requests of at most 8 bytes in
 *   bin 1 (8-byte blocks, 8-byte aligned). Off (the default), they share the
 *   16-byte bin 2, so every block is 16-byte aligned as the simulator's
 *   malloc contract (glibc's guarantee) wants.
 */
export function miBin(size: number, eightByteBin = false): number {
  const wsize = Math.ceil(size / 8);
  if (wsize <= 8) return wsize <= 1 ? (eightByteBin ? 1 : 2) : (wsize + 1) & ~1;
  if (wsize > LARGE_OBJ_WSIZE_MAX) return BIN_HUGE;
  const w = wsize - 1;
  const b = 31 - Math.clz32(w);
  return (b << 2) + ((w >>> (b - 2)) & 3) - 3;
}

/** Block size of a regular bin (`_mi_bin_size`). */
export function binBlockSize(bin: number): number {
  return BIN_WORDS[bin]! * 8;
}

/** `_mi_os_good_alloc_size`: huge blocks are rounded to 4 KiB … 4 MiB depending on their size. */
export function goodAllocSize(size: number): number {
  const a = size < 512 * KiB ? OS_PAGE_SIZE : size < 2 * MiB ? 64 * KiB : size < 8 * MiB ? 256 * KiB : size < 32 * MiB ? 1 * MiB : 4 * MiB;
  return alignUp(size, a);
}

/** `_mi_ptr_segment`: the segment a pointer belongs to. */
export function ptrSegment(p: number): number {
  return p - 1 - ((p - 1) % SEGMENT_SIZE);
}

/** One arena: a reservation carved into 4 MiB blocks (`mi_arena_t`; static data in mimalloc). */
interface Arena {
  readonly base: number;
  readonly blocks: number;
  /** `blocks_inuse`. */
  readonly inuse: Uint8Array;
  /** `blocks_dirty`: ever handed out. */
  readonly dirty: Uint8Array;
  /** `blocks_purge`: freed, waiting for the purge. */
  readonly purge: Uint8Array;
  /** `purge_expire` (0: nothing scheduled). */
  purgeExpire: number;
}

/**
 * A mimalloc-style user malloc (see the module comment for how it works).
 *
 * Invariants ({@link MimallocStyle.checkInvariants}):
 *
 * - **M1 segments** — every segment of the segment map is 4 MiB-aligned and
 *   carries its cookie; its kind fixes its page shift, capacity and info
 *   size (small 64 × 64 KiB, medium 8 × 512 KiB, large 1 × 4 MiB, huge one
 *   page of `segment_size`); `used` counts its pages with the in-use bit;
 *   the segment sizes add up to `arenaBytes + mmappedBytes`.
 * - **M2 segment free queues** — each is doubly linked and acyclic and holds
 *   exactly the small (medium) segments with `used < capacity`.
 * - **M3 pages** — an in-use page starts where `_mi_segment_page_start`
 *   puts it for its block size, `reserved` is what fits (1 for huge),
 *   `0 < capacity <= reserved`, `used <= capacity`; a page not in use holds
 *   nothing (capacity, reserved, used 0, every list empty).
 * - **M4 lists inside their page** — every block on `free`, `local_free`,
 *   `thread_free` or the heap's delayed-free list lies in its page's linked
 *   area (`page_start + capacity × block_size`) on a block boundary, and
 *   every list ends (walks are bounded by the capacity).
 * - **M5 no block on two lists.**
 * - **M6 counts** — `used + |free| + |local_free| = capacity` for every page
 *   (mimalloc's `mi_page_is_valid_init`), and the blocks the program holds
 *   (`used` minus those on `thread_free` and the delayed list) times their
 *   size add up to `inUseBytes`.
 * - **M7 page queues** — every queue is doubly linked and acyclic; every
 *   in-use page is on exactly one: the full queue iff its `in_full` flag is
 *   set, else the huge queue iff it is huge, else the queue of
 *   `mi_bin(block_size)`; no page that is not in use is on any.
 * - **M8 full pages** — a page in the full queue has nothing to hand out:
 *   `free` and `local_free` empty, `capacity = reserved`.
 * - **M9 purge queue** — doubly linked and acyclic; only pages not in use,
 *   of live segments.
 * - **M10 arenas** — the in-use bits are exactly the blocks of the live
 *   arena segments; purge bits only on blocks not in use.
 */
export default class MimallocStyle implements UserMalloc {
  /** Policy name. */
  readonly name: string = 'mimalloc-style';
  /** `purge_delay` in calls (see {@link CALLS_PER_MS}); 0 purges at once, negative never. */
  protected purgeDelay: number = PURGE_DELAY_CALLS;
  /** Arena purge delay in calls (`purge_delay × arena_purge_mult`). */
  protected arenaPurgeDelay: number = PURGE_DELAY_CALLS * ARENA_PURGE_MULT;
  /** `arena_reserve` in bytes; 0 takes every segment from the OS on its own. */
  protected arenaReserve: number = ARENA_RESERVE;
  /**
   * mimalloc's 8-byte bin for requests of at most 8 bytes (see {@link miBin}).
   * Off by default: such blocks are only 8-byte aligned, which the
   * simulator's malloc contract rejects; on, a replay's segment and page
   * counts are exactly those of the real mimalloc.
   */
  protected eightByteBin = false;

  /** The process's memory. */
  readonly mem: ProcessMemory;
  private readonly cookieKey: number;

  // mi_heap_t of the main thread (static memory in mimalloc).
  private readonly qFirst = new Float64Array(BIN_FULL + 1);
  private readonly qLast = new Float64Array(BIN_FULL + 1);
  private delayedFree = 0; // thread_delayed_free
  private retiredMin = BIN_FULL;
  private retiredMax = 0;
  private genericCount = 0;
  private genericCollectCount = 0;
  private heartbeat = 0;

  // mi_segments_tld_t.
  private readonly segQFirst = new Float64Array(2); // small_free, medium_free
  private readonly segQLast = new Float64Array(2);
  private purgeFirst = 0; // pages_purge
  private purgeLast = 0;

  // The segment map (segment-map.c) and the arenas (arena.c).
  private readonly segments = new Set<number>();
  private readonly arenas: Arena[] = [];
  private hintCursor = 0; // aligned_base

  /** The clock: calls made. */
  private now = 0;
  // Counters for stats() (mimalloc's segments stats).
  private segmentBytes = 0;
  private hugeBytes = 0;
  private hugeCount = 0;
  private peak = 0;
  private inUse = 0;
  /** Calls that gave memory back (munmap, madvise), for trim's answer. */
  private releases = 0;
  // mimalloc's own statistics (stats.c `segments`, `pages`, `mmaps`), for comparing with a real run.
  private segmentsNow = 0;
  private segmentsPeak = 0;
  private segmentsTotal = 0;
  private pagesNow = 0;
  private pagesPeak = 0;
  private pagesTotal = 0;
  private mmaps = 0;

  /** memid of the last OS or arena allocation (`mi_memid_t`). */
  private memKind = 0;
  private memBase = 0;
  private memSize = 0;
  private memZero = false;

  /**
   * @param mem - the process's memory (system calls, loads and stores)
   * @param options - `seed` keys the segment cookies; `tcache` means nothing here
   */
  constructor(mem: ProcessMemory, options?: Partial<UserMallocOptions>) {
    this.mem = mem;
    this.cookieKey = (Math.imul((options?.seed ?? 0) ^ 0x9e3779b9, 0x85ebca6b) >>> 0) || 1;
  }

  /** The bin of a request (`mi_bin`, with or without the 8-byte bin). */
  protected bin(size: number): number {
    return miBin(size, this.eightByteBin);
  }

  // ---------------------------------------------------------------- the C API

  malloc(size: number): number {
    this.now++;
    return this.heapMalloc(size, false);
  }

  calloc(nmemb: number, size: number): number {
    this.now++;
    const total = nmemb * size;
    if (!Number.isSafeInteger(total) || total < 0) return 0; // mi_count_size_overflow
    return this.heapMalloc(total, true);
  }

  free(p: number): void {
    if (p === 0) return;
    this.now++;
    this.freeAt(p, 'free');
  }

  realloc(p: number, newsize: number): number {
    this.now++;
    if (p === 0) return this.heapMalloc(newsize, false);
    const page = this.checkedPage(p, 'realloc');
    const size = this.usableOf(page, p);
    if (newsize <= size && newsize >= Math.floor(size / 2) && newsize > 0) return p; // fits and wastes at most half
    const q = this.heapMalloc(newsize, false);
    if (q === 0) return 0;
    if (newsize === 0) this.mem.write8(q, 0); // mimalloc issue #725
    this.mem.copy(q, p, Math.min(size, newsize));
    this.freeAt(p, 'realloc');
    return q;
  }

  memalign(alignment: number, size: number): number {
    this.now++;
    return this.mallocAligned(size, alignment, false);
  }

  posixMemalign(out: number[], alignment: number, size: number): number {
    this.now++;
    if (alignment % 8 !== 0 || !isPow2(alignment)) return 22; // EINVAL
    const p = this.mallocAligned(size, alignment, false);
    if (p === 0) return 12; // ENOMEM
    out[0] = p;
    return 0;
  }

  usableSize(p: number): number {
    if (p === 0) return 0;
    return this.usableOf(this.checkedPage(p, 'malloc_usable_size'), p);
  }

  /** `mi_collect(true)`: frees retired and empty pages, merges free lists, purges now. Returns 1 if memory went back to the kernel. */
  trim(_pad: number): number {
    const before = this.releases;
    this.collect(COLLECT_FORCE);
    return this.releases > before ? 1 : 0;
  }

  /** True for a block in a huge segment (its own mapping, as glibc's mmapped chunks). */
  isMmapped(p: number): boolean {
    const seg = ptrSegment(p);
    return this.segments.has(seg) && this.mem.read64(seg + SEG_PAGE_KIND) === PAGE_KIND.HUGE;
  }

  /**
   * `mi_free_block_mt`: frees `p` as another thread would — onto its page's
   * `thread_free` list, or, for the first such free into a page (delayed
   * state `MI_USE_DELAYED_FREE`), onto the heap's `thread_delayed_free`
   * list. The simulator's processes are single-threaded, so only tests call
   * this; the owner collects the blocks on its next slow-path allocation.
   */
  freeFromOtherThread(p: number): void {
    if (p === 0) return;
    const page = this.checkedPage(p, 'free');
    const block = this.blockOf(page, p);
    this.inUse -= this.mem.read64(page + PG_BLOCK_SIZE);
    const tf = this.mem.read64(page + PG_THREAD_FREE);
    const delayed = tf % 4;
    if (delayed === USE_DELAYED_FREE) {
      this.mem.write64(block, this.delayedFree);
      this.delayedFree = block;
      this.mem.write64(page + PG_THREAD_FREE, tf - delayed + NO_DELAYED_FREE);
    } else {
      this.mem.write64(block, tf - delayed);
      this.mem.write64(page + PG_THREAD_FREE, block + delayed);
    }
  }

  // ---------------------------------------------------------------- allocation (alloc.c, page.c)

  /** `_mi_heap_malloc_zero_ex` without a huge alignment. */
  private heapMalloc(size: number, zero: boolean): number {
    if (!Number.isSafeInteger(size) || size < 0) return 0;
    if (size <= SMALL_SIZE_MAX) {
      // mi_heap_malloc_small_zero: the page of pages_free_direct, i.e. the first of the bin's queue.
      const page = this.qFirst[this.bin(size)]!;
      if (page !== 0) {
        const block = this.mem.read64(page + PG_FREE);
        if (block !== 0) return this.pageMalloc(page, block, zero);
      }
    }
    return this.mallocGeneric(size, zero, 0);
  }

  /** `_mi_page_malloc_zero` once the page has a free block: pop it. */
  private pageMalloc(page: number, block: number, zero: boolean): number {
    const m = this.mem;
    m.write64(page + PG_FREE, m.read64(block));
    m.write32(page + PG_USED, m.read32(page + PG_USED) + 1);
    const bsize = m.read64(page + PG_BLOCK_SIZE);
    if (zero) {
      if ((m.read32(page + PG_FLAGS) & F_FREE_IS_ZERO) !== 0) m.write64(block, 0);
      else m.fill(block, bsize, 0);
    }
    this.inUse += bsize;
    return block;
  }

  /** `_mi_malloc_generic`. */
  private mallocGeneric(size: number, zero: boolean, hugeAlignment: number): number {
    if (++this.genericCount >= GENERIC_DEFERRED) {
      this.genericCollectCount += this.genericCount;
      this.genericCount = 0;
      this.heartbeat++; // _mi_deferred_free
      this.delayedFreePartial();
      if (this.genericCollectCount >= GENERIC_COLLECT) {
        this.genericCollectCount = 0;
        this.collect(COLLECT_NORMAL);
      }
    }
    let page = this.findPage(size, hugeAlignment);
    if (page === 0) {
      this.collect(COLLECT_FORCE); // out of memory the first time: collect and retry once
      page = this.findPage(size, hugeAlignment);
    }
    if (page === 0) return 0;
    const m = this.mem;
    const p = this.pageMalloc(page, m.read64(page + PG_FREE), zero);
    if (m.read32(page + PG_RESERVED) === m.read32(page + PG_USED)) this.pageToFull(page, this.queueOf(page));
    return p;
  }

  /** `mi_find_page`. */
  private findPage(size: number, hugeAlignment: number): number {
    if (size > LARGE_OBJ_SIZE_MAX || hugeAlignment > 0) {
      if (size > MAX_ALLOC_SIZE) return 0;
      return this.freshAlloc(BIN_HUGE, goodAllocSize(size), hugeAlignment); // mi_huge_page_alloc
    }
    return this.findFreePage(size);
  }

  /** `mi_find_free_page`: the first page of the bin if it has a block after collecting, else the queue search. */
  private findFreePage(size: number): number {
    const bin = this.bin(size);
    const page = this.qFirst[bin]!;
    if (page !== 0) {
      this.freeCollect(page, false);
      if (this.mem.read64(page + PG_FREE) !== 0) {
        this.mem.write32(page + PG_RETIRE, 0);
        return page;
      }
    }
    return this.findFreeEx(bin, true);
  }

  /** `mi_page_queue_find_free_ex`. */
  private findFreeEx(bin: number, firstTry: boolean): number {
    const m = this.mem;
    let candidateCount = 0;
    let candidate = 0;
    let page = this.qFirst[bin]!;
    while (page !== 0) {
      const next = m.read64(page + PG_NEXT);
      candidateCount++;
      this.freeCollect(page, false);
      const immediate = m.read64(page + PG_FREE) !== 0;
      const expandable = m.read32(page + PG_CAPACITY) < m.read32(page + PG_RESERVED);
      if (!immediate && !expandable) {
        this.pageToFull(page, bin);
      } else {
        if (candidate === 0) {
          candidate = page;
          candidateCount = 0;
        } else if (m.read32(page + PG_USED) >= m.read32(candidate + PG_USED) && !this.mostlyUsed(page) && !expandable) {
          candidate = page;
        }
        if (immediate || candidateCount > MAX_CANDIDATE_SEARCH) break;
      }
      page = next;
    }
    if (candidate !== 0) page = candidate;
    if (page !== 0) {
      if (m.read64(page + PG_FREE) === 0) this.extendFree(page);
      this.queueMoveToFront(bin, page);
      m.write32(page + PG_RETIRE, 0);
      return page;
    }
    this.collectRetired(false);
    page = this.freshAlloc(bin, binBlockSize(bin), 0);
    if (page === 0 && firstTry) page = this.findFreeEx(bin, false);
    return page;
  }

  /** `mi_page_is_mostly_used`: more than 7/8 of the blocks in use. */
  private mostlyUsed(page: number): boolean {
    const reserved = this.mem.read32(page + PG_RESERVED);
    return reserved - this.mem.read32(page + PG_USED) <= Math.floor(reserved / 8);
  }

  /** `mi_page_fresh_alloc`: a page from a segment, initialized and pushed on the queue of `bin`. */
  private freshAlloc(bin: number, blockSize: number, pageAlignment: number): number {
    const page = this.segmentPageAlloc(blockSize, pageAlignment);
    if (page === 0) return 0;
    const huge = (this.mem.read32(page + PG_FLAGS) & F_HUGE) !== 0;
    this.pageInit(page, huge ? this.mem.read64(page + PG_BLOCK_SIZE) : blockSize);
    this.queuePush(bin, page);
    return page;
  }

  /** `mi_page_init`. */
  private pageInit(page: number, blockSize: number): void {
    const m = this.mem;
    m.write64(page + PG_HEAP, 1);
    m.write64(page + PG_BLOCK_SIZE, blockSize);
    const start = this.pageStart(page, blockSize);
    m.write64(page + PG_PAGE_START, start);
    m.write32(page + PG_RESERVED, Math.floor(this.lastPageSize / blockSize));
    const flags = m.read32(page + PG_FLAGS);
    m.write32(page + PG_FLAGS, (flags & F_ZERO_INIT) !== 0 ? flags | F_FREE_IS_ZERO : flags & ~F_FREE_IS_ZERO);
    this.extendFree(page);
  }

  /** Size of the area `pageStart` / `rawPageStart` last computed. */
  private lastPageSize = 0;

  /** `mi_segment_raw_page_start`: a page's area, after the segment info for page 0. */
  private rawPageStart(seg: number, page: number): number {
    const m = this.mem;
    const idx = m.read32(page + PG_IDX);
    let psize = m.read64(seg + SEG_PAGE_KIND) === PAGE_KIND.HUGE ? m.read64(seg + SEG_SIZE) : 2 ** m.read64(seg + SEG_PAGE_SHIFT);
    let p = seg + idx * psize;
    if (idx === 0) {
      const info = m.read64(seg + SEG_INFO_SIZE);
      p += info;
      psize -= info;
    }
    this.lastPageSize = psize;
    return p;
  }

  /** `_mi_segment_page_start`: the raw start, moved up so blocks up to 64 KiB are aligned to their size. */
  private pageStart(page: number, blockSize: number): number {
    let p = this.rawPageStart(ptrSegment(page), page);
    let psize = this.lastPageSize;
    if (blockSize > 0 && blockSize <= MAX_ALIGN_GUARANTEE) {
      const adjust = blockSize - (p % blockSize);
      if (adjust < blockSize && psize >= blockSize + adjust) {
        p += adjust;
        psize -= adjust;
      }
    }
    this.lastPageSize = psize;
    return p;
  }

  /** `mi_page_extend_free`: links up to 4 KiB (at least one block) of fresh blocks onto the empty free list. */
  protected extendFree(page: number): void {
    const m = this.mem;
    if (m.read64(page + PG_FREE) !== 0) return;
    const capacity = m.read32(page + PG_CAPACITY);
    const reserved = m.read32(page + PG_RESERVED);
    if (capacity >= reserved) return;
    const bsize = m.read64(page + PG_BLOCK_SIZE);
    const maxExtend = bsize >= MAX_EXTEND_SIZE ? 1 : Math.max(1, Math.floor(MAX_EXTEND_SIZE / bsize));
    const extend = Math.min(reserved - capacity, maxExtend);
    // mi_page_free_list_extend: blocks in address order, the last one ending the list.
    const start = m.read64(page + PG_PAGE_START) + capacity * bsize;
    let block = start;
    for (let i = 1; i < extend; i++, block += bsize) m.write64(block, block + bsize);
    m.write64(block, 0);
    m.write64(page + PG_FREE, start);
    m.write32(page + PG_CAPACITY, capacity + extend);
  }

  // ---------------------------------------------------------------- aligned allocation (alloc-aligned.c)

  /** `mi_heap_malloc_zero_aligned_at` with offset 0. */
  private mallocAligned(size: number, alignment: number, zero: boolean): number {
    if (!isPow2(alignment)) return 0;
    if (!Number.isSafeInteger(size) || size < 0 || size > MAX_ALLOC_SIZE) return 0;
    const m = this.mem;
    if (size <= SMALL_SIZE_MAX && alignment <= size) {
      // A free block of the right size class that happens to be aligned.
      const page = this.qFirst[this.bin(size)]!;
      if (page !== 0) {
        const block = m.read64(page + PG_FREE);
        if (block !== 0 && block % alignment === 0) return this.pageMalloc(page, block, zero);
      }
    }
    // mi_heap_malloc_zero_aligned_at_generic: a size class that guarantees the alignment.
    if (alignment <= size && (alignment <= MAX_ALIGN_SIZE || (this.goodSize(size) <= MAX_ALIGN_GUARANTEE && this.goodSize(size) % alignment === 0))) {
      const p = this.heapMalloc(size, zero);
      if (p % alignment === 0) return p;
      this.freeAt(p, 'memalign');
    }
    // mi_heap_malloc_zero_aligned_at_overalloc.
    let p: number;
    if (alignment > BLOCK_ALIGNMENT_MAX) {
      p = this.mallocGeneric(size <= SMALL_SIZE_MAX ? SMALL_SIZE_MAX + 1 : size, false, alignment);
    } else {
      p = this.heapMalloc(Math.max(size, MAX_ALIGN_SIZE) + alignment - 1, zero);
    }
    if (p === 0) return 0;
    const aligned = alignUp(p, alignment);
    if (aligned !== p) {
      const page = this.pageOf(ptrSegment(p), p);
      m.write32(page + PG_FLAGS, m.read32(page + PG_FLAGS) | F_HAS_ALIGNED);
    }
    if (alignment > BLOCK_ALIGNMENT_MAX && zero) m.fill(aligned, this.usableOf(this.pageOf(ptrSegment(aligned), aligned), aligned), 0);
    return aligned;
  }

  /** `mi_good_size` for sizes a bin holds. */
  private goodSize(size: number): number {
    return size <= LARGE_OBJ_SIZE_MAX ? binBlockSize(this.bin(size)) : alignUp(size, OS_PAGE_SIZE);
  }

  // ---------------------------------------------------------------- free (free.c)

  /** `mi_free`: the local fast path, or the generic one for full pages and aligned blocks. */
  private freeAt(p: number, op: string): void {
    const m = this.mem;
    const page = this.checkedPage(p, op);
    const flags = m.read32(page + PG_FLAGS);
    this.inUse -= m.read64(page + PG_BLOCK_SIZE);
    if ((flags & (F_IN_FULL | F_HAS_ALIGNED)) === 0) this.freeBlockLocal(page, p, false);
    else this.freeBlockLocal(page, (flags & F_HAS_ALIGNED) !== 0 ? this.blockOf(page, p) : p, true);
  }

  /** `mi_free_block_local`: push on `local_free`; the last block retires the page, a free into a full page unfulls it. */
  protected freeBlockLocal(page: number, block: number, checkFull: boolean): void {
    const m = this.mem;
    m.write64(block, m.read64(page + PG_LOCAL_FREE));
    m.write64(page + PG_LOCAL_FREE, block);
    const used = m.read32(page + PG_USED) - 1;
    m.write32(page + PG_USED, used);
    if (used === 0) this.pageRetire(page);
    else if (checkFull && (m.read32(page + PG_FLAGS) & F_IN_FULL) !== 0) this.pageUnfull(page);
  }

  /** `_mi_page_ptr_unalign`: the block an interior (aligned) pointer belongs to. */
  private blockOf(page: number, p: number): number {
    const start = this.mem.read64(page + PG_PAGE_START);
    return p - ((p - start) % this.mem.read64(page + PG_BLOCK_SIZE));
  }

  /** `mi_usable_size`: the block size, less the offset of an aligned pointer. */
  private usableOf(page: number, p: number): number {
    const bsize = this.mem.read64(page + PG_BLOCK_SIZE);
    if ((this.mem.read32(page + PG_FLAGS) & F_HAS_ALIGNED) === 0) return bsize;
    return bsize - (p - this.blockOf(page, p));
  }

  /** The page header of `p` in `seg` (`_mi_segment_page_of`). */
  private pageOf(seg: number, p: number): number {
    const idx = Math.floor((p - seg) / 2 ** this.mem.read64(seg + SEG_PAGE_SHIFT));
    return seg + SEG_PAGES + idx * PAGE_HDR;
  }

  /**
   * `mi_checked_ptr_segment` and the page lookup, with a debug build's
   * checks (all O(1)): `p` must be in a live segment with its cookie, in a
   * page that holds blocks, at a block boundary unless the page has aligned
   * blocks, and the page must have a block in use.
   */
  private checkedPage(p: number, op: string): number {
    const fail = (msg: string): never => {
      throw new AllocatorError('malloc-abort', msg, { policy: this.name, op, addr: p });
    };
    if (!Number.isSafeInteger(p) || p % 8 !== 0) fail(`mi_${op}: invalid (unaligned) pointer: ${hex(p)}`);
    const seg = ptrSegment(p);
    const m = this.mem;
    if (!this.segments.has(seg) || m.read64(seg + SEG_COOKIE) !== this.cookieOf(seg)) fail(`mi_${op}: pointer does not point to a valid heap space: ${hex(p)}`);
    const idx = Math.floor((p - seg) / 2 ** m.read64(seg + SEG_PAGE_SHIFT));
    if (idx >= m.read64(seg + SEG_CAPACITY)) fail(`mi_${op}: pointer does not point to a valid heap space: ${hex(p)}`);
    const page = seg + SEG_PAGES + idx * PAGE_HDR;
    const flags = m.read32(page + PG_FLAGS);
    if ((flags & F_IN_USE) === 0) fail(`mi_${op}: pointer into a page that holds no blocks (freed twice?): ${hex(p)}`);
    const start = m.read64(page + PG_PAGE_START);
    const bsize = m.read64(page + PG_BLOCK_SIZE);
    const diff = p - start;
    if (diff < 0 || diff >= m.read32(page + PG_CAPACITY) * bsize || ((flags & F_HAS_ALIGNED) === 0 && diff % bsize !== 0)) {
      fail(`mi_${op}: pointer is not the start of a block of its page (block size ${bsize}): ${hex(p)}`);
    }
    if (m.read32(page + PG_USED) === 0) fail(`mi_${op}: double free detected of block ${hex(p)} with size ${bsize}`);
    return page;
  }

  private cookieOf(seg: number): number {
    return (this.cookieKey ^ Math.floor(seg / SEGMENT_SIZE)) >>> 0;
  }

  // ---------------------------------------------------------------- collecting free lists

  /** `_mi_page_free_collect`: `thread_free` onto `local_free`, then `local_free` swapped into an empty `free` (appended when forced). */
  protected freeCollect(page: number, force: boolean): void {
    const m = this.mem;
    if (force || m.read64(page + PG_THREAD_FREE) >= 4) this.threadFreeCollect(page);
    const local = m.read64(page + PG_LOCAL_FREE);
    if (local === 0) return;
    if (m.read64(page + PG_FREE) === 0) {
      m.write64(page + PG_FREE, local);
      m.write64(page + PG_LOCAL_FREE, 0);
      m.write32(page + PG_FLAGS, m.read32(page + PG_FLAGS) & ~F_FREE_IS_ZERO);
    } else if (force) {
      let tail = local;
      const max = m.read32(page + PG_CAPACITY);
      for (let n = 0, next = m.read64(tail); next !== 0 && n < max; n++, next = m.read64(tail)) tail = next;
      m.write64(tail, m.read64(page + PG_FREE));
      m.write64(page + PG_FREE, local);
      m.write64(page + PG_LOCAL_FREE, 0);
      m.write32(page + PG_FLAGS, m.read32(page + PG_FLAGS) & ~F_FREE_IS_ZERO);
    }
  }

  /** `_mi_page_thread_free_collect`: the whole `thread_free` list onto `local_free`, `used` down by its length. */
  private threadFreeCollect(page: number): void {
    const m = this.mem;
    const tf = m.read64(page + PG_THREAD_FREE);
    const delayed = tf % 4;
    const head = tf - delayed;
    if (head === 0) return;
    m.write64(page + PG_THREAD_FREE, delayed);
    const max = m.read32(page + PG_CAPACITY);
    let count = 1;
    let tail = head;
    for (let next = m.read64(tail); next !== 0 && count <= max; next = m.read64(tail)) {
      count++;
      tail = next;
    }
    const used = m.read32(page + PG_USED);
    if (count > max || count > used) {
      throw new AllocatorError('malloc-abort', `corrupted thread-free list of the page at ${hex(page)}`, { policy: this.name, op: 'malloc', addr: page });
    }
    m.write64(tail, m.read64(page + PG_LOCAL_FREE));
    m.write64(page + PG_LOCAL_FREE, head);
    m.write32(page + PG_USED, used - count);
  }

  /** `_mi_heap_delayed_free_partial`: the blocks other threads freed into full pages, freed now. */
  private delayedFreePartial(): void {
    let block = this.delayedFree;
    this.delayedFree = 0;
    while (block !== 0) {
      const next = this.mem.read64(block);
      // _mi_free_delayed_block
      const page = this.pageOf(ptrSegment(block), block);
      const tf = this.mem.read64(page + PG_THREAD_FREE);
      if (tf % 4 !== NEVER_DELAYED_FREE) this.mem.write64(page + PG_THREAD_FREE, tf - (tf % 4) + USE_DELAYED_FREE);
      this.freeCollect(page, false);
      this.freeBlockLocal(page, block, true);
      block = next;
    }
  }

  // ---------------------------------------------------------------- page queues (page-queue.c)

  /** `mi_page_queue_of`: full, huge or the bin of the block size. */
  private queueOf(page: number): number {
    const flags = this.mem.read32(page + PG_FLAGS);
    if ((flags & F_IN_FULL) !== 0) return BIN_FULL;
    if ((flags & F_HUGE) !== 0) return BIN_HUGE;
    return this.bin(this.mem.read64(page + PG_BLOCK_SIZE));
  }

  private setInFull(page: number, inFull: boolean): void {
    const flags = this.mem.read32(page + PG_FLAGS);
    this.mem.write32(page + PG_FLAGS, inFull ? flags | F_IN_FULL : flags & ~F_IN_FULL);
  }

  /** `mi_page_queue_push`: at the front. */
  private queuePush(q: number, page: number): void {
    const m = this.mem;
    this.setInFull(page, q === BIN_FULL);
    const first = this.qFirst[q]!;
    m.write64(page + PG_NEXT, first);
    m.write64(page + PG_PREV, 0);
    if (first !== 0) m.write64(first + PG_PREV, page);
    else this.qLast[q] = page;
    this.qFirst[q] = page;
  }

  /** Unlinks `page` from queue `q`. */
  private unlink(q: number, page: number): void {
    const m = this.mem;
    const next = m.read64(page + PG_NEXT);
    const prev = m.read64(page + PG_PREV);
    if (prev !== 0) m.write64(prev + PG_NEXT, next);
    if (next !== 0) m.write64(next + PG_PREV, prev);
    if (this.qLast[q] === page) this.qLast[q] = prev;
    if (this.qFirst[q] === page) this.qFirst[q] = next;
  }

  /** `mi_page_queue_remove`. */
  private queueRemove(q: number, page: number): void {
    this.unlink(q, page);
    this.mem.write64(page + PG_NEXT, 0);
    this.mem.write64(page + PG_PREV, 0);
    this.setInFull(page, false);
  }

  /** `mi_page_queue_move_to_front`. */
  private queueMoveToFront(q: number, page: number): void {
    if (this.qFirst[q] === page) return;
    this.queueRemove(q, page);
    this.queuePush(q, page);
  }

  /** `mi_page_queue_enqueue_from`: from queue `from` to the end of queue `to`. */
  private enqueueFrom(to: number, from: number, page: number): void {
    const m = this.mem;
    this.unlink(from, page);
    const last = this.qLast[to]!;
    m.write64(page + PG_PREV, last);
    m.write64(page + PG_NEXT, 0);
    if (last !== 0) m.write64(last + PG_NEXT, page);
    else this.qFirst[to] = page;
    this.qLast[to] = page;
    this.setInFull(page, to === BIN_FULL);
  }

  /** `mi_page_to_full`. */
  private pageToFull(page: number, q: number): void {
    if ((this.mem.read32(page + PG_FLAGS) & F_IN_FULL) !== 0) return;
    this.enqueueFrom(BIN_FULL, q, page);
    this.freeCollect(page, false);
  }

  /** `_mi_page_unfull`: back to the end of its own queue. */
  private pageUnfull(page: number): void {
    if ((this.mem.read32(page + PG_FLAGS) & F_IN_FULL) === 0) return;
    const flags = this.mem.read32(page + PG_FLAGS);
    const q = (flags & F_HUGE) !== 0 ? BIN_HUGE : this.bin(this.mem.read64(page + PG_BLOCK_SIZE));
    this.enqueueFrom(q, BIN_FULL, page);
  }

  // ---------------------------------------------------------------- retire and free pages

  /** `_mi_page_retire`: keep the only page of a bin for a few more calls, else free it. */
  protected pageRetire(page: number): void {
    const m = this.mem;
    m.write32(page + PG_FLAGS, m.read32(page + PG_FLAGS) & ~F_HAS_ALIGNED);
    const q = this.queueOf(page);
    if (q < BIN_HUGE && this.qFirst[q] === page && this.qLast[q] === page) {
      const bsize = m.read64(page + PG_BLOCK_SIZE);
      m.write32(page + PG_RETIRE, bsize <= SMALL_OBJ_SIZE_MAX ? RETIRE_CYCLES : RETIRE_CYCLES / 4);
      if (q < this.retiredMin) this.retiredMin = q;
      if (q > this.retiredMax) this.retiredMax = q;
      return;
    }
    this.pageFree(page, q, false);
  }

  /** `_mi_heap_collect_retired`. */
  private collectRetired(force: boolean): void {
    const m = this.mem;
    let min = BIN_FULL;
    let max = 0;
    for (let bin = this.retiredMin; bin <= this.retiredMax; bin++) {
      const page = this.qFirst[bin]!;
      if (page === 0) continue;
      const expire = m.read32(page + PG_RETIRE);
      if (expire === 0) continue;
      if (m.read32(page + PG_USED) === 0) {
        m.write32(page + PG_RETIRE, expire - 1);
        if (force || expire - 1 === 0) this.pageFree(page, bin, force);
        else {
          if (bin < min) min = bin;
          if (bin > max) max = bin;
        }
      } else {
        m.write32(page + PG_RETIRE, 0);
      }
    }
    this.retiredMin = min;
    this.retiredMax = max;
  }

  /** `_mi_page_free`: off its queue and back to the segment. */
  private pageFree(page: number, q: number, force: boolean): void {
    const m = this.mem;
    m.write32(page + PG_FLAGS, m.read32(page + PG_FLAGS) & ~F_HAS_ALIGNED);
    this.queueRemove(q, page);
    m.write64(page + PG_HEAP, 0);
    this.segmentPageFree(page, force);
  }

  /** `mi_heap_collect_ex` (normal or forced; one thread, so no abandoning). */
  private collect(kind: number): void {
    const force = kind === COLLECT_FORCE;
    this.heartbeat++;
    this.delayedFreePartial();
    this.collectRetired(force);
    const last = force ? BIN_FULL : BIN_HUGE; // a normal collect does not visit the full queue
    for (let q = 1; q <= last; q++) {
      for (let page = this.qFirst[q]!; page !== 0; ) {
        const next = this.mem.read64(page + PG_NEXT);
        this.freeCollect(page, force);
        if (this.mem.read32(page + PG_USED) === 0) this.pageFree(page, q, force);
        page = next;
      }
    }
    this.pagesTryPurge(force);
    this.arenasTryPurge(force);
  }

  // ---------------------------------------------------------------- segments (segment.c)

  /** `_mi_segment_page_alloc`: a page of the kind the block size needs. */
  private segmentPageAlloc(blockSize: number, pageAlignment: number): number {
    if (pageAlignment > BLOCK_ALIGNMENT_MAX) return this.segmentHugePageAlloc(blockSize, Math.max(pageAlignment, SEGMENT_SIZE));
    if (blockSize <= SMALL_OBJ_SIZE_MAX) return this.segmentKindPageAlloc(PAGE_KIND.SMALL, SMALL_PAGE_SHIFT);
    if (blockSize <= MEDIUM_OBJ_SIZE_MAX) return this.segmentKindPageAlloc(PAGE_KIND.MEDIUM, MEDIUM_PAGE_SHIFT);
    if (blockSize <= LARGE_OBJ_SIZE_MAX) {
      const seg = this.segmentAlloc(0, PAGE_KIND.LARGE, LARGE_PAGE_SHIFT, 0);
      return seg === 0 ? 0 : this.segmentFindFree(seg);
    }
    return this.segmentHugePageAlloc(blockSize, pageAlignment);
  }

  /** `mi_segment_page_alloc`: a free page of a segment on the free queue of the kind, else of a fresh segment. */
  private segmentKindPageAlloc(kind: number, pageShift: number): number {
    let page = this.segmentTryAllocInQueue(kind);
    if (page === 0) {
      if (this.segmentAlloc(0, kind, pageShift, 0) === 0) return 0;
      page = this.segmentTryAllocInQueue(kind);
    }
    return page;
  }

  /** `mi_segment_page_try_alloc_in_queue`. */
  private segmentTryAllocInQueue(kind: number): number {
    const m = this.mem;
    for (let seg = this.segQFirst[kind]!; seg !== 0; seg = m.read64(seg + SEG_NEXT)) {
      if (m.read64(seg + SEG_USED) < m.read64(seg + SEG_CAPACITY)) return this.segmentFindFree(seg);
    }
    return 0;
  }

  /** `mi_segment_find_free`: the first unclaimed page, claimed. */
  private segmentFindFree(seg: number): number {
    const m = this.mem;
    const capacity = m.read64(seg + SEG_CAPACITY);
    for (let i = 0; i < capacity; i++) {
      const page = seg + SEG_PAGES + i * PAGE_HDR;
      if ((m.read32(page + PG_FLAGS) & F_IN_USE) === 0) {
        this.segmentPageClaim(seg, page);
        return page;
      }
    }
    return 0;
  }

  /** `mi_segment_page_claim`. */
  private segmentPageClaim(seg: number, page: number): void {
    const m = this.mem;
    this.purgeRemove(page);
    m.write32(page + PG_FLAGS, m.read32(page + PG_FLAGS) | F_IN_USE);
    const used = m.read64(seg + SEG_USED) + 1;
    m.write64(seg + SEG_USED, used);
    const kind = m.read64(seg + SEG_PAGE_KIND);
    if (used === m.read64(seg + SEG_CAPACITY) && kind <= PAGE_KIND.MEDIUM) this.segQueueRemove(kind, seg);
    this.pagesTotal++;
    this.pagesPeak = Math.max(this.pagesPeak, ++this.pagesNow);
  }

  /** `mi_segment_huge_page_alloc`: a segment of its own whose one page is the block. */
  private segmentHugePageAlloc(size: number, pageAlignment: number): number {
    const seg = this.segmentAlloc(size, PAGE_KIND.HUGE, HUGE_PAGE_SHIFT, pageAlignment);
    if (seg === 0) return 0;
    const page = this.segmentFindFree(seg);
    this.rawPageStart(seg, page);
    this.mem.write64(page + PG_BLOCK_SIZE, this.lastPageSize);
    // (mimalloc resets the skipped part of an aligned huge block: fresh memory, never touched, so nothing to do here)
    return page;
  }

  /** `mi_segment_alloc`: memory from the arena or the OS, the info zeroed, the page headers set up. */
  private segmentAlloc(required: number, kind: number, pageShift: number, pageAlignment: number): number {
    const m = this.mem;
    const capacity = kind === PAGE_KIND.HUGE ? 1 : SEGMENT_SIZE / 2 ** pageShift;
    const infoSize = alignUp(SEG_PAGES + capacity * PAGE_HDR, SEGMENT_INFO_ALIGN);
    let segmentSize = required === 0 ? SEGMENT_SIZE : alignUp(required + infoSize, PAGE_HUGE_ALIGN);
    // mi_segment_os_alloc
    let alignment = SEGMENT_SIZE;
    let alignOffset = 0;
    if (pageAlignment > 0) {
      alignment = pageAlignment;
      alignOffset = alignUp(infoSize, SEGMENT_SIZE);
      segmentSize += alignOffset - infoSize;
    }
    const seg = this.arenaAllocAligned(segmentSize, alignment, alignOffset);
    if (seg === 0) return 0;
    m.fill(seg, infoSize, 0);
    m.write64(seg + SEG_MEM_KIND, this.memKind);
    m.write64(seg + SEG_MEM_BASE, this.memBase);
    m.write64(seg + SEG_MEM_SIZE, this.memSize);
    m.write64(seg + SEG_MEM_ZERO, this.memZero ? 1 : 0);
    m.write64(seg + SEG_SIZE, segmentSize);
    m.write64(seg + SEG_CAPACITY, capacity);
    m.write64(seg + SEG_INFO_SIZE, infoSize);
    m.write64(seg + SEG_COOKIE, this.cookieOf(seg));
    m.write64(seg + SEG_THREAD_ID, 1);
    m.write64(seg + SEG_PAGE_SHIFT, pageShift);
    m.write64(seg + SEG_PAGE_KIND, kind);
    const pageFlags = (this.memZero ? F_ZERO_INIT : 0) | (kind === PAGE_KIND.HUGE ? F_HUGE : 0);
    for (let i = 0; i < capacity; i++) {
      const page = seg + SEG_PAGES + i * PAGE_HDR;
      m.write32(page + PG_IDX, i);
      m.write32(page + PG_FLAGS, pageFlags);
    }
    this.segments.add(seg);
    this.segmentsTotal++;
    this.segmentsPeak = Math.max(this.segmentsPeak, ++this.segmentsNow);
    if (kind === PAGE_KIND.HUGE) {
      this.hugeBytes += segmentSize;
      this.hugeCount++;
    } else {
      this.segmentBytes += segmentSize;
    }
    this.peak = Math.max(this.peak, this.segmentBytes + this.hugeBytes);
    if (kind <= PAGE_KIND.MEDIUM) this.segQueueInsert(kind, seg);
    return seg;
  }

  /** `_mi_segment_page_free`: the page cleared (and its purge scheduled); an empty segment freed. */
  private segmentPageFree(page: number, _force: boolean): void {
    const m = this.mem;
    const seg = ptrSegment(page);
    this.pagesTryPurge(false);
    this.segmentPageClear(seg, page);
    const used = m.read64(seg + SEG_USED);
    const kind = m.read64(seg + SEG_PAGE_KIND);
    if (used === 0) this.segmentFree(seg);
    else if (used + 1 === m.read64(seg + SEG_CAPACITY) && kind <= PAGE_KIND.MEDIUM) this.segQueueInsert(kind, seg);
  }

  /** `mi_segment_page_clear`: the page holds nothing any more; its memory is purged later. */
  private segmentPageClear(seg: number, page: number): void {
    const m = this.mem;
    m.write32(page + PG_FLAGS, m.read32(page + PG_FLAGS) & F_HUGE);
    m.write32(page + PG_USED, 0);
    m.write32(page + PG_RETIRE, 0);
    m.write64(page + PG_FREE, 0);
    m.write64(page + PG_LOCAL_FREE, 0);
    m.write64(page + PG_THREAD_FREE, 0);
    m.write64(page + PG_HEAP, 0);
    m.write64(page + PG_NEXT, 0);
    m.write64(page + PG_PREV, 0);
    m.write64(seg + SEG_USED, m.read64(seg + SEG_USED) - 1);
    this.pagesNow--;
    this.schedulePurge(seg, page);
    m.write32(page + PG_CAPACITY, 0);
    m.write32(page + PG_RESERVED, 0);
  }

  /** `mi_segment_free`: pending purges dropped, off the free queue, memory back to the arena or the OS. */
  private segmentFree(seg: number): void {
    const m = this.mem;
    const capacity = m.read64(seg + SEG_CAPACITY);
    for (let i = 0; i < capacity; i++) this.purgeRemove(seg + SEG_PAGES + i * PAGE_HDR);
    const kind = m.read64(seg + SEG_PAGE_KIND);
    if (kind <= PAGE_KIND.MEDIUM) this.segQueueRemove(kind, seg);
    const size = m.read64(seg + SEG_SIZE);
    if (kind === PAGE_KIND.HUGE) {
      this.hugeBytes -= size;
      this.hugeCount--;
    } else {
      this.segmentBytes -= size;
    }
    this.segments.delete(seg);
    this.segmentsNow--;
    m.write64(seg + SEG_COOKIE, 0);
    const memKind = m.read64(seg + SEG_MEM_KIND);
    const base = m.read64(seg + SEG_MEM_BASE);
    const memSize = m.read64(seg + SEG_MEM_SIZE);
    if (memKind === MEM_ARENA) this.arenaFree(base, memSize, Math.ceil(size / ARENA_BLOCK_SIZE));
    else this.osFree(base, memSize);
  }

  private segQueueInsert(kind: number, seg: number): void {
    const m = this.mem;
    const last = this.segQLast[kind]!;
    m.write64(seg + SEG_NEXT, 0);
    m.write64(seg + SEG_PREV, last);
    if (last !== 0) m.write64(last + SEG_NEXT, seg);
    else this.segQFirst[kind] = seg;
    this.segQLast[kind] = seg;
  }

  /** `mi_segment_remove_from_free_queue`: only if it is on it. */
  private segQueueRemove(kind: number, seg: number): void {
    const m = this.mem;
    const next = m.read64(seg + SEG_NEXT);
    const prev = m.read64(seg + SEG_PREV);
    if (next === 0 && prev === 0 && this.segQFirst[kind] !== seg) return;
    if (prev !== 0) m.write64(prev + SEG_NEXT, next);
    else this.segQFirst[kind] = next;
    if (next !== 0) m.write64(next + SEG_PREV, prev);
    else this.segQLast[kind] = prev;
    m.write64(seg + SEG_NEXT, 0);
    m.write64(seg + SEG_PREV, 0);
  }

  // ---------------------------------------------------------------- page purging

  /** `mi_segment_schedule_purge`: now, later (on the purge queue, expiry in the `free` field), or never. */
  private schedulePurge(seg: number, page: number): void {
    if (this.purgeDelay === 0) {
      this.pagePurge(seg, page);
    } else if (this.purgeDelay > 0) {
      const m = this.mem;
      m.write64(page + PG_FREE, this.now + this.purgeDelay);
      m.write64(page + PG_NEXT, this.purgeFirst);
      m.write64(page + PG_PREV, 0);
      if (this.purgeFirst !== 0) m.write64(this.purgeFirst + PG_PREV, page);
      else this.purgeLast = page;
      this.purgeFirst = page;
    }
  }

  /** `mi_page_purge_remove`: off the purge queue if it is on it. */
  private purgeRemove(page: number): void {
    const m = this.mem;
    const next = m.read64(page + PG_NEXT);
    const prev = m.read64(page + PG_PREV);
    if (next === 0 && prev === 0 && this.purgeFirst !== page) return;
    if (prev !== 0) m.write64(prev + PG_NEXT, next);
    else this.purgeFirst = next;
    if (next !== 0) m.write64(next + PG_PREV, prev);
    else this.purgeLast = prev;
    m.write64(page + PG_NEXT, 0);
    m.write64(page + PG_PREV, 0);
    m.write64(page + PG_FREE, 0);
  }

  /** `mi_pages_try_purge`: the oldest pages whose delay has passed (all when forced). */
  private pagesTryPurge(force: boolean): void {
    if (this.purgeDelay < 0) return;
    for (let page = this.purgeLast; page !== 0 && (force || this.now >= this.mem.read64(page + PG_FREE)); ) {
      const prev = this.mem.read64(page + PG_PREV);
      this.purgeRemove(page);
      this.pagePurge(ptrSegment(page), page);
      page = prev;
    }
  }

  /** `mi_page_purge`: `madvise(MADV_DONTNEED)` of the OS pages wholly inside the page area. */
  private pagePurge(seg: number, page: number): void {
    const start = this.rawPageStart(seg, page);
    const from = alignUp(start, OS_PAGE_SIZE);
    const to = alignDown(start + this.lastPageSize, OS_PAGE_SIZE);
    if (to > from) this.madvise(from, to - from);
  }

  // ---------------------------------------------------------------- arenas (arena.c)

  /** `_mi_arena_alloc_aligned`: an arena block run when big enough and plainly aligned, else the OS. Sets the memid. */
  private arenaAllocAligned(size: number, alignment: number, alignOffset: number): number {
    if (this.arenaReserve > 0 && size >= ARENA_MIN_OBJ_SIZE && alignment <= SEGMENT_SIZE && alignOffset === 0) {
      for (let i = 0; i < this.arenas.length; i++) {
        const p = this.arenaTryAllocAt(i, size);
        if (p !== 0) return p;
      }
      if (this.arenaReserveNew(size)) {
        const p = this.arenaTryAllocAt(this.arenas.length - 1, size);
        if (p !== 0) return p;
      }
    }
    return alignOffset > 0 ? this.osAllocAlignedAtOffset(size, alignment, alignOffset) : this.osAllocAligned(size, alignment);
  }

  /** `mi_arena_try_alloc_at`: first fit of `ceil(size / 4 MiB)` free blocks. */
  private arenaTryAllocAt(index: number, size: number): number {
    const a = this.arenas[index]!;
    const need = Math.ceil(size / ARENA_BLOCK_SIZE);
    for (let i = 0; i + need <= a.blocks; i++) {
      let run = 0;
      while (run < need && a.inuse[i + run] === 0) run++;
      if (run < need) {
        i += run;
        continue;
      }
      let dirty = false;
      for (let k = i; k < i + need; k++) {
        dirty ||= a.dirty[k] === 1;
        a.inuse[k] = 1;
        a.dirty[k] = 1;
        a.purge[k] = 0;
      }
      this.memKind = MEM_ARENA;
      this.memBase = index;
      this.memSize = i;
      this.memZero = !dirty;
      return a.base + i * ARENA_BLOCK_SIZE;
    }
    return 0;
  }

  /** `mi_arena_reserve`: a new arena (1 GiB, doubling every 8 arenas), or false. */
  private arenaReserveNew(reqSize: number): boolean {
    const count = this.arenas.length;
    if (count > MAX_ARENAS - 4) return false;
    let reserve = alignUp(this.arenaReserve, ARENA_BLOCK_SIZE);
    if (count >= 8 && count <= 128) reserve *= 2 ** Math.min(Math.floor(count / 8), 16);
    if (reserve < reqSize) return false;
    const base = this.osAllocAligned(reserve, SEGMENT_SIZE);
    if (base === 0) return false;
    const blocks = reserve / ARENA_BLOCK_SIZE;
    this.arenas.push({ base, blocks, inuse: new Uint8Array(blocks), dirty: new Uint8Array(blocks), purge: new Uint8Array(blocks), purgeExpire: 0 });
    return true;
  }

  /** `_mi_arena_free`: blocks back in the bitmap, their purge scheduled. */
  private arenaFree(index: number, first: number, blocks: number): void {
    const a = this.arenas[index]!;
    for (let k = first; k < first + blocks; k++) {
      a.inuse[k] = 0;
      if (this.arenaPurgeDelay === 0) this.madvise(a.base + k * ARENA_BLOCK_SIZE, ARENA_BLOCK_SIZE);
      else if (this.arenaPurgeDelay > 0) a.purge[k] = 1;
    }
    if (this.arenaPurgeDelay > 0 && a.purgeExpire === 0) a.purgeExpire = this.now + this.arenaPurgeDelay;
    this.arenasTryPurge(false);
  }

  /** `mi_arenas_try_purge`: each arena whose delay has passed purges its runs of freed blocks. */
  private arenasTryPurge(force: boolean): void {
    for (const a of this.arenas) {
      if (a.purgeExpire === 0 || (!force && this.now < a.purgeExpire)) continue;
      for (let k = 0; k < a.blocks; ) {
        if (a.purge[k] === 0 || a.inuse[k] === 1) {
          k++;
          continue;
        }
        let end = k;
        while (end < a.blocks && a.purge[end] === 1 && a.inuse[end] === 0) a.purge[end++] = 0;
        this.madvise(a.base + k * ARENA_BLOCK_SIZE, (end - k) * ARENA_BLOCK_SIZE);
        k = end;
      }
      a.purgeExpire = 0;
    }
  }

  // ---------------------------------------------------------------- the OS layer (os.c, prim/unix/prim.c)

  /** `_mi_os_get_aligned_hint`: the next hint address for an aligned mapping, or 0. */
  private alignedHint(alignment: number, size: number): number {
    if (alignment <= 1 || alignment > SEGMENT_SIZE) return 0;
    let span = alignUp(size, SEGMENT_SIZE);
    if (span > GiB) return 0;
    span += SEGMENT_SIZE; // a 4 MiB gap between hinted mappings
    if (this.hintCursor === 0 || this.hintCursor > HINT_MAX) this.hintCursor = HINT_BASE;
    const hint = this.hintCursor;
    this.hintCursor += span;
    return hint % alignment === 0 ? hint : 0;
  }

  /** `_mi_os_alloc_aligned`: an aligned mapping (at the hint, else over-allocated and trimmed). Sets the memid. */
  private osAllocAligned(size0: number, alignment: number): number {
    const size = alignUp(size0, OS_PAGE_SIZE);
    const m = this.mem;
    let p = m.mmap(this.alignedHint(alignment, size), size, RW, MAP_FLAGS);
    this.mmaps++;
    if (p < 0) return 0;
    if (p % alignment !== 0) {
      m.munmap(p, size);
      const over = size + alignment;
      p = m.mmap(0, over, RW, MAP_FLAGS);
      this.mmaps++;
      if (p < 0) return 0;
      const aligned = alignUp(p, alignment);
      const pre = aligned - p;
      const post = over - pre - size;
      if (pre > 0) m.munmap(p, pre);
      if (post > 0) m.munmap(aligned + size, post);
      p = aligned;
    }
    this.memKind = MEM_OS;
    this.memBase = p;
    this.memSize = size;
    this.memZero = true;
    return p;
  }

  /** `_mi_os_alloc_aligned_at_offset`: `p + offset` aligned. */
  private osAllocAlignedAtOffset(size: number, alignment: number, offset: number): number {
    const extra = alignUp(offset, alignment) - offset;
    const start = this.osAllocAligned(size + extra, alignment);
    if (start === 0) return 0;
    return start + extra; // memBase/memSize stay those of the whole mapping
  }

  private osFree(base: number, size: number): void {
    this.mem.munmap(base, size);
    this.releases++;
  }

  private madvise(addr: number, len: number): void {
    this.mem.madvise(addr, len, MADV_DONTNEED);
    this.releases++;
  }

  // ---------------------------------------------------------------- reports

  stats(): UserMallocStats {
    return {
      arenaBytes: this.segmentBytes,
      mmappedBytes: this.hugeBytes,
      mmappedChunks: this.hugeCount,
      inUseBytes: this.inUse,
      freeBytes: this.segmentBytes + this.hugeBytes - this.inUse,
      peakHeapBytes: this.peak,
    };
  }

  /**
   * mimalloc's own counters, as `MIMALLOC_SHOW_STATS=1` prints them at exit
   * (`segments` and `pages`: peak, total, current; `mmaps`): for comparing a
   * replay with the real library on the same trace.
   */
  miStats(): { segments: { peak: number; total: number; current: number }; pages: { peak: number; total: number; current: number }; mmaps: number } {
    return {
      segments: { peak: this.segmentsPeak, total: this.segmentsTotal, current: this.segmentsNow },
      pages: { peak: this.pagesPeak, total: this.pagesTotal, current: this.pagesNow },
      mmaps: this.mmaps,
    };
  }

  /** One row per bin with free blocks (`free` + `local_free` + `thread_free` of its pages), then the unclaimed small and medium pages. */
  binReport(): BinRow[] {
    const m = this.mem;
    const rows: BinRow[] = [];
    for (let q = 1; q <= BIN_HUGE; q++) {
      let blocks = 0;
      let bytes = 0;
      let lo = Infinity;
      let hi = 0;
      for (let page = this.qFirst[q]!, n = 0; page !== 0 && n < 1 << 20; page = m.read64(page + PG_NEXT), n++) {
        const bsize = m.read64(page + PG_BLOCK_SIZE);
        const max = m.read32(page + PG_CAPACITY);
        let k = 0;
        for (const head of [m.read64(page + PG_FREE), m.read64(page + PG_LOCAL_FREE), m.read64(page + PG_THREAD_FREE) - (m.read64(page + PG_THREAD_FREE) % 4)]) {
          for (let b = head, c = 0; b !== 0 && c <= max; b = m.read64(b), c++) k++;
        }
        if (k === 0) continue;
        blocks += k;
        bytes += k * bsize;
        lo = Math.min(lo, bsize);
        hi = Math.max(hi, bsize);
      }
      if (blocks) rows.push({ bin: q === BIN_HUGE ? 'bin[huge]' : `bin[${q}]`, sizes: lo === hi ? String(lo) : `${lo}-${hi}`, chunks: blocks, bytes });
    }
    for (const kind of [PAGE_KIND.SMALL, PAGE_KIND.MEDIUM]) {
      let pages = 0;
      for (let seg = this.segQFirst[kind]!, n = 0; seg !== 0 && n < 1 << 20; seg = m.read64(seg + SEG_NEXT), n++) pages += m.read64(seg + SEG_CAPACITY) - m.read64(seg + SEG_USED);
      const psize = 2 ** (kind === PAGE_KIND.SMALL ? SMALL_PAGE_SHIFT : MEDIUM_PAGE_SHIFT);
      if (pages) rows.push({ bin: `${KIND_NAMES[kind]}-pages`, sizes: String(psize), chunks: pages, bytes: pages * psize });
    }
    return rows;
  }

  /** Walks every structure and returns each violation of M1–M10 (see the class comment); every walk is bounded. */
  checkInvariants(): Violation[] {
    const out: Violation[] = [];
    const add = (code: string, message: string): void => {
      if (out.length < MAX_VIOLATIONS) out.push({ code, message });
    };
    try {
      this.check(add);
    } catch (e) {
      add('M1', `heap unreadable: ${(e as Error).message}`);
    }
    return out;
  }

  private check(add: (code: string, message: string) => void): void {
    const m = this.mem;
    // Blocks on the heap's delayed list, per page (M4, M5, M6).
    const delayed = new Map<number, Set<number>>();
    for (let b = this.delayedFree, n = 0; b !== 0; b = m.read64(b), n++) {
      if (n > 1 << 22) {
        add('M4', 'the delayed-free list does not end');
        break;
      }
      const seg = ptrSegment(b);
      if (!this.segments.has(seg)) {
        add('M4', `delayed-free block ${hex(b)} is in no segment`);
        break;
      }
      const page = this.pageOf(seg, b);
      let set = delayed.get(page);
      if (!set) delayed.set(page, (set = new Set()));
      if (set.has(b)) {
        add('M5', `block ${hex(b)} is on the delayed-free list twice`);
        break;
      }
      set.add(b);
    }

    // M7: queue membership.
    const queueOfPage = new Map<number, number>();
    for (let q = 1; q <= BIN_FULL; q++) {
      let prev = 0;
      let n = 0;
      for (let page = this.qFirst[q]!; page !== 0; page = m.read64(page + PG_NEXT)) {
        if (++n > 1 << 20) {
          add('M7', `queue ${q} does not end`);
          break;
        }
        if (m.read64(page + PG_PREV) !== prev) add('M7', `queue ${q}: ${hex(page)}->prev is ${hex(m.read64(page + PG_PREV))}, not ${hex(prev)}`);
        if (queueOfPage.has(page)) {
          add('M7', `page ${hex(page)} is on queue ${q} and queue ${queueOfPage.get(page)} (or twice)`);
          break;
        }
        queueOfPage.set(page, q);
        prev = page;
      }
      if (this.qLast[q] !== prev) add('M7', `queue ${q}: last is ${hex(this.qLast[q]!)}, the walk ends at ${hex(prev)}`);
    }

    // M1, M3–M8 over every segment and page.
    let segBytes = 0;
    let hugeBytes = 0;
    let held = 0;
    const freeOf = new Map<number, number>();
    for (const seg of this.segments) {
      if (seg % SEGMENT_SIZE !== 0) add('M1', `segment ${hex(seg)} is not 4 MiB-aligned`);
      if (m.read64(seg + SEG_COOKIE) !== this.cookieOf(seg)) add('M1', `segment ${hex(seg)}: wrong cookie`);
      const kind = m.read64(seg + SEG_PAGE_KIND);
      const capacity = m.read64(seg + SEG_CAPACITY);
      const shift = m.read64(seg + SEG_PAGE_SHIFT);
      const size = m.read64(seg + SEG_SIZE);
      const want = [
        [SMALL_PAGE_SHIFT, 64],
        [MEDIUM_PAGE_SHIFT, 8],
        [LARGE_PAGE_SHIFT, 1],
        [HUGE_PAGE_SHIFT, 1],
      ][kind];
      if (want === undefined || shift !== want[0] || capacity !== want[1]) {
        add('M1', `segment ${hex(seg)}: kind ${kind} with page shift ${shift} and ${capacity} pages`);
        continue;
      }
      if (m.read64(seg + SEG_INFO_SIZE) !== alignUp(SEG_PAGES + capacity * PAGE_HDR, SEGMENT_INFO_ALIGN)) add('M1', `segment ${hex(seg)}: info size ${m.read64(seg + SEG_INFO_SIZE)}`);
      if (kind === PAGE_KIND.HUGE) hugeBytes += size;
      else {
        segBytes += size;
        if (size !== SEGMENT_SIZE) add('M1', `segment ${hex(seg)} of kind ${KIND_NAMES[kind]} is ${size} bytes`);
      }
      let used = 0;
      for (let i = 0; i < capacity; i++) {
        const page = seg + SEG_PAGES + i * PAGE_HDR;
        const flags = m.read32(page + PG_FLAGS);
        if (m.read32(page + PG_IDX) !== i) add('M3', `page ${hex(page)}: segment_idx ${m.read32(page + PG_IDX)}, not ${i}`);
        if ((flags & F_IN_USE) === 0) {
          if (m.read32(page + PG_CAPACITY) || m.read32(page + PG_RESERVED) || m.read32(page + PG_USED) || m.read64(page + PG_LOCAL_FREE) || m.read64(page + PG_THREAD_FREE) >= 4) {
            add('M3', `page ${hex(page)} is not in use but holds blocks`);
          }
          if (queueOfPage.has(page)) add('M7', `page ${hex(page)} is not in use but is on queue ${queueOfPage.get(page)}`);
          continue;
        }
        used++;
        held += this.checkPage(seg, page, kind, flags, queueOfPage.get(page), delayed.get(page), freeOf, add);
      }
      if (used !== m.read64(seg + SEG_USED)) add('M1', `segment ${hex(seg)}: used is ${m.read64(seg + SEG_USED)}, ${used} pages are in use`);
    }
    if (segBytes !== this.segmentBytes || hugeBytes !== this.hugeBytes) add('M1', `segments add up to ${segBytes} + ${hugeBytes} bytes, stats say ${this.segmentBytes} + ${this.hugeBytes}`);
    if (held !== this.inUse) add('M6', `the program holds ${held} bytes of blocks, inUseBytes says ${this.inUse}`);
    for (const page of queueOfPage.keys()) if (!this.segments.has(ptrSegment(page))) add('M7', `page ${hex(page)} on a queue is in no segment`);
    for (const [page] of delayed) if (!freeOf.has(page)) add('M4', `delayed-free blocks in ${hex(page)}, a page not in use`);

    // M2: segment free queues.
    for (const kind of [PAGE_KIND.SMALL, PAGE_KIND.MEDIUM]) {
      const seen = new Set<number>();
      let prev = 0;
      for (let seg = this.segQFirst[kind]!; seg !== 0; seg = m.read64(seg + SEG_NEXT)) {
        if (seen.has(seg) || seen.size > 1 << 20) {
          add('M2', `the ${KIND_NAMES[kind]} segment queue has a cycle at ${hex(seg)}`);
          break;
        }
        seen.add(seg);
        if (!this.segments.has(seg)) add('M2', `the ${KIND_NAMES[kind]} segment queue holds ${hex(seg)}, not a live segment`);
        else if (m.read64(seg + SEG_PAGE_KIND) !== kind) add('M2', `segment ${hex(seg)} of kind ${m.read64(seg + SEG_PAGE_KIND)} on the ${KIND_NAMES[kind]} queue`);
        if (m.read64(seg + SEG_PREV) !== prev) add('M2', `segment ${hex(seg)}: prev is not ${hex(prev)}`);
        prev = seg;
      }
      if (this.segQLast[kind] !== prev) add('M2', `the ${KIND_NAMES[kind]} segment queue's last is not where its walk ends`);
      for (const seg of this.segments) {
        if (m.read64(seg + SEG_PAGE_KIND) !== kind) continue;
        const hasFree = m.read64(seg + SEG_USED) < m.read64(seg + SEG_CAPACITY);
        if (hasFree !== seen.has(seg)) add('M2', `segment ${hex(seg)} ${hasFree ? 'has free pages but is not' : 'is full but is'} on the ${KIND_NAMES[kind]} segment queue`);
      }
    }

    // M9: purge queue.
    {
      const seen = new Set<number>();
      let prev = 0;
      for (let page = this.purgeFirst; page !== 0; page = m.read64(page + PG_NEXT)) {
        if (seen.has(page) || seen.size > 1 << 22) {
          add('M9', `the purge queue has a cycle at ${hex(page)}`);
          break;
        }
        seen.add(page);
        if (!this.segments.has(ptrSegment(page))) add('M9', `purge queue page ${hex(page)} is in no live segment`);
        else if ((m.read32(page + PG_FLAGS) & F_IN_USE) !== 0) add('M9', `purge queue page ${hex(page)} is in use`);
        if (m.read64(page + PG_PREV) !== prev) add('M9', `purge queue: ${hex(page)}->prev is not ${hex(prev)}`);
        prev = page;
      }
      if (this.purgeLast !== prev) add('M9', 'the purge queue’s last is not where its walk ends');
    }

    // M10: arenas.
    const arenaUse = this.arenas.map((a) => new Uint8Array(a.blocks));
    for (const seg of this.segments) {
      if (m.read64(seg + SEG_MEM_KIND) !== MEM_ARENA) continue;
      const a = this.arenas[m.read64(seg + SEG_MEM_BASE)];
      const first = m.read64(seg + SEG_MEM_SIZE);
      if (a === undefined || seg !== a.base + first * ARENA_BLOCK_SIZE) {
        add('M10', `segment ${hex(seg)} names arena block ${first} of arena ${m.read64(seg + SEG_MEM_BASE)}, which is not where it is`);
        continue;
      }
      for (let k = first; k < first + Math.ceil(m.read64(seg + SEG_SIZE) / ARENA_BLOCK_SIZE); k++) arenaUse[m.read64(seg + SEG_MEM_BASE)]![k] = 1;
    }
    this.arenas.forEach((a, i) => {
      for (let k = 0; k < a.blocks; k++) {
        if (a.inuse[k] !== arenaUse[i]![k]) add('M10', `arena ${i} block ${k}: in-use bit ${a.inuse[k]}, ${arenaUse[i]![k] ? 'a live segment is there' : 'no segment is there'}`);
        if (a.purge[k] === 1 && a.inuse[k] === 1) add('M10', `arena ${i} block ${k} is in use and scheduled for purging`);
      }
    });
  }

  /** M3–M8 for one in-use page; returns the bytes its blocks hold for the program. */
  private checkPage(
    seg: number,
    page: number,
    kind: number,
    flags: number,
    queue: number | undefined,
    delayed: Set<number> | undefined,
    freeOf: Map<number, number>,
    add: (code: string, message: string) => void,
  ): number {
    const m = this.mem;
    const bsize = m.read64(page + PG_BLOCK_SIZE);
    const capacity = m.read32(page + PG_CAPACITY);
    const reserved = m.read32(page + PG_RESERVED);
    const used = m.read32(page + PG_USED);
    const start = m.read64(page + PG_PAGE_START);
    const where = `page ${hex(page)} (block size ${bsize})`;
    if (bsize <= 0) {
      add('M3', `${where}: block size ${bsize}`);
      return 0;
    }
    const expect = kind === PAGE_KIND.HUGE ? this.rawPageStart(seg, page) : this.pageStart(page, bsize);
    if (start !== expect) add('M3', `${where}: page_start ${hex(start)}, not ${hex(expect)}`);
    const fits = kind === PAGE_KIND.HUGE ? 1 : Math.floor(this.lastPageSize / bsize);
    if (reserved !== fits) add('M3', `${where}: reserved ${reserved}, ${fits} blocks fit`);
    if (capacity === 0 || capacity > reserved || used > capacity) add('M3', `${where}: capacity ${capacity}, reserved ${reserved}, used ${used}`);
    // M4, M5: the lists.
    const seen = new Set<number>(delayed);
    const end = start + capacity * bsize;
    const walk = (head: number, name: string): number => {
      let n = 0;
      for (let b = head; b !== 0; b = m.read64(b)) {
        if (b < start || b >= end || (b - start) % bsize !== 0) {
          add('M4', `${where}: ${name} holds ${hex(b)}, outside the page's ${capacity} linked blocks or off a block boundary`);
          return n;
        }
        if (seen.has(b)) {
          add('M5', `${where}: ${hex(b)} is on ${name} twice or on another list too (a cycle or a double free)`);
          return n;
        }
        seen.add(b);
        if (++n > capacity) return n;
      }
      return n;
    };
    const nFree = walk(m.read64(page + PG_FREE), 'free');
    const nLocal = walk(m.read64(page + PG_LOCAL_FREE), 'local_free');
    const tf = m.read64(page + PG_THREAD_FREE);
    const nThread = walk(tf - (tf % 4), 'thread_free');
    const nDelayed = delayed?.size ?? 0;
    for (const b of delayed ?? []) if (b < start || b >= end || (b - start) % bsize !== 0) add('M4', `${where}: delayed-free block ${hex(b)} is not one of its blocks`);
    if (used + nFree + nLocal !== capacity) add('M6', `${where}: used ${used} + free ${nFree} + local_free ${nLocal} != capacity ${capacity}`);
    if (nThread + nDelayed > used) add('M6', `${where}: ${nThread + nDelayed} blocks freed by other threads but only ${used} in use`);
    freeOf.set(page, nFree + nLocal);
    // M7, M8: the queue.
    const wantQueue = (flags & F_IN_FULL) !== 0 ? BIN_FULL : kind === PAGE_KIND.HUGE ? BIN_HUGE : this.bin(bsize);
    if (queue !== wantQueue) add('M7', `${where} is on ${queue === undefined ? 'no queue' : `queue ${queue}`}, belongs on queue ${wantQueue}`);
    if ((flags & F_IN_FULL) !== 0 && (nFree + nLocal !== 0 || capacity !== reserved)) add('M8', `${where} is in the full queue with ${nFree + nLocal} free blocks and ${reserved - capacity} not linked yet`);
    if (kind === PAGE_KIND.HUGE !== ((flags & F_HUGE) !== 0)) add('M3', `${where}: huge flag disagrees with its segment`);
    if (kind !== PAGE_KIND.HUGE && bsize !== binBlockSize(this.bin(bsize))) add('M3', `${where}: ${bsize} is not a bin's block size`);
    return (used - nThread - nDelayed) * bsize;
  }
}
