/**
 * SLUB_DEBUG (Linux 6.8 mm/slub.c), the part that lives in object bytes:
 * the `slub_debug=` option parser, the byte patterns written when an object
 * is created, allocated and freed (red zones 0xbb/0xcc, poison 0x6b…0xa5,
 * padding 0x5a, alloc/free tracks), and `check_object`, which compares them
 * and produces the kernel's report ("BUG kmalloc-64 (Not tainted): Right
 * Redzone overwritten", the byte range, the first wrong byte, the tracks,
 * and the FIX line). Reports go to the machine's report sink and the kernel
 * log; SLUB then repairs the bytes and carries on, as Linux does.
 */

import { AllocatorError } from '../../interfaces/errors.js';
import { SLAB_CONSISTENCY_CHECKS, SLAB_POISON, SLAB_RED_ZONE, SLAB_STORE_USER, SLAB_TYPESAFE_BY_RCU } from '../../interfaces/slab.js';
import { PAGE_OFFSET, formatKernelAddr } from '../../interfaces/units.js';
import type { Machine } from '../../interfaces/machine.js';
import type { ReportSinkApi } from '../../interfaces/machine.js';

export const SLUB_RED_INACTIVE = 0xbb;
export const SLUB_RED_ACTIVE = 0xcc;
export const POISON_FREE = 0x6b;
export const POISON_END = 0xa5;
export const POISON_INUSE = 0x5a;
/** Flags that make a cache a debug cache (`SLAB_DEBUG_FLAGS`). */
export const SLUB_DEBUG_FLAGS = SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER;

/** A parsed `slub_debug=` value: flags for all caches, or for named ones (a trailing `*` is a prefix glob). */
export interface SlubDebugSpec {
  readonly blocks: readonly { readonly flags: number; readonly caches: readonly string[] | null }[];
}

const LETTERS: Record<string, number> = { F: SLAB_CONSISTENCY_CHECKS, Z: SLAB_RED_ZONE, P: SLAB_POISON, U: SLAB_STORE_USER, T: 0, A: 0, O: 0 };

/**
 * Parses `slub_debug=` / `slab_debug=` text: `FZPU`, `FZ,kmalloc-64,dentry`,
 * `P;U,kmalloc-*`, `-` (off), or empty (full debugging: F, Z, P and U).
 * T (trace), A (failslab) and O are accepted and change nothing here.
 *
 * @throws AllocatorError `parse` naming the bad letter
 */
export function parseSlubDebug(text: string): SlubDebugSpec {
  const blocks = text.split(';').map((block) => {
    const [opts = '', ...caches] = block.split(',');
    let flags = 0;
    if (opts === '') flags = SLUB_DEBUG_FLAGS;
    else if (opts !== '-') {
      for (const ch of opts) {
        const f = LETTERS[ch.toUpperCase()];
        if (f === undefined) throw new AllocatorError('parse', `slub_debug=${text}: unknown option '${ch}' (known: F Z P U T A O, or - for off)`);
        flags |= f;
      }
    }
    if (caches.some((c) => !c)) throw new AllocatorError('parse', `slub_debug=${text}: empty cache name`);
    return { flags, caches: caches.length ? caches : null };
  });
  return { blocks };
}

/** Debug flags `spec` gives cache `name` (the last matching block wins). */
export function slubDebugFlagsFor(spec: SlubDebugSpec | undefined, name: string): number {
  if (!spec) return 0;
  let flags = 0;
  for (const b of spec.blocks) {
    if (b.caches === null || b.caches.some((c) => (c.endsWith('*') ? name.startsWith(c.slice(0, -1)) : c === name))) flags = b.flags;
  }
  return flags;
}

/** What the debug code needs to know of a cache's layout. */
export interface DebugLayout {
  readonly name: string;
  readonly flags: number;
  readonly objectSize: number;
  readonly size: number;
  readonly inuse: number;
  readonly offset: number;
  readonly redLeftPad: number;
  readonly kmalloc: boolean;
  /** The cache's constructor, if any: a constructed object is never poisoned. */
  readonly ctor?: ((obj: number) => void) | undefined;
}

/**
 * `__OBJECT_POISON` (calculate_sizes): SLAB_POISON poisons the object itself
 * only when nobody may touch it while free — not with a constructor (its
 * objects keep their constructed state) nor under SLAB_TYPESAFE_BY_RCU.
 */
export function objectPoison(c: DebugLayout): boolean {
  return (c.flags & SLAB_POISON) !== 0 && (c.flags & SLAB_TYPESAFE_BY_RCU) === 0 && c.ctor === undefined;
}

/** Track field offsets (`struct track` with stack depot: addr 8, handle 4, cpu 4, pid 4, pad 4, when 8). */
const TRACK = { ADDR: 0, CPU: 12, PID: 16, WHEN: 24 } as const;
export const TRACK_ALLOC = 0;
export const TRACK_FREE = 1;

