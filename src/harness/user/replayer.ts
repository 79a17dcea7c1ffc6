/**
 * Replays a user-space trace in a fresh simulated process and measures it
 * the way CS:APP's mdriver does: utilization = peak live payload (the sum of
 * requested sizes of live blocks, at its maximum) / peak heap size (brk heap
 * plus mmapped chunks, at its maximum); throughput in ops per second of
 * wall time. It also reports the process's RSS high-water mark, faults,
 * page-table pages, TLB flushes, and the free lists at the end. With
 * `addresses` it records, for each a/r/c/m op that returns a block,
 * `ID heap OFFSET` (address − initial break, decimal) or `ID mmap -`, or
 * `ID null` — the lines the glibc oracle prints.
 *
 * By default the replay touches only what the allocator touches (its
 * headers, links, calloc's clearing, realloc's copy), so RSS and faults are
 * the allocator's own; a real program also writes the blocks it gets. With
 * `touch` the replay writes one byte into every 4 KiB page of each block's
 * requested bytes when the block is handed out (for a realloc, of the new
 * size), as a program that initializes its memory would: RSS and faults
 * then include the payload, and an allocator that keeps freed memory
 * resident, or spreads blocks over more pages, shows it.
 *
 * A C-library abort or a segfault during the replay is rethrown with the
 * trace line that caused it.
 */

import { AllocatorError, isAllocatorError } from '../../interfaces/errors.js';
import type { BinRow } from '../../interfaces/user.js';
import type { System } from '../../system.js';
import { OP, type UserTrace } from './trace.js';

/** What a replay measured. */
export interface UserReplayResult {
  readonly policy: string;
  readonly tcache: boolean;
  readonly ops: number;
  /** Calls that returned NULL. */
  readonly nulls: number;
  readonly peakLiveBytes: number;
  readonly peakHeapBytes: number;
  /** peakLiveBytes / peakHeapBytes. */
  readonly utilization: number;
  readonly elapsedMs: number;
  readonly opsPerSec: number;
  readonly rssHwmPages: number;
  readonly faults: number;
  readonly pageTablePages: number;
  readonly tlbFlushes: number;
  readonly bins: BinRow[];
  readonly addresses?: string[];
}

/** Options of {@link replayUserTrace}. */
export interface UserReplayOpts {
  /** Record `ID heap OFFSET` / `ID mmap -` / `ID null` per a/r/c/m op. @defaultValue false */
  readonly addresses?: boolean;
  /** Write one byte into every 4 KiB page of each block handed out (see the module comment). @defaultValue false */
  readonly touch?: boolean;
}

/** Bytes between the writes of a `touch` replay (the page size). */
const TOUCH_STRIDE = 4096;

/** Replays `trace` in a new process of `sys`. */
export function replayUserTrace(sys: System, trace: UserTrace, opts: UserReplayOpts = {}): UserReplayResult {
  const { mm, libc } = sys.spawn();
  const base = mm.brk(0);
  const ptr = new Float64Array(Math.max(1, trace.nIds));
  const req = new Float64Array(Math.max(1, trace.nIds));
  const addrs: string[] | undefined = opts.addresses ? [] : undefined;
  let live = 0;
  let peakLive = 0;
  let nulls = 0;
  const t0 = performance.now();
  let i = 0;
  try {
    for (; i < trace.n; i++) {
      const id = trace.id[i]!;
      const size = trace.size[i]!;
      let p: number;
      switch (trace.op[i]) {
        case OP.MALLOC:
          p = libc.malloc(size);
          break;
        case OP.FREE:
          libc.free(ptr[id]!);
          ptr[id] = 0;
          live -= req[id]!;
          req[id] = 0;
          continue;
        case OP.REALLOC:
          if (size === 0) {
            libc.realloc(ptr[id]!, 0);
            ptr[id] = 0;
            live -= req[id]!;
            req[id] = 0;
            continue;
          }
          p = libc.realloc(ptr[id]!, size);
          if (p === 0) {
            nulls++;
            addrs?.push(`${id} null`);
            continue;
          }
          live -= req[id]!;
          break;
        case OP.CALLOC:
          p = libc.calloc(trace.arg[i]!, size);
          break;
        default:
          p = libc.memalign(trace.arg[i]!, size);
      }
      const bytes = trace.op[i] === OP.CALLOC ? size * trace.arg[i]! : size;
      ptr[id] = p;
      if (p === 0) {
        nulls++;
        req[id] = 0;
        addrs?.push(`${id} null`);
        continue;
      }
      req[id] = bytes;
      if (opts.touch === true && bytes > 0) {
        // One byte in each page the requested bytes span.
        for (let at = p; at < p + bytes; at += TOUCH_STRIDE - (at % TOUCH_STRIDE)) mm.write8(at, 1);
      }
      live += bytes;
      if (live > peakLive) peakLive = live;
      if (addrs) addrs.push(libc.isMmapped(p) ? `${id} mmap -` : `${id} heap ${p - base}`);
    }
  } catch (e) {
    if (isAllocatorError(e)) {
      throw new AllocatorError(e.kind, `trace line ${trace.line[i]}: ${e.message}`, { ...e.info, line: trace.line[i] });
    }
    throw e;
  }
  const elapsedMs = performance.now() - t0;
  const ms = mm.stats();
  const st = libc.stats();
  const result: UserReplayResult = {
    policy: libc.name,
    tcache: sys.config.user.tcache,
    ops: trace.n,
    nulls,
    peakLiveBytes: peakLive,
    peakHeapBytes: st.peakHeapBytes,
    utilization: st.peakHeapBytes > 0 ? peakLive / st.peakHeapBytes : 0,
    elapsedMs,
    opsPerSec: elapsedMs > 0 ? (trace.n / elapsedMs) * 1000 : 0,
    rssHwmPages: ms.rssHwmPages,
    faults: ms.faults,
    pageTablePages: ms.pageTablePages,
    tlbFlushes: ms.tlbFlushes,
    bins: libc.binReport(),
    ...(addrs ? { addresses: addrs } : {}),
  };
  return result;
}
