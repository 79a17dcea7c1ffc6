/**
 * `struct page` as struct-of-arrays typed arrays indexed by PFN (the
 * kernel's `mem_map`), and intrusive doubly-linked PFN lists (the kernel's
 * `list_head`) threaded through the `next`/`prev` arrays.
 *
 * Per frame: flags u16 + order u8 + migratetype u8 + refcount i32 + next i32
 * + prev i32 = 16 bytes. Upper layers that need more per-slab state (SLUB's
 * freelist and counters) keep it in arrays of their own.
 *
 * Field use by state:
 * - free in the buddy: `PG_buddy`, `order` = block order (head only), on a
 *   free_area list through next/prev, `mt` = the list's migrate type;
 * - on a per-CPU list: `PG_pcp`, `order`, `mt`, on the pcp list;
 * - allocated: `refcount` ≥ 1 on the head, `order` = block order on the
 *   head; compound tails carry `PG_tail` and `next` = head pfn;
 * - reserved by memblock: `PG_reserved`.
 * Owner (X1): the top 4 bits of `flags` name who holds an allocated frame.
 */

import type { ListWalk, PfnListsApi, StructPageArray } from '../interfaces/machine.js';
import { MAX_PAGE_ORDER } from '../interfaces/units.js';
import { grownTo } from './grow.js';

/** Frame is the head of a free buddy block (`PageBuddy`). */
export const PG_BUDDY = 1 << 0;
/** Frame was reserved at boot and never given to the page allocator (`PageReserved`). */
export const PG_RESERVED = 1 << 1;
/** Head of a compound page (`PageHead`). */
export const PG_HEAD = 1 << 2;
/** Tail of a compound page (`PageTail`); `next` holds the head pfn. */
export const PG_TAIL = 1 << 3;
/** Frame belongs to a slab (`PageSlab`). */
export const PG_SLAB = 1 << 4;
/** Head of a block sitting on a per-CPU page list. */
export const PG_PCP = 1 << 5;
/** Block is allocated (head only); set by the page allocator, cleared on free. */
export const PG_ALLOCATED = 1 << 6;
/** Frame was filled with the page-poison pattern on free. */
export const PG_POISONED = 1 << 7;
/** Frame is a page-table page. */
export const PG_TABLE = 1 << 8;
/** Flags that must be clear when a block is freed (`PAGE_FLAGS_CHECK_AT_FREE`, our subset). */
export const PAGE_FLAGS_CHECK_AT_FREE = PG_SLAB | PG_RESERVED | PG_BUDDY | PG_PCP | PG_TABLE;
/** Flags that must be clear on a block just handed out (`PAGE_FLAGS_CHECK_AT_PREP`, our subset). */
export const PAGE_FLAGS_CHECK_AT_PREP = PG_SLAB | PG_RESERVED | PG_BUDDY | PG_PCP | PG_TABLE | PG_HEAD | PG_TAIL;

/** Shift of the owner field in `flags`. */
export const OWNER_SHIFT = 12;
/** Mask of the owner field in `flags`. */
export const OWNER_MASK = 0xf << OWNER_SHIFT;
/** Who holds a frame (X1). */
export const Owner = {
  NONE: 0,
  RESERVED: 1,
  PAGE_CLIENT: 2,
  SLAB: 3,
  KMALLOC_LARGE: 4,
  VMALLOC: 5,
  USER: 6,
  PAGE_TABLE: 7,
  METADATA: 8,
} as const;
/** An owner code. */
export type Owner = (typeof Owner)[keyof typeof Owner];
/** Owner names for reports. */
export const OWNER_NAMES = ['none', 'reserved', 'page-client', 'slab', 'kmalloc-large', 'vmalloc', 'user', 'page-table', 'metadata'] as const;

/** Bytes of struct-page metadata per simulated frame. */
export const STRUCT_PAGE_BYTES = 16;

/** Value a list link holds while the frame is on no list (`LIST_POISON`). */
export const LIST_POISON = 0x7ffffff0;

/**
 * Scanning flags two frames at a time: a 32-bit view of a flags array
 * (element `i` holds frames `2i` and `2i + 1`), cached per array. Used by
 * the invariant checks that look for a few flagged frames among many
 * (slab heads, allocated blocks).
 */
