/**
 * The time-series sampler: every `every` top-level allocator operations
 * (the cost meter's operation clock, `Machine.cost.onOp`) it records the
 * state of the system — memory requested vs held, slab pages (in total and
 * per cache), partial slabs, free pages per order and migrate type, the
 * unusable-free-space index per order (per zone, as
 * `/sys/kernel/debug/extfrag/unusable_index`, and over the whole machine),
 * the largest free block, page-table pages and the running cost counters —
 * and, at chosen operation counts, a physical memory map.
 *
 * Samples are stored column-wise in typed arrays grown by doubling
 * ({@link SeriesTable}); a sample allocates no record of its own (it reads
 * the layers' report objects, which allocate what they allocate).
 */

import { COST_COUNTERS } from '../../interfaces/cost.js';
import { MIGRATE_TYPES } from '../../interfaces/gfp.js';
import { NR_PAGE_ORDERS, PAGE_SIZE } from '../../interfaces/units.js';
import { grownTo } from '../../machine/grow.js';
import type { System } from '../../system.js';
import { unusableFreeIndices } from '../../proc/extfrag.js';
import { CacheClasses, memoryMap, type MemoryMapSnapshot } from './memory-map.js';

/** Named Float64 columns of equal length, grown by doubling; a column added late reads 0 before it existed. */
export class SeriesTable {
  private readonly cols = new Map<string, Float64Array>();
  private capacity: number;
  /** Rows stored. */
  length = 0;
  /** Bumped whenever the columns are reallocated (references taken before are stale). */
  generation = 0;

  /** @param capacity - initial rows */
  constructor(capacity = 256) {
    this.capacity = Math.max(1, capacity);
  }

  /** The column `name`, created (zeros) when new. */
  column(name: string): Float64Array {
    let c = this.cols.get(name);
    if (c === undefined) this.cols.set(name, (c = new Float64Array(this.capacity)));
    return c;
  }

  /** Starts a row and returns its index (columns grow when full: take {@link column} after this, not before). */
  addRow(): number {
    if (this.length === this.capacity) {
      this.capacity *= 2;
      for (const [k, v] of this.cols) this.cols.set(k, grownTo(v, this.capacity));
      this.generation++;
    }
    return this.length++;
  }

  /** Column names, in creation order. */
  names(): string[] {
    return [...this.cols.keys()];
  }

  /** The first {@link length} values of a column (a view), or undefined when it does not exist. */
  get(name: string): Float64Array | undefined {
    return this.cols.get(name)?.subarray(0, this.length);
  }
}

/** Column names of the sampler's table. */
export const Col = {
  OPS: 'ops',
  REQUESTED: 'requested',
  HELD: 'held',
  SLAB_PAGES: 'slabPages',
  PARTIAL_SLABS: 'partialSlabs',
  FREE_PAGES: 'freePages',
  LARGEST_FREE_ORDER: 'largestFreeOrder',
  PAGE_TABLE_PAGES: 'pageTablePages',
  /** `free:<order>:<migrate type>`: free pages in blocks of that order on that type's lists. */
  free: (order: number, mt: number): string => `free:${order}:${mt}`,
  /** `unusable:<order>`: the machine's unusable free space index (all zones' free lists together), 0..1. */
  unusable: (order: number): string => `unusable:${order}`,
  /** `unusable:<zone id>:<order>`: one zone's index as the kernel computes it, 0..1 (three decimals). */
  zoneUnusable: (zone: number, order: number): string => `unusable:${zone}:${order}`,
  /** `cost:<counter>`: the counter's running total. */
  cost: (counter: string): string => `cost:${counter}`,
  /** `cache:<name>`: pages held by the cache's slabs. */
  cache: (name: string): string => `cache:${name}`,
} as const;

/** Options of a {@link Sampler}. */
export interface SamplerOpts {
  /** Sample every this many operations (≥ 1). */
  readonly every: number;
  /** Operation counts at which to take a memory map (0: when attached); the map at the end is {@link Sampler.finish}'s. */
  readonly mapAt?: readonly number[];
  /**
   * Bytes the clients asked for and hold, read when an operation returns
   * (before its caller has recorded its result). @defaultValue pages clients hold (`allocatedPages`) × 4096 */
  readonly requested?: () => number;
  /** Bytes the layer under study holds to serve them. @defaultValue pages out of the free lists (managed − free) × 4096 */
  readonly held?: () => number;
  /** Expected samples (sizes the table once). */
  readonly expected?: number;
}

