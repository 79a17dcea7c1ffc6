/**
 * User space: a process address space (`mm_struct`) with page tables and
 * demand paging, and the user-space malloc policies that run inside it.
 *
 * The contract between the two is the system-call surface a C library sees
 * ({@link ProcessMemory}): `brk`, `mmap`, `munmap`, `mremap`, `mprotect`,
 * `madvise`, plus loads and stores at user virtual addresses. Every load or
 * store goes through the process page tables; the first touch of a page in a
 * VMA faults in a zeroed page from the page allocator, a touch outside every
 * VMA is a segmentation fault (an {@link AllocatorError} of kind `segfault`).
 *
 * System calls return what the kernel returns: an address or `-errno`
 * (`-ENOMEM`, `-EINVAL`), never throw for a refused request. `brk` returns
 * the new break on success and the unchanged break on failure, as the
 * syscall does (glibc's `sbrk` wrapper turns that into `(void *)-1`).
 */

import type { UserOpts } from './config.js';
import type { InvariantChecked } from './invariants.js';


/** `EINVAL`. */
export const EINVAL = 22;
/** `ENOMEM`. */
export const ENOMEM = 12;
/** `EFAULT`. */
export const EFAULT = 14;
/** `EEXIST`. */
export const EEXIST = 17;

/** `PROT_*` bits (mman-common.h). */
export const PROT_NONE = 0;
/** Readable. */
export const PROT_READ = 1;
/** Writable. */
export const PROT_WRITE = 2;
/** Executable. */
export const PROT_EXEC = 4;

/** `MAP_*` flags (x86_64 values). */
export const MAP_SHARED = 0x01;
/** Private copy-on-write mapping. */
export const MAP_PRIVATE = 0x02;
/** Place exactly at `addr` (replacing what is there). */
export const MAP_FIXED = 0x10;
/** Not backed by a file. */
export const MAP_ANONYMOUS = 0x20;
/** Like MAP_FIXED but fail with -EEXIST instead of replacing. */
export const MAP_FIXED_NOREPLACE = 0x100000;
/** Do not charge the mapping to the commit accounting (ignored under `vm.overcommit_memory` = 2). */
export const MAP_NORESERVE = 0x4000;

/** `mremap` may move the mapping. */
export const MREMAP_MAYMOVE = 1;
/** `mremap` to a fixed address. */
export const MREMAP_FIXED = 2;

/** `madvise` advice: drop the pages (anonymous memory reads back as zero). */
export const MADV_DONTNEED = 4;

/** One VMA as `/proc/PID/maps` shows it. */
export interface VmaInfo {
  /** First address. */
  readonly start: number;
  /** One past the last address. */
  readonly end: number;
  /** PROT_* bits. */
  readonly prot: number;
  /** MAP_SHARED or MAP_PRIVATE. */
  readonly shared: boolean;
  /** `[heap]`, `[stack]`, or '' for anonymous memory. */
  readonly name: string;
  /** Resident pages (present PTEs). */
  readonly rssPages: number;
  /** `VM_ACCOUNT`: its pages are charged to the commit accounting (smaps `ac`). */
  readonly account: boolean;
  /** `VM_NORESERVE`: mapped with MAP_NORESERVE while overcommit is allowed (smaps `nr`). */
  readonly noreserve: boolean;
}

/** Counters of one address space. */
export interface MmStats {
  /** Resident pages (present PTEs), as `RSS` in `/proc/PID/status`. */
  readonly rssPages: number;
  /** High-water mark of rssPages (`VmHWM`). */
  readonly rssHwmPages: number;
  /** Total mapped pages (`VmSize`). */
  readonly totalVmPages: number;
  /**
   * Pages this process has charged to the commit accounting (`Committed_AS`):
   * its VM_ACCOUNT VMAs plus the shmem objects of its shared anonymous
   * mappings.
   */
  readonly committedPages: number;
  /** Page faults that allocated a page (`min_flt` on first touch). */
  readonly faults: number;
  /** Page-table pages in use (PGD included). */
  readonly pageTablePages: number;
  /** TLB flushes (local). */
  readonly tlbFlushes: number;
  /** TLB shootdowns (flushes that would interrupt other CPUs running this mm). */
  readonly tlbShootdowns: number;
  /** Initial program break (`mm->start_brk`). */
  readonly startBrk: number;
  /** Current program break (`mm->brk`). */
  readonly brk: number;
}

