/**
 * # Boundary-tag heaps: the textbook baselines (CS:APP §9.9)
 *
 * The shared machinery of the two baseline user-space allocators: a heap
 * grown with `sbrk` in 4 KiB steps, blocks with an 8-byte header and an
 * 8-byte footer (`size | allocated`), 16-byte aligned payloads, a prologue
 * and an epilogue block so coalescing needs no edge cases, immediate
 * coalescing with both neighbours on free, splitting when the remainder
 * can hold a minimal block (32 bytes). What differs between the baselines is
 * only how free blocks are found ({@link FreeIndex}): the implicit list walks
 * every block from the start of the heap; the segregated list keeps explicit
 * doubly linked lists per size class inside the free blocks.
 *
 * Everything lives in the simulated process memory (headers, footers, list
 * links), so a client's overflow corrupts these heaps as it would a real one;
 * misuse that the tags reveal (freeing a pointer that is not an allocated
 * block) raises `invalid-free` or `double-free`.
 *
 * These baselines never mmap: every block comes from the brk heap, so their
 * heap size is the whole story (documented in the README comparison).
 */

import { AllocatorError } from '../../interfaces/errors.js';
import { hex } from '../../interfaces/units.js';
import type { Violation } from '../../interfaces/invariants.js';
import { MAX_VIOLATIONS } from '../../interfaces/invariants.js';
import type { BinRow, ProcessMemory, UserMalloc, UserMallocStats } from '../../interfaces/user.js';

/** Header/footer word. */
const WSIZE = 8;
/** Header + footer. */
const OVERHEAD = 16;
/** Smallest block: header, two link words, footer. */
export const MIN_BLOCK = 32;
/** Heap growth step. */
const CHUNKSIZE = 4096;
const ALLOC = 1;
const MAX_REQUEST = Number.MAX_SAFE_INTEGER - 2 * CHUNKSIZE;

/** How a baseline finds, files and unfiles free blocks. */
export interface FreeIndex {
  /** A free block of at least `asize` bytes, or 0. */
  find(asize: number): number;
  /** File free block `bp` of size `size`. */
  insert(bp: number, size: number): void;
  /** Unfile free block `bp` of size `size`. */
  remove(bp: number, size: number): void;
  /** Non-empty free lists. */
  report(): BinRow[];
  /** Violations of the index against the heap walk's set of free blocks. */
  check(free: Map<number, number>, add: (code: string, msg: string) => void): void;
}

/**
 * A boundary-tag heap with a pluggable free index.
 *
 * Invariants: F1 every block's header equals its footer, sizes are multiples
 * of 16 and ≥ 32, payloads 16-aligned; F2 blocks tile the heap from the
 * prologue to the epilogue, which ends at the break; F3 no two free blocks
 * are adjacent; F4 the free index holds exactly the free blocks (policy
 * specific).
 */
export abstract class BoundaryTagHeap implements UserMalloc {
  abstract readonly name: string;
  readonly mem: ProcessMemory;
  /** Payload pointer of the prologue block (0 before the first call). */
  protected heapListp = 0;
  /** Start of the heap (initial break). */
  protected heapStart = 0;
  protected index!: FreeIndex;
  private inUse = 0;
  private peak = 0;

  constructor(mem: ProcessMemory) {
    this.mem = mem;
  }

  protected hdr(bp: number): number {
    return bp - WSIZE;
  }
  /** Block size from the header of payload `bp`. */
  protected size(bp: number): number {
    const w = this.mem.read64(bp - WSIZE);
    return w - (w % 16);
  }
  protected allocated(bp: number): boolean {
    return this.mem.read64(bp - WSIZE) % 2 === 1;
  }
  private put(bp: number, size: number, alloc: number): void {
    this.mem.write64(bp - WSIZE, size + alloc);
    this.mem.write64(bp + size - OVERHEAD, size + alloc);
  }
  protected nextBlock(bp: number): number {
    return bp + this.size(bp);
  }
  private prevBlock(bp: number): number {
    const w = this.mem.read64(bp - OVERHEAD);
    return bp - (w - (w % 16));
  }

  private fail(kind: 'invalid-free' | 'double-free', op: string, addr: number, msg: string): never {
    throw new AllocatorError(kind, msg, { policy: this.name, op, addr });
  }

  private init(): boolean {
    if (this.heapListp !== 0) return true;
    let start = this.mem.brk(0);
    const pad = (16 - (start % 16)) % 16;
    if (this.mem.brk(start + pad + 4 * WSIZE) !== start + pad + 4 * WSIZE) return false;
    start += pad;
    this.heapStart = start;
    this.mem.write64(start + 8, 16 + ALLOC);
    this.mem.write64(start + 16, 16 + ALLOC);
    this.mem.write64(start + 24, 0 + ALLOC);
    this.heapListp = start + 16;
    return true;
  }

