/**
 * The heap walk behind {@link Ptmalloc.checkInvariants}: glibc's
 * `do_check_malloc_state` (a MALLOC_DEBUG build's consistency check) turned
 * into a violation collector. It reads the heap through the process memory
 * exactly as the C code would and never throws: a corrupted heap yields
 * violations, bounded walks stop at cycles.
 */

import { MAX_VIOLATIONS, type Violation } from '../../interfaces/invariants.js';
import { hex, modPow2 } from '../../interfaces/units.js';
import type { ProcessMemory } from '../../interfaces/user.js';
import {
  CHUNK_HDR_SZ,
  IS_MMAPPED,
  MINSIZE,
  MIN_LARGE_SIZE,
  NBINS,
  NFASTBINS,
  TCACHE_MAX_BINS,
  binIndex,
  csize2tidx,
  fastbinIndex,
} from './ptmalloc-layout.js';

/** Where a free chunk was found. */
const enum Home {
  TCACHE = 1,
  FAST = 2,
  BIN = 3,
}

const WALK_LIMIT = 1 << 22;

/** What the heap check reads of a ptmalloc instance (its arena, tcache and process memory). */
export interface PtmallocHeapView {
  readonly mem: ProcessMemory;
  /** `mp_.tcache_count`. */
  readonly tcacheCount: number;
  /** The thread's `tcache` pointer (0 before tcache_init). */
  readonly tcache: number;
  /** `tcache_key`, low and high 32 bits. */
  readonly keyLo: number;
  readonly keyHi: number;
  /** `chunksize(p)`. */
  chunksize(p: number): number;
  /** `bin_at(av, i)`. */
  binAt(i: number): number;
  /** The revealed `next` of a tcache entry or fastbin chunk field at `pos`. */
  reveal(pos: number): number;
  /** Address of `fastbinsY[idx]`. */
  fastbinSlot(idx: number): number;
  /** `tcache->counts[i]`. */
  tcacheCountAt(i: number): number;
  /** `tcache->entries[i]`. */
  tcacheEntry(i: number): number;
  /** `contiguous(av)`. */
  contiguous(): boolean;
  /** `av->top`. */
  top(): number;
  /** The first chunk of the brk heap, or 0 before the first sbrk. */
  heapStart(): number;
  /** `binmap[block]`. */
  binmapWord(block: number): number;
}

