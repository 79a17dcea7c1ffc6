/**
 * Simulated physical memory: `nrPages` frames of 4 KiB whose bytes exist
 * only once something writes them. Unwritten bytes read as the frame's
 * background byte — zero, or the page-poison pattern of a poisoned free
 * frame — and a frame that gets backing starts filled with it.
 *
 * Storage: `slotOf[pfn]` (0 = no backing, else slot + 1) points into
 * segments of {@link PAGES_PER_SEGMENT} pages, so a 64 GiB machine costs
 * 4 bytes per frame until it is touched, and touching a frame costs one page
 * of real memory. Accessors take *physical* addresses; callers translate
 * direct-map virtual addresses with `virtToPhys` first.
 *
 * Multi-byte accessors are little-endian like x86_64. `read64` returns a
 * number and is exact for values below 2^53 (every simulated address);
 * `read64n` returns the exact bigint.
 */

import { AllocatorError } from '../interfaces/errors.js';
import { PAGE_SHIFT, PAGE_SIZE, type Addr, type Pfn } from '../interfaces/units.js';
import type { PhysicalMemoryApi } from '../interfaces/machine.js';

/** Pages per backing segment (1 MiB segments). */
export const PAGES_PER_SEGMENT = 256;
const SEG_SHIFT = 8;
const SEG_MASK = PAGES_PER_SEGMENT - 1;
const TWO32 = 2 ** 32;
/** True on little-endian hosts, where typed-array views read simulated x86 memory directly. */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Segments given back by {@link PhysicalMemory.release}, reused by the next
 * machines (a fuzz campaign builds hundreds in one synchronous loop, and V8
 * frees the dead ones' ArrayBuffers only once the event loop turns). Their
 * bytes are stale; `back()` overwrites every page it hands out.
 */
const SEGMENT_POOL: Uint8Array[] = [];
const SEGMENT_POOL_MAX = 128;

/** Byte storage of the simulated machine. */
export class PhysicalMemory implements PhysicalMemoryApi {
  /** Number of frames. */
  readonly nrPages: number;
  /** Size in bytes. */
  readonly bytes: number;
  private readonly slotOf: Int32Array;
  /** What an unbacked frame's bytes read as. */
  private readonly background: Uint8Array;
  private readonly segments: Uint8Array[] = [];
  private readonly views: DataView[] = [];
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;
  private backed = 0;

  /** @param nrPages - number of 4 KiB frames */
  constructor(nrPages: number) {
    this.nrPages = nrPages;
    this.bytes = nrPages * PAGE_SIZE;
    this.slotOf = new Int32Array(nrPages);
    this.background = new Uint8Array(nrPages);
  }

  /** Drops a frame's bytes and makes it read as `byte` everywhere (page poisoning without touching memory). */
  setBackground(pfn: Pfn, count: number, byte: number): void {
    this.discard(pfn, count);
    this.background.fill(byte, pfn, pfn + count);
  }

  /**
   * Gives every byte segment back to a pool the next machines draw from.
   * The machine reads as its background afterwards; call it only when the
   * machine is done with (the end of a fuzz run).
   */
  release(): void {
    for (const seg of this.segments) if (SEGMENT_POOL.length < SEGMENT_POOL_MAX) SEGMENT_POOL.push(seg);
    this.segments.length = 0;
    this.views.length = 0;
    this.freeSlots.length = 0;
    this.slotOf.fill(0);
    this.nextSlot = 0;
    this.backed = 0;
    this.cur = new Uint8Array(0);
    this.curView = new DataView(this.cur.buffer);
  }

  /** Frames that currently have backing bytes. */
  get backedPages(): number {
    return this.backed;
  }

  /** Throws unless `[phys, phys + len)` lies inside the machine. */
  checkRange(phys: number, len: number, op: string): void {
    if (!(phys >= 0 && len >= 0 && phys + len <= this.bytes && Number.isInteger(phys))) {
      throw new AllocatorError('out-of-range', `physical range 0x${phys.toString(16)}+${len} is outside the ${this.nrPages}-page machine`, {
        policy: 'physmem',
        op,
        addr: phys,
        size: len,
      });
    }
  }

  /** True when frame `pfn` has backing bytes. */
  isBacked(pfn: Pfn): boolean {
    return this.slotOf[pfn] !== 0;
  }

  // The segment found by the last locate(); locate() returns the byte offset inside it.
  private cur: Uint8Array = new Uint8Array(0);
  private curView: DataView = new DataView(new ArrayBuffer(0));

  /** Byte offset of `phys` inside its segment (left in `cur`), creating backing when `create`; -1 when unbacked. */
  private locate(phys: number, create: boolean): number {
    const pfn = Math.floor(phys / PAGE_SIZE);
    let slot = this.slotOf[pfn]!;
    if (slot === 0) {
      if (!create) return -1;
      slot = this.back(pfn);
    }
    const s = slot - 1;
    this.cur = this.segments[s >>> SEG_SHIFT]!;
    this.curView = this.views[s >>> SEG_SHIFT]!;
    return ((s & SEG_MASK) << PAGE_SHIFT) | (phys - pfn * PAGE_SIZE);
  }

  private back(pfn: number): number {
    let s = this.freeSlots.pop();
    if (s === undefined) {
      s = this.nextSlot++;
      if ((s & SEG_MASK) === 0) {
        const buf = SEGMENT_POOL.pop() ?? new Uint8Array(PAGES_PER_SEGMENT * PAGE_SIZE);
        this.segments.push(buf);
        this.views.push(new DataView(buf.buffer));
      }
    }
    this.segments[s >>> SEG_SHIFT]!.fill(this.background[pfn]!, (s & SEG_MASK) << PAGE_SHIFT, ((s & SEG_MASK) + 1) << PAGE_SHIFT);
    this.slotOf[pfn] = s + 1;
    this.backed++;
    return s + 1;
  }

  /**
   * The page's bytes as 2048 native-endian s16 words (backing the page if
   * needed). The view stays valid until the frame is discarded. Used by
   * allocators whose metadata is a dense array of words in the page (SLOB).
   */
  pageInt16(pfn: Pfn): Int16Array {
    let slot = this.slotOf[pfn]!;
    if (slot === 0) slot = this.back(pfn);
    const s = slot - 1;
    const seg = this.segments[s >>> SEG_SHIFT]!;
    return new Int16Array(seg.buffer, seg.byteOffset + ((s & SEG_MASK) << PAGE_SHIFT), PAGE_SIZE / 2);
  }

  /** Byte offset of the frame inside the view {@link segmentOf} returned last. */
  segmentOffset = 0;

  /**
   * The DataView of the storage segment holding frame `pfn` (backing the
   * frame if needed); the frame starts at {@link segmentOffset}. Valid until
   * the frame is discarded: callers that cache it (the user TLB) drop it
   * whenever the frame is unmapped.
   */
  segmentOf(pfn: number): DataView {
    let slot = this.slotOf[pfn]!;
    if (slot === 0) slot = this.back(pfn);
    const s = slot - 1;
    this.segmentOffset = (s & SEG_MASK) << PAGE_SHIFT;
    return this.views[s >>> SEG_SHIFT]!;
  }

  /** Drops the backing of `count` frames from `pfn`: their bytes read as zero again. */
  discard(pfn: Pfn, count: number): void {
    this.background.fill(0, pfn, pfn + count);
    for (let p = pfn; p < pfn + count; p++) {
      const slot = this.slotOf[p]!;
      if (slot !== 0) {
        this.freeSlots.push(slot - 1);
        this.slotOf[p] = 0;
        this.backed--;
      }
    }
  }

  /** Background byte of the frame holding `phys`. */
  private bg(phys: number): number {
    return this.background[Math.floor(phys / PAGE_SIZE)]!;
  }

  /** Reads one byte. */
  read8(phys: Addr | number): number {
    const loc = this.locate(phys, false);
    return loc < 0 ? this.bg(phys) : this.cur[loc]!;
  }

  /** Writes one byte. */
  write8(phys: Addr | number, v: number): void {
    const loc = this.locate(phys, true);
    this.cur[loc] = v;
  }

  /** Reads a little-endian u16. */
  read16(phys: Addr | number): number {
    if ((phys & 0xfff) > PAGE_SIZE - 2) return this.read8(phys) | (this.read8(phys + 1) << 8);
    const loc = this.locate(phys, false);
    return loc < 0 ? this.bg(phys) * 0x101 : this.curView.getUint16(loc, true);
  }

  /** Writes a little-endian u16. */
  write16(phys: Addr | number, v: number): void {
    if ((phys & 0xfff) > PAGE_SIZE - 2) {
      this.write8(phys, v & 0xff);
      this.write8(phys + 1, (v >>> 8) & 0xff);
      return;
    }
    const loc = this.locate(phys, true);
    this.curView.setUint16(loc, v, true);
  }

  /** Reads a little-endian u32. */
  read32(phys: Addr | number): number {
    if ((phys & 0xfff) > PAGE_SIZE - 4) return (this.read16(phys) + this.read16(phys + 2) * 0x10000) >>> 0;
    const loc = this.locate(phys, false);
    return loc < 0 ? (this.bg(phys) * 0x1010101) >>> 0 : this.curView.getUint32(loc, true);
  }

  /** Writes a little-endian u32. */
  write32(phys: Addr | number, v: number): void {
    if ((phys & 0xfff) > PAGE_SIZE - 4) {
      this.write16(phys, v & 0xffff);
      this.write16(phys + 2, (v >>> 16) & 0xffff);
      return;
    }
    const loc = this.locate(phys, true);
    this.curView.setUint32(loc, v >>> 0, true);
  }

  /** Reads a little-endian u64 as a number (exact below 2^53). */
  read64(phys: Addr | number): number {
    if ((phys & 0xfff) <= PAGE_SIZE - 8) {
      const loc = this.locate(phys, false);
      if (loc < 0) return this.read32(phys) + this.read32(phys + 4) * TWO32;
      const v = this.curView;
      return v.getUint32(loc, true) + v.getUint32(loc + 4, true) * TWO32;
    }
    return this.read32(phys) + this.read32(phys + 4) * TWO32;
  }

  /** Writes a non-negative integer below 2^53 as a little-endian u64. */
  write64(phys: Addr | number, v: number): void {
    const hi = Math.floor(v / TWO32);
    if ((phys & 0xfff) <= PAGE_SIZE - 8) {
      const loc = this.locate(phys, true);
      const view = this.curView;
      view.setUint32(loc, v - hi * TWO32, true);
      view.setUint32(loc + 4, hi, true);
      return;
    }
    this.write32(phys, v - hi * TWO32);
    this.write32(phys + 4, hi);
  }

  /**
   * Reads `count` consecutive little-endian u64 from `phys` (8-byte
   * aligned) into `out[at…]`: each value is what {@link read64} returns,
   * one frame lookup per page instead of one per value. Creates no backing.
   */
  read64s(phys: Addr | number, count: number, out: Float64Array, at = 0): void {
    if (phys % 8 !== 0) {
      for (let i = 0; i < count; i++) out[at + i] = this.read64(phys + 8 * i);
      return;
    }
    let p = phys;
    let i = 0;
    while (i < count) {
      const inPage = Math.min(count - i, (PAGE_SIZE - (p & 0xfff)) / 8);
      const loc = this.locate(p, false);
      if (loc < 0) {
        const b = this.bg(p);
        out.fill((b * 0x1010101 >>> 0) * (TWO32 + 1), at + i, at + i + inPage);
      } else {
        const v = this.curView;
        for (let k = 0; k < inPage; k++) out[at + i + k] = v.getUint32(loc + 8 * k, true) + v.getUint32(loc + 8 * k + 4, true) * TWO32;
      }
      p += inPage * 8;
      i += inPage;
    }
  }

  /**
   * Writes `src[at…at + count)` as consecutive little-endian u64 from
   * `phys` (8-byte aligned): each as {@link write64} writes it, one frame
   * lookup per page instead of one per value.
   */
  write64s(phys: Addr | number, count: number, src: Float64Array, at = 0): void {
    if (phys % 8 !== 0) {
      for (let i = 0; i < count; i++) this.write64(phys + 8 * i, src[at + i]!);
      return;
    }
    let p = phys;
    let i = 0;
    while (i < count) {
      const inPage = Math.min(count - i, (PAGE_SIZE - (p & 0xfff)) / 8);
      const loc = this.locate(p, true);
      const view = this.curView;
      for (let k = 0; k < inPage; k++) {
        const v = src[at + i + k]!;
        const hi = Math.floor(v / TWO32);
        view.setUint32(loc + 8 * k, v - hi * TWO32, true);
        view.setUint32(loc + 8 * k + 4, hi, true);
      }
      p += inPage * 8;
      i += inPage;
    }
  }

  /** Reads a little-endian u64 exactly. */
  read64n(phys: Addr | number): bigint {
    return BigInt(this.read32(phys)) | (BigInt(this.read32(phys + 4)) << 32n);
  }

  /** Writes a u64 exactly. */
  write64n(phys: Addr | number, v: bigint): void {
    this.write32(phys, Number(v & 0xffffffffn));
    this.write32(phys + 4, Number((v >> 32n) & 0xffffffffn));
  }

  /** Fills `len` bytes with `byte`. Filling unbacked frames with zero creates no backing. */
  fill(phys: Addr | number, len: number, byte: number): void {
    let p = phys;
    let left = len;
    while (left > 0) {
      const inPage = Math.min(left, PAGE_SIZE - (p & 0xfff));
      const loc = this.locate(p, byte !== this.bg(p));
      if (loc >= 0) {
        this.cur.fill(byte, loc, loc + inPage);
      }
      p += inPage;
      left -= inPage;
    }
  }

  /** Copies `len` bytes out of simulated memory. */
  readBytes(phys: Addr | number, len: number, out: Uint8Array = new Uint8Array(len)): Uint8Array {
    let p = phys;
    let done = 0;
    while (done < len) {
      const inPage = Math.min(len - done, PAGE_SIZE - (p & 0xfff));
      const loc = this.locate(p, false);
      if (loc < 0) out.fill(this.bg(p), done, done + inPage);
      else {
        out.set(this.cur.subarray(loc, loc + inPage), done);
      }
      p += inPage;
      done += inPage;
    }
    return out;
  }

  /** Copies bytes into simulated memory. */
  writeBytes(phys: Addr | number, data: Uint8Array): void {
    let p = phys;
    let done = 0;
    while (done < data.length) {
      const inPage = Math.min(data.length - done, PAGE_SIZE - (p & 0xfff));
      const loc = this.locate(p, true);
      this.cur.set(data.subarray(done, done + inPage), loc);
      p += inPage;
      done += inPage;
    }
  }

  /** Copies `len` bytes inside simulated memory (memmove semantics). */
  copy(dst: Addr | number, src: Addr | number, len: number): void {
    this.writeBytes(dst, this.readBytes(src, len));
  }

  /**
   * Offset of the first byte in `[phys, phys + len)` that is not `byte`, or
   * -1 when all are. Used by poison and red-zone checks.
   */
  findNot(phys: Addr | number, len: number, byte: number): number {
    let p = phys;
    let done = 0;
    while (done < len) {
      const inPage = Math.min(len - done, PAGE_SIZE - (p & 0xfff));
      const loc = this.locate(p, false);
      if (loc < 0) {
        if (byte !== this.bg(p)) return done;
      } else {
        const seg = this.cur;
        for (let i = 0; i < inPage; i++) if (seg[loc + i] !== byte) return done + i;
      }
      p += inPage;
      done += inPage;
    }
    return -1;
  }
}