  /** Grows the heap by `bytes` (multiple of 16); returns the coalesced free block or 0. */
  private extend(bytes: number): number {
    const old = this.mem.brk(0);
    if (this.mem.brk(old + bytes) !== old + bytes) return 0;
    const bp = old; // the old epilogue header becomes this block's header
    this.put(bp, bytes, 0);
    this.mem.write64(bp + bytes - WSIZE, 0 + ALLOC);
    return this.coalesce(bp);
  }

  private coalesce(bp0: number): number {
    let bp = bp0;
    let size = this.size(bp);
    const prevAlloc = this.mem.read64(bp - OVERHEAD) % 2 === 1;
    const next = bp + size;
    const nextAlloc = this.allocated(next);
    if (!nextAlloc) {
      const ns = this.size(next);
      this.index.remove(next, ns);
      size += ns;
    }
    if (!prevAlloc) {
      const prev = this.prevBlock(bp);
      const ps = this.size(prev);
      this.index.remove(prev, ps);
      size += ps;
      bp = prev;
    }
    this.put(bp, size, 0);
    this.index.insert(bp, size);
    return bp;
  }

  private place(bp: number, asize: number): void {
    const csize = this.size(bp);
    this.index.remove(bp, csize);
    if (csize - asize >= MIN_BLOCK) {
      this.put(bp, asize, ALLOC);
      const rest = bp + asize;
      this.put(rest, csize - asize, 0);
      this.index.insert(rest, csize - asize);
    } else {
      this.put(bp, csize, ALLOC);
    }
    this.inUse += this.size(bp);
  }

  private noteHeap(): void {
    const h = this.mem.brk(0) - this.heapStart;
    if (h > this.peak) this.peak = h;
  }

  private asize(size: number): number {
    return Math.max(MIN_BLOCK, Math.ceil((size + OVERHEAD) / 16) * 16);
  }

  malloc(size: number): number {
    if (size === 0 || !(size > 0) || size > MAX_REQUEST) return 0;
    if (!this.init()) return 0;
    const asize = this.asize(size);
    let bp = this.index.find(asize);
    if (bp === 0) {
      bp = this.extend(Math.max(asize, CHUNKSIZE));
      if (bp === 0) return 0;
      this.noteHeap();
    }
    this.place(bp, asize);
    return bp;
  }

  /** Validates `bp` as an allocated block (F1 read back). */
  private checkPtr(bp: number, op: string): void {
    if (this.heapListp === 0 || bp % 16 !== 0 || bp <= this.heapListp || bp >= this.mem.brk(0)) {
      this.fail('invalid-free', op, bp, `${this.name}.${op}: ${hex(bp)} is not a block of this heap`);
    }
    const w = this.mem.read64(bp - WSIZE);
    const size = w - (w % 16);
    if (size < MIN_BLOCK || bp + size > this.mem.brk(0) + WSIZE || this.mem.read64(bp + size - OVERHEAD) !== w) {
      this.fail('invalid-free', op, bp, `${this.name}.${op}: ${hex(bp)} has no valid block header (header and footer disagree)`);
    }
    if (w % 2 === 0) this.fail('double-free', op, bp, `${this.name}.${op}: ${hex(bp)} is already free`);
  }

  free(bp: number): void {
    if (bp === 0) return;
    this.checkPtr(bp, 'free');
    const size = this.size(bp);
    this.inUse -= size;
    this.put(bp, size, 0);
    this.coalesce(bp);
  }

  calloc(nmemb: number, size: number): number {
    const bytes = nmemb * size;
    if (!Number.isSafeInteger(bytes)) return 0;
    const p = this.malloc(bytes);
    if (p !== 0) this.mem.fill(p, bytes, 0);
    return p;
  }

