/**
 * How the KASAN model works here (generic KASAN, mm/kasan/).
 *
 * Every 8-byte granule of memory has a shadow byte: 0 = all 8 bytes
 * accessible, 1…7 = only the first k bytes, a negative code = none, and the
 * code says why (a slab red zone, a freed object, a free page, a large
 * kmalloc's tail). Shadow exists per page only where it is needed — pages
 * whose granules differ (slabs, large kmallocs); every other page has one
 * page-wide state (free or accessible), so a 64 GiB machine costs a byte per
 * frame.
 *
 * The allocators call the hooks: pages are unpoisoned when allocated and
 * poisoned (free) when freed; a new slab is poisoned as red zone; an object
 * is unpoisoned up to the requested size on allocation (the slack up to the
 * object size stays red zone until `ksize()` asks for it) and poisoned as
 * freed on free. Freed objects wait in a FIFO quarantine of a configurable
 * size before the allocator may reuse them, so a use-after-free is still a
 * use-after-free after the next allocation.
 *
 * Clients access memory through `read`/`write`/`memset`/`memcpy`, which
 * check the shadow first and report the first bad byte in KASAN's shape.
 */

import { AllocatorError } from '../../interfaces/errors.js';
import { PAGE_OFFSET, PAGE_SIZE, formatKernelAddr } from '../../interfaces/units.js';
import type { KasanApi, KasanObjectInfo } from '../../interfaces/detectors.js';
import type { Machine } from '../../interfaces/machine.js';

/** Shadow codes (mm/kasan/kasan.h, generic mode), as signed bytes. */
export const KASAN_PAGE_FREE = -1; // 0xFF
export const KASAN_PAGE_REDZONE = -2; // 0xFE
export const KASAN_SLAB_REDZONE = -4; // 0xFC
export const KASAN_SLAB_FREE = -5; // 0xFB
/** Granule size. */
export const KASAN_GRANULE = 8;
const GRANULES_PER_PAGE = PAGE_SIZE / KASAN_GRANULE;


/** KASAN's own record of an object (mutated in place: no per-operation copies). */
type ObjectRecord = { -readonly [K in keyof KasanObjectInfo]: KasanObjectInfo[K] } & { freed: boolean };

/** The shadow and its checks. */
export class Kasan implements KasanApi {
  /** Page-wide state of pages without granular shadow: 0 accessible, else a code. */
  private readonly pageState: Int8Array;
  /** Granular shadow by page: slot + 1 (0 = none). */
  private readonly slotOf: Int32Array;
  private readonly shadows: Int8Array[] = [];
  private readonly freeSlots: number[] = [];
  /** Objects known to the model, by start address (for reports and quarantine). */
  private readonly objects = new Map<number, ObjectRecord>();
  /** FIFO of freed objects; entries before `qHead` are gone (compacted when half the array is dead). */
  private quarantine: { addr: number; size: number; release: () => void }[] = [];
  private qHead = 0;
  private quarantined = 0;
  /** Bytes the client checked. */
  checkedBytes = 0;

  /**
   * @param machine - the machine whose memory is shadowed
   * @param quarantineBytes - how many bytes of freed objects wait before reuse
   */
  constructor(
    private readonly machine: Machine,
    readonly quarantineBytes: number,
  ) {
    const n = machine.layout.nrPages;
    this.pageState = new Int8Array(n).fill(KASAN_PAGE_FREE);
    this.slotOf = new Int32Array(n);
  }

  // ------------------------------------------------------------ shadow

  private granular(pfn: number): Int8Array {
    let slot = this.slotOf[pfn]!;
    if (slot === 0) {
      const s = this.freeSlots.pop() ?? this.shadows.length;
      const sh = new Int8Array(GRANULES_PER_PAGE).fill(this.pageState[pfn]!);
      this.shadows[s] = sh;
      slot = s + 1;
      this.slotOf[pfn] = slot;
    }
    return this.shadows[slot - 1]!;
  }

