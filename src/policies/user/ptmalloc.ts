/**
 * # How ptmalloc works here (glibc 2.36, x86_64, the main arena)
 *
 * A faithful model of glibc 2.36's `malloc/malloc.c` as Debian 12 ships it
 * (2.36-9+deb12u*: the release branch adds only an alignment-overflow check
 * in `_int_memalign` and an arena-count fix that cannot change a
 * single-threaded heap). Every structure the C library keeps in memory is
 * kept in the simulated process memory, at the same offsets, so a client's
 * stray write corrupts exactly what it would corrupt in a real process and
 * glibc's integrity checks fire with their own messages:
 *
 * - **chunks**: `prev_size` (8) and `size` (8, low bits PREV_INUSE 1,
 *   IS_MMAPPED 2, NON_MAIN_ARENA 4) before the user pointer; free chunks hold
 *   `fd`/`bk` (and `fd_nextsize`/`bk_nextsize` in large bins) in their user
 *   data; the next chunk's `prev_size` is the footer of a free chunk.
 * - **main_arena** (`struct malloc_state`, 2200 bytes: mutex, flags,
 *   have_fastchunks, fastbinsY[10], top, last_remainder, bins[254],
 *   binmap[4], next, next_free, attached_threads, system_mem,
 *   max_system_mem) lives in a one-page mapping standing in for libc's
 *   `.data`, made when the library is "loaded" (the constructor). Bin headers
 *   are the fake chunks `bin_at(i) = &bins[2i-2] - 16`, so bin links in
 *   chunks point into that page, as in glibc.
 * - **tcache** (`tcache_perthread_struct`: `uint16_t counts[64]`, then
 *   `entries[64]`, 640 bytes) is the first chunk the heap hands out (0x290
 *   bytes); entries are `{next, key}` in the freed chunk, `next`
 *   Safe-Linked (`PROTECT_PTR(pos, ptr) = (pos >> 12) ^ ptr`), `key` a
 *   per-process random 64-bit value (seeded here).
 * - the `mp_` parameters (thresholds, counters), `global_max_fast`,
 *   `__curbrk` and the `tcache` TLS pointer are JS fields: they are C
 *   globals outside the heap.
 *
 * The algorithms follow the C functions one to one and are named after them:
 * `__libc_malloc` (tcache first), `_int_malloc` (fastbin → smallbin →
 * consolidate for large requests → the unsorted scan with last_remainder
 * splitting, exact fits stashed into the tcache, filing into small bins and
 * sorted large bins with the nextsize skip list → best fit in its large bin →
 * binmap scan → top → consolidate and retry → sysmalloc), `sysmalloc`
 * (mmap at the dynamic threshold, else `sbrk(nb + top_pad + MINSIZE -
 * old_top)` rounded to the page, the contiguity corrections and fenceposts),
 * `_int_free` (tcache with the double-free key scan → fastbins → merge
 * backwards and forwards, into unsorted or top → consolidate and `systrim`
 * past 64 KiB), `malloc_consolidate`, `_int_realloc` (shrink in place, grow
 * into top or a free neighbour, else malloc-copy-free; mmapped chunks via
 * `mremap`), `_int_memalign`, `__libc_calloc` (no tcache; only the part of a
 * fresh top that was ever used is cleared), `mtrim` (`MADV_DONTNEED` on whole
 * free pages) and `int_mallinfo`.
 *
 * Sizes and addresses are JS numbers: exact below 2^53, which covers every
 * user address (47 bits) and every size a simulated process can map.
 * Requests above 2^53 − 1 are treated as glibc treats requests above
 * PTRDIFF_MAX: NULL with ENOMEM.
 *
 * Layers it calls: {@link ProcessMemory} only (brk, mmap, munmap, mremap,
 * madvise, loads and stores).
 *
 * Known limitations: one thread, so one arena (no `arena_get2`, no non-main
 * heaps, no `heap_trim`); no mallopt/tunables beyond tcache on/off; no
 * MALLOC_CHECK_, perturb, memory tagging or hugetlb; `malloc_info` XML is not
 * produced.
 */

import { inject, injectable } from 'inversify';
import { AllocatorError } from '../../interfaces/errors.js';
import { PROCESS_MEMORY, USER_MALLOC_OPTIONS } from '../../interfaces/tokens.js';
import type { Violation } from '../../interfaces/invariants.js';
import {
  MADV_DONTNEED,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MREMAP_MAYMOVE,
  PROT_READ,
  PROT_WRITE,
  type BinRow,
  type ProcessMemory,
  type UserMalloc,
  type UserMallocOptions,
  type UserMallocStats,
} from '../../interfaces/user.js';
import { alignDown, alignUp, modPow2 } from '../../interfaces/units.js';
import { Rng } from '../../machine/rng.js';
import { checkPtmallocHeap, type PtmallocHeapView } from './ptmalloc-check.js';
import {
  SIZE_SZ,
  CHUNK_HDR_SZ,
  MALLOC_ALIGNMENT,
  MALLOC_ALIGN_MASK,
  MINSIZE,
  PREV_INUSE,
  IS_MMAPPED,
  SIZE_BITS,
  NBINS,
  MIN_LARGE_SIZE,
  NFASTBINS,
  BINMAPSHIFT,
  BINMAPSIZE,
  TCACHE_MAX_BINS,
  TCACHE_FILL_COUNT,
  DEFAULT_MXFAST,
  FASTBIN_CONSOLIDATION_THRESHOLD,
  DEFAULT_MMAP_THRESHOLD_MIN,
  DEFAULT_MMAP_THRESHOLD_MAX,
  DEFAULT_TOP_PAD,
  DEFAULT_TRIM_THRESHOLD,
  DEFAULT_MMAP_MAX,
  MMAP_AS_MORECORE_SIZE,
  PAGESIZE,
  NONCONTIGUOUS_BIT,
  MAX_REQUEST,
  ARENA,
  TCACHE_COUNTS,
  TCACHE_ENTRIES,
  TCACHE_STRUCT_SIZE,
  checkedRequest2size,
  fastbinIndex,
  smallbinIndex,
  largebinIndex,
  binIndex,
  csize2tidx,
  protectPtr,
} from './ptmalloc-layout.js';

const inSmallbinRange = (sz: number): boolean => sz < MIN_LARGE_SIZE;
const misaligned = (p: number): boolean => modPow2(p, MALLOC_ALIGNMENT) !== 0;
/** `(uintptr_t) p > (uintptr_t) -size`: the chunk would wrap around the address space. */
const wraps = (p: number, size: number): boolean => (size === 0 ? p > 0 : p > 2 ** 64 - size);
/** glibc's `powerof2(x)` for x < 2^31 (true for 0, as the macro is). */
const powerof2Small = (x: number): boolean => (x & (x - 1)) === 0;

/** `mallinfo2()`. */
export interface Mallinfo2 {
  /** Non-mmapped space allocated (bytes). */
  readonly arena: number;
  /** Free chunks (incl. top). */
  readonly ordblks: number;
  /** Free fastbin chunks. */
  readonly smblks: number;
  /** mmapped regions. */
  readonly hblks: number;
  /** Bytes in mmapped regions. */
  readonly hblkhd: number;
  /** Always 0. */
  readonly usmblks: number;
  /** Bytes in free fastbin chunks. */
  readonly fsmblks: number;
  /** Bytes in use. */
  readonly uordblks: number;
  /** Free bytes. */
  readonly fordblks: number;
  /** Top chunk size (releasable). */
  readonly keepcost: number;
}

