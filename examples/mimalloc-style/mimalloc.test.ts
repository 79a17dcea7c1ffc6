/**
 * The mimalloc-style plug-in: the user-malloc contract suite and the user
 * fuzz campaign run on it unchanged; unit tests of what makes it mimalloc
 * (size classes, the sharded free lists and their collection, thread_free,
 * the full queue, page retirement, huge objects, alignment, purging, the
 * arena, misuse); and a planted bug that the fuzz campaign catches.
 *
 * Everything is observed through the UserMalloc contract and the process's
 * memory (addresses, `stats()`, `binReport()`, `checkInvariants()`, VMAs,
 * RSS), never through private fields.
 */
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from '@jest/globals';

import { FUZZ_CAMPAIGNS, createSystem, isAllocatorError, parseUserTraceFile, replayUserTrace, type ProcessMemory, type UserMalloc, type UserMallocOptions } from 'allocsim';
import { fuzzUser, userMallocContract } from 'allocsim/testing';
import MimallocStyle, { BIN_HUGE, binBlockSize, goodAllocSize, LARGE_OBJ_SIZE_MAX, miBin, PG_FREE, PG_LOCAL_FREE, PURGE_DELAY_CALLS, SEGMENT_SIZE } from './mimalloc.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SMALL_PAGE = 64 * KiB;
/** Where mimalloc's aligned mmap hints start. */
const HINT_BASE = 2 * 1024 * 1024 * MiB;
/** A VMA in the first 64 GiB of the hint area (the binary and the stack are far above). */
const inHintArea = (v: { start: number }): boolean => v.start >= HINT_BASE && v.start < HINT_BASE + 64 * 1024 * MiB;

/** A fresh process with the plug-in as its C library. */
function spawn(cls: typeof MimallocStyle = MimallocStyle): { mm: ProcessMemory; libc: UserMalloc; mi: MimallocStyle } {
  const sys = createSystem({ machine: { memBytes: 64 << 20, cpus: 1 } }, { malloc: cls });
  const { mm, libc } = sys.spawn('mi');
  return { mm, libc, mi: libc as MimallocStyle };
}

/** The 64 KiB page index of `p` inside its segment. */
const pageIndex = (p: number): number => Math.floor((p % SEGMENT_SIZE) / SMALL_PAGE);

/** The message of the AllocatorError of kind `malloc-abort` that `f` throws. */
function abortMessage(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (isAllocatorError(e, 'malloc-abort')) return e.message;
    throw e;
  }
  throw new Error('expected a malloc-abort');
}

/** Unclaimed pages of a kind, from the bin report. */
const freePages = (libc: UserMalloc, kind: 'small' | 'medium'): number => libc.binReport().find((r) => r.bin === `${kind}-pages`)?.chunks ?? 0;

userMallocContract({ label: 'mimalloc-style plug-in', overrides: { malloc: MimallocStyle } }, { describe, it });

describe('mimalloc-style: size classes (mi_bin)', () => {
  it('every request up to 1 MiB gets the smallest bin that holds it: 16-byte multiples, four bins per power of two past 64 bytes', () => {
    const bad: string[] = [];
    let prevBin = 2;
    for (let s = 0; s <= LARGE_OBJ_SIZE_MAX; s += s < 70_000 ? 1 : 97) {
      const bin = miBin(s);
      const bsize = binBlockSize(bin);
      const smaller = bin > 2 ? binBlockSize(bin - (bin <= 8 ? 2 : 1)) : 0;
      if (bsize < Math.max(s, 16) || bsize % 16 !== 0 || (bin > 2 && smaller >= s) || bin < prevBin || (s > 64 && (bsize - s) / s >= 0.25)) bad.push(`${s} → bin ${bin} (${bsize})`);
      prevBin = bin;
    }
    expect(bad.slice(0, 5)).toEqual([]);
    expect([miBin(0), miBin(8), miBin(17), miBin(72), miBin(1024), miBin(LARGE_OBJ_SIZE_MAX), miBin(LARGE_OBJ_SIZE_MAX + 1)]).toEqual([2, 2, 4, 9, 24, 64, BIN_HUGE]);
    expect([goodAllocSize(LARGE_OBJ_SIZE_MAX + 1), goodAllocSize(3 * MiB + 1)]).toEqual([LARGE_OBJ_SIZE_MAX + 64 * KiB, 3 * MiB + 256 * KiB]);
  });
});