  private setPages(pfn: number, n: number, state: number): void {
    for (let p = pfn; p < pfn + n; p++) {
      const slot = this.slotOf[p]!;
      if (slot !== 0) {
        this.freeSlots.push(slot - 1);
        this.slotOf[p] = 0;
      }
    }
    this.pageState.fill(state, pfn, pfn + n);
  }

  /** Shadow value of the granule holding `addr`. */
  shadowOf(addr: number): number {
    const off = addr - PAGE_OFFSET;
    const pfn = Math.floor(off / PAGE_SIZE);
    const slot = this.slotOf[pfn]!;
    if (slot === 0) return this.pageState[pfn]!;
    return this.shadows[slot - 1]![Math.floor((off - pfn * PAGE_SIZE) / KASAN_GRANULE)]!;
  }

  /** Marks [addr, addr + len) with `code` (len rounded to granules; addr granule-aligned). */
  poison(addr: number, len: number, code: number): void {
    let a = addr;
    const end = addr + len;
    while (a < end) {
      const off = a - PAGE_OFFSET;
      const pfn = Math.floor(off / PAGE_SIZE);
      const pageEnd = PAGE_OFFSET + (pfn + 1) * PAGE_SIZE;
      const sh = this.granular(pfn);
      const g0 = Math.floor((a - PAGE_OFFSET - pfn * PAGE_SIZE) / KASAN_GRANULE);
      const g1 = Math.ceil((Math.min(end, pageEnd) - PAGE_OFFSET - pfn * PAGE_SIZE) / KASAN_GRANULE);
      sh.fill(code, g0, g1);
      a = Math.min(end, pageEnd);
    }
  }

  /** Makes [addr, addr + len) accessible; a partial last granule gets its byte count. */
  unpoison(addr: number, len: number): void {
    const full = Math.floor(len / KASAN_GRANULE) * KASAN_GRANULE;
    if (full) this.poison(addr, full, 0);
    const rest = len - full;
    if (rest) {
      const a = addr + full;
      const off = a - PAGE_OFFSET;
      const pfn = Math.floor(off / PAGE_SIZE);
      this.granular(pfn)[Math.floor((off - pfn * PAGE_SIZE) / KASAN_GRANULE)] = rest;
    }
  }

  // ------------------------------------------------------------- hooks

  /** Pages handed out by the page allocator: accessible. */
  onPagesAlloc(pfn: number, n: number): void {
    this.setPages(pfn, n, 0);
  }

  /** Pages returned to the page allocator: free. */
  onPagesFree(pfn: number, n: number): void {
    this.setPages(pfn, n, KASAN_PAGE_FREE);
  }

  /** A new slab: every byte red zone until objects are handed out (`kasan_poison_slab`). */
  onNewSlab(pfn: number, n: number): void {
    this.setPages(pfn, n, KASAN_SLAB_REDZONE);
  }

  /** An object handed out: accessible up to `size`, red zone up to the object size. */
  onObjectAlloc(info: KasanObjectInfo): void {
    this.poison(info.start, info.cacheSize, KASAN_SLAB_REDZONE);
    this.unpoison(info.start, info.size);
    const o = info as ObjectRecord;
    o.freed = false;
    this.objects.set(info.start, o);
  }

  /** A large kmalloc: accessible up to `size`, the rest of its pages a page red zone. */
  onLargeAlloc(start: number, size: number, pages: number): void {
    this.setPages(Math.floor((start - PAGE_OFFSET) / PAGE_SIZE), pages, KASAN_PAGE_REDZONE);
    this.unpoison(start, size);
    this.objects.set(start, { start, size, cache: '', cacheSize: pages * PAGE_SIZE, freed: false });
  }

  /** `ksize()` makes the whole object usable. */
  onKsize(start: number, usable: number): void {
    const o = this.objects.get(start);
    if (o && !o.freed) {
      this.unpoison(start, usable);
      o.size = usable;
    }
  }