/**
 * glibc 2.36 malloc for one single-threaded process.
 *
 * Invariants ({@link checkInvariants}, after glibc's `do_check_malloc_state`):
 * - U1 chunks tile the heap from its start to top; sizes are multiples of 16 and ≥ MINSIZE;
 * - U2 a chunk's PREV_INUSE bit agrees with its predecessor's state, and a free chunk's footer equals its size;
 * - U3 no two adjacent chunks are free outside the tcache and fastbins (free chunks are coalesced);
 * - U4 bin links are doubly consistent, every chunk in a bin has that bin's size range, large bins are sorted with a consistent nextsize list, binmap bits cover non-empty bins;
 * - U5 tcache counts equal list lengths (≤ tcache_count), entries are aligned, in-use-looking chunks whose key is tcache_key;
 * - U6 top is the last chunk, PREV_INUSE set, ends at the current break;
 * - U7 mmapped chunks are page aligned with a page-multiple size;
 * - U8 the free-list view and the heap walk agree (every free chunk is on exactly one list).
 */
@injectable()
export class Ptmalloc implements UserMalloc, PtmallocHeapView {
  readonly name = 'ptmalloc';
  /** The process memory this library runs in. */
  readonly mem: ProcessMemory;
  /** Address of `main_arena`. */
  readonly mainArena: number;
  /** `errno` as the last call left it (0, ENOMEM or EINVAL). */
  errno = 0;

  // --- mp_ (struct malloc_par) ---
  trimThreshold = DEFAULT_TRIM_THRESHOLD;
  topPad = DEFAULT_TOP_PAD;
  mmapThreshold = DEFAULT_MMAP_THRESHOLD_MIN;
  readonly nMmapsMax = DEFAULT_MMAP_MAX;
  noDynThreshold = false;
  nMmaps = 0;
  maxNMmaps = 0;
  mmappedMem = 0;
  maxMmappedMem = 0;
  sbrkBase = 0;
  readonly tcacheBins = TCACHE_MAX_BINS;
  readonly tcacheCount: number;
  readonly tcacheUnsortedLimit = 0;
  /** `global_max_fast`. */
  globalMaxFast = 0;
  /** The thread's `tcache` pointer (0 until tcache_init). */
  tcache = 0;
  /** `tcache_key`, low and high 32 bits. */
  readonly keyLo: number;
  readonly keyHi: number;
  /** libc's `__curbrk` (0 until the first sbrk). */
  private curbrk = 0;
  /** Peak of arena + mmapped bytes. */
  private peakHeap = 0;