/**
 * What a C library sees of its process: system calls and memory. Addresses
 * are user virtual addresses (below TASK_SIZE).
 */
export interface ProcessMemory extends InvariantChecked {
  /**
   * Calls `fn(va, pte)` for every present leaf entry of its page table, in
   * address order (`pte` is `pfn << 12 | flags`): what the cross-layer check
   * X4 walks. Optional: a plug-in policy without it is not walked
   * (`PresentPtes` in invariants.ts).
   */
  forEachPresentPte?(fn: (va: number, pte: number) => void): void;
  /** Process id. */
  readonly pid: number;
  /** Command name (`/proc/PID/comm`). */
  readonly comm: string;
  /** `brk(2)`: returns the new break, or the old one if refused; `brk(0)` queries. */
  brk(addr: number): number;
  /** `mmap(2)` of anonymous memory: returns the address or `-errno`. */
  mmap(addr: number, len: number, prot: number, flags: number): number;
  /** `munmap(2)`: 0 or `-EINVAL`. */
  munmap(addr: number, len: number): number;
  /** `mremap(2)`: new address or `-errno`. */
  mremap(oldAddr: number, oldLen: number, newLen: number, flags: number, newAddr?: number): number;
  /** `mprotect(2)`: 0 or `-errno`. */
  mprotect(addr: number, len: number, prot: number): number;
  /** `madvise(2)`: 0 or `-errno` (MADV_DONTNEED only). */
  madvise(addr: number, len: number, advice: number): number;

  /** Loads and stores at user addresses (fault in on first touch; segfault outside VMAs). */
  read8(va: number): number;
  /** Stores one byte. */
  write8(va: number, v: number): void;
  /** Loads a little-endian u32. */
  read32(va: number): number;
  /** Stores a little-endian u32. */
  write32(va: number, v: number): void;
  /** 64-bit load as a number (exact below 2^53; user addresses and sizes are). */
  read64(va: number): number;
  /** Stores a u64 (a number below 2^53). */
  write64(va: number, v: number): void;
  /** memset. */
  fill(va: number, len: number, byte: number): void;
  /** memmove (overlap-safe). */
  copy(dst: number, src: number, len: number): void;

  /** The VMAs in address order. */
  vmas(): VmaInfo[];
  /** Counters. */
  stats(): MmStats;
  /** Tear the address space down (exit_mmap): every page and page table back to the page allocator. */
  exit(): void;
}

/** Statistics every user-space malloc reports. */
export interface UserMallocStats {
  /** Bytes obtained from the system by brk and still held (arena size, `mallinfo2().arena`). */
  readonly arenaBytes: number;
  /** Bytes in mmapped chunks (`hblkhd`). */
  readonly mmappedBytes: number;
  /** Number of mmapped chunks (`hblks`). */
  readonly mmappedChunks: number;
  /** Bytes in use by the program (`uordblks` + mmapped). */
  readonly inUseBytes: number;
  /** Free bytes held (`fordblks`). */
  readonly freeBytes: number;
  /** Highest arenaBytes + mmappedBytes seen. */
  readonly peakHeapBytes: number;
}

/**
 * A user-space malloc. Pointers are user virtual addresses; 0 is NULL.
 * Misuse glibc detects (double free, invalid pointer, corrupted chunk) throws
 * an {@link AllocatorError} of kind `malloc-abort` whose message is the C
 * library's own abort message.
 */