/** Samples a system on the cost meter's operation clock. */
export class Sampler {
  /** The samples, one row each. */
  readonly table: SeriesTable;
  /** Memory maps taken so far, in operation order. */
  readonly maps: MemoryMapSnapshot[] = [];
  /** Zones sampled (the populated ones), id and name. */
  readonly zones: readonly { readonly id: number; readonly node: number; readonly name: string }[];
  private readonly classes: CacheClasses;
  private readonly mapAt: number[];
  /** Operations between samples. */
  readonly every: number;
  private lastSampled = -1;
  /** Free blocks per order over every zone (scratch of a sample). */
  private readonly allFree: number[] = new Array<number>(NR_PAGE_ORDERS).fill(0);
  /** Column names built once. */
  private readonly names: { free: string[]; unusable: string[]; zoneUnusable: string[][]; cost: string[] };

  /**
   * Attaches to `sys` (which must have `debug.cost` on) and takes the first
   * sample (and a map when `mapAt` has 0).
   * @throws Error when the system has no cost meter or `every` < 1
   */
  constructor(
    private readonly sys: System,
    private readonly opts: SamplerOpts,
  ) {
    const meter = sys.machine.cost;
    if (meter === null) throw new Error('Sampler: the system has no cost meter (createSystem with debug.cost)');
    if (!Number.isInteger(opts.every) || opts.every < 1) throw new Error(`Sampler: every must be a positive integer, not ${opts.every}`);
    this.every = opts.every;
    this.table = new SeriesTable(opts.expected ?? 256);
    this.zones = sys.pages
      .zones()
      .map((z, id) => ({ id, node: z.node, name: z.name, present: z.present }))
      .filter((z) => z.present > 0)
      .map(({ id, node, name }) => ({ id, node, name }));
    this.names = {
      free: Array.from({ length: NR_PAGE_ORDERS * MIGRATE_TYPES }, (_, i) => Col.free(Math.floor(i / MIGRATE_TYPES), i % MIGRATE_TYPES)),
      unusable: Array.from({ length: NR_PAGE_ORDERS }, (_, o) => Col.unusable(o)),
      zoneUnusable: this.zones.map((z) => Array.from({ length: NR_PAGE_ORDERS }, (_, o) => Col.zoneUnusable(z.id, o))),
      cost: COST_COUNTERS.map((c) => Col.cost(c)),
    };
    this.classes = new CacheClasses(sys.kmem, sys.slab);
    this.mapAt = [...new Set(opts.mapAt ?? [])].sort((a, b) => a - b);
    // Operations count from here: a sampler attached after a warm-up phase (vmalloc's fragmenting) starts at 0.
    const ops0 = (this.ops0 = meter.ops);
    while (this.mapAt.length && this.mapAt[0]! <= 0) {
      this.mapAt.shift();
      this.maps.push(this.map(0));
    }
    this.sample(0);
    meter.onOp((abs) => {
      const ops = abs - ops0;
      if (ops % this.every === 0) this.sample(ops);
      if (this.mapAt.length && ops >= this.mapAt[0]!) {
        this.mapAt.shift();
        this.maps.push(this.map(ops));
      }
      // Called again at the next sample or map, whichever comes first.
      const nextSample = (Math.floor(ops / this.every) + 1) * this.every;
      return ops0 + (this.mapAt.length ? Math.min(nextSample, this.mapAt[0]!) : nextSample);
    });
  }

  /** The meter's operation count when sampling started: every count the sampler records is relative to it. */
  readonly ops0: number;

  /** Operations since sampling started. */
  get ops(): number {
    return this.sys.machine.cost!.ops - this.ops0;
  }

  /** Stops sampling: takes a last sample and a map when the clock moved since, detaches, returns this. */
  finish(withMap = true): this {
    const meter = this.sys.machine.cost!;
    meter.onOp(null);
    const ops = meter.ops - this.ops0;
    if (this.lastSampled !== ops) this.sample(ops);
    if (withMap && this.maps.at(-1)?.ops !== ops) this.maps.push(this.map(ops));
    return this;
  }

  /** Takes a map now (outside the clock). */
  map(ops: number): MemoryMapSnapshot {
    return memoryMap(this.sys.machine, this.sys.slab, this.classes, ops);
  }

  /** Scratch for the unusable index of every order. */
  private readonly indexScratch = new Float64Array(NR_PAGE_ORDERS);
  private fixedCols: { generation: number; free: Float64Array[]; unusable: Float64Array[]; zoneUnusable: Float64Array[][]; cost: Float64Array[] } | undefined;

