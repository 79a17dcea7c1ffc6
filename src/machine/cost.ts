/**
 * The cost meter (`Machine.cost`, see `src/interfaces/cost.ts`): per
 * top-level operation it accumulates the counters in a small typed array,
 * deduplicates cache lines in an open-addressing set cleared by bumping a
 * generation stamp (no per-operation allocation), and on the operation's end
 * folds every counter into a per-(operation, counter) histogram, so the
 * table has exact percentiles up to {@link BUCKETS} − 1 and the exact
 * maximum and mean beyond.
 *
 * Operation boundaries come from {@link meterEntryPoints}, which wraps a
 * layer object's entry points with enter/leave (own properties shadowing the
 * prototype's methods, installed only when the meter exists: nothing changes
 * for a system without one). Nested calls — kmalloc reaching the page
 * allocator — belong to the outer operation and count as page-allocator
 * calls. Simulated-memory lines are counted by {@link meterMemory}, which
 * wraps the scalar read/write methods of a memory object the same way.
 */

import { COST_COUNTERS, COST_OPS, Cost, CostStruct, NR_COST_COUNTERS, type CostDistribution, type CostMeterApi, type CostOpName, type CostRow, type CostCounterName } from '../interfaces/cost.js';

/** Histogram buckets per (operation, counter): values below BUCKETS − 1 are exact. */
export const BUCKETS = 512;
const NR_OPS = COST_OPS.length;
/** Line-set slots (a power of two); an operation touching more than half this many lines stops deduplicating. */
const SET_SLOTS = 1 << 16;
const SET_MASK = SET_SLOTS - 1;
const SET_LIMIT = SET_SLOTS >> 1;
/** The struct-line key space starts here, far above any line number of a 47-bit address. */
const STRUCT_BASE = 2 ** 44;
/** Struct indices per kind. */
const STRUCT_STRIDE = 2 ** 36;
/** Operation index of `alloc_pages`, `free_pages` and `alloc_pages_bulk` (entering the page allocator from another operation counts a call). */
const OP_ALLOC_PAGES = COST_OPS.indexOf('alloc_pages');
const OP_FREE_PAGES = COST_OPS.indexOf('free_pages');
const OP_ALLOC_PAGES_BULK = COST_OPS.indexOf('alloc_pages_bulk');

/**
 * A listener called after top-level operations with the operation count so
 * far; it may return the count at which to be called next (skipping the
 * operations before it costs the clock nothing), or nothing for the next one.
 */
export type OpListener = (ops: number) => number | void;

/** Collects cost counters per top-level operation. */
export class CostMeter implements CostMeterApi {
  /** The counters of the operation under way. */
  private readonly cur = new Float64Array(NR_COST_COUNTERS);
  /** Running totals over every finished operation. */
  readonly totals = new Float64Array(NR_COST_COUNTERS);
  private readonly hist = new Uint32Array(NR_OPS * NR_COST_COUNTERS * BUCKETS);
  private readonly sums = new Float64Array(NR_OPS * NR_COST_COUNTERS);
  private readonly maxes = new Float64Array(NR_OPS * NR_COST_COUNTERS);
  private readonly opCounts = new Float64Array(NR_OPS);
  private readonly keys = new Float64Array(SET_SLOTS);
  private readonly stamps = new Uint32Array(SET_SLOTS);
  private gen = 1;
  private inSet = 0;
  /** The key inserted last in this operation (−1: none). */
  private lastKey = -1;
  private depth = 0;
  private op = 0;
  private listener: OpListener | null = null;
  /** The operation count at which the listener is called next. */
  private nextCall = 0;
  /** While above zero, {@link line} counts nothing: a virtual access already counted its line and is reaching physical memory. */
  private muted = 0;
  /** Operations measured so far. */
  ops = 0;

  /**
   * @param counting - count costs; false keeps only the operation clock (for
   *   sampling a run without paying for the counters)
   */
  constructor(readonly counting = true) {}

  /** Calls `fn` after top-level operations (see {@link OpListener}; one listener; null removes it). */
  onOp(fn: OpListener | null): void {
    this.listener = fn;
    this.nextCall = this.ops + 1;
  }

  count(c: number, n = 1): void {
    this.cur[c]! += n;
  }

  touch(kind: number, index: number): void {
    this.insert(STRUCT_BASE + kind * STRUCT_STRIDE + index, Cost.STRUCT_LINES);
  }

  line(addr: number): void {
    if (this.muted > 0) return;
    this.insert(Math.floor(addr / 64), Cost.MEM_LINES);
  }