  /**
   * "Loads libc" into the process: maps the page holding main_arena and runs
   * `malloc_init_state`.
   */
  constructor(@inject(PROCESS_MEMORY) mem: ProcessMemory, @inject(USER_MALLOC_OPTIONS) options: UserMallocOptions) {
    this.mem = mem;
    this.tcacheCount = options.tcache ? TCACHE_FILL_COUNT : 0;
    const rng = new Rng(options.seed ^ 0x7ca3e);
    this.keyLo = rng.u32() >>> 0;
    this.keyHi = rng.u32() >>> 0;
    const page = mem.mmap(0, PAGESIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    if (page < 0) throw new AllocatorError('misuse', 'ptmalloc: cannot map libc data for main_arena', { policy: 'ptmalloc', op: 'init' });
    this.mainArena = page;
    this.mallocInitState();
  }

  // ------------------------------------------------------------------
  // memory helpers
  // ------------------------------------------------------------------

  private r64(a: number): number {
    return this.mem.read64(a);
  }
  protected w64(a: number, v: number): void {
    this.mem.write64(a, v);
  }
  /** Raw size word. */
  sizeNomask(p: number): number {
    return this.mem.read64(p + 8);
  }
  /** `chunksize`. */
  chunksize(p: number): number {
    const s = this.mem.read64(p + 8);
    return s - modPow2(s, 8);
  }
  private prevSize(p: number): number {
    return this.mem.read64(p);
  }
  private flags(p: number): number {
    return this.mem.read32(p + 8) & SIZE_BITS;
  }
  protected prevInuse(p: number): boolean {
    return (this.mem.read32(p + 8) & PREV_INUSE) !== 0;
  }
  private isMmappedChunk(p: number): boolean {
    return (this.mem.read32(p + 8) & IS_MMAPPED) !== 0;
  }
  private setHead(p: number, s: number): void {
    this.mem.write64(p + 8, s);
  }
  private setHeadSize(p: number, s: number): void {
    this.mem.write64(p + 8, s + this.flags(p));
  }
  protected setFoot(p: number, s: number): void {
    this.mem.write64(p + s, s);
  }
  private inuseBitAt(p: number, s: number): boolean {
    return (this.mem.read32(p + s + 8) & PREV_INUSE) !== 0;
  }
  protected setInuseBitAt(p: number, s: number): void {
    const a = p + s + 8;
    this.mem.write32(a, (this.mem.read32(a) | PREV_INUSE) >>> 0);
  }
  private clearInuseBitAt(p: number, s: number): void {
    const a = p + s + 8;
    this.mem.write32(a, (this.mem.read32(a) & ~PREV_INUSE) >>> 0);
  }
  private fd(p: number): number {
    return this.mem.read64(p + 16);
  }
  private bk(p: number): number {
    return this.mem.read64(p + 24);
  }
  private setFd(p: number, v: number): void {
    this.mem.write64(p + 16, v);
  }
  private setBk(p: number, v: number): void {
    this.mem.write64(p + 24, v);
  }
  private fdNext(p: number): number {
    return this.mem.read64(p + 32);
  }
  private bkNext(p: number): number {
    return this.mem.read64(p + 40);
  }
  private setFdNext(p: number, v: number): void {
    this.mem.write64(p + 32, v);
  }
  private setBkNext(p: number, v: number): void {
    this.mem.write64(p + 40, v);
  }
  /** `bin_at(av, i)`. */
  binAt(i: number): number {
    return this.mainArena + ARENA.BINS + (i - 1) * 16 - 16;
  }
  /** Address of `fastbinsY[idx]`. */
  fastbinSlot(idx: number): number {
    return this.mainArena + ARENA.FASTBINS + idx * 8;
  }
  /** `av->top`. */
  top(): number {
    return this.r64(this.mainArena + ARENA.TOP);
  }
  protected setTop(p: number): void {
    this.w64(this.mainArena + ARENA.TOP, p);
  }
  /** `av->last_remainder`. */
  lastRemainder(): number {
    return this.r64(this.mainArena + ARENA.LAST_REMAINDER);
  }
  /** `av->system_mem`. */
  systemMem(): number {
    return this.r64(this.mainArena + ARENA.SYSTEM_MEM);
  }
  private addSystemMem(d: number): void {
    this.w64(this.mainArena + ARENA.SYSTEM_MEM, this.systemMem() + d);
  }
  /** `contiguous(av)`. */
  contiguous(): boolean {
    return (this.mem.read32(this.mainArena + ARENA.FLAGS) & NONCONTIGUOUS_BIT) === 0;
  }
  private haveFastchunks(): boolean {
    return this.mem.read32(this.mainArena + ARENA.HAVE_FASTCHUNKS) !== 0;
  }
  private setHaveFastchunks(v: boolean): void {
    this.mem.write32(this.mainArena + ARENA.HAVE_FASTCHUNKS, v ? 1 : 0);
  }
  /** `binmap[block]`. */
  binmapWord(block: number): number {
    return this.mem.read32(this.mainArena + ARENA.BINMAP + 4 * block) >>> 0;
  }
  private setBinmapWord(block: number, v: number): void {
    this.mem.write32(this.mainArena + ARENA.BINMAP + 4 * block, v >>> 0);
  }
  private markBin(i: number): void {
    const block = i >> BINMAPSHIFT;
    this.setBinmapWord(block, this.binmapWord(block) | ((1 << (i & 31)) >>> 0));
  }
  /** True when `mem` holds tcache_key at `e + 8`. */
  private hasKey(e: number): boolean {
    return this.mem.read32(e + 8) >>> 0 === this.keyLo && this.mem.read32(e + 12) >>> 0 === this.keyHi;
  }
  /** tcache->counts[i]. */
  tcacheCountAt(i: number): number {
    return this.mem.read32(this.tcache + TCACHE_COUNTS + 2 * i) & 0xffff;
  }
  protected setTcacheCount(i: number, v: number): void {
    const a = this.tcache + TCACHE_COUNTS + 2 * i;
    this.mem.write8(a, v & 0xff);
    this.mem.write8(a + 1, (v >>> 8) & 0xff);
  }
  /** tcache->entries[i]. */
  tcacheEntry(i: number): number {
    return this.r64(this.tcache + TCACHE_ENTRIES + 8 * i);
  }
  protected setTcacheEntry(i: number, v: number): void {
    this.w64(this.tcache + TCACHE_ENTRIES + 8 * i, v);
  }
  /** The revealed `next` of a tcache entry or fastbin chunk field at `pos`. */
  reveal(pos: number): number {
    return protectPtr(pos, this.r64(pos));
  }

  private printerr(msg: string): never {
    throw new AllocatorError('malloc-abort', msg, { policy: 'ptmalloc' });
  }

  // ------------------------------------------------------------------
  // initialisation
  // ------------------------------------------------------------------

  private mallocInitState(): void {
    for (let i = 1; i < NBINS; i++) {
      const bin = this.binAt(i);
      this.setFd(bin, bin);
      this.setBk(bin, bin);
    }
    // The main arena is contiguous (MORECORE_CONTIGUOUS): flags stay 0.
    this.globalMaxFast = (DEFAULT_MXFAST + SIZE_SZ) & ~MALLOC_ALIGN_MASK;
    this.setHaveFastchunks(false);
    this.setTop(this.binAt(1));
  }

  /** `MAYBE_INIT_TCACHE` / `tcache_init`. */
  private maybeInitTcache(): void {
    if (this.tcache !== 0) return;
    const victim = this.intMalloc(TCACHE_STRUCT_SIZE);
    if (victim !== 0) {
      this.tcache = victim;
      this.mem.fill(victim, TCACHE_STRUCT_SIZE, 0);
    }
  }

  /** glibc's `sbrk` over the brk syscall: the old break, or -1. */
  private sbrk(increment: number): number {
    if (this.curbrk === 0) this.curbrk = this.mem.brk(0);
    if (increment === 0) return this.curbrk;
    const old = this.curbrk;
    if (increment < 0 && old < -increment) return -1;
    const want = old + increment;
    const got = this.mem.brk(want);
    this.curbrk = got;
    if (got < want) return -1;
    return old;
  }

  /** `MORECORE` (`__glibc_morecore`): the old break or 0 (MORECORE_FAILURE). */
  private morecore(increment: number): number {
    const r = this.sbrk(increment);
    return r === -1 ? 0 : r;
  }

  // ------------------------------------------------------------------
  // tcache
  // ------------------------------------------------------------------

  // The tcache paths are the hot ones: they call the memory directly rather
  // than through the one-line accessors, so V8 can inline them whole.

  /** `tcache_put`. */
  protected tcachePut(chunk: number, tcIdx: number): void {
    const mem = this.mem;
    const e = chunk + CHUNK_HDR_SZ;
    mem.write32(e + 8, this.keyLo);
    mem.write32(e + 12, this.keyHi);
    const slot = this.tcache + TCACHE_ENTRIES + 8 * tcIdx;
    mem.write64(e, protectPtr(e, mem.read64(slot)));
    mem.write64(slot, e);
    this.setTcacheCount(tcIdx, this.tcacheCountAt(tcIdx) + 1);
  }

  /**
   * `tcache_get`. `count` is counts[tcIdx] when the caller has just read it
   * (only the entries[] slot is written in between, which cannot overlap the
   * counts), else -1 and it is read here.
   */
  private tcacheGet(tcIdx: number, count = -1): number {
    const mem = this.mem;
    const slot = this.tcache + TCACHE_ENTRIES + 8 * tcIdx;
    const e = mem.read64(slot);
    if (misaligned(e)) this.printerr('malloc(): unaligned tcache chunk detected');
    mem.write64(slot, protectPtr(e, mem.read64(e)));
    this.setTcacheCount(tcIdx, (count < 0 ? this.tcacheCountAt(tcIdx) : count) - 1);
    mem.write64(e + 8, 0);
    return e;
  }

  // ------------------------------------------------------------------
  // public API
  // ------------------------------------------------------------------

  /** `__libc_malloc`. */
  malloc(bytes: number): number {
    this.errno = 0;
    const tbytes = checkedRequest2size(bytes);
    if (tbytes === 0) {
      this.errno = 12;
      return 0;
    }
    const tcIdx = csize2tidx(tbytes);
    if (this.tcache === 0) this.maybeInitTcache();
    if (tcIdx < this.tcacheBins && this.tcache !== 0) {
      const count = this.tcacheCountAt(tcIdx);
      if (count > 0) return this.noteRet(this.tcacheGet(tcIdx, count));
    }
    return this.noteRet(this.intMalloc(bytes));
  }

  private noteRet(p: number): number {
    const h = this.systemMem() + this.mmappedMem;
    if (h > this.peakHeap) this.peakHeap = h;
    return p;
  }

  /** `__libc_free`. */
  free(mem: number): void {
    if (mem === 0) return;
    const p = mem - CHUNK_HDR_SZ;
    if (this.isMmappedChunk(p)) {
      const nomask = this.sizeNomask(p);
      if (!this.noDynThreshold && nomask > this.mmapThreshold && nomask <= DEFAULT_MMAP_THRESHOLD_MAX) {
        this.mmapThreshold = this.chunksize(p);
        this.trimThreshold = 2 * this.mmapThreshold;
      }
      this.munmapChunk(p);
    } else {
      if (this.tcache === 0) this.maybeInitTcache();
      this.intFree(p);
    }
  }

  /** `__libc_calloc`. */
  calloc(n: number, elemSize: number): number {
    this.errno = 0;
    const bytes = n * elemSize;
    if (!Number.isSafeInteger(bytes) || bytes > MAX_REQUEST) {
      this.errno = 12;
      return 0;
    }
    this.maybeInitTcache();
    const oldtop = this.top();
    let oldtopsize = this.chunksize(oldtop);
    // MORECORE_CLEARS < 2: memory up to sbrk_base + max_system_mem was used before.
    const maxSys = this.r64(this.mainArena + ARENA.MAX_SYSTEM_MEM);
    if (oldtopsize < this.sbrkBase + maxSys - oldtop) oldtopsize = this.sbrkBase + maxSys - oldtop;
    const mem = this.intMalloc(bytes);
    if (mem === 0) return 0;
    const p = mem - CHUNK_HDR_SZ;
    let csz = this.chunksize(p);
    if (this.isMmappedChunk(p)) return this.noteRet(mem); // fresh mmap pages are zero
    if (p === oldtop && csz > oldtopsize) csz = oldtopsize;
    const clearsize = csz - SIZE_SZ;
    const nclears = clearsize / 8;
    if (nclears > 9) this.mem.fill(mem, clearsize, 0);
    else {
      // The unrolled clear writes 3, 5, 7 or 9 words.
      const words = nclears > 8 ? 9 : nclears > 6 ? 7 : nclears > 4 ? 5 : 3;
      for (let i = 0; i < words; i++) this.w64(mem + 8 * i, 0);
    }
    return this.noteRet(mem);
  }

  /** `__libc_realloc`. */
  realloc(oldmem: number, bytes: number): number {
    this.errno = 0;
    if (bytes === 0 && oldmem !== 0) {
      this.free(oldmem);
      return 0;
    }
    if (oldmem === 0) return this.malloc(bytes);
    const oldp = oldmem - CHUNK_HDR_SZ;
    const oldsize = this.chunksize(oldp);
    const mmapped = this.isMmappedChunk(oldp);
    if (!mmapped) this.maybeInitTcache();
    if (wraps(oldp, oldsize) || misaligned(oldp)) this.printerr('realloc(): invalid pointer');
    const nb = checkedRequest2size(bytes);
    if (nb === 0) {
      this.errno = 12;
      return 0;
    }
    if (mmapped) {
      const newp = this.mremapChunk(oldp, nb);
      if (newp !== 0) return this.noteRet(newp + CHUNK_HDR_SZ);
      if (oldsize - SIZE_SZ >= nb) return oldmem;
      const newmem = this.malloc(bytes);
      if (newmem === 0) return 0;
      this.mem.copy(newmem, oldmem, oldsize - CHUNK_HDR_SZ);
      this.munmapChunk(oldp);
      return newmem;
    }
    const newp = this.intRealloc(oldp, oldsize, nb);
    // Single-threaded: _int_realloc's failure is final (no retry in another arena).
    return this.noteRet(newp);
  }

  /** `__libc_memalign` / `aligned_alloc` (`_mid_memalign`). */
  memalign(alignment: number, bytes: number): number {
    this.errno = 0;
    if (alignment <= MALLOC_ALIGNMENT) return this.malloc(bytes);
    let a = alignment < MINSIZE ? MINSIZE : alignment;
    if (a > 2 ** 63) {
      this.errno = 22;
      return 0;
    }
    if (!isPowerOf2(a)) {
      let b = MALLOC_ALIGNMENT * 2;
      while (b < a) b *= 2;
      a = b;
    }
    return this.noteRet(this.intMemalign(a, bytes));
  }

  /** `posix_memalign`. */
  posixMemalign(out: number[], alignment: number, size: number): number {
    // alignment must be a power-of-two multiple of sizeof(void *).
    if (alignment % 8 !== 0 || !isPowerOf2(alignment / 8) || alignment === 0) return 22;
    const mem = this.memalign(alignment, size);
    if (mem !== 0) {
      out[0] = mem;
      return 0;
    }
    return 12;
  }

  /** `malloc_usable_size` (`musable`). */
  usableSize(mem: number): number {
    if (mem === 0) return 0;
    const p = mem - CHUNK_HDR_SZ;
    if (this.isMmappedChunk(p)) return this.chunksize(p) - CHUNK_HDR_SZ;
    if (this.inuseBitAt(p, this.chunksize(p))) return this.chunksize(p) - CHUNK_HDR_SZ + SIZE_SZ;
    return 0;
  }

  /** True when the chunk of `mem` is mmapped. */
  isMmapped(mem: number): boolean {
    return this.isMmappedChunk(mem - CHUNK_HDR_SZ);
  }

  /** `malloc_trim(pad)` (`mtrim` on the main arena). */
  trim(pad: number): number {
    this.mallocConsolidate();
    const psindex = binIndex(PAGESIZE);
    let result = 0;
    for (let i = 1; i < NBINS; i++) {
      if (i !== 1 && i < psindex) continue;
      const bin = this.binAt(i);
      for (let p = this.bk(bin); p !== bin; p = this.bk(p)) {
        let size = this.chunksize(p);
        // sizeof(struct malloc_chunk) = 48
        if (size > PAGESIZE - 1 + 48) {
          const paligned = alignUp(p + 48, PAGESIZE);
          size -= paligned - p;
          if (size > PAGESIZE - 1) {
            this.mem.madvise(paligned, alignDown(size, PAGESIZE), MADV_DONTNEED);
            result = 1;
          }
        }
      }
    }
    return result | this.systrim(pad);
  }

  /** `mallinfo2()` (`int_mallinfo` on the main arena). */
  mallinfo2(): Mallinfo2 {
    let avail = this.chunksize(this.top());
    let nblocks = 1;
    let nfast = 0;
    let fastavail = 0;
    for (let i = 0; i < NFASTBINS; i++) {
      let guard = 0;
      for (let p = this.r64(this.fastbinSlot(i)); p !== 0; p = this.reveal(p + 16)) {
        if (misaligned(p)) this.printerr('int_mallinfo(): unaligned fastbin chunk detected');
        nfast++;
        fastavail += this.chunksize(p);
        if (++guard > 1 << 24) break;
      }
    }
    avail += fastavail;
    for (let i = 1; i < NBINS; i++) {
      const b = this.binAt(i);
      let guard = 0;
      for (let p = this.bk(b); p !== b; p = this.bk(p)) {
        nblocks++;
        avail += this.chunksize(p);
        if (++guard > 1 << 24) break;
      }
    }
    const sys = this.systemMem();
    return {
      arena: sys,
      ordblks: nblocks,
      smblks: nfast,
      hblks: this.nMmaps,
      hblkhd: this.mmappedMem,
      usmblks: 0,
      fsmblks: fastavail,
      uordblks: sys - avail,
      fordblks: avail,
      keepcost: this.chunksize(this.top()),
    };
  }

  /** The text `malloc_stats()` writes to stderr. */
  mallocStats(): string {
    const mi = this.mallinfo2();
    const u = (n: number): string => String(n >>> 0).padStart(10);
    const systemB = (this.mmappedMem + mi.arena) >>> 0;
    const inUseB = (this.mmappedMem + mi.uordblks) >>> 0;
    return (
      `Arena 0:\nsystem bytes     = ${u(mi.arena)}\nin use bytes     = ${u(mi.uordblks)}\n` +
      `Total (incl. mmap):\nsystem bytes     = ${u(systemB)}\nin use bytes     = ${u(inUseB)}\n` +
      `max mmap regions = ${u(this.maxNMmaps)}\nmax mmap bytes   = ${String(this.maxMmappedMem).padStart(10)}\n`
    );
  }

  /** Non-empty tcache bins, fastbins, bins, and top. */
  binReport(): BinRow[] {
    const rows: BinRow[] = [];
    const range = (a: number, b: number): string => (a === b ? String(a) : `${a}-${b}`);
    const walk = (first: number, next: (p: number) => number, end: number, offset: number): [number, number, number, number] => {
      let n = 0;
      let bytes = 0;
      let lo = Infinity;
      let hi = 0;
      for (let p = first; p !== end && n < 1 << 22; p = next(p)) {
        const sz = this.chunksize(p - offset);
        n++;
        bytes += sz;
        lo = Math.min(lo, sz);
        hi = Math.max(hi, sz);
      }
      return [n, bytes, lo, hi];
    };
    if (this.tcache !== 0) {
      for (let i = 0; i < TCACHE_MAX_BINS; i++) {
        const [n, bytes, lo, hi] = walk(this.tcacheEntry(i), (e) => this.reveal(e), 0, CHUNK_HDR_SZ);
        if (n) rows.push({ bin: `tcache[${i}]`, sizes: range(lo, hi), chunks: n, bytes });
      }
    }
    for (let i = 0; i < NFASTBINS; i++) {
      const [n, bytes, lo, hi] = walk(this.r64(this.fastbinSlot(i)), (p) => this.reveal(p + 16), 0, 0);
      if (n) rows.push({ bin: `fastbin[${i}]`, sizes: range(lo, hi), chunks: n, bytes });
    }
    for (let i = 1; i < NBINS; i++) {
      const b = this.binAt(i);
      const [n, bytes, lo, hi] = walk(this.fd(b), (p) => this.fd(p), b, 0);
      const name = i === 1 ? 'unsorted' : i < 64 ? `smallbin[${i}]` : `largebin[${i}]`;
      if (n) rows.push({ bin: name, sizes: range(lo, hi), chunks: n, bytes });
    }
    const t = this.chunksize(this.top());
    rows.push({ bin: 'top', sizes: String(t), chunks: 1, bytes: t });
    return rows;
  }

  /** Counters. */
  stats(): UserMallocStats {
    const mi = this.mallinfo2();
    return {
      arenaBytes: mi.arena,
      mmappedBytes: this.mmappedMem,
      mmappedChunks: this.nMmaps,
      inUseBytes: mi.uordblks + this.mmappedMem,
      freeBytes: mi.fordblks,
      peakHeapBytes: this.peakHeap,
    };
  }

  /** Heap-walk invariants (see the class TSDoc). */
  checkInvariants(): Violation[] {
    return checkPtmallocHeap(this);
  }

  /** The first chunk of the brk heap (`mp_.sbrk_base` aligned), or 0 before the first sbrk. */
  heapStart(): number {
    return this.sbrkBase === 0 ? 0 : alignUp(this.sbrkBase, MALLOC_ALIGNMENT);
  }

  // ------------------------------------------------------------------
  // _int_malloc
  // ------------------------------------------------------------------

  private intMalloc(bytes: number): number {
    const nb = checkedRequest2size(bytes);
    if (nb === 0) {
      this.errno = 12;
      return 0;
    }
    const av = this.mainArena;
    let idx: number;

    if (nb <= this.globalMaxFast) {
      idx = fastbinIndex(nb);
      const fb = this.fastbinSlot(idx);
      const victim = this.r64(fb);
      if (victim !== 0) {
        if (misaligned(victim)) this.printerr('malloc(): unaligned fastbin chunk detected 2');
        this.w64(fb, this.reveal(victim + 16));
        if (fastbinIndex(this.chunksize(victim)) !== idx) this.printerr('malloc(): memory corruption (fast)');
        const tcIdx = csize2tidx(nb);
        if (this.tcache !== 0 && tcIdx < this.tcacheBins) {
          let tcVictim: number;
          while (this.tcacheCountAt(tcIdx) < this.tcacheCount && (tcVictim = this.r64(fb)) !== 0) {
            if (misaligned(tcVictim)) this.printerr('malloc(): unaligned fastbin chunk detected 3');
            this.w64(fb, this.reveal(tcVictim + 16));
            this.tcachePut(tcVictim, tcIdx);
          }
        }
        return victim + CHUNK_HDR_SZ;
      }
    }

    if (inSmallbinRange(nb)) {
      idx = smallbinIndex(nb);
      const bin = this.binAt(idx);
      const victim = this.bk(bin);
      if (victim !== bin) {
        const bck = this.bk(victim);
        if (this.fd(bck) !== victim) this.printerr('malloc(): smallbin double linked list corrupted');
        this.setInuseBitAt(victim, nb);
        this.setBk(bin, bck);
        this.setFd(bck, bin);
        const tcIdx = csize2tidx(nb);
        if (this.tcache !== 0 && tcIdx < this.tcacheBins) {
          let tcVictim: number;
          while (this.tcacheCountAt(tcIdx) < this.tcacheCount && (tcVictim = this.bk(bin)) !== bin) {
            const b2 = this.bk(tcVictim);
            this.setInuseBitAt(tcVictim, nb);
            this.setBk(bin, b2);
            this.setFd(b2, bin);
            this.tcachePut(tcVictim, tcIdx);
          }
        }
        return victim + CHUNK_HDR_SZ;
      }
    } else {
      idx = largebinIndex(nb);
      if (this.haveFastchunks()) this.mallocConsolidate();
    }

    let tcacheNb = 0;
    const tcIdx = csize2tidx(nb);
    if (this.tcache !== 0 && tcIdx < this.tcacheBins) tcacheNb = nb;
    let returnCached = false;
    let tcacheUnsortedCount = 0;
    const unsorted = this.binAt(1);

    for (;;) {
      let iters = 0;
      let victim: number;
      while ((victim = this.bk(unsorted)) !== unsorted) {
        let bck = this.bk(victim);
        let size = this.chunksize(victim);
        const next = victim + size;
        const sysmem = this.systemMem();
        if (size <= CHUNK_HDR_SZ || size > sysmem) this.printerr('malloc(): invalid size (unsorted)');
        const nextNomask = this.sizeNomask(next);
        if (nextNomask < CHUNK_HDR_SZ || nextNomask > sysmem) this.printerr('malloc(): invalid next size (unsorted)');
        const ps = this.prevSize(next);
        if (ps - modPow2(ps, 8) !== size) this.printerr('malloc(): mismatching next->prev_size (unsorted)');
        if (this.fd(bck) !== victim || this.fd(victim) !== unsorted) this.printerr('malloc(): unsorted double linked list corrupted');
        if (this.prevInuse(next)) this.printerr('malloc(): invalid next->prev_inuse (unsorted)');

        if (inSmallbinRange(nb) && bck === unsorted && victim === this.lastRemainder() && size > nb + MINSIZE) {
          const remainderSize = size - nb;
          const remainder = victim + nb;
          this.setBk(unsorted, remainder);
          this.setFd(unsorted, remainder);
          this.w64(av + ARENA.LAST_REMAINDER, remainder);
          this.setBk(remainder, unsorted);
          this.setFd(remainder, unsorted);
          if (!inSmallbinRange(remainderSize)) {
            this.setFdNext(remainder, 0);
            this.setBkNext(remainder, 0);
          }
          this.setHead(victim, nb + PREV_INUSE);
          this.setHead(remainder, remainderSize + PREV_INUSE);
          this.setFoot(remainder, remainderSize);
          return victim + CHUNK_HDR_SZ;
        }

        if (this.fd(bck) !== victim) this.printerr('malloc(): corrupted unsorted chunks 3');
        this.setBk(unsorted, bck);
        this.setFd(bck, unsorted);

        if (size === nb) {
          this.setInuseBitAt(victim, size);
          if (tcacheNb !== 0 && this.tcacheCountAt(tcIdx) < this.tcacheCount) {
            this.tcachePut(victim, tcIdx);
            returnCached = true;
            continue;
          }
          return victim + CHUNK_HDR_SZ;
        }

        let victimIndex: number;
        let fwd: number;
        if (inSmallbinRange(size)) {
          victimIndex = smallbinIndex(size);
          bck = this.binAt(victimIndex);
          fwd = this.fd(bck);
        } else {
          victimIndex = largebinIndex(size);
          bck = this.binAt(victimIndex);
          fwd = this.fd(bck);
          if (fwd !== bck) {
            size += PREV_INUSE;
            if (size < this.sizeNomask(this.bk(bck))) {
              fwd = bck;
              bck = this.bk(bck);
              this.setFdNext(victim, this.fd(fwd));
              this.setBkNext(victim, this.bkNext(this.fd(fwd)));
              const f = this.fd(fwd);
              this.setBkNext(f, victim);
              this.setFdNext(this.bkNext(victim), victim);
            } else {
              let guard = 0;
              while (size < this.sizeNomask(fwd)) {
                fwd = this.fdNext(fwd);
                if (++guard > 1 << 24) this.printerr('malloc(): largebin double linked list corrupted (nextsize)');
              }
              if (size === this.sizeNomask(fwd)) fwd = this.fd(fwd);
              else {
                this.setFdNext(victim, fwd);
                this.setBkNext(victim, this.bkNext(fwd));
                if (this.fdNext(this.bkNext(fwd)) !== fwd) this.printerr('malloc(): largebin double linked list corrupted (nextsize)');
                this.setBkNext(fwd, victim);
                this.setFdNext(this.bkNext(victim), victim);
              }
              bck = this.bk(fwd);
              if (this.fd(bck) !== fwd) this.printerr('malloc(): largebin double linked list corrupted (bk)');
            }
          } else {
            this.setFdNext(victim, victim);
            this.setBkNext(victim, victim);
          }
        }
        this.markBin(victimIndex);
        this.setBk(victim, bck);
        this.setFd(victim, fwd);
        this.setBk(fwd, victim);
        this.setFd(bck, victim);

        ++tcacheUnsortedCount;
        if (returnCached && this.tcacheUnsortedLimit > 0 && tcacheUnsortedCount > this.tcacheUnsortedLimit) {
          return this.tcacheGet(tcIdx);
        }
        if (++iters >= 10000) break;
      }

      if (returnCached) return this.tcacheGet(tcIdx);

      if (!inSmallbinRange(nb)) {
        const bin = this.binAt(idx);
        let v = this.fd(bin);
        if (v !== bin && this.sizeNomask(v) >= nb) {
          v = this.bkNext(v);
          let size: number;
          let guard = 0;
          while ((size = this.chunksize(v)) < nb) {
            v = this.bkNext(v);
            if (++guard > 1 << 24) this.printerr('corrupted double-linked list (not small)');
          }
          if (v !== this.bk(bin) && this.sizeNomask(v) === this.sizeNomask(this.fd(v))) v = this.fd(v);
          return this.takeAndSplit(v, size, nb, 'malloc(): corrupted unsorted chunks', false);
        }
      }

      // Binmap scan.
      ++idx;
      let bin = this.binAt(idx);
      let block = idx >> BINMAPSHIFT;
      let map = this.binmapWord(block);
      let bit = (1 << (idx & 31)) >>> 0;
      let useTop = false;
      for (;;) {
        if (bit > map || bit === 0) {
          do {
            if (++block >= BINMAPSIZE) {
              useTop = true;
              break;
            }
          } while ((map = this.binmapWord(block)) === 0);
          if (useTop) break;
          bin = this.binAt(block << BINMAPSHIFT);
          bit = 1;
        }
        while ((bit & map) === 0) {
          bin += 16;
          bit = (bit << 1) >>> 0;
        }
        const v = this.bk(bin);
        if (v === bin) {
          map = (map & ~bit) >>> 0;
          this.setBinmapWord(block, map);
          bin += 16;
          bit = (bit << 1) >>> 0;
        } else {
          return this.takeAndSplit(v, this.chunksize(v), nb, 'malloc(): corrupted unsorted chunks 2', inSmallbinRange(nb));
        }
      }

      // use_top:
      const t = this.top();
      const size = this.chunksize(t);
      if (size > this.systemMem()) this.printerr('malloc(): corrupted top size');
      if (size >= nb + MINSIZE) {
        const remainderSize = size - nb;
        const remainder = t + nb;
        this.setTop(remainder);
        this.setHead(t, nb + PREV_INUSE);
        this.setHead(remainder, remainderSize + PREV_INUSE);
        return t + CHUNK_HDR_SZ;
      } else if (this.haveFastchunks()) {
        this.mallocConsolidate();
        idx = inSmallbinRange(nb) ? smallbinIndex(nb) : largebinIndex(nb);
      } else {
        const p = this.sysmalloc(nb);
        if (p === 0) this.errno = 12;
        return p;
      }
    }
  }

  /**
   * Takes free chunk `v` (of `size`) out of its bin for a request of `nb`:
   * the whole chunk when the rest would be below MINSIZE, else split with
   * the remainder at the front of the unsorted bin (the large-bin best fit
   * and the binmap scan of `_int_malloc`).
   */
  private takeAndSplit(v: number, size: number, nb: number, corrupted: string, setLastRemainder: boolean): number {
    const remainderSize = size - nb;
    this.unlinkChunk(v);
    if (remainderSize < MINSIZE) {
      this.setInuseBitAt(v, size);
    } else {
      const remainder = v + nb;
      const bck = this.binAt(1);
      const fwd = this.fd(bck);
      if (this.bk(fwd) !== bck) this.printerr(corrupted);
      this.setBk(remainder, bck);
      this.setFd(remainder, fwd);
      this.setFd(bck, remainder);
      this.setBk(fwd, remainder);
      if (setLastRemainder) this.w64(this.mainArena + ARENA.LAST_REMAINDER, remainder);
      if (!inSmallbinRange(remainderSize)) {
        this.setFdNext(remainder, 0);
        this.setBkNext(remainder, 0);
      }
      this.setHead(v, nb + PREV_INUSE);
      this.setHead(remainder, remainderSize + PREV_INUSE);
      this.setFoot(remainder, remainderSize);
    }
    return v + CHUNK_HDR_SZ;
  }

  /** `unlink_chunk`. */
  private unlinkChunk(p: number): void {
    const size = this.chunksize(p);
    if (size !== this.prevSize(p + size)) this.printerr('corrupted size vs. prev_size');
    const fd = this.fd(p);
    const bk = this.bk(p);
    if (this.bk(fd) !== p || this.fd(bk) !== p) this.printerr('corrupted double-linked list');
    this.setBk(fd, bk);
    this.setFd(bk, fd);
    if (!inSmallbinRange(this.sizeNomask(p)) && this.fdNext(p) !== 0) {
      const fdn = this.fdNext(p);
      const bkn = this.bkNext(p);
      if (this.bkNext(fdn) !== p || this.fdNext(bkn) !== p) this.printerr('corrupted double-linked list (not small)');
      if (this.fdNext(fd) === 0) {
        if (fdn === p) {
          this.setFdNext(fd, fd);
          this.setBkNext(fd, fd);
        } else {
          this.setFdNext(fd, fdn);
          this.setBkNext(fd, bkn);
          this.setBkNext(fdn, fd);
          this.setFdNext(bkn, fd);
        }
      } else {
        this.setBkNext(fdn, bkn);
        this.setFdNext(bkn, fdn);
      }
    }
  }

  // ------------------------------------------------------------------
  // sysmalloc / systrim / mmapped chunks
  // ------------------------------------------------------------------

  private sysmallocMmap(nb: number): number {
    const size = alignUp(nb + SIZE_SZ, PAGESIZE);
    if (size <= nb) return -1;
    const mm = this.mem.mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    if (mm < 0) return -1;
    this.w64(mm, 0);
    this.setHead(mm, size + IS_MMAPPED);
    this.nMmaps++;
    if (this.nMmaps > this.maxNMmaps) this.maxNMmaps = this.nMmaps;
    this.mmappedMem += size;
    if (this.mmappedMem > this.maxMmappedMem) this.maxMmappedMem = this.mmappedMem;
    return mm + CHUNK_HDR_SZ;
  }

  private sysmalloc(nb: number): number {
    if (nb >= this.mmapThreshold && this.nMmaps < this.nMmapsMax) {
      const mm = this.sysmallocMmap(nb);
      if (mm !== -1) return mm;
    }
    const av = this.mainArena;
    const oldTop = this.top();
    let oldSize = this.chunksize(oldTop);
    const oldEnd = oldTop + oldSize;
    let brk = 0;
    let sndBrk = 0;

    let size = nb + this.topPad + MINSIZE;
    if (this.contiguous()) size -= oldSize;
    size = alignUp(size, PAGESIZE);
    if (size > 0) brk = this.morecore(size);
    if (brk === 0) {
      // sysmalloc_mmap_fallback
      let fsize = size;
      if (this.contiguous()) fsize = alignUp(fsize + oldSize, PAGESIZE);
      if (fsize < MMAP_AS_MORECORE_SIZE) fsize = MMAP_AS_MORECORE_SIZE;
      if (fsize > nb) {
        const mbrk = this.mem.mmap(0, fsize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
        if (mbrk >= 0) {
          this.mem.write32(av + ARENA.FLAGS, this.mem.read32(av + ARENA.FLAGS) | NONCONTIGUOUS_BIT);
          size = fsize;
          brk = mbrk;
          sndBrk = brk + size;
        }
      }
    }
    if (brk !== 0) {
      if (this.sbrkBase === 0) this.sbrkBase = brk;
      this.addSystemMem(size);
      if (brk === oldEnd && sndBrk === 0) {
        this.setHead(oldTop, (size + oldSize) + PREV_INUSE);
      } else if (this.contiguous() && oldSize !== 0 && brk < oldEnd) {
        this.printerr('break adjusted to free malloc space');
      } else {
        let correction = 0;
        let alignedBrk = brk;
        if (this.contiguous()) {
          if (oldSize !== 0) this.addSystemMem(brk - oldEnd);
          const frontMisalign = (brk + CHUNK_HDR_SZ) % MALLOC_ALIGNMENT;
          if (frontMisalign > 0) {
            correction = MALLOC_ALIGNMENT - frontMisalign;
            alignedBrk += correction;
          }
          correction += oldSize;
          const endMisalign = brk + size + correction;
          correction += alignUp(endMisalign, PAGESIZE) - endMisalign;
          sndBrk = this.morecore(correction);
          if (sndBrk === 0) {
            correction = 0;
            sndBrk = this.morecore(0);
          }
        } else if (sndBrk === 0) {
          sndBrk = this.morecore(0);
        }
        if (sndBrk !== 0) {
          this.setTop(alignedBrk);
          this.setHead(alignedBrk, (sndBrk - alignedBrk + correction) + PREV_INUSE);
          this.addSystemMem(correction);
          if (oldSize !== 0) {
            oldSize = alignDown(oldSize - 2 * CHUNK_HDR_SZ, MALLOC_ALIGNMENT);
            this.setHead(oldTop, oldSize + PREV_INUSE);
            this.setHead(oldTop + oldSize, CHUNK_HDR_SZ + PREV_INUSE);
            this.setHead(oldTop + oldSize + CHUNK_HDR_SZ, CHUNK_HDR_SZ + PREV_INUSE);
            if (oldSize >= MINSIZE) this.intFree(oldTop);
          }
        }
      }
    }
    const sys = this.systemMem();
    if (sys > this.r64(av + ARENA.MAX_SYSTEM_MEM)) this.w64(av + ARENA.MAX_SYSTEM_MEM, sys);

    const p = this.top();
    const tsize = this.chunksize(p);
    if (tsize >= nb + MINSIZE) {
      const remainder = p + nb;
      this.setTop(remainder);
      this.setHead(p, nb + PREV_INUSE);
      this.setHead(remainder, (tsize - nb) + PREV_INUSE);
      return p + CHUNK_HDR_SZ;
    }
    this.errno = 12;
    return 0;
  }

  private systrim(pad: number): number {
    const topSize = this.chunksize(this.top());
    const topArea = topSize - MINSIZE - 1;
    if (topArea <= pad) return 0;
    const extra = alignDown(topArea - pad, PAGESIZE);
    if (extra === 0) return 0;
    const currentBrk = this.morecore(0);
    if (currentBrk === this.top() + topSize) {
      this.morecore(-extra);
      const newBrk = this.morecore(0);
      if (newBrk !== 0) {
        const released = currentBrk - newBrk;
        if (released !== 0) {
          this.addSystemMem(-released);
          this.setHead(this.top(), (topSize - released) + PREV_INUSE);
          return 1;
        }
      }
    }
    return 0;
  }

  private munmapChunk(p: number): void {
    const size = this.chunksize(p);
    const mem = p + CHUNK_HDR_SZ;
    const off = this.prevSize(p);
    const block = p - off;
    const total = off + size;
    if (block % PAGESIZE !== 0 || total % PAGESIZE !== 0 || !powerof2Small(mem % PAGESIZE)) this.printerr('munmap_chunk(): invalid pointer');
    this.nMmaps--;
    this.mmappedMem -= total;
    this.mem.munmap(block, total);
  }

  /** `mremap_chunk`: the (possibly moved) chunk, or 0. */
  private mremapChunk(p: number, newSizeReq: number): number {
    const offset = this.prevSize(p);
    const size = this.chunksize(p);
    const block = p - offset;
    const mem = p + CHUNK_HDR_SZ;
    const total = offset + size;
    if (block % PAGESIZE !== 0 || total % PAGESIZE !== 0 || !powerof2Small(mem % PAGESIZE)) this.printerr('mremap_chunk(): invalid pointer');
    const newSize = alignUp(newSizeReq + offset + SIZE_SZ, PAGESIZE);
    if (total === newSize) return p;
    const cp = this.mem.mremap(block, total, newSize, MREMAP_MAYMOVE);
    if (cp < 0) return 0;
    const np = cp + offset;
    this.setHead(np, (newSize - offset) + IS_MMAPPED);
    this.mmappedMem += newSize - size - offset;
    if (this.mmappedMem > this.maxMmappedMem) this.maxMmappedMem = this.mmappedMem;
    return np;
  }

  // ------------------------------------------------------------------
  // _int_free / malloc_consolidate
  // ------------------------------------------------------------------

  private intFree(p: number): void {
    const size = this.chunksize(p);
    if (wraps(p, size) || misaligned(p)) this.printerr('free(): invalid pointer');
    if (size < MINSIZE || modPow2(size, MALLOC_ALIGNMENT) !== 0) this.printerr('free(): invalid size');

    const tcIdx = csize2tidx(size);
    if (this.tcache !== 0 && tcIdx < this.tcacheBins) {
      const e = p + CHUNK_HDR_SZ;
      if (this.hasKey(e)) this.tcacheDoubleFreeScan(tcIdx, e);
      if (this.tcacheCountAt(tcIdx) < this.tcacheCount) {
        this.tcachePut(p, tcIdx);
        return;
      }
    }
    this.intFreeNoTcache(p, size);
  }

  /** `_int_free`'s walk of a tcache bin when the chunk carries tcache_key. */
  private tcacheDoubleFreeScan(tcIdx: number, e: number): void {
    let cnt = 0;
    for (let tmp = this.tcacheEntry(tcIdx); tmp !== 0; tmp = this.reveal(tmp), ++cnt) {
      if (cnt >= this.tcacheCount) this.printerr('free(): too many chunks detected in tcache');
      if (misaligned(tmp)) this.printerr('free(): unaligned chunk detected in tcache 2');
      if (tmp === e) this.printerr('free(): double free detected in tcache 2');
    }
  }

  /** `_int_free` past the tcache: fastbins, or merge into unsorted/top. */
  private intFreeNoTcache(p0: number, size0: number): void {
    let p = p0;
    let size = size0;
    if (size <= this.globalMaxFast) {
      const next = p + size;
      if (this.sizeNomask(next) <= CHUNK_HDR_SZ || this.chunksize(next) >= this.systemMem()) this.printerr('free(): invalid next size (fast)');
      this.setHaveFastchunks(true);
      const idx = fastbinIndex(size);
      const fb = this.fastbinSlot(idx);
      const old = this.r64(fb);
      if (old === p) this.printerr('double free or corruption (fasttop)');
      this.w64(p + 16, protectPtr(p + 16, old));
      this.w64(fb, p);
      if (old !== 0 && fastbinIndex(this.chunksize(old)) !== idx) this.printerr('invalid fastbin entry (free)');
      return;
    }
    if (this.isMmappedChunk(p)) {
      this.munmapChunk(p);
      return;
    }

    const nextchunk = p + size;
    const top = this.top();
    if (p === top) this.printerr('double free or corruption (top)');
    if (this.contiguous() && nextchunk >= top + this.chunksize(top)) this.printerr('double free or corruption (out)');
    if (!this.prevInuse(nextchunk)) this.printerr('double free or corruption (!prev)');
    const nextsize = this.chunksize(nextchunk);
    if (this.sizeNomask(nextchunk) <= CHUNK_HDR_SZ || nextsize >= this.systemMem()) this.printerr('free(): invalid next size (normal)');

    if (!this.prevInuse(p)) {
      const prevsize = this.prevSize(p);
      size += prevsize;
      p -= prevsize;
      if (this.chunksize(p) !== prevsize) this.printerr('corrupted size vs. prev_size while consolidating');
      this.unlinkChunk(p);
    }
    if (nextchunk !== top) {
      const nextinuse = this.inuseBitAt(nextchunk, nextsize);
      if (!nextinuse) {
        this.unlinkChunk(nextchunk);
        size += nextsize;
      } else this.clearInuseBitAt(nextchunk, 0);
      const bck = this.binAt(1);
      const fwd = this.fd(bck);
      if (this.bk(fwd) !== bck) this.printerr('free(): corrupted unsorted chunks');
      this.setFd(p, fwd);
      this.setBk(p, bck);
      if (!inSmallbinRange(size)) {
        this.setFdNext(p, 0);
        this.setBkNext(p, 0);
      }
      this.setFd(bck, p);
      this.setBk(fwd, p);
      this.setHead(p, size + PREV_INUSE);
      this.setFoot(p, size);
    } else {
      size += nextsize;
      this.setHead(p, size + PREV_INUSE);
      this.setTop(p);
    }

    if (size >= FASTBIN_CONSOLIDATION_THRESHOLD) {
      if (this.haveFastchunks()) this.mallocConsolidate();
      if (this.chunksize(this.top()) >= this.trimThreshold) this.systrim(this.topPad);
    }
  }

  private mallocConsolidate(): void {
    this.setHaveFastchunks(false);
    const unsortedBin = this.binAt(1);
    for (let i = 0; i < NFASTBINS; i++) {
      const fb = this.fastbinSlot(i);
      let p = this.r64(fb);
      this.w64(fb, 0);
      while (p !== 0) {
        if (misaligned(p)) this.printerr('malloc_consolidate(): unaligned fastbin chunk detected');
        if (fastbinIndex(this.chunksize(p)) !== i) this.printerr('malloc_consolidate(): invalid chunk size');
        const nextp = this.reveal(p + 16);
        let size = this.chunksize(p);
        const nextchunk = p + size;
        const nextsize = this.chunksize(nextchunk);
        if (!this.prevInuse(p)) {
          const prevsize = this.prevSize(p);
          size += prevsize;
          p -= prevsize;
          if (this.chunksize(p) !== prevsize) this.printerr('corrupted size vs. prev_size in fastbins');
          this.unlinkChunk(p);
        }
        if (nextchunk !== this.top()) {
          const nextinuse = this.inuseBitAt(nextchunk, nextsize);
          if (!nextinuse) {
            size += nextsize;
            this.unlinkChunk(nextchunk);
          } else this.clearInuseBitAt(nextchunk, 0);
          const firstUnsorted = this.fd(unsortedBin);
          this.setFd(unsortedBin, p);
          this.setBk(firstUnsorted, p);
          if (!inSmallbinRange(size)) {
            this.setFdNext(p, 0);
            this.setBkNext(p, 0);
          }
          this.setHead(p, size + PREV_INUSE);
          this.setBk(p, unsortedBin);
          this.setFd(p, firstUnsorted);
          this.setFoot(p, size);
        } else {
          size += nextsize;
          this.setHead(p, size + PREV_INUSE);
          this.setTop(p);
        }
        p = nextp;
      }
    }
  }

  // ------------------------------------------------------------------
  // _int_realloc / _int_memalign
  // ------------------------------------------------------------------

  private intRealloc(oldp: number, oldsize: number, nb: number): number {
    if (this.sizeNomask(oldp) <= CHUNK_HDR_SZ || oldsize >= this.systemMem()) this.printerr('realloc(): invalid old size');
    const next = oldp + oldsize;
    const nextsize = this.chunksize(next);
    if (this.sizeNomask(next) <= CHUNK_HDR_SZ || nextsize >= this.systemMem()) this.printerr('realloc(): invalid next size');
    let newp: number;
    let newsize: number;
    if (oldsize >= nb) {
      newp = oldp;
      newsize = oldsize;
    } else {
      const top = this.top();
      if (next === top && (newsize = oldsize + nextsize) >= nb + MINSIZE) {
        this.setHeadSize(oldp, nb);
        this.setTop(oldp + nb);
        this.setHead(oldp + nb, (newsize - nb) + PREV_INUSE);
        return oldp + CHUNK_HDR_SZ;
      } else if (next !== top && !this.inuseBitAt(next, nextsize) && (newsize = oldsize + nextsize) >= nb) {
        newp = oldp;
        this.unlinkChunk(next);
      } else {
        const newmem = this.intMalloc(nb - MALLOC_ALIGN_MASK);
        if (newmem === 0) return 0;
        newp = newmem - CHUNK_HDR_SZ;
        newsize = this.chunksize(newp);
        if (newp === next) {
          newsize += oldsize;
          newp = oldp;
        } else {
          this.mem.copy(newmem, oldp + CHUNK_HDR_SZ, oldsize - CHUNK_HDR_SZ + SIZE_SZ);
          this.intFree(oldp);
          return newmem;
        }
      }
    }
    const remainderSize = newsize - nb;
    if (remainderSize < MINSIZE) {
      this.setHeadSize(newp, newsize);
      this.setInuseBitAt(newp, newsize);
    } else {
      const remainder = newp + nb;
      this.setHeadSize(newp, nb);
      this.setHead(remainder, remainderSize + PREV_INUSE);
      this.setInuseBitAt(remainder, remainderSize);
      this.intFree(remainder);
    }
    return newp + CHUNK_HDR_SZ;
  }

  private intMemalign(alignment: number, bytes: number): number {
    const nb = checkedRequest2size(bytes);
    if (nb === 0 || alignment > MAX_REQUEST) {
      this.errno = 12;
      return 0;
    }
    const m = this.intMalloc(nb + alignment + MINSIZE);
    if (m === 0) return 0;
    let p = m - CHUNK_HDR_SZ;
    if (m % alignment !== 0) {
      let brk = Math.ceil(m / alignment) * alignment - CHUNK_HDR_SZ;
      if (brk - p < MINSIZE) brk += alignment;
      const newp = brk;
      const leadsize = brk - p;
      const newsize = this.chunksize(p) - leadsize;
      if (this.isMmappedChunk(p)) {
        this.w64(newp, this.prevSize(p) + leadsize);
        this.setHead(newp, newsize + IS_MMAPPED);
        return newp + CHUNK_HDR_SZ;
      }
      this.setHead(newp, newsize + PREV_INUSE);
      this.setInuseBitAt(newp, newsize);
      this.setHeadSize(p, leadsize);
      this.intFree(p);
      p = newp;
    }
    if (!this.isMmappedChunk(p)) {
      const size = this.chunksize(p);
      if (size > nb + MINSIZE) {
        const remainderSize = size - nb;
        const remainder = p + nb;
        this.setHead(remainder, remainderSize + PREV_INUSE);
        this.setHeadSize(p, nb);
        this.intFree(remainder);
      }
    }
    return p + CHUNK_HDR_SZ;
  }
}

function isPowerOf2(n: number): boolean {
  return n > 0 && Number.isInteger(Math.log2(n)) && 2 ** Math.round(Math.log2(n)) === n;
}