  /** The columns every sample writes, looked up once per reallocation of the table (not per value). */
  private fixedColumns(): NonNullable<Sampler['fixedCols']> {
    const t = this.table;
    if (this.fixedCols?.generation === t.generation) return this.fixedCols;
    const n = this.names;
    const col = (name: string): Float64Array => t.column(name);
    this.fixedCols = { generation: t.generation, free: n.free.map(col), unusable: n.unusable.map(col), zoneUnusable: n.zoneUnusable.map((z) => z.map(col)), cost: n.cost.map(col) };
    return this.fixedCols;
  }

  private cacheCols = new Map<string, Float64Array>();
  /** Whether vmalloc has been used (its vmap_area cache exists; caches are never destroyed by the workloads sampled). */
  private vmallocUsed = false;
  private cacheColsGeneration = -1;

  /** Per-cache page columns by cache name, dropped when the table reallocates its columns. */
  private cacheColumns(generation: number): Map<string, Float64Array> {
    if (generation !== this.cacheColsGeneration) {
      this.cacheCols = new Map();
      this.cacheColsGeneration = generation;
    }
    return this.cacheCols;
  }

  /** Records one row. */
  private sample(ops: number): void {
    const t = this.table;
    const sys = this.sys;
    const row = t.addRow();
    this.lastSampled = ops;
    t.column(Col.OPS)[row] = ops;
    const zones = sys.pages.zones();
    const stats = sys.pages.stats();
    t.column(Col.REQUESTED)[row] = this.opts.requested ? this.opts.requested() : stats.allocatedPages * PAGE_SIZE;
    t.column(Col.HELD)[row] = this.opts.held ? this.opts.held() : (stats.managedPages - stats.freePages) * PAGE_SIZE;
    t.column(Col.FREE_PAGES)[row] = stats.freePages;
    // Free pages per order and migrate type, and the machine-wide free blocks per order.
    const all = this.allFree.fill(0);
    const cols = this.fixedColumns();
    const index = this.indexScratch;
    for (let o = 0; o < NR_PAGE_ORDERS; o++) for (let mt = 0; mt < MIGRATE_TYPES; mt++) cols.free[o * MIGRATE_TYPES + mt]![row] = 0;
    for (let zi = 0; zi < this.zones.length; zi++) {
      const zr = zones[this.zones[zi]!.id]!;
      unusableFreeIndices(zr.nrFree, index);
      for (let o = 0; o < NR_PAGE_ORDERS; o++) {
        all[o]! += zr.nrFree[o]!;
        for (let mt = 0; mt < MIGRATE_TYPES; mt++) cols.free[o * MIGRATE_TYPES + mt]![row]! += (zr.nrFreeByType[mt]?.[o] ?? 0) * (1 << o);
        cols.zoneUnusable[zi]![o]![row] = index[o]! / 1000;
      }
    }
    unusableFreeIndices(all, index);
    let largest = -1;
    for (let o = 0; o < NR_PAGE_ORDERS; o++) {
      cols.unusable[o]![row] = index[o]! / 1000;
      if (all[o]! > 0) largest = o;
    }
    t.column(Col.LARGEST_FREE_ORDER)[row] = largest;
    // Slab layer.
    const [recl, unrecl] = sys.kmem.slabPages();
    t.column(Col.SLAB_PAGES)[row] = recl + unrecl;
    let partial = 0;
    const cacheCols = this.cacheColumns(t.generation);
    for (const c of sys.kmem.caches()) {
      partial += c.counters.partialSlabs;
      let col = cacheCols.get(c.name);
      if (col === undefined) cacheCols.set(c.name, (col = t.column(Col.cache(c.name))));
      col[row] = c.counters.pages;
    }
    t.column(Col.PARTIAL_SLABS)[row] = partial;
    // Page tables: every process's, and the vmalloc space's once vmalloc is in use (its vmap_area cache exists).
    let tables = 0;
    for (const p of sys.processes.list()) tables += p.stats().pageTablePages;
    if (this.vmallocUsed || (this.vmallocUsed = sys.kmem.findCache('vmap_area') >= 0)) tables += sys.vmalloc.stats().pageTablePages;
    t.column(Col.PAGE_TABLE_PAGES)[row] = tables;
    const totals = sys.machine.cost!.totals;
    for (let c = 0; c < COST_COUNTERS.length; c++) cols.cost[c]![row] = totals[c]!;
  }
}