/** The SLUB_DEBUG byte work for one backend. */
export class SlubDebug {
  constructor(
    private readonly machine: Machine,
    private readonly sink: ReportSinkApi,
  ) {}

  private fill(addr: number, len: number, byte: number): void {
    if (len > 0) this.machine.mem.fill(addr - PAGE_OFFSET, len, byte);
  }

  /** Offset of the metadata after the object (free pointer if outside, then tracks). */
  private trackOffset(c: DebugLayout): number {
    return c.offset >= c.inuse ? c.inuse + 8 : c.inuse;
  }

  /** `setup_slab_debug` + `init_object(INACTIVE)` for every object of a new slab. */
  initSlab(c: DebugLayout, slabBase: number, slabBytes: number, objects: number): void {
    if (c.flags & SLAB_POISON) this.fill(slabBase, slabBytes, POISON_INUSE);
    for (let i = 0; i < objects; i++) {
      const obj = slabBase + c.redLeftPad + i * c.size;
      this.initObject(c, obj, false);
      // init_tracking: both tracks start empty.
      if (c.flags & SLAB_STORE_USER) this.fill(obj + this.trackOffset(c), 64, 0);
    }
  }

  /** `init_object`: red zones to the active/inactive value; poison when inactive. */
  initObject(c: DebugLayout, obj: number, active: boolean, origSize = c.objectSize): void {
    const red = active ? SLUB_RED_ACTIVE : SLUB_RED_INACTIVE;
    if (c.flags & SLAB_RED_ZONE) {
      this.fill(obj - c.redLeftPad, c.redLeftPad, red);
      this.fill(obj + c.objectSize, c.inuse - c.objectSize, red);
      if (active && c.kmalloc && origSize < c.objectSize) this.fill(obj + origSize, c.objectSize - origSize, SLUB_RED_ACTIVE);
    }
    if (!active && objectPoison(c)) {
      this.fill(obj, c.objectSize - 1, POISON_FREE);
      this.machine.mem.write8(obj + c.objectSize - 1 - PAGE_OFFSET, POISON_END);
    }
  }

  /** `set_track`. */
  setTrack(c: DebugLayout, obj: number, which: number): void {
    if (!(c.flags & SLAB_STORE_USER)) return;
    const t = obj + this.trackOffset(c) + which * 32;
    const mem = this.machine.mem;
    mem.write64(t + TRACK.ADDR - PAGE_OFFSET, this.machine.ctx.callerAddr());
    mem.write32(t + TRACK.CPU - PAGE_OFFSET, this.machine.ctx.cpu);
    mem.write32(t + TRACK.PID - PAGE_OFFSET, this.machine.ctx.pid);
    mem.write64(t + TRACK.WHEN - PAGE_OFFSET, this.machine.ctx.nowNs);
  }

  /** Stores the kmalloc request size after the tracks (`set_orig_size`). */
  setOrigSize(c: DebugLayout, obj: number, size: number): void {
    if (c.kmalloc && c.flags & SLAB_STORE_USER) this.machine.mem.write32(obj + this.trackOffset(c) + 64 - PAGE_OFFSET, size);
  }

  private origSize(c: DebugLayout, obj: number): number {
    if (!(c.kmalloc && c.flags & SLAB_STORE_USER && c.flags & SLAB_RED_ZONE)) return c.objectSize;
    const v = this.machine.mem.read32(obj + this.trackOffset(c) + 64 - PAGE_OFFSET);
    return v > 0 && v <= c.objectSize ? v : c.objectSize;
  }

  /**
   * `check_object`: verifies red zones (and the kmalloc red zone), and for a
   * free object the poison; reports the first bad range of each area and
   * repairs it. Returns true when everything was intact.
   */
  checkObject(c: DebugLayout, obj: number, active: boolean): boolean {
    let ok = true;
    const red = active ? SLUB_RED_ACTIVE : SLUB_RED_INACTIVE;
    if (c.flags & SLAB_RED_ZONE) {
      ok = this.checkBytes(c, obj, 'Left Redzone', obj - c.redLeftPad, red, c.redLeftPad) && ok;
      if (active && c.kmalloc) {
        const orig = this.origSize(c, obj);
        ok = this.checkBytes(c, obj, 'kmalloc Redzone', obj + orig, SLUB_RED_ACTIVE, c.objectSize - orig) && ok;
      }
      ok = this.checkBytes(c, obj, 'Right Redzone', obj + c.objectSize, red, c.inuse - c.objectSize) && ok;
    }
    if (!active && objectPoison(c)) {
      ok = this.checkBytes(c, obj, 'Poison', obj, POISON_FREE, c.objectSize - 1) && ok;
      ok = this.checkBytes(c, obj, 'End Poison', obj + c.objectSize - 1, POISON_END, 1) && ok;
    }
    return ok;
  }