  /**
   * An object being freed: poisons it, reports a double or invalid free,
   * and queues the real free in the quarantine (released oldest first when
   * over budget). Returns false when the free must not go ahead.
   */
  onObjectFree(addr: number, release: () => void, op: string): boolean {
    const o = this.objects.get(addr);
    if (!o) {
      const s = this.shadowOf(addr);
      this.report(s === KASAN_SLAB_FREE || s === KASAN_PAGE_FREE ? 'double-free' : 'invalid-free', op, addr, 0, true, this.findObject(addr));
      return false;
    }
    if (o.freed) {
      this.report('double-free', op, addr, 0, true, o);
      return false;
    }
    o.freed = true;
    o.freeTrack = this.machine.ctx.caller;
    this.poison(addr, Math.max(o.cacheSize, KASAN_GRANULE), o.cache ? KASAN_SLAB_FREE : KASAN_PAGE_FREE);
    if (this.quarantineBytes <= 0 || !o.cache) {
      this.objects.delete(addr);
      release();
      return true;
    }
    this.quarantine.push({ addr, size: o.cacheSize, release });
    this.quarantined += o.cacheSize;
    while (this.quarantined > this.quarantineBytes && this.qHead < this.quarantine.length) {
      const q = this.quarantine[this.qHead++]!;
      this.quarantined -= q.size;
      this.objects.delete(q.addr);
      q.release();
    }
    if (this.qHead > 1024 && this.qHead * 2 > this.quarantine.length) {
      this.quarantine = this.quarantine.slice(this.qHead);
      this.qHead = 0;
    }
    return true;
  }

  /** Frees everything in quarantine (`kasan_quarantine_reduce` / shrink). */
  drainQuarantine(): void {
    const q = this.quarantine.slice(this.qHead);
    this.quarantine = [];
    this.qHead = 0;
    this.quarantined = 0;
    for (const e of q) {
      this.objects.delete(e.addr);
      e.release();
    }
  }

  // ------------------------------------------------------- client access

  /**
   * Checks a client access of `len` bytes at `addr`; reports and returns
   * false on the first bad byte (`kasan_check_range`).
   */
  check(addr: number, len: number, write: boolean, op: string): boolean {
    if (!(len >= 0 && Number.isSafeInteger(len))) {
      this.report('out-of-bounds', op, addr, len, write, undefined, `invalid access size ${String(len)}`);
      return false;
    }
    if (len === 0) return true;
    this.checkedBytes += len;
    if (addr < PAGE_SIZE) {
      this.report('null-ptr-deref', op, addr, len, write);
      return false;
    }
    if (addr < PAGE_OFFSET || addr + len > PAGE_OFFSET + this.machine.mem.bytes) {
      this.report(addr < 0x800000000000 ? 'user-memory-access' : 'wild-memory-access', op, addr, len, write);
      return false;
    }
    for (let a = addr; a < addr + len; ) {
      const s = this.shadowOf(a);
      const inGranule = (a - PAGE_OFFSET) % KASAN_GRANULE;
      if (s === 0) {
        a += KASAN_GRANULE - inGranule;
        continue;
      }
      if (s > 0) {
        if (inGranule < s) {
          a += Math.min(s - inGranule, addr + len - a);
          if (a < addr + len && (a - PAGE_OFFSET) % KASAN_GRANULE !== 0) {
            this.report(this.bugType(KASAN_SLAB_REDZONE, a), op, a, len, write, this.findObject(a));
            return false;
          }
          continue;
        }
        this.report(this.bugType(KASAN_SLAB_REDZONE, a), op, a, len, write, this.findObject(a));
        return false;
      }
      this.report(this.bugType(s, a), op, a, len, write, this.findObject(a));
      return false;
    }
    return true;
  }

  /** Checked read of `len` bytes; returns them (or nothing when the access was bad). */
  read(addr: number, len: number): Uint8Array | undefined {
    if (!this.check(addr, len, false, 'kasan_read')) return undefined;
    return this.machine.mem.readBytes(addr - PAGE_OFFSET, len);
  }