export interface UserMalloc extends InvariantChecked {
  /** Policy name. */
  readonly name: string;
  /** `malloc`: a block of at least `size` bytes, or 0. */
  malloc(size: number): number;
  /** `free` (0 is a no-op). @throws AllocatorError `malloc-abort` with the C library's message on misuse */
  free(ptr: number): void;
  /** `calloc`: zeroed, 0 on overflow. */
  calloc(nmemb: number, size: number): number;
  /** `realloc`: contents kept up to the smaller size. */
  realloc(ptr: number, size: number): number;
  /** `memalign` / `aligned_alloc`: 0 with EINVAL semantics for a bad alignment. */
  memalign(alignment: number, size: number): number;
  /** `posix_memalign`: 0 on success (address in `out[0]`), else EINVAL/ENOMEM. */
  posixMemalign(out: number[], alignment: number, size: number): number;
  /** `malloc_usable_size`. */
  usableSize(ptr: number): number;
  /** `malloc_trim(pad)`: 1 if memory was released. */
  trim(pad: number): number;
  /** Counters. */
  stats(): UserMallocStats;
  /** True when `ptr` lies in memory obtained by mmap for one chunk. */
  isMmapped(ptr: number): boolean;
  /** The free lists as they stand: one row per non-empty bin (or size class). */
  binReport(): BinRow[];
}

/** One non-empty free list. */
export interface BinRow {
  /** `tcache[3]`, `fastbin[1]`, `unsorted`, `smallbin[10]`, `largebin[70]`, `top`, `class[4]`, … */
  readonly bin: string;
  /** Chunk sizes it holds, e.g. `64` or `1024-1072`. */
  readonly sizes: string;
  /** Chunks on it. */
  readonly chunks: number;
  /** Bytes on it. */
  readonly bytes: number;
}

/** Options of a user-space malloc instance. */
export interface UserMallocOptions {
  /** tcache on (glibc default) or off (`glibc.malloc.tcache_count=0`). */
  readonly tcache: boolean;
  /** Seed for the per-process random tcache key. */
  readonly seed: number;
}

/** The `vm.*` sysctls of overcommit accounting (documented on `UserOpts`). */
export type OvercommitOpts = Pick<UserOpts, 'overcommitMemory' | 'overcommitRatio' | 'overcommitKbytes' | 'userReserveKbytes' | 'adminReserveKbytes'>;

/** The system's overcommit accounting (mm/util.c): `vm_committed_as`, CommitLimit and the sysctls. */
export interface VmCommitApi {
  /** `vm.overcommit_memory` (0 guess, 1 always, 2 never). */
  readonly overcommitMemory: number;
  /** `vm.overcommit_ratio`. */
  readonly overcommitRatio: number;
  /** `vm.overcommit_kbytes`. */
  readonly overcommitKbytes: number;
  /** `vm.user_reserve_kbytes`. */
  readonly userReserveKbytes: number;
  /** `vm.admin_reserve_kbytes`. */
  readonly adminReserveKbytes: number;
  /** `totalram_pages()`. */
  readonly totalramPages: number;
  /** Requests refused with -ENOMEM. */
  readonly refusals: number;
  /** `vm_memory_committed()`: committed pages (`Committed_AS`). */
  readonly committed: number;
  /** `vm_commit_limit()` in pages (`CommitLimit`). */
  commitLimit(): number;
  /** Writes sysctls, as `echo N > /proc/sys/vm/…` does. @throws AllocatorError `config` for a bad value */
  set(opts: Partial<OvercommitOpts>): void;
}

/**
 * The processes of one system (the pid table). `spawn` execs a process with
 * an empty address space; `System.spawn` also loads the configured malloc.
 */
export interface ProcessTableApi extends InvariantChecked {
  /** The overcommit accounting every process of the system charges. */
  readonly vm: VmCommitApi;
  /** Execs a new process (pids from 1000); `startBrk` overrides the initial break. */
  spawn(comm?: string, startBrk?: number): ProcessMemory;
  /** The process with `pid`. @throws AllocatorError `unknown-name` */
  get(pid: number): ProcessMemory;
  /** Exits a process: every page and page table back to the page allocator. */
  exit(pid: number): void;
  /** Live processes in pid order. */
  list(): ProcessMemory[];
}