describe('mimalloc-style: sharded free lists', () => {
  it('hands out a fresh page in address order, 4 KiB of blocks at a time (mi_page_extend_free)', () => {
    const { libc } = spawn();
    const a = Array.from({ length: 86 }, () => libc.malloc(48));
    for (let i = 1; i < 85; i++) expect(a[i]! - a[i - 1]!).toBe(48); // 4096 / 48 = 85 blocks linked at first
    expect(a[0]! % 48).toBe(0); // blocks up to 64 KiB are aligned to their size
    expect(a[85]! - a[84]!).toBe(48); // the next extension continues where the last one ended
    expect(libc.binReport()).toContainEqual({ bin: `bin[${miBin(48)}]`, sizes: '48', chunks: 84, bytes: 84 * 48 });
    expect(libc.checkInvariants()).toEqual([]);
  });

  it('frees go to local_free, not to the free list malloc pops from; local_free is swapped in when free runs dry', () => {
    const { libc } = spawn();
    const a = Array.from({ length: 3 }, () => libc.malloc(48));
    libc.free(a[0]!);
    libc.free(a[1]!);
    // The two freed blocks sit on local_free; malloc keeps popping the free list (a[2] + 48, …).
    const next = Array.from({ length: 82 }, () => libc.malloc(48));
    expect(next[0]).toBe(a[2]! + 48);
    expect(next.includes(a[0]!) || next.includes(a[1]!)).toBe(false);
    expect(libc.checkInvariants()).toEqual([]);
    // The free list is empty now: _mi_page_free_collect moves local_free (a[1] → a[0]) into it.
    expect([libc.malloc(48), libc.malloc(48)]).toEqual([a[1], a[0]]);
    // Then the page extends again.
    expect(libc.malloc(48)).toBe(next[81]! + 48);
    expect(libc.checkInvariants()).toEqual([]);
  });

  it('blocks freed by another thread wait on thread_free (the first on the heap delayed list) until the owner collects them', () => {
    const { libc, mi } = spawn();
    const a = Array.from({ length: 85 }, () => libc.malloc(48)); // the page's first 85 blocks, its free list now empty
    const held = libc.stats().inUseBytes;
    mi.freeFromOtherThread(a[10]!); // the page's first remote free: the heap's thread_delayed_free
    mi.freeFromOtherThread(a[20]!); // then the page's thread_free
    mi.freeFromOtherThread(a[30]!);
    expect(libc.stats().inUseBytes).toBe(held - 3 * 48);
    expect(libc.checkInvariants()).toEqual([]);
    // The next malloc collects thread_free (a[30] → a[20]) into local_free and then into free.
    expect([libc.malloc(48), libc.malloc(48)]).toEqual([a[30], a[20]]);
    expect(libc.malloc(48)).toBe(a[84]! + 48); // a[10] is still on the delayed list: the page extends
    expect(libc.checkInvariants()).toEqual([]);
    libc.trim(0); // mi_collect(true) frees the delayed blocks and merges local_free into free
    expect(libc.malloc(48)).toBe(a[10]);
    expect(libc.checkInvariants()).toEqual([]);
  });

  it('a page with nothing left moves to the full queue; a free into it moves it back behind the current page', () => {
    const { libc } = spawn();
    const blocks: number[] = [];
    while (blocks.length === 0 || pageIndex(blocks[blocks.length - 1]!) < 2) blocks.push(libc.malloc(1024));
    const inPage0 = blocks.filter((p) => pageIndex(p) === 0);
    const x = inPage0[7]!;
    libc.free(x); // page 0 is in the full queue: _mi_page_unfull puts it at the end of its queue
    expect(libc.checkInvariants()).toEqual([]);
    const more: number[] = [];
    do more.push(libc.malloc(1024));
    while (pageIndex(more[more.length - 1]!) === 2);
    // Page 2 was used up first; then the queue search found page 0's collected block.
    expect(more[more.length - 1]).toBe(x);
    expect(libc.checkInvariants()).toEqual([]);
  });
});