  /** Checked write. */
  write(addr: number, data: Uint8Array): boolean {
    if (!this.check(addr, data.length, true, 'kasan_write')) return false;
    this.machine.mem.writeBytes(addr - PAGE_OFFSET, data);
    return true;
  }

  /** Checked memset. */
  memset(addr: number, byte: number, len: number): boolean {
    if (!this.check(addr, len, true, 'memset')) return false;
    this.machine.mem.fill(addr - PAGE_OFFSET, len, byte);
    return true;
  }

  /** Checked memcpy (the source is read, the destination written). */
  memcpy(dst: number, src: number, len: number): boolean {
    if (!this.check(src, len, false, 'memcpy') || !this.check(dst, len, true, 'memcpy')) return false;
    this.machine.mem.copy(dst - PAGE_OFFSET, src - PAGE_OFFSET, len);
    return true;
  }

  // -------------------------------------------------------------- report

  private bugType(code: number, addr: number): string {
    if (code === KASAN_SLAB_FREE) return 'slab-use-after-free';
    if (code === KASAN_PAGE_FREE) return this.findObject(addr) ? 'use-after-free' : 'use-after-free';
    if (code === KASAN_SLAB_REDZONE || code === KASAN_PAGE_REDZONE) return 'slab-out-of-bounds';
    return 'out-of-bounds';
  }

  /** The object whose region or red zone holds `addr` (nearest start at or below it within its cache size). */
  private findObject(addr: number): ObjectRecord | undefined {
    let best: ObjectRecord | undefined;
    for (const o of this.objects.values()) {
      if (addr >= o.start - 64 && addr < o.start + Math.max(o.cacheSize, o.size) + 64 && (!best || Math.abs(addr - o.start) < Math.abs(addr - best.start))) best = o;
    }
    return best;
  }

  private report(kind: string, op: string, addr: number, len: number, write: boolean, o?: KasanObjectInfo & { freed?: boolean }, extra?: string): void {
    const task = `${this.machine.ctx.comm}/${this.machine.ctx.pid}`;
    const lines = ['==================================================================', `BUG: KASAN: ${kind} in ${op}`];
    if (kind === 'double-free' || kind === 'invalid-free') lines.push(`Free of addr ${formatKernelAddr(addr)} by task ${task}`);
    else lines.push(`${write ? 'Write' : 'Read'} of size ${len} at addr ${formatKernelAddr(addr)} by task ${task}`);
    if (extra) lines.push(extra);
    if (o) {
      lines.push('');
      if (o.allocTrack) lines.push(`Allocated by task ${task}:`, ` ${o.allocTrack}`);
      if (o.freed && o.freeTrack) lines.push('', `Freed by task ${task}:`, ` ${o.freeTrack}`);
      lines.push('');
      if (o.cache) lines.push(`The buggy address belongs to the object at ${formatKernelAddr(o.start)}`, ` which belongs to the cache ${o.cache} of size ${o.cacheSize}`);
      else lines.push(`The buggy address belongs to the physical page at ${formatKernelAddr(o.start & ~(PAGE_SIZE - 1))} (a ${o.cacheSize}-byte kmalloc_large)`);
      const end = o.start + o.size;
      const where =
        addr < o.start ? `${o.start - addr} bytes to the left of` : addr >= end ? `${addr - end} bytes to the right of` : `${addr - o.start} bytes inside of`;
      lines.push(`The buggy address is located ${where}`, ` ${o.freed ? 'freed' : 'allocated'} ${o.size}-byte region [${formatKernelAddr(o.start)}, ${formatKernelAddr(end)})`);
    }
    lines.push('==================================================================');
    this.machine.reports.add({ detector: 'kasan', kind, cache: o?.cache, addr, text: lines.join('\n') });
  }
}

/** Validates a quarantine size. @throws AllocatorError `config` */
export function validateQuarantine(bytes: number): void {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new AllocatorError('config', `KASAN quarantine size ${String(bytes)} is not a byte count`);
}