const flagPairViews = new WeakMap<Uint16Array, Uint32Array>();

/** The 32-bit view of `flags` (the array's last frame, when the count is odd, is not in it). */
export function flagPairs(flags: Uint16Array): Uint32Array {
  let v = flagPairViews.get(flags);
  if (v === undefined) {
    // A Uint16Array's offset is even; a view needs it a multiple of 4, else the copy below is as good as a view for one scan.
    v = flags.byteOffset % 4 === 0 ? new Uint32Array(flags.buffer, flags.byteOffset, flags.length >>> 1) : new Uint32Array(new Uint16Array(flags).buffer, 0, flags.length >>> 1);
    if (flags.byteOffset % 4 === 0) flagPairViews.set(flags, v);
  }
  return v;
}

/**
 * The first frame in `[p, end)` whose flags have a bit of `mask`, or `end`
 * (`p` itself when `p ≥ end`);
 * frames are skipped two at a time through `pairs` ({@link flagPairs} of
 * `flags`). The same frame a one-by-one scan would stop at, whichever the
 * host's byte order (the mask is tested in both halves).
 */
export function nextFlagged(flags: Uint16Array, pairs: Uint32Array, p: number, end: number, mask: number): number {
  if (p >= end) return p;
  if (p & 1) {
    if (flags[p]! & mask) return p;
    p++;
  }
  const both = (mask | (mask << 16)) >>> 0;
  while (p + 1 < end && !(pairs[p >>> 1]! & both)) p += 2;
  while (p < end && !(flags[p]! & mask)) p++;
  return p;
}

/**
 * The head of the allocated block `pfn` lies in (a head with
 * `PG_ALLOCATED` whose block of `2^order` frames covers `pfn`), or -1 when
 * `pfn` is in no allocated block: free, on a per-CPU list, reserved, or
 * beyond the map. Buddy blocks are naturally aligned, so the candidates are
 * `pfn` rounded down to each order; O(MAX_PAGE_ORDER).
 */
export function allocatedHeadOf(flags: Uint16Array, order: Uint8Array, pfn: number): number {
  if (!(pfn >= 0 && pfn < flags.length)) return -1;
  // An order-0 allocation, the common case of mapped frames, is its own head.
  if (flags[pfn]! & PG_ALLOCATED) return pfn;
  for (let o = 1; o <= MAX_PAGE_ORDER; o++) {
    const head = pfn - (pfn % (1 << o));
    if (flags[head]! & PG_ALLOCATED && order[head]! >= o && head + (1 << order[head]!) > pfn) return head;
  }
  return -1;
}

/**
 * List heads a PfnLists starts with: a booted system makes some 560 (the
 * buddy zones' free and per-CPU lists, three per slab cache), so the tables
 * are not regrown four times per system built.
 */
const INITIAL_HEADS = 1024;

/** The storage of {@link PfnLists.walkInto}, shared (walks are synchronous and used at once). */
const SCRATCH_WALK: ListWalk = { pfns: new Int32Array(256), n: 0, ok: true, problem: undefined };

/**
 * Intrusive circular doubly-linked lists over frames. A link value ≥ 0 is a
 * PFN; a negative value `-(h + 1)` is list head `h`. An empty head points
 * to itself. All operations are O(1) and allocate nothing.
 */
export class PfnLists implements PfnListsApi {
  private hNext: Int32Array;
  private hPrev: Int32Array;
  private nHeads = 0;

  /**
   * @param next - per-frame forward links (shared with the MemMap)
   * @param prev - per-frame backward links
   */
  constructor(
    private readonly next: Int32Array,
    private readonly prev: Int32Array,
  ) {
    this.hNext = new Int32Array(INITIAL_HEADS);
    this.hPrev = new Int32Array(INITIAL_HEADS);
  }

  /** Creates an empty list and returns its head id. */
  newHead(): number {
    if (this.nHeads === this.hNext.length) {
      this.hNext = grownTo(this.hNext, this.hNext.length * 2);
      this.hPrev = grownTo(this.hPrev, this.hPrev.length * 2);
    }
    const h = this.nHeads++;
    this.hNext[h] = -(h + 1);
    this.hPrev[h] = -(h + 1);
    return h;
  }