  /** Counts `key` in counter `c` unless this operation already has it. */
  private insert(key: number, c: number): void {
    // Runs of accesses to one line (a header word, then its neighbour) skip the set.
    if (key === this.lastKey) return;
    this.lastKey = key;
    if (this.inSet >= SET_LIMIT) {
      this.cur[c]!++;
      return;
    }
    // Fibonacci hashing of the low bits and the high bits of the key.
    let h = (Math.imul((key % 0x40000000) | 0, 0x9e3779b1) ^ Math.imul((key / 0x40000000) | 0, 0x85ebca6b)) >>> 19;
    for (;;) {
      h &= SET_MASK;
      if (this.stamps[h] !== this.gen) {
        this.stamps[h] = this.gen;
        this.keys[h] = key;
        this.inSet++;
        this.cur[c]!++;
        return;
      }
      if (this.keys[h] === key) return;
      h++;
    }
  }

  /** Mutes ({@link line} counts nothing) or unmutes memory lines: +1 / −1. */
  mute(d: 1 | -1): void {
    this.muted += d;
  }

  /** Starts operation `op` (an index into {@link COST_OPS}) or, inside one, notes a nested call. */
  enter(op: number): void {
    if (this.depth++ > 0) {
      if (op === OP_ALLOC_PAGES || op === OP_FREE_PAGES || op === OP_ALLOC_PAGES_BULK) this.cur[Cost.PAGE_ALLOC_CALLS]!++;
      return;
    }
    this.op = op;
    this.cur.fill(0);
    this.inSet = 0;
    this.lastKey = -1;
    if (++this.gen === 0xffffffff) {
      this.stamps.fill(0);
      this.gen = 1;
    }
  }

  /** Ends the innermost call; ending a top-level operation folds its counters in. */
  leave(): void {
    if (--this.depth > 0) return;
    const base = this.op * NR_COST_COUNTERS;
    for (let c = 0; c < NR_COST_COUNTERS; c++) {
      const v = this.cur[c]!;
      const k = base + c;
      this.hist[k * BUCKETS + (v < BUCKETS - 1 ? v : BUCKETS - 1)]!++;
      this.sums[k]! += v;
      if (v > this.maxes[k]!) this.maxes[k] = v;
      this.totals[c]! += v;
    }
    this.opCounts[this.op]!++;
    this.ops++;
    if (this.listener !== null && this.ops >= this.nextCall) {
      const next = this.listener(this.ops);
      this.nextCall = typeof next === 'number' && next > this.ops ? next : this.ops + 1;
    }
  }

  rows(): CostRow[] {
    const out: CostRow[] = [];
    for (let o = 0; o < NR_OPS; o++) {
      const n = this.opCounts[o]!;
      if (n === 0) continue;
      const counters = {} as Record<CostCounterName, CostDistribution>;
      COST_COUNTERS.forEach((name, c) => {
        counters[name] = this.distribution(o * NR_COST_COUNTERS + c, n);
      });
      out.push({ op: COST_OPS[o]!, count: n, counters });
    }
    return out;
  }

  private distribution(k: number, n: number): CostDistribution {
    const h = this.hist.subarray(k * BUCKETS, (k + 1) * BUCKETS);
    const max = this.maxes[k]!;
    const at = (q: number): number => {
      const rank = Math.ceil(q * n);
      let seen = 0;
      for (let b = 0; b < BUCKETS; b++) {
        seen += h[b]!;
        if (seen >= rank) return b === BUCKETS - 1 ? max : b;
      }
      return max;
    };
    return { mean: this.sums[k]! / n, p50: at(0.5), p90: at(0.9), p99: at(0.99), max, total: this.sums[k]! };
  }
}

/** Which methods of a layer object start which operation. */
export type EntryPoints = Readonly<Record<string, CostOpName>>;

/** Entry points of the page allocator. */
export const PAGE_ENTRY_POINTS: EntryPoints = { allocPages: 'alloc_pages', allocPagesBulk: 'alloc_pages_bulk', freePages: 'free_pages' };
/** Entry points of the kmalloc/kmem_cache front end. */
export const KMEM_ENTRY_POINTS: EntryPoints = {
  kmalloc: 'kmalloc',
  kzalloc: 'kmalloc',
  kcalloc: 'kmalloc',
  kmallocArray: 'kmalloc',
  krealloc: 'kmalloc',
  kfree: 'kfree',
  kmemCacheAlloc: 'kmem_cache_alloc',
  kmemCacheFree: 'kmem_cache_free',
};
/** Entry points of vmalloc. */
export const VMALLOC_ENTRY_POINTS: EntryPoints = {
  vmalloc: 'vmalloc',
  vzalloc: 'vmalloc',
  vmallocNode: 'vmalloc',
  vmallocGfp: 'vmalloc',
  vmallocAligned: 'vmalloc',
  kvmalloc: 'vmalloc',
  vfree: 'vfree',
  kvfree: 'vfree',
};
/** Entry points of a user-space malloc. */
export const MALLOC_ENTRY_POINTS: EntryPoints = { malloc: 'malloc', free: 'free', realloc: 'realloc', calloc: 'calloc', memalign: 'memalign', posixMemalign: 'memalign' };

type Method = (this: unknown, ...args: unknown[]) => unknown;