describe('mimalloc-style: pages and segments', () => {
  it('keeps the only page of a bin for 16 fresh-page searches after its last block is freed (_mi_page_retire)', () => {
    const { libc } = spawn();
    libc.malloc(16); // page 0 of the first segment
    const p = libc.malloc(4000);
    const before = freePages(libc, 'small');
    libc.free(p);
    expect(freePages(libc, 'small')).toBe(before); // retired, not given back
    const sizes = [32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640];
    for (const s of sizes.slice(0, 15)) libc.malloc(s); // each needs a fresh page: _mi_heap_collect_retired counts down
    expect(freePages(libc, 'small')).toBe(before - 15);
    libc.malloc(sizes[15]!); // the 16th: the retired page goes back to the segment, and is reused at once
    expect(freePages(libc, 'small')).toBe(before - 15);
    expect(libc.malloc(4000)).not.toBe(p); // bin 4096 needs a page again: a different one
    expect(libc.checkInvariants()).toEqual([]);
  });

  it('gives an emptied page back at once when its bin has another page', () => {
    const { libc } = spawn();
    const blocks: number[] = [];
    while (blocks.length === 0 || pageIndex(blocks[blocks.length - 1]!) < 2) blocks.push(libc.malloc(2048));
    const before = freePages(libc, 'small');
    for (const p of blocks) if (pageIndex(p) === 1) libc.free(p);
    expect(freePages(libc, 'small')).toBe(before + 1);
    expect(libc.checkInvariants()).toEqual([]);
  });

  it('takes segments from one 1 GiB arena at the 2 TiB hint; without an arena each segment is its own 4 MiB mapping', () => {
    const { mm, libc } = spawn();
    const small = libc.malloc(100);
    const medium = libc.malloc(20 * KiB);
    const large = libc.malloc(200 * KiB);
    const segs = [small, medium, large].map((p) => p - (p % SEGMENT_SIZE));
    expect(segs).toEqual([HINT_BASE, HINT_BASE + SEGMENT_SIZE, HINT_BASE + 2 * SEGMENT_SIZE]);
    expect(mm.vmas().filter(inHintArea).map((v) => [v.start, v.end - v.start])).toEqual([[HINT_BASE, 1024 * MiB]]);

    class NoArena extends MimallocStyle {
      protected override arenaReserve = 0;
    }
    const b = spawn(NoArena);
    const q = [b.libc.malloc(100), b.libc.malloc(20 * KiB)].map((p) => p - (p % SEGMENT_SIZE));
    // _mi_os_get_aligned_hint leaves a 4 MiB gap after each hinted mapping.
    expect(q).toEqual([HINT_BASE, HINT_BASE + 2 * SEGMENT_SIZE]);
    expect(b.mm.vmas().filter(inHintArea).map((v) => v.end - v.start)).toEqual([SEGMENT_SIZE, SEGMENT_SIZE]);
    expect(b.libc.checkInvariants()).toEqual([]);
  });

  it('puts an object over 1 MiB in a huge segment of its own: an OS mapping below 2 MiB, an arena block above; free gives it back', () => {
    const { mm, libc } = spawn();
    libc.malloc(16);
    const vmas = mm.vmas().length;
    const h = libc.malloc(1536 * KiB); // 1.5 MiB + info, rounded to 256 KiB: 1.75 MiB, below the arena's 2 MiB minimum
    expect(libc.isMmapped(h)).toBe(true);
    expect(libc.usableSize(h)).toBeGreaterThanOrEqual(1536 * KiB);
    expect(mm.vmas().length).toBe(vmas + 1);
    expect(libc.stats()).toMatchObject({ mmappedChunks: 1, mmappedBytes: 1792 * KiB });
    libc.free(h);
    expect(mm.vmas().length).toBe(vmas); // munmap
    const g = libc.malloc(3 * MiB);
    expect(libc.isMmapped(g)).toBe(true);
    expect(mm.vmas().length).toBe(vmas); // inside the arena
    libc.free(g);
    expect(libc.stats()).toMatchObject({ mmappedChunks: 0, mmappedBytes: 0 });
    expect(libc.checkInvariants()).toEqual([]);
  });

  it('purges a freed page only after purge_delay (counted in calls), at once on malloc_trim, or at once with purgeDelay 0', () => {
    const run = (cls: typeof MimallocStyle, trim: boolean): [number, number, number] => {
      const { mm, libc } = spawn(cls);
      libc.malloc(16);
      const blocks = Array.from({ length: 1500 }, () => libc.malloc(256)); // several 64 KiB pages, every block touched
      for (const p of blocks) mm.write8(p, 1);
      const rss: number[] = [mm.stats().rssPages];
      for (const p of blocks) libc.free(p);
      rss.push(mm.stats().rssPages);
      if (trim) expect(libc.trim(0)).toBe(1);
      rss.push(mm.stats().rssPages);
      expect(libc.checkInvariants()).toEqual([]);
      return rss as [number, number, number];
    };
    const [full, freed, delayed] = run(MimallocStyle, false);
    expect(freed).toBe(full); // purge pending
    expect(delayed).toBe(full);
    const [, , trimmed] = run(MimallocStyle, true);
    expect(trimmed).toBeLessThan(full - 60);
    class Eager extends MimallocStyle {
      protected override purgeDelay = 0;
    }
    const [eagerFull, eagerFreed] = run(Eager, false);
    expect(eagerFreed).toBeLessThan(eagerFull - 60);
    expect(PURGE_DELAY_CALLS).toBe(10_000);
  });
});

