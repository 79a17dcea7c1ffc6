/**
 * Hardware-independent cost counters: what an allocator operation costs on a
 * real machine, counted in the units kernel people argue in — distinct cache
 * lines of allocator metadata, lock acquisitions per lock class, atomic
 * read-modify-writes, IPIs, calls into the page allocator, remote frees —
 * instead of how fast JavaScript ran.
 *
 * One meter per system (`Machine.cost`), null unless `debug.cost` is on, so
 * a policy pays one null test per counted site when it is off. The system
 * marks operation boundaries itself (it wraps the layers' entry points when
 * the meter exists), so every policy — built-in or plug-in — is measured per
 * top-level call; simulated-memory lines are counted for every policy
 * without its help, the rest at the sites each policy marks with
 * {@link CostMeterApi.count} and {@link CostMeterApi.touch}.
 */

/** The counters, in report order. */
export const COST_COUNTERS = [
  'memLines',
  'structLines',
  'zoneLock',
  'pcpLock',
  'listLock',
  'irqOff',
  'slobLock',
  'vmapLock',
  'cpuCmpxchg',
  'atomics',
  'ipis',
  'pageAllocCalls',
  'remoteFrees',
] as const;
/** A counter's name. */
export type CostCounterName = (typeof COST_COUNTERS)[number];

/** Short labels for tables, by counter. */
export const COST_COUNTER_LABELS: Readonly<Record<CostCounterName, string>> = {
  memLines: 'lines of simulated memory',
  structLines: 'lines of struct page/per-CPU',
  zoneLock: 'zone->lock',
  pcpLock: 'pcp->lock',
  listLock: 'node list_lock',
  irqOff: 'irq-off sections',
  slobLock: 'slob_lock',
  vmapLock: 'vmap area locks',
  cpuCmpxchg: 'this_cpu_cmpxchg',
  atomics: 'atomic RMWs (LOCK)',
  ipis: 'IPIs',
  pageAllocCalls: 'page-allocator calls',
  remoteFrees: 'remote frees',
};

/** Counter indices for {@link CostMeterApi.count}. */
export const Cost = {
  /**
   * Distinct 64-byte lines of simulated memory the allocator read or wrote:
   * free pointers, object and chunk headers, bin links (counted by the
   * system for every policy).
   */
  MEM_LINES: 0,
  /**
   * Distinct 64-byte lines of metadata outside simulated memory, at Linux's
   * layout: `struct page` (64 bytes, one line per frame, which also holds
   * SLUB's `struct slab`), per-CPU structures (`per_cpu_pages`,
   * `kmem_cache_cpu`, `array_cache`), `kmem_cache_node`, `struct zone`'s
   * free-area heads.
   */
  STRUCT_LINES: 1,
  /** `zone->lock` (`rmqueue_bulk`, `free_pcppages_bulk`, `rmqueue_buddy`, `__free_pages_ok`). */
  ZONE_LOCK: 2,
  /** `pcp->lock` (`pcp_spin_trylock`, 6.0+: every per-CPU page list operation). */
  PCP_LOCK: 3,
  /** `kmem_cache_node->list_lock` (SLUB partial lists, SLAB `cache_alloc_refill`/`cache_flusharray`). */
  LIST_LOCK: 4,
  /** Interrupts-off sections guarding per-CPU slab state (SLAB's `local_irq_save` around every array-cache operation; SLUB's `local_lock_irqsave` in its slow paths). */
  IRQ_OFF: 5,
  /** SLOB's global `slob_lock`, taken on every allocation and free. */
  SLOB_LOCK: 6,
  /** `vmap_area_lock` / `free_vmap_area_lock` (mm/vmalloc.c). */
  VMAP_LOCK: 7,
  /** Per-CPU compare-and-exchange without a LOCK prefix (SLUB's `this_cpu_cmpxchg_double` fast path). */
  CPU_CMPXCHG: 8,
  /** LOCK-prefixed atomic read-modify-writes (SLUB's `cmpxchg_double_slab` on a slab's freelist, page refcount drops). */
  ATOMICS: 9,
  /** Inter-processor interrupts sent (TLB shootdowns, draining remote per-CPU lists). */
  IPIS: 10,
  /** Calls into the page allocator made by a higher layer during the operation. */
  PAGE_ALLOC_CALLS: 11,
  /** Frees that cannot use the freeing CPU's own per-CPU structure because the object belongs elsewhere (SLUB: not the CPU slab; SLAB: another node's object, the alien path). */
  REMOTE_FREES: 12,
} as const;

/** Number of counters. */
export const NR_COST_COUNTERS = COST_COUNTERS.length;

/** Metadata structures outside simulated memory, for {@link CostMeterApi.touch}. */
export const CostStruct = {
  /** `struct page` of a frame (index: pfn). */
  PAGE: 0,
  /** A list head living in `struct zone`, `per_cpu_pages` or `kmem_cache_node` (index: the list's head id). */
  LIST_HEAD: 1,
  /** `per_cpu_pages` of a zone on a CPU (index: zone × 4096 + cpu). */
  PCP: 2,
  /** `kmem_cache_cpu` / SLAB's `array_cache` of a cache on a CPU (index: (cache × 4096 + cpu) × 64 + the line within the structure). */
  CACHE_CPU: 3,
  /** `kmem_cache_node` of a cache on a node (index: cache × 64 + node). */
  CACHE_NODE: 4,
  /** `struct zone` hot fields (watermarks, free counts; index: zone id). */
  ZONE: 5,
  /** An allocator's own per-frame map outside `struct page` (the first-fit baseline's used bytes; index: the line number). */
  MAP: 6,
} as const;

/** Top-level operations the system measures, one row each in the cost table. */
export const COST_OPS = [
  'alloc_pages',
  'free_pages',
  'alloc_pages_bulk',
  'kmalloc',
  'kfree',
  'kmem_cache_alloc',
  'kmem_cache_free',
  'vmalloc',
  'vfree',
  'malloc',
  'free',
  'realloc',
  'calloc',
  'memalign',
] as const;
/** An operation's name. */
export type CostOpName = (typeof COST_OPS)[number];

/** Percentiles of one counter over the operations of one kind. */
export interface CostDistribution {
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  /** Sum over the operations. */
  readonly total: number;
}

/** What one kind of operation cost: its count and each counter's distribution. */
export interface CostRow {
  readonly op: CostOpName;
  readonly count: number;
  readonly counters: Readonly<Record<CostCounterName, CostDistribution>>;
}

/** The meter every policy may count into (`Machine.cost`). */
export interface CostMeterApi {
  /** Adds `n` (default 1) to counter `c` (a {@link Cost} index) of the operation under way. */
  count(c: number, n?: number): void;
  /** Counts the line of `struct` kind `kind` (a {@link CostStruct}) number `index`, once per operation. */
  touch(kind: number, index: number): void;
  /** Counts the 64-byte line holding byte address `addr` of simulated memory, once per operation. */
  line(addr: number): void;
  /** Operations measured so far. */
  readonly ops: number;
  /** Running totals per counter (index: {@link Cost}), over every operation so far. */
  readonly totals: Float64Array;
  /** The table: one row per kind of operation seen, in {@link COST_OPS} order. */
  rows(): CostRow[];
  /**
   * Calls `fn` after every top-level operation with the number measured so
   * far (one listener; null removes it): the clock of time-series sampling.
   * `fn` may return the operation count at which it wants to be called next;
   * the operations before it then cost no call.
   */
  onOp(fn: ((ops: number) => number | void) | null): void;
}