  private setNext(x: number, v: number): void {
    if (x >= 0) this.next[x] = v;
    else this.hNext[-x - 1] = v;
  }
  private setPrev(x: number, v: number): void {
    if (x >= 0) this.prev[x] = v;
    else this.hPrev[-x - 1] = v;
  }

  /** Inserts `pfn` at the head of list `h` (`list_add`). */
  addHead(h: number, pfn: number): void {
    const first = this.hNext[h]!;
    this.next[pfn] = first;
    this.prev[pfn] = -(h + 1);
    this.setPrev(first, pfn);
    this.hNext[h] = pfn;
  }

  /** Appends `pfn` at the tail of list `h` (`list_add_tail`). */
  addTail(h: number, pfn: number): void {
    const last = this.hPrev[h]!;
    this.prev[pfn] = last;
    this.next[pfn] = -(h + 1);
    this.setNext(last, pfn);
    this.hPrev[h] = pfn;
  }

  /** Unlinks `pfn` from whatever list holds it (`list_del`). */
  del(pfn: number): void {
    const n = this.next[pfn]!;
    const p = this.prev[pfn]!;
    this.setPrev(n, p);
    this.setNext(p, n);
    this.next[pfn] = LIST_POISON;
    this.prev[pfn] = LIST_POISON;
  }

  /** First frame of list `h`, or -1 when empty. */
  first(h: number): number {
    const f = this.hNext[h]!;
    return f >= 0 ? f : -1;
  }

  /** Last frame of list `h`, or -1 when empty. */
  last(h: number): number {
    const l = this.hPrev[h]!;
    return l >= 0 ? l : -1;
  }

  /** Frame after `pfn` on its list, or -1 at the end. */
  after(pfn: number): number {
    const n = this.next[pfn]!;
    return n >= 0 && n !== LIST_POISON ? n : -1;
  }

  /** Frame before `pfn` on its list, or -1 at the start. */
  before(pfn: number): number {
    const p = this.prev[pfn]!;
    return p >= 0 && p !== LIST_POISON ? p : -1;
  }

  /** True when list `h` is empty. */
  isEmpty(h: number): boolean {
    return this.hNext[h]! < 0;
  }

  /** Raw forward link of `pfn` (a PFN, a head as `-(h+1)`, or LIST_POISON). */
  rawNext(pfn: number): number {
    return this.next[pfn]!;
  }

  /** Raw backward link of `pfn`. */
  rawPrev(pfn: number): number {
    return this.prev[pfn]!;
  }

  /**
   * {@link walk} into storage every PfnLists shares: the same checks and the
   * same problems, the frames in `pfns[0..n)`. The result is valid until the
   * next `walkInto` of any lists; it allocates nothing once the storage has
   * grown to the longest list walked (it is not per machine, so a fuzz
   * campaign's hundreds of machines do not each grow their own).
   */
  walkInto(h: number, limit: number): ListWalk {
    const w = SCRATCH_WALK;
    let pfns = w.pfns;
    let n = 0;
    w.ok = false;
    let prevNode = -(h + 1);
    let x = this.hNext[h]!;
    while (x >= 0) {
      if (x === LIST_POISON || x >= this.next.length) {
        w.n = n;
        w.problem = `link to invalid pfn ${x}`;
        return w;
      }
      if (this.prev[x] !== prevNode) {
        w.n = n;
        w.problem = `pfn ${x} has a back link to ${this.prev[x]} instead of ${prevNode}`;
        return w;
      }
      if (n === pfns.length) w.pfns = pfns = grownTo(pfns, 2 * n);
      pfns[n++] = x;
      if (n > limit) {
        w.n = n;
        w.problem = `more than ${limit} entries (cycle?)`;
        return w;
      }
      prevNode = x;
      x = this.next[x]!;
    }
    w.n = n;
    if (x !== -(h + 1)) w.problem = `list ends at head ${-x - 1} instead of ${h}`;
    else if (this.hPrev[h] !== prevNode) w.problem = `head's back link ${this.hPrev[h]} is not the last element ${prevNode}`;
    else {
      w.ok = true;
      w.problem = undefined;
    }
    return w;
  }