/** Collects every violation of U1–U8 (the invariants listed on the Ptmalloc class). */
export function checkPtmallocHeap(pm: PtmallocHeapView): Violation[] {
  const out: Violation[] = [];
  const add = (code: string, message: string): void => {
    if (out.length < MAX_VIOLATIONS) out.push({ code, message });
  };
  const m = pm.mem;
  const start = pm.heapStart();
  const top = pm.top();
  // A free-list pointer must name a chunk of the brk heap (when there is one and it is contiguous):
  // checked before it is followed, so a corrupted pointer is reported as such, not as the fault it would cause.
  const bounded = start !== 0 && pm.contiguous();
  const inHeap = (c: number): boolean => !bounded || (c >= start && c < top && modPow2(c, 16) === 0);
  const heapRange = (): string => `[${hex(start)}, top ${hex(top)})`;
  // A bin link is a heap chunk or one of the arena's bin headers.
  const binLo = pm.binAt(1);
  const binHi = pm.binAt(NBINS - 1);
  const binLinkOk = (x: number): boolean => inHeap(x) || (x >= binLo && x <= binHi);
  try {
    // Free-list view: chunk address → where it is filed.
    const home = new Map<number, Home>();
    const note = (p: number, h: Home, where: string): void => {
      if (home.has(p)) add('U8', `chunk ${hex(p)} is on two free lists (${where})`);
      home.set(p, h);
    };

    // U5 tcache.
    if (pm.tcache !== 0) {
      for (let i = 0; i < TCACHE_MAX_BINS; i++) {
        let n = 0;
        for (let e = pm.tcacheEntry(i); e !== 0; e = pm.reveal(e)) {
          if (modPow2(e, 16) !== 0) {
            add('U5', `tcache bin ${i}: misaligned entry ${hex(e)}`);
            break;
          }
          const p = e - CHUNK_HDR_SZ;
          if (!inHeap(p)) {
            add('U5', `tcache bin ${i}: entry ${hex(e)} (after ${n} good ones) is not a chunk of the heap: expected a chunk in ${heapRange()} — a corrupted next pointer`);
            break;
          }
          if (csize2tidx(pm.chunksize(p)) !== i) add('U5', `tcache bin ${i}: chunk ${hex(p)} has size ${pm.chunksize(p)}`);
          if ((m.read32(e + 8) >>> 0) !== pm.keyLo || (m.read32(e + 12) >>> 0) !== pm.keyHi) add('U5', `tcache bin ${i}: entry ${hex(e)} lacks tcache_key`);
          note(p, Home.TCACHE, `tcache ${i}`);
          if (++n > 65535) {
            add('U5', `tcache bin ${i}: cycle`);
            break;
          }
        }
        const c = pm.tcacheCountAt(i);
        if (c !== n) add('U5', `tcache bin ${i}: counts[${i}] = ${c} but the list holds ${n}`);
        if (c > pm.tcacheCount) add('U5', `tcache bin ${i}: ${c} entries exceed tcache_count ${pm.tcacheCount}`);
      }
    }

    // Fastbins.
    for (let i = 0; i < NFASTBINS; i++) {
      let n = 0;
      for (let p = m.read64(pm.fastbinSlot(i)); p !== 0; p = pm.reveal(p + 16)) {
        if (modPow2(p, 16) !== 0) {
          add('U4', `fastbin ${i}: misaligned chunk ${hex(p)}`);
          break;
        }
        if (!inHeap(p)) {
          add('U4', `fastbin ${i}: chunk ${hex(p)} (after ${n} good ones) is not a chunk of the heap: expected one in ${heapRange()} — a corrupted fd`);
          break;
        }
        if (fastbinIndex(pm.chunksize(p)) !== i) add('U4', `fastbin ${i}: chunk ${hex(p)} has size ${pm.chunksize(p)}`);
        note(p, Home.FAST, `fastbin ${i}`);
        if (++n > WALK_LIMIT) {
          add('U4', `fastbin ${i}: cycle`);
          break;
        }
      }
    }

    // Regular bins: links, sizes, ordering, binmap.
    for (let i = 1; i < NBINS; i++) {
      const b = pm.binAt(i);
      let n = 0;
      let prevSize = Infinity;
      for (let p = m.read64(b + 16); p !== b; p = m.read64(p + 16)) {
        if (!inHeap(p)) {
          add('U4', `bin ${i}: chunk ${hex(p)} (after ${n} good ones) is not a chunk of the heap: expected one in ${heapRange()} or the bin header ${hex(b)} — a corrupted fd`);
          break;
        }
        const fd = m.read64(p + 16);
        const bk = m.read64(p + 24);
        if (!binLinkOk(fd) || !binLinkOk(bk)) {
          const [field, v] = binLinkOk(fd) ? ['bk', bk] : ['fd', fd];
          add('U4', `bin ${i}: chunk ${hex(p)} field ${field} (at ${hex(p + (field === 'fd' ? 16 : 24))}) = ${hex(v)}: expected a chunk in ${heapRange()} or a bin header — corrupted`);
          note(p, Home.BIN, `bin ${i}`); // it is on this bin; only the walk past it is cut
          break;
        }
        if (m.read64(fd + 24) !== p) add('U4', `bin ${i}: ${hex(p)}->fd->bk != ${hex(p)}`);
        if (m.read64(bk + 16) !== p) add('U4', `bin ${i}: ${hex(p)}->bk->fd != ${hex(p)}`);
        const sz = pm.chunksize(p);
        if (i > 1 && binIndex(sz) !== i) add('U4', `bin ${i}: chunk ${hex(p)} of size ${sz} belongs in bin ${binIndex(sz)}`);
        if (i > 1 && sz >= MIN_LARGE_SIZE) {
          if (sz > prevSize) add('U4', `large bin ${i}: not sorted by decreasing size at ${hex(p)}`);
          prevSize = sz;
        }
        note(p, Home.BIN, `bin ${i}`);
        if (++n > WALK_LIMIT) {
          add('U4', `bin ${i}: cycle`);
          break;
        }
      }
      if (i > 1 && n > 0) {
        const word = pm.binmapWord(i >> 5);
        if ((word & (1 << (i & 31))) === 0) add('U4', `bin ${i} is non-empty but its binmap bit is clear`);
      }
    }

    // Heap walk (contiguous main arena only).
    if (bounded) {
      let p = start;
      let prevFree = false;
      let prevInBinFree = false;
      let steps = 0;
      while (p !== top) {
        if (p > top) {
          add('U1', `chunks overrun top: ${hex(p)} > top ${hex(top)}`);
          break;
        }
        const raw = m.read64(p + 8);
        const sz = raw - modPow2(raw, 8);
        if (sz < MINSIZE || modPow2(sz, 16) !== 0) {
          add('U1', `chunk ${hex(p)}: size field (at ${hex(p + 8)}) = ${hex(raw)} gives size ${sz}: expected a multiple of 16, at least ${MINSIZE} — corrupted size`);
          break;
        }
        if (p + sz > top) {
          add('U1', `chunk ${hex(p)}: size field (at ${hex(p + 8)}) = ${hex(raw)} gives size ${hex(sz)}, ending at ${hex(p + sz)} past top ${hex(top)}: expected at most ${hex(top - p)} — corrupted size`);
          break;
        }
        if ((modPow2(raw, 8) & IS_MMAPPED) !== 0) add('U1', `chunk ${hex(p)} in the brk heap has IS_MMAPPED set`);
        const pin = modPow2(raw, 2) === 1;
        if (pin === prevFree && steps > 0) add('U2', `chunk ${hex(p)}: PREV_INUSE=${pin ? 1 : 0} but the previous chunk is ${prevFree ? 'free' : 'in use'}`);
        const nextRaw = m.read64(p + sz + 8);
        const inuse = modPow2(nextRaw, 2) === 1;
        const h = home.get(p);
        if (!inuse) {
          if (h !== Home.BIN) add('U8', `free chunk ${hex(p)} (size ${sz}) is on no bin`);
          if (m.read64(p + sz) !== sz) add('U2', `free chunk ${hex(p)}: footer ${m.read64(p + sz)} != size ${sz}`);
          if (prevInBinFree) add('U3', `adjacent free chunks not coalesced at ${hex(p)}`);
        } else if (h === Home.BIN) add('U8', `chunk ${hex(p)} is in a bin but marked in use`);
        home.delete(p);
        prevFree = !inuse;
        prevInBinFree = !inuse;
        p += sz;
        if (++steps > WALK_LIMIT) {
          add('U1', 'heap walk did not reach top');
          break;
        }
      }
      if (p === top) {
        const traw = m.read64(top + 8);
        if (modPow2(traw, 2) === 0) add('U6', `top ${hex(top)} has PREV_INUSE clear`);
        const tsz = traw - modPow2(traw, 8);
        if (tsz < MINSIZE) add('U6', `top size ${tsz} < MINSIZE`);
        const brk = m.brk(0);
        if (top + tsz !== brk) add('U6', `top ends at ${hex(top + tsz)} but the break is ${hex(brk)}`);
      }
      for (const [p] of home) add('U8', `free-list entry ${hex(p)} is not a chunk of the heap`);
    }
  } catch (e) {
    add('U1', `heap unreadable: ${(e as Error).message}`);
  }
  return out;
}