  realloc(bp: number, size: number): number {
    if (bp === 0) return this.malloc(size);
    if (size === 0) {
      this.free(bp);
      return 0;
    }
    this.checkPtr(bp, 'realloc');
    if (size > MAX_REQUEST) return 0;
    const asize = this.asize(size);
    const cur = this.size(bp);
    if (asize <= cur) {
      if (cur - asize >= MIN_BLOCK) {
        this.put(bp, asize, ALLOC);
        const rest = bp + asize;
        this.put(rest, cur - asize, 0);
        this.inUse -= cur - asize;
        this.coalesce(rest);
      }
      return bp;
    }
    const next = bp + cur;
    if (!this.allocated(next) && cur + this.size(next) >= asize) {
      const ns = this.size(next);
      this.index.remove(next, ns);
      const total = cur + ns;
      if (total - asize >= MIN_BLOCK) {
        this.put(bp, asize, ALLOC);
        this.put(bp + asize, total - asize, 0);
        this.index.insert(bp + asize, total - asize);
        this.inUse += asize - cur;
      } else {
        this.put(bp, total, ALLOC);
        this.inUse += total - cur;
      }
      return bp;
    }
    const np = this.malloc(size);
    if (np === 0) return 0;
    this.mem.copy(np, bp, cur - OVERHEAD);
    this.free(bp);
    return np;
  }

  memalign(alignment: number, size: number): number {
    if (alignment <= 16) return this.malloc(size);
    if (!Number.isSafeInteger(alignment) || (alignment & (alignment - 1)) !== 0 || alignment > 2 ** 30) return 0;
    // Over-allocate, then give back the lead and the tail as free blocks.
    const p = this.malloc(size + alignment + MIN_BLOCK);
    if (p === 0) return 0;
    let q = Math.ceil(p / alignment) * alignment;
    if (q !== p && q - p < MIN_BLOCK) q += alignment;
    if (q !== p) {
      const total = this.size(p);
      const lead = q - p;
      this.put(p, lead, 0);
      this.put(q, total - lead, ALLOC);
      this.inUse -= lead;
      this.coalesce(p);
    }
    const asize = this.asize(size);
    const cur = this.size(q);
    if (cur - asize >= MIN_BLOCK) {
      this.put(q, asize, ALLOC);
      this.put(q + asize, cur - asize, 0);
      this.inUse -= cur - asize;
      this.coalesce(q + asize);
    }
    return q;
  }

  posixMemalign(out: number[], alignment: number, size: number): number {
    if (alignment % 8 !== 0 || (alignment & (alignment - 1)) !== 0 || alignment === 0) return 22;
    const p = this.memalign(alignment, size);
    if (p === 0) return 12;
    out[0] = p;
    return 0;
  }

  usableSize(bp: number): number {
    if (bp === 0) return 0;
    this.checkPtr(bp, 'malloc_usable_size');
    return this.size(bp) - OVERHEAD;
  }

  /** Baselines never give memory back. */
  trim(): number {
    return 0;
  }

  isMmapped(): boolean {
    return false;
  }

  stats(): UserMallocStats {
    const arena = this.heapListp === 0 ? 0 : this.mem.brk(0) - this.heapStart;
    return { arenaBytes: arena, mmappedBytes: 0, mmappedChunks: 0, inUseBytes: this.inUse, freeBytes: arena - this.inUse, peakHeapBytes: this.peak };
  }

  /** Free blocks grouped by the index's own lists (see each policy). */
  binReport(): BinRow[] {
    return this.index.report();
  }

  /** Initial break the heap starts at (0 before the first call). */
  heapBase(): number {
    return this.heapStart;
  }

  checkInvariants(): Violation[] {
    const out: Violation[] = [];
    const add = (code: string, message: string): void => {
      if (out.length < MAX_VIOLATIONS) out.push({ code, message });
    };
    if (this.heapListp === 0) return out;
    try {
      const brk = this.mem.brk(0);
      const free = new Map<number, number>();
      let bp = this.heapListp + 16;
      let prevFree = false;
      let steps = 0;
      for (;;) {
        const w = this.mem.read64(bp - WSIZE);
        const size = w - (w % 16);
        if (size === 0) {
          if (bp !== brk) add('F2', `epilogue at ${hex(bp - WSIZE)} but the break is ${hex(brk)}`);
          break;
        }
        if (size < MIN_BLOCK || bp % 16 !== 0) add('F1', `block ${hex(bp)} has size ${size}`);
        if (bp + size > brk) {
          add('F2', `block ${hex(bp)} of size ${size} runs past the break`);
          break;
        }
        if (this.mem.read64(bp + size - OVERHEAD) !== w) add('F1', `block ${hex(bp)}: footer disagrees with header`);
        const isFree = w % 2 === 0;
        if (isFree) {
          if (prevFree) add('F3', `adjacent free blocks at ${hex(bp)}`);
          free.set(bp, size);
        }
        prevFree = isFree;
        bp += size;
        if (++steps > 1 << 24) {
          add('F2', 'heap walk did not end');
          break;
        }
      }
      this.index.check(free, add);
    } catch (e) {
      add('F1', `heap unreadable: ${(e as Error).message}`);
    }
    return out;
  }
}