  /**
   * Walks list `h` from the head, at most `limit` steps, checking that each
   * element's back link points to its predecessor. Returns the frames seen
   * and whether the walk ended cleanly at the head.
   */
  walk(h: number, limit: number): { pfns: number[]; ok: boolean; problem?: string } {
    const pfns: number[] = [];
    let prevNode = -(h + 1);
    let x = this.hNext[h]!;
    while (x >= 0) {
      if (x === LIST_POISON || x >= this.next.length) return { pfns, ok: false, problem: `link to invalid pfn ${x}` };
      if (this.prev[x] !== prevNode) return { pfns, ok: false, problem: `pfn ${x} has a back link to ${this.prev[x]} instead of ${prevNode}` };
      pfns.push(x);
      if (pfns.length > limit) return { pfns, ok: false, problem: `more than ${limit} entries (cycle?)` };
      prevNode = x;
      x = this.next[x]!;
    }
    if (x !== -(h + 1)) return { pfns, ok: false, problem: `list ends at head ${-x - 1} instead of ${h}` };
    if (this.hPrev[h] !== prevNode) return { pfns, ok: false, problem: `head's back link ${this.hPrev[h]} is not the last element ${prevNode}` };
    return { pfns, ok: true };
  }
}

/** The `struct page` array of one machine. */
export class MemMap implements StructPageArray {
  /** Number of frames. */
  readonly nrPages: number;
  /** Page flags (`PG_*`) and the owner field. */
  readonly flags: Uint16Array;
  /** Block order on heads (buddy order when free, allocation order when allocated). */
  readonly order: Uint8Array;
  /** Migrate type of the free list or pcp list the block is on. */
  readonly mt: Uint8Array;
  /** Reference count (`_refcount`); 0 when free. */
  readonly refcount: Int32Array;
  /** Intrusive lists over the frames. */
  readonly lists: PfnLists;
  /** Raw forward links (also the compound-head pointer of tail pages). */
  readonly next: Int32Array;
  /** Raw backward links. */
  readonly prev: Int32Array;

  /** @param nrPages - number of frames */
  constructor(nrPages: number) {
    this.nrPages = nrPages;
    this.flags = new Uint16Array(nrPages);
    this.order = new Uint8Array(nrPages);
    this.mt = new Uint8Array(nrPages);
    this.refcount = new Int32Array(nrPages);
    this.next = new Int32Array(nrPages);
    this.prev = new Int32Array(nrPages);
    this.lists = new PfnLists(this.next, this.prev);
  }

  /** Owner of frame `pfn`. */
  owner(pfn: number): Owner {
    return ((this.flags[pfn]! & OWNER_MASK) >>> OWNER_SHIFT) as Owner;
  }

  /** Sets the owner of `count` frames from `pfn`. */
  setOwner(pfn: number, count: number, owner: Owner): void {
    const bits = owner << OWNER_SHIFT;
    const f = this.flags;
    for (let p = pfn; p < pfn + count; p++) f[p] = (f[p]! & ~OWNER_MASK) | bits;
  }

  /** Head frame of the compound page containing `pfn` (`compound_head`). */
  compoundHead(pfn: number): number {
    return this.flags[pfn]! & PG_TAIL ? this.next[pfn]! : pfn;
  }

  /** Human-readable flag names of a frame, for reports (`dump_page`). */
  describeFlags(pfn: number): string {
    const f = this.flags[pfn]!;
    const names: [number, string][] = [
      [PG_BUDDY, 'buddy'],
      [PG_RESERVED, 'reserved'],
      [PG_HEAD, 'head'],
      [PG_TAIL, 'tail'],
      [PG_SLAB, 'slab'],
      [PG_PCP, 'pcp'],
      [PG_ALLOCATED, 'allocated'],
      [PG_POISONED, 'poisoned'],
      [PG_TABLE, 'table'],
    ];
    const out = names.filter(([b]) => f & b).map(([, n]) => n);
    return `${out.join('|') || 'none'} owner=${OWNER_NAMES[this.owner(pfn)] ?? '?'}`;
  }
}