describe('mimalloc-style: the C API', () => {
  it('realloc keeps a block that still fits with at most half wasted, moves it otherwise, and realloc(p, 0) returns a minimal block', () => {
    const { mm, libc } = spawn();
    const p = libc.malloc(100); // a 112-byte block
    mm.write8(p, 0x5a);
    expect(libc.realloc(p, 112)).toBe(p);
    expect(libc.realloc(p, 56)).toBe(p);
    const q = libc.realloc(p, 40); // less than half of 112: moves
    expect(q).not.toBe(p);
    expect(mm.read8(q)).toBe(0x5a);
    const r = libc.realloc(q, 0);
    expect(r).not.toBe(0);
    expect(libc.usableSize(r)).toBe(16);
    expect(libc.checkInvariants()).toEqual([]);
  });

  it('calloc clears a reused block but trusts a fresh page (free_is_zero: no memset, no page faults)', () => {
    const { mm, libc } = spawn();
    const p = libc.malloc(64);
    mm.fill(p, 64, 0xff);
    libc.free(p);
    for (let i = 0; i < 63; i++) libc.malloc(64); // the rest of the page's first 64 blocks: its free list is empty now
    const q = libc.calloc(4, 16); // local_free (p) is swapped in: a used block, cleared
    expect(q).toBe(p);
    for (let i = 0; i < 64; i += 8) expect(mm.read64(q + i)).toBe(0);
    const rss = mm.stats().rssPages;
    const big = libc.calloc(1, 600 * KiB); // a fresh large page from a clean arena block
    expect(mm.stats().rssPages - rss).toBeLessThan(4);
    expect(mm.read64(big)).toBe(0);
    expect(mm.read64(big + 600 * KiB - 8)).toBe(0);
    expect(libc.checkInvariants()).toEqual([]);
  });

  it('memalign: naturally aligned size classes, over-allocation with has_aligned, and huge alignments in a dedicated segment', () => {
    const { mm, libc } = spawn();
    for (const [align, size] of [
      [64, 64],
      [4096, 4096],
      [64, 100],
      [4096, 100],
      [65536, 10],
      [8 * MiB, 100],
    ] as const) {
      const p = libc.memalign(align, size);
      expect(p % align).toBe(0);
      expect(libc.usableSize(p)).toBeGreaterThanOrEqual(size);
      mm.fill(p, size, 0xab);
      expect(libc.checkInvariants()).toEqual([]);
      libc.free(p);
    }
    const out = [0];
    expect(libc.posixMemalign(out, 24, 8)).toBe(22);
    expect(libc.memalign(48, 8)).toBe(0);
    expect(libc.checkInvariants()).toEqual([]);
  });

  it('raises malloc-abort for pointers it did not hand out, interior pointers and a double free of an emptied page', () => {
    const { libc } = spawn();
    const p = libc.malloc(32);
    libc.malloc(32);
    expect(abortMessage(() => libc.free(0x1000))).toMatch(/mi_free: pointer does not point to a valid heap space: 0x1000/);
    expect(abortMessage(() => libc.free(p + 16))).toMatch(/not the start of a block/);
    expect(abortMessage(() => libc.realloc(p + 8, 10))).toMatch(/mi_realloc: .*not the start of a block/);
    const q = libc.malloc(5000);
    libc.free(q);
    expect(abortMessage(() => libc.free(q))).toMatch(/double free detected/);
    expect(libc.checkInvariants()).toEqual([]);
  });
});