/** Shadows `name` on `obj` with `wrap(original)` (bound to obj), once. */
function shadow(obj: object, name: string, wrap: (orig: Method) => Method): void {
  const o = obj as Record<string, unknown>;
  const orig = o[name];
  if (typeof orig !== 'function' || Object.hasOwn(o, name)) return;
  Object.defineProperty(obj, name, { value: wrap(orig as Method), writable: true, configurable: true, enumerable: false });
}

/** Wraps the entry points of a layer object so the meter sees each call as an operation. */
export function meterEntryPoints<T extends object>(obj: T, meter: CostMeter, entries: EntryPoints): T {
  for (const [name, op] of Object.entries(entries)) {
    const idx = COST_OPS.indexOf(op);
    shadow(obj, name, (orig) =>
      function (this: unknown, ...args: unknown[]): unknown {
        meter.enter(idx);
        try {
          return orig.apply(this, args);
        } finally {
          meter.leave();
        }
      },
    );
  }
  return obj;
}

/** Scalar accessors whose first argument is the address touched. */
const SCALAR_ACCESSORS = ['read8', 'write8', 'read16', 'write16', 'read32', 'write32', 'read64', 'write64', 'read64n', 'write64n'];

/**
 * Counts the line of every scalar read and write of a memory object
 * (physical memory, or a process's virtual memory). Bulk copies and fills
 * move data, not metadata, and are not counted.
 *
 * @param virtual - the object translates to physical memory, which is
 *   metered too: the physical access of a counted virtual one is not counted
 *   again
 */
export function meterMemory<T extends object>(mem: T, meter: CostMeter, virtual = false): T {
  for (const name of SCALAR_ACCESSORS) {
    shadow(mem, name, (orig) =>
      virtual
        ? function (this: unknown, ...args: unknown[]): unknown {
            meter.line(args[0] as number);
            meter.mute(1);
            try {
              return orig.apply(this, args);
            } finally {
              meter.mute(-1);
            }
          }
        : function (this: unknown, ...args: unknown[]): unknown {
            meter.line(args[0] as number);
            return orig.apply(this, args);
          },
    );
  }
  // The u64 runs count every line they cover, as the scalar accesses they stand for would.
  for (const name of ['read64s', 'write64s']) {
    shadow(mem, name, (orig) =>
      function (this: unknown, ...args: unknown[]): unknown {
        const at = args[0] as number;
        const end = at + 8 * (args[1] as number);
        for (let a = at - (at % 64); a < end; a += 64) meter.line(a);
        return orig.apply(this, args);
      },
    );
  }
  return mem;
}

/** The lines a list node lives in: a frame's `struct page`, or the list head's owner (encoded −(head + 1)). */
function touchNode(meter: CostMeter, x: number): void {
  if (x >= 0) meter.touch(CostStruct.PAGE, x);
  else meter.touch(CostStruct.LIST_HEAD, -x - 1);
}

/** The list operations of `PfnListsApi` as they touch `struct page` lines (`list_add`, `list_del`, reading a head). */
interface MeteredLists {
  addHead(h: number, pfn: number): void;
  addTail(h: number, pfn: number): void;
  del(pfn: number): void;
  first(h: number): number;
  last(h: number): number;
  isEmpty(h: number): boolean;
  rawNext(pfn: number): number;
  rawPrev(pfn: number): number;
}

/**
 * Counts the `struct page` and list-head lines the intrusive PFN lists
 * touch: `list_add` writes the new member, the head and the old neighbour;
 * `list_del` writes the member and both neighbours; reading a head touches
 * it. Every policy that keeps frames on lists (free areas, per-CPU lists,
 * slab partial lists) is metered this way.
 */
export function meterLists<T extends MeteredLists>(lists: T, meter: CostMeter): T {
  const heads = ['first', 'last', 'isEmpty'];
  for (const name of heads) {
    shadow(lists, name, (orig) =>
      function (this: unknown, ...args: unknown[]): unknown {
        meter.touch(CostStruct.LIST_HEAD, args[0] as number);
        return orig.apply(this, args);
      },
    );
  }
  // list_add writes the new member, the head, and the old first member (list_add_tail: the old last).
  const add = (neighbour: (pfn: number) => number) => (orig: Method) =>
    function (this: unknown, ...args: unknown[]): unknown {
      const [h, pfn] = args as [number, number];
      meter.touch(CostStruct.PAGE, pfn);
      meter.touch(CostStruct.LIST_HEAD, h);
      const r = orig.apply(this, args);
      touchNode(meter, neighbour(pfn));
      return r;
    };
  shadow(lists, 'addHead', add((pfn) => lists.rawNext(pfn)));
  shadow(lists, 'addTail', add((pfn) => lists.rawPrev(pfn)));
  shadow(lists, 'del', (orig) =>
    function (this: unknown, ...args: unknown[]): unknown {
      const pfn = args[0] as number;
      meter.touch(CostStruct.PAGE, pfn);
      touchNode(meter, lists.rawNext(pfn));
      touchNode(meter, lists.rawPrev(pfn));
      return orig.apply(this, args);
    },
  );
  return lists;
}