  /** `check_bytes_and_report`: finds the damaged range, reports it, restores it. */
  private checkBytes(c: DebugLayout, obj: number, what: string, start: number, value: number, len: number): boolean {
    if (len <= 0) return true;
    const mem = this.machine.mem;
    const first = mem.findNot(start - PAGE_OFFSET, len, value);
    if (first < 0) return true;
    let end = len;
    while (end > first && mem.read8(start - PAGE_OFFSET + end - 1) === value) end--;
    const fault = start + first;
    const bad = mem.read8(fault - PAGE_OFFSET);
    // Offsets are from the start of the slab (`slab_address`), as the kernel prints them.
    const slabAddr = PAGE_OFFSET + this.machine.memmap.compoundHead(Math.floor((obj - PAGE_OFFSET) / 4096)) * 4096;
    const lines = [
      '=============================================================================',
      `BUG ${c.name} (Not tainted): ${what} overwritten`,
      '-----------------------------------------------------------------------------',
      '',
      `0x${formatKernelAddr(fault)}-0x${formatKernelAddr(start + end - 1)} @offset=${fault - slabAddr}. First byte 0x${bad.toString(16)} instead of 0x${value.toString(16)}`,
      ...this.tracks(c, obj),
      `Object 0x${formatKernelAddr(obj)} @offset=${obj - slabAddr} fp=0x${this.hex64(obj + c.offset)}`,
      `FIX ${c.name}: Restoring ${what} 0x${formatKernelAddr(fault)}-0x${formatKernelAddr(start + end - 1)}=0x${value.toString(16)}`,
    ];
    this.sink.add({ detector: 'slub', kind: `${what} overwritten`, cache: c.name, addr: fault, text: lines.join('\n') });
    this.fill(fault, end - first, value);
    return false;
  }

  /**
   * `slab_err` (+ `slab_fix`): a problem with a whole slab, reported with
   * `print_slab_info`'s line.
   */
  slabErr(c: DebugLayout, slab: { base: number; objects: number; inuse: number; freelist: number }, what: string, kind: string, fix?: string): void {
    const lines = [
      '=============================================================================',
      `BUG ${c.name} (Not tainted): ${what}`,
      '-----------------------------------------------------------------------------',
      '',
      `Slab 0x${formatKernelAddr(slab.base)} objects=${slab.objects} used=${slab.inuse} fp=0x${formatKernelAddr(slab.freelist)} flags=0x${(0x200).toString(16)}(slab)`,
      ...(fix ? [`FIX ${c.name}: ${fix}`] : []),
    ];
    this.sink.add({ detector: 'slub', kind, cache: c.name, addr: slab.base, text: lines.join('\n') });
  }

  /** `object_err`: a problem with one object. */
  objectErr(c: DebugLayout, obj: number, slabBase: number, what: string): void {
    const lines = [
      '=============================================================================',
      `BUG ${c.name} (Not tainted): ${what}`,
      '-----------------------------------------------------------------------------',
      '',
      ...this.tracks(c, obj),
      // The raw 8 bytes: a corrupt free pointer need not fit a JS number exactly.
      `Object 0x${formatKernelAddr(obj)} @offset=${obj - slabBase} fp=0x${this.hex64(obj + c.offset)}`,
    ];
    this.sink.add({ detector: 'slub', kind: what, cache: c.name, addr: obj, text: lines.join('\n') });
  }

  /** The 64-bit word at kernel address `addr` as 16 hex digits, exactly (a corrupt pointer need not fit a JS number); a kernel pointer with its `ffff` sign extension. */
  hex64(addr: number): string {
    const mem = this.machine.mem;
    const a = addr - PAGE_OFFSET;
    const hi = mem.read32(a + 4);
    const lo = mem.read32(a);
    // A word of 48 bits is an address in the simulator's form: printed as the kernel prints the pointer.
    if (hi <= 0xffff) return formatKernelAddr(hi * 2 ** 32 + lo);
    return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
  }

  /** `print_tracking`: the alloc and free tracks. */
  tracks(c: DebugLayout, obj: number): string[] {
    if (!(c.flags & SLAB_STORE_USER)) return [];
    const mem = this.machine.mem;
    const now = this.machine.ctx.nowNs;
    const out: string[] = [];
    for (const [which, label] of [
      [TRACK_ALLOC, 'Allocated'],
      [TRACK_FREE, 'Freed'],
    ] as const) {
      const t = obj + this.trackOffset(c) + which * 32 - PAGE_OFFSET;
      const addr = mem.read64(t + TRACK.ADDR);
      if (!addr) continue;
      out.push(`${label} in ${this.machine.ctx.symbolOf(addr)} age=${now - mem.read64(t + TRACK.WHEN)} cpu=${mem.read32(t + TRACK.CPU)} pid=${mem.read32(t + TRACK.PID)}`);
    }
    return out;
  }
}