describe('mimalloc-style: fidelity to the real mimalloc v1.9.9', () => {
  /**
   * `MIMALLOC_SHOW_STATS=1` of the real mimalloc v1.9.9 (built from its
   * release sources with `gcc -O2 -shared -fPIC -DNDEBUG -DMI_MALLOC_OVERRIDE
   * -DMI_STAT=1 -I include src/static.c`) preloaded into the glibc oracle
   * (tools/oracle/glibc-replay.c) replaying each trace: segments and pages
   * as peak / total / current, the current ones after the exit-time
   * `mi_heap_collect(heap, true)`, and the mmap calls. See README.md.
   */
  const REAL: Record<string, { segments: number[]; pages: number[]; mmaps: number }> = {
    'gcc-cc1-wordcount': { segments: [5, 5, 5], pages: [51, 59, 41], mmaps: 1 },
    'python3-dict-repr': { segments: [3, 3, 1], pages: [45, 52, 2], mmaps: 1 },
    'sed-regex': { segments: [1, 1, 1], pages: [23, 23, 19], mmaps: 1 },
  };
  /** Every instance made, for their counters (the replay builds its own). */
  const made: MimallocStyle[] = [];
  /** mimalloc's own bins (an 8-byte bin 1). */
  class Exact extends MimallocStyle {
    protected override eightByteBin = true;
    constructor(mem: ProcessMemory, options: UserMallocOptions) {
      super(mem, options);
      made.push(this);
    }
  }

  it.each(Object.keys(REAL))('%s: the same segments, pages and mmap calls as the real library', (name) => {
    const trace = parseUserTraceFile(fileURLToPath(new URL(`../../data/traces/programs/${name}.ops.gz`, import.meta.url)));
    replayUserTrace(createSystem({ machine: { memBytes: 64 << 20, cpus: 1 } }, { malloc: Exact }), trace);
    const last = made.at(-1)!;
    last.trim(0); // mi_process_done's collect
    const s = last.miStats();
    expect({ segments: [s.segments.peak, s.segments.total, s.segments.current], pages: [s.pages.peak, s.pages.total, s.pages.current], mmaps: s.mmaps }).toEqual(REAL[name]);
    expect(last.checkInvariants()).toEqual([]);
  });
});

describe('mimalloc-style: the invariants catch a planted bug', () => {
  /** `_mi_page_free_collect` that forgets to empty local_free after swapping it into free: the same blocks are then on both lists. */
  class StaleLocalFree extends MimallocStyle {
    protected override freeCollect(page: number, force: boolean): void {
      const local = this.mem.read64(page + PG_LOCAL_FREE);
      super.freeCollect(page, force);
      if (local !== 0 && this.mem.read64(page + PG_FREE) === local) this.mem.write64(page + PG_LOCAL_FREE, local);
    }
  }

  it('the user fuzz campaign finds it (M5: a block on two lists)', () => {
    const r = FUZZ_CAMPAIGNS.user.run({ overrides: { malloc: StaleLocalFree } }, { seed: 7, numRuns: 20, maxCommands: 80 });
    expect(r.ok).toBe(false);
    // Shrunk to: malloc(655361), malloc(655361), free(#0), malloc_trim(0) — the forced collect swaps local_free in and leaves it there.
    expect(r.codes).toContain('M5');
  });

  it('and the real class survives the same campaign', () => {
    fuzzUser({ label: 'mimalloc-style', overrides: { malloc: MimallocStyle } }, { seed: 7, numRuns: 20, maxCommands: 80 });
  });
});
