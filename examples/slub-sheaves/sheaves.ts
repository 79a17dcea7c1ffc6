/**
 * How SLUB with per-CPU sheaves works here (Linux 6.18, mm/slub.c).
 *
 * A research prototype as one class: SLUB (allocsim's Linux 6.8 model, kept
 * as it is) with the caching layer Vlastimil Babka merged for 6.18 ("slab:
 * add opt-in caching layer of percpu sheaves" and the rest of the
 * slub-percpu-sheaves series) bound in front of it for the caches that opt
 * in. Carried over from the 6.18 sources as facts and constants, written
 * here in our own words.
 *
 * The structures. A *sheaf* (`struct slab_sheaf`) is an array of object
 * pointers with a `size` and a fixed `capacity` (`s->sheaf_capacity`). Each
 * CPU has a *main* sheaf, always present, and a *spare*, empty, full or
 * absent (`struct slub_percpu_sheaves`; its third pointer, `rcu_free`,
 * batches `kfree_rcu()`, which allocsim does not have). Each NUMA node has a
 * *barn* (`struct node_barn`): a list of full sheaves and a list of empty
 * ones with their counts `nr_full` and `nr_empty`; at most
 * `MAX_FULL_SHEAVES` = 10 full sheaves are accepted by an exchange.
 *
 * Allocation (`slab_alloc_node` → `alloc_from_pcs`): pop
 * `main->objects[--size]`. When main is empty, `__pcs_replace_empty_main`:
 * a spare with objects becomes main (swap); else the barn swaps a full
 * sheaf for the empty main (`barn_replace_empty_sheaf`, stat `barn_get`);
 * else, when the GFP mask allows blocking (`gfpflags_allow_blocking`), the
 * spare, or an empty sheaf from the barn (`barn_get_empty_sheaf`), or a new
 * one (`alloc_full_sheaf`) is filled from the slabs (`refill_sheaf`, an
 * internal `__kmem_cache_alloc_bulk`: one object at a time through the CPU
 * slab and SLUB's slow path, all or nothing) and installed: the empty main
 * goes to the barn's empty list even when the spare slot is free (6.18; a
 * 2026 patch keeps it as the spare), or the refilled sheaf becomes the
 * spare, or — when reclaim changed things meanwhile — goes to the barn's
 * full list.
 * When nothing works (GFP_ATOMIC with empty sheaves and no full sheaf in the
 * barn, or no memory) the allocation falls back to the SLUB path.
 *
 * Free (`slab_free` → `free_to_pcs`): objects from the local node only
 * ("skip percpu sheaves for remote object freeing"; a remote object goes to
 * its slab with `do_slab_free`). Push `main->objects[size++]`. When main is
 * full, `__pcs_replace_full_main`: with no spare, an empty sheaf from the
 * barn becomes main (the full one the spare); a spare with room is swapped
 * in; else the barn swaps an empty sheaf for the full main
 * (`barn_replace_full_sheaf`, stat `barn_put`) unless it already holds
 * `MAX_FULL_SHEAVES` full ones (E2BIG: the spare is flushed to the slabs,
 * `sheaf_flush_unused`, and becomes main) or has no empty one (a new empty
 * sheaf is allocated with GFP_NOWAIT, and `__pcs_install_empty_sheaf` puts
 * the full main into the barn). If even that allocation fails, the main
 * sheaf is flushed to the slabs in batches of `PCS_BATCH_MAX` = 32
 * (`sheaf_flush_main`, an internal `__kmem_cache_free_bulk`).
 *
 * Shrink and flush: `kmem_cache_shrink` (and validate, and destroy) first
 * flush every CPU's sheaves as `flush_cpu_slab` → `pcs_flush_all` does on
 * that CPU (the spare flushed and freed, the main flushed and kept), then
 * empty every barn (`barn_shrink`: full sheaves flushed, all freed), then
 * SLUB's own shrink. Destroy frees the main sheaves and the barns
 * (`pcs_destroy`, `free_kmem_cache_nodes`). Validate flushes the CPUs'
 * sheaves but not the barns, as `validate_slab_cache` → `flush_all` does.
 *
 * Memory. A sheaf is a kmalloc'ed object in Linux (`alloc_empty_sheaf`:
 * `kzalloc(struct_size(sheaf, objects, capacity))`) and so it is here: its
 * bytes come from this backend's own `kmalloc-<n>` cache (32-byte header +
 * 8 bytes per object: capacity 32 → 288 bytes → kmalloc-512; 60 → exactly
 * 512), and `objects[]` lives in those simulated bytes, where Linux keeps
 * it, so a client's stray write into the neighbouring kmalloc object
 * corrupts a sheaf as it would in a kernel (SH1 reports it; popping a
 * pointer outside the cache's slabs is an AllocatorError `corruption`, the
 * kernel's oops). The header fields (size, cache, the barn list link) are
 * kept in typed arrays indexed by sheaf, as allocsim keeps struct page.
 * Each barn is a 48-byte `kmalloc_node` object (kmalloc-64), one per node
 * (allocated like any allocation here, from the current CPU's node).
 * Both show up in /proc/slabinfo as active kmalloc objects, as in Linux.
 * No per-operation allocation: sheaf slots are recycled, the tables grow by
 * doubling.
 *
 * Which caches opt in. 6.18 creates sheaves only for a cache whose
 * `kmem_cache_args.sheaf_capacity` is non-zero, and only without SLUB_DEBUG
 * flags and SLUB_TINY; its two callers ask for 32 (`vm_area_struct`,
 * mm/vma_init.c, and `maple_node`, lib/maple_tree.c); kmalloc caches never
 * have sheaves in 6.18. allocsim's `kmem_cache_create` has no args, so
 * the opt-in is a policy of the class, two protected methods a subclass
 * overrides (`asksForSheaves`, `sheafCapacityFor`):
 *
 * - `slub-sheaves` (the default export): every non-kmalloc cache without
 *   debug flags gets sheaves, with the capacity the follow-up patch "slab:
 *   add sheaves to most caches" (Jan 2026, `calculate_sheaf_capacity`)
 *   computes from the object stride — 60 below 256 bytes, 26 below 1 KiB,
 *   12 below a page, 4 above, then raised so the sheaf fills its kmalloc
 *   bucket (26 → 28) — and at least what a 6.18 caller asks for (32).
 * - `slub-sheaves-6.18` ({@link Sheaves618SlubBackend}): only the caches
 *   named by a 6.18 caller, with their capacity (32).
 *
 * A cache that asks for sheaves never aliases an existing cache
 * (`__kmem_cache_create_args` skips `__kmem_cache_alias` when sheaf_capacity
 * is set) and a cache with sheaves takes no aliases (`slab_unmergeable`):
 * {@link SheavesSlubBackend.cacheMergeable} tells the front end so. Every
 * other cache merges as under SLUB.
 *
 * Statistics: the 6.18 CONFIG_SLUB_STATS counters (`alloc_cpu_sheaf`,
 * `free_cpu_sheaf`, `sheaf_refill`, `sheaf_flush` in objects, `sheaf_alloc`,
 * `sheaf_free`, `barn_get[_fail]`, `barn_put[_fail]`) per cache, plus hits
 * of the main sheaf as it was (the fast path), fallbacks to the slabs,
 * remote frees and objects[] words read and written
 * ({@link SheavesSlubBackend.sheafStats}). In the contract's SlabStats, an
 * allocation or free counts as fast when the main sheaf served it
 * unreplaced (or, for a fallback, when SLUB's CPU freelist did).
 *
 * Layers it may call: the page allocator (through SLUB's slab pages) and its
 * own kmalloc caches (for sheaves and barns).
 *
 * Known limitations. The simulation is single-threaded: every
 * `local_trylock` and barn `spin_lock` succeeds, so the re-checks Linux makes
 * after re-taking the local lock (migration, interrupts) matter here only
 * when direct reclaim inside a refill shrinks this very cache. Not
 * modelled: `kfree_rcu()` batching (`rcu_free`, `__kfree_rcu_sheaf`), the
 * prefilled-sheaf API (`kmem_cache_prefill_sheaf`, `_return_sheaf`,
 * `_refill_sheaf`), the bulk entry points `alloc_from_pcs_bulk` /
 * `free_to_pcs_bulk` (allocsim's front end loops over single objects),
 * node-restricted allocations (`kmem_cache_alloc_node`, strict_numa: the
 * contract has no node argument), pfmemalloc slabs, CPU and memory hotplug
 * (`slub_cpu_dead` → `__pcs_flush_all_cpu`, barns for new nodes), and sheaf
 * caches failing to be created for lack of memory (here the cache is
 * created without sheaves and a line is logged). Flushes and refills move
 * objects one at a time, not as detached freelists; within a slab the
 * resulting freelist order is the same. The sheaf and barn memory is
 * allocated below the front end, so KASAN and kmemleak do not track it.
 * Shrink returns the barns' objects before SLUB flushes the CPU slabs (Linux
 * empties the barns after the CPU flush), so a slab emptied that way is
 * freed by this shrink rather than left on a CPU partial list. Below the
 * sheaves, SLUB is allocsim's 6.8 model, not 6.18's.
 */

import {
  AllocatorError,
  GFP_KERNEL,
  GFP_NOWAIT,
  MAX_VIOLATIONS,
  PAGE_OFFSET,
  PAGE_SIZE,
  SLAB_CONSISTENCY_CHECKS,
  SLAB_POISON,
  SLAB_RED_ZONE,
  SLAB_STORE_USER,
  SlubBackend,
  __GFP_ZERO,
  gfpAllowsBlocking,
  kptr,
  type CacheSpec,
  type Gfp,
  type KasanApi,
  type Machine,
  type PageAllocator,
  type SlubCache,
  type SystemConfig,
  type Violation,
} from 'allocsim';

/** Bytes of `struct slab_sheaf` before `objects[]` on x86_64 (6.18): the union of rcu_head, barn_list and capacity (16), cache (8), size (4), node (4). */
export const SHEAF_HEADER_SIZE = 32;
/** Bytes of one `objects[]` slot (`sizeof(void *)`). */
export const SHEAF_SLOT_SIZE = 8;
/** `sizeof(struct node_barn)` on x86_64 without lock debugging: the spinlock padded to 8, two list_heads (32), nr_full and nr_empty (8). */
export const NODE_BARN_SIZE = 48;
/** `MAX_FULL_SHEAVES`: a barn accepts no more full sheaves in exchange for empty ones. */
export const MAX_FULL_SHEAVES = 10;
/** `PCS_BATCH_MAX`: objects per batch when the main sheaf is flushed (`sheaf_flush_main`). */
export const PCS_BATCH_MAX = 32;
/** The capacity each 6.18 caller of `kmem_cache_create` with `sheaf_capacity` asks for (mm/vma_init.c, lib/maple_tree.c). */
export const SHEAF_CAPACITY_6_18: Readonly<Record<string, number>> = { vm_area_struct: 32, maple_node: 32 };
/** Flags under which 6.18 ignores sheaf_capacity (`SLAB_DEBUG_FLAGS`: the slow path must see every operation; its SLAB_TRACE is not simulated). */
const SLAB_DEBUG_FLAGS = SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER;
/** `barn_replace_full_sheaf` results other than a sheaf. */
const E2BIG = -2;
const ENOMEM = -3;
/** No sheaf. */
const NONE = -1;

// Per-cache statistics, indexes into SheafCache.stats.
const ALLOC_PCS = 0;
const FREE_PCS = 1;
const ALLOC_MAIN_HIT = 2;
const FREE_MAIN_HIT = 3;
const SHEAF_REFILL = 4;
const SHEAF_FLUSH = 5;
const SHEAF_ALLOC = 6;
const SHEAF_FREE = 7;
const BARN_GET = 8;
const BARN_GET_FAIL = 9;
const BARN_PUT = 10;
const BARN_PUT_FAIL = 11;
const ALLOC_FALLBACK = 12;
const FREE_FALLBACK = 13;
const FREE_REMOTE = 14;
const SLOT_ACCESSES = 15;
const NR_STATS = 16;

/** Sheaf counters of a cache (or summed over every cache), named after 6.18's /sys/kernel/slab/NAME/ files where one exists. */
export interface SheafStats {
  /** Allocations served from a per-CPU sheaf (`alloc_cpu_sheaf`), including those that needed a swap, a barn exchange or a refill first. */
  readonly allocCpuSheaf: number;
  /** Frees into a per-CPU sheaf (`free_cpu_sheaf`). */
  readonly freeCpuSheaf: number;
  /** Allocations the main sheaf served as it was: the fast path. */
  readonly allocMainHits: number;
  /** Frees the main sheaf took as it was. */
  readonly freeMainHits: number;
  /** Objects moved from slabs into sheaves (`sheaf_refill`). */
  readonly sheafRefill: number;
  /** Objects moved from sheaves back to slabs (`sheaf_flush`). */
  readonly sheafFlush: number;
  /** Sheaves allocated (`sheaf_alloc`). */
  readonly sheafAlloc: number;
  /** Sheaves freed (`sheaf_free`). */
  readonly sheafFree: number;
  /** Full sheaves taken from a barn (`barn_get`). */
  readonly barnGet: number;
  /** Empty main sheaves the barn had no full sheaf for (`barn_get_fail`). */
  readonly barnGetFail: number;
  /** Full sheaves put into a barn (`barn_put`). */
  readonly barnPut: number;
  /** Full main sheaves the barn would not take (`barn_put_fail`). */
  readonly barnPutFail: number;
  /** Allocations the sheaves could not serve (no blocking allowed, no memory) that went to the slabs. */
  readonly allocFallback: number;
  /** Frees the sheaves could not take that went to the slabs. */
  readonly freeFallback: number;
  /** Frees of objects from another node's slab, sent to their slab. */
  readonly freeRemote: number;
  /** `objects[]` slots read or written in simulated memory. */
  readonly slotAccesses: number;
}

/** A snapshot of one cache's sheaves. */
export interface SheafState {
  readonly capacity: number;
  /** Objects in each CPU's main sheaf. */
  readonly main: readonly number[];
  /** Objects in each CPU's spare sheaf, null when it has none. */
  readonly spare: readonly (number | null)[];
  /** Full sheaves in each node's barn (`nr_full`). */
  readonly barnFull: readonly number[];
  /** Empty sheaves in each node's barn (`nr_empty`). */
  readonly barnEmpty: readonly number[];
  /** Address of each CPU's main sheaf: its kmalloc object, `objects[]` starting SHEAF_HEADER_SIZE bytes in. */
  readonly mainAt: readonly number[];
}

/**
 * Every sheaf of every cache: `struct slab_sheaf`'s header fields, one slot
 * per sheaf, in typed arrays that grow by doubling (`objects[]` itself is in
 * simulated memory at `addr + SHEAF_HEADER_SIZE`).
 */
class SheafTable {
  /** Address of the kmalloc object holding the sheaf. */
  addr = new Float64Array(16);
  /** `sheaf->size`. */
  size = new Int32Array(16);
  /** `sheaf->cache` (backend id); -1 for a free slot. */
  cache = new Int32Array(16).fill(-1);
  /** `sheaf->barn_list`: the next sheaf on the same barn list, -1 at the end. */
  next = new Int32Array(16).fill(NONE);
  private freeSlots = new Int32Array(16);
  private nFree = 0;
  private used = 0;

  get length(): number {
    return this.addr.length;
  }

  /** A slot for a new sheaf. */
  take(): number {
    if (this.nFree > 0) return this.freeSlots[--this.nFree]!;
    if (this.used === this.addr.length) this.grow();
    return this.used++;
  }

  /** Gives a freed sheaf's slot back. */
  release(s: number): void {
    this.cache[s] = -1;
    this.size[s] = 0;
    this.next[s] = NONE;
    this.freeSlots[this.nFree++] = s;
  }

  private grow(): void {
    const n = this.addr.length * 2;
    const f64 = (a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array<ArrayBuffer>, fill: number): Int32Array<ArrayBuffer> => {
      const b = new Int32Array(n).fill(fill);
      b.set(a);
      return b;
    };
    this.addr = f64(this.addr);
    this.size = i32(this.size, 0);
    this.cache = i32(this.cache, -1);
    this.next = i32(this.next, NONE);
    this.freeSlots = i32(this.freeSlots, 0);
  }
}

/** The sheaf state of one cache (`s->cpu_sheaves`, `s->sheaf_capacity` and the barn of each `kmem_cache_node`). */
class SheafCache {
  /** Backend id of each CPU's main sheaf (never -1 while the cache lives). */
  readonly main: Int32Array;
  /** Each CPU's spare sheaf, -1 when absent. */
  readonly spare: Int32Array;
  /** Per node: head of the barn's full and empty lists, their counts, the barn's own kmalloc object. */
  readonly fullHead: Int32Array;
  readonly emptyHead: Int32Array;
  readonly nrFull: Int32Array;
  readonly nrEmpty: Int32Array;
  readonly barnAddr: Float64Array;
  /** Counters, indexed by the stat constants. */
  readonly stats = new Float64Array(NR_STATS);

  /**
   * @param id - the cache's backend id
   * @param capacity - `s->sheaf_capacity`
   * @param memCache - backend id of the kmalloc cache sheaves are allocated from
   * @param sheafBytes - bytes a sheaf asks kmalloc for
   * @param barnCache - backend id of the kmalloc cache barns are allocated from
   */
  constructor(
    readonly id: number,
    readonly capacity: number,
    readonly memCache: number,
    readonly sheafBytes: number,
    readonly barnCache: number,
    cpus: number,
    nodes: number,
  ) {
    this.main = new Int32Array(cpus).fill(NONE);
    this.spare = new Int32Array(cpus).fill(NONE);
    this.fullHead = new Int32Array(nodes).fill(NONE);
    this.emptyHead = new Int32Array(nodes).fill(NONE);
    this.nrFull = new Int32Array(nodes);
    this.nrEmpty = new Int32Array(nodes);
    this.barnAddr = new Float64Array(nodes);
  }
}

/** What one invariant check memoizes: sheaf objects and free objects per slab. */
interface CheckScratch {
  readonly inSheaves: Map<number, Set<number>>;
  readonly freeInSlab: Map<number, Set<number>>;
}

/** `kmalloc-<size>` as `kmalloc_info[]` names it. */
function kmallocName(size: number): string {
  return `kmalloc-${size >= 1024 ? `${size / 1024}k` : String(size)}`;
}

/**
 * SLUB with per-CPU sheaves and per-node barns (Linux 6.18) for the caches
 * that opt in (see {@link SheavesSlubBackend.sheafCapacityFor}); every other
 * cache, and every kmalloc cache, is plain SLUB.
 *
 * Invariants (checked by {@link SheavesSlubBackend.checkInvariants}), SLUB's
 * own (S1–S5, S11; S3 counts objects in sheaves as free) and:
 * 1. SH1 Sheaf contents — every pointer in a sheaf (a CPU's main or spare,
 *    a barn's full or empty list) is the start of an object of that cache,
 *    held by no client, on no freelist (slab or CPU), and in no other sheaf
 *    slot: objects in sheaves are free, counted in their slab's `inuse`.
 * 2. SH2 Sheaf sizes — 0 ≤ size ≤ capacity; sheaves on a barn's full list
 *    are full, those on its empty list empty.
 * 3. SH3 Barn lists — `nr_full` and `nr_empty` equal the lengths of the
 *    lists, walked at most as many steps as there are sheaves (a cycle is
 *    reported, not followed).
 * 4. SH4 Sheaf ownership — every CPU of a sheaf cache has a main sheaf;
 *    each sheaf is in exactly one place (a main, a spare, one barn list) of
 *    the cache it names; its memory is a live object of the kmalloc cache it
 *    came from, large enough for its capacity.
 * 5. SH5 Accounting — objects held by clients + objects on freelists +
 *    objects in sheaves = objects in the cache's slabs.
 */
export default class SheavesSlubBackend extends SlubBackend {
  override readonly policy: string = 'slub-sheaves';
  /** Sheaf state by backend cache id; undefined for caches without sheaves. */
  private readonly sheafCaches: (SheafCache | undefined)[] = [];
  private readonly table = new SheafTable();
  /** Backend ids of the normal-type kmalloc caches, by name. */
  private readonly kmallocIds = new Map<string, number>();
  /** Counters of destroyed caches, kept for the totals. */
  private readonly retired = new Map<number, Float64Array>();
  private scratch: CheckScratch | undefined;

  /** The constructor convention of the slab layer (`LAYER_DEPENDENCIES.slab`). */
  constructor(machine: Machine, config: SystemConfig, pages: PageAllocator, kasan?: KasanApi) {
    super(machine, config, pages, kasan);
  }

  // ------------------------------------------------------------- opt-in

  /**
   * Whether a cache called `name` asks for sheaves (a non-zero
   * `kmem_cache_args.sheaf_capacity`). This class: every cache (kmalloc
   * caches are created another way and never ask). Subclasses choose
   * differently (see {@link Sheaves618SlubBackend}).
   */
  protected asksForSheaves(_name: string): boolean {
    return true;
  }

  /**
   * The sheaf capacity of a new cache that asks for sheaves; 0 means none.
   * This class: the capacity `calculate_sheaf_capacity` ("slab: add sheaves
   * to most caches") computes from the stride, and at least what a 6.18
   * caller asks for. Caches with SLUB_DEBUG flags never get sheaves,
   * whatever this returns.
   *
   * @param name - the cache's name
   * @param size - its stride (`s->size`)
   */
  protected sheafCapacityFor(name: string, size: number): number {
    const base = size >= PAGE_SIZE ? 4 : size >= 1024 ? 12 : size >= 256 ? 26 : 60;
    const fitted = (this.kmallocClass(SHEAF_HEADER_SIZE + base * SHEAF_SLOT_SIZE) - SHEAF_HEADER_SIZE) / SHEAF_SLOT_SIZE;
    return Math.max(fitted, SHEAF_CAPACITY_6_18[name] ?? 0);
  }

  /** The kmalloc size class serving `bytes` (`kmalloc_size_roundup`). */
  private kmallocClass(bytes: number): number {
    const size = this.kmallocSizes.find((s) => s >= bytes);
    if (size === undefined) throw new AllocatorError('config', `a sheaf of ${bytes} bytes needs kmalloc_large, which this prototype does not model`, { policy: this.policy, op: 'kmem_cache_create', size: bytes });
    return size;
  }

  /** {@inheritDoc SlabBackend.createCache} — and the sheaves when the cache opts in (`do_kmem_cache_create`, `init_kmem_cache_nodes`, `init_percpu_sheaves`). */
  override createCache(spec: CacheSpec, kmalloc: boolean): number {
    const id = super.createCache(spec, kmalloc);
    const c = this.caches[id]!;
    if (kmalloc) {
      this.kmallocIds.set(c.name, id);
      return id;
    }
    if (c.flags & SLAB_DEBUG_FLAGS || !this.asksForSheaves(c.name)) return id;
    const capacity = this.sheafCapacityFor(c.name, c.size);
    if (capacity > 0) this.initSheaves(c, capacity);
    return id;
  }

  /**
   * {@inheritDoc SlabBackend.cacheMergeable}: an existing cache merges when
   * it has no sheaves (`slab_unmergeable`), a new one when it does not ask
   * for them (`__kmem_cache_create_args`).
   */
  cacheMergeable(name: string): boolean {
    const id = this.caches.findIndex((c) => !c.destroyed && c.name === name);
    return id >= 0 ? this.sheafCaches[id] === undefined : !this.asksForSheaves(name);
  }

  private initSheaves(c: SlubCache, capacity: number): void {
    const sheafBytes = SHEAF_HEADER_SIZE + capacity * SHEAF_SLOT_SIZE;
    const memCache = this.kmallocIds.get(kmallocName(this.kmallocClass(sheafBytes)));
    const barnCache = this.kmallocIds.get(kmallocName(this.kmallocClass(NODE_BARN_SIZE)));
    if (memCache === undefined || barnCache === undefined) {
      throw new AllocatorError('config', `cache ${c.name}: sheaves are kmalloc'ed, but the kmalloc caches do not exist yet`, { policy: this.policy, op: 'kmem_cache_create' });
    }
    const sc = new SheafCache(c.id, capacity, memCache, sheafBytes, barnCache, this.machine.ctx.nrCpus, this.machine.layout.nodes.length);
    let ok = true;
    for (let node = 0; node < sc.barnAddr.length && ok; node++) {
      sc.barnAddr[node] = super.alloc(barnCache, GFP_KERNEL, NODE_BARN_SIZE);
      ok = sc.barnAddr[node] !== 0;
    }
    for (let cpu = 0; cpu < sc.main.length && ok; cpu++) {
      sc.main[cpu] = this.allocEmptySheaf(sc, GFP_KERNEL);
      ok = sc.main[cpu]! >= 0;
    }
    if (!ok) {
      this.releaseSheaves(sc);
      this.machine.log.printk(`SLUB: ${c.name}: no memory for per-CPU sheaves, created without them`);
      return;
    }
    this.sheafCaches[c.id] = sc;
  }

  /** `pcs_destroy` and the barns of `free_kmem_cache_nodes` (everything already flushed). */
  private releaseSheaves(sc: SheafCache): void {
    for (let cpu = 0; cpu < sc.main.length; cpu++) {
      if (sc.main[cpu]! >= 0) this.freeEmptySheaf(sc, sc.main[cpu]!);
      sc.main[cpu] = NONE;
    }
    for (let node = 0; node < sc.barnAddr.length; node++) {
      if (sc.barnAddr[node]) super.free(sc.barnCache, sc.barnAddr[node]!);
      sc.barnAddr[node] = 0;
    }
  }

  // ------------------------------------------------------- sheaf memory

  /** Hook: pops the top object of sheaf `s` (`objects[--size]`). Mutants override it. */
  protected sheafPop(s: number): number {
    const t = this.table;
    const n = --t.size[s]!;
    this.sheafCaches[t.cache[s]!]!.stats[SLOT_ACCESSES]!++;
    return this.machine.mem.read64(this.slotPhys(s, n));
  }

  /** Hook: pushes `obj` on sheaf `s` (`objects[size++] = obj`). Mutants override it. */
  protected sheafPush(s: number, obj: number): void {
    const t = this.table;
    this.machine.mem.write64(this.slotPhys(s, t.size[s]!++), obj);
    this.sheafCaches[t.cache[s]!]!.stats[SLOT_ACCESSES]!++;
  }

  private slotPhys(s: number, i: number): number {
    return this.table.addr[s]! - PAGE_OFFSET + SHEAF_HEADER_SIZE + i * SHEAF_SLOT_SIZE;
  }

  /** `alloc_empty_sheaf`: a zeroed kmalloc object for the sheaf; -1 when out of memory. */
  private allocEmptySheaf(sc: SheafCache, gfp: Gfp): number {
    const addr = super.alloc(sc.memCache, gfp | __GFP_ZERO, sc.sheafBytes);
    if (addr === 0) return NONE;
    const t = this.table;
    const s = t.take();
    this.table.addr[s] = addr;
    this.table.size[s] = 0;
    this.table.cache[s] = sc.id;
    this.table.next[s] = NONE;
    sc.stats[SHEAF_ALLOC]!++;
    return s;
  }

  /** `free_empty_sheaf`: kfree of the sheaf's object. */
  private freeEmptySheaf(sc: SheafCache, s: number): void {
    super.free(sc.memCache, this.table.addr[s]!);
    this.table.release(s);
    sc.stats[SHEAF_FREE]!++;
  }

  /**
   * `refill_sheaf`: fills sheaf `s` to capacity from the slabs, one object at
   * a time through the CPU slab (`__kmem_cache_alloc_bulk`), all or nothing:
   * when an object cannot be had, those taken go back. May reach the page
   * allocator, and through direct reclaim a shrink of this very cache, so
   * `s` must be on no list meanwhile.
   */
  private refillSheaf(c: SlubCache, sc: SheafCache, s: number, gfp: Gfp): boolean {
    const toFill = sc.capacity - this.table.size[s]!;
    const first = this.table.size[s]!;
    for (let i = 0; i < toFill; i++) {
      const obj = this.slabAllocObject(c, gfp);
      if (obj === 0) {
        this.flushSlots(c, sc, s, first, first + i);
        return false;
      }
      this.machine.mem.write64(this.slotPhys(s, first + i), obj);
    }
    sc.stats[SLOT_ACCESSES]! += toFill;
    this.table.size[s] = first + toFill;
    sc.stats[SHEAF_REFILL]! += toFill;
    return true;
  }

  /** `alloc_full_sheaf`. */
  private allocFullSheaf(c: SlubCache, sc: SheafCache, gfp: Gfp): number {
    const s = this.allocEmptySheaf(sc, gfp);
    if (s < 0) return NONE;
    if (this.refillSheaf(c, sc, s, gfp)) return s;
    this.freeEmptySheaf(sc, s);
    return NONE;
  }

  /**
   * Gives the objects in slots [from, to) of sheaf `s` back to their slabs,
   * the highest slot first (`__kmem_cache_free_bulk`). A slot that does not
   * point into the cache's slabs is where the kernel would oops.
   */
  private flushSlots(c: SlubCache, sc: SheafCache, s: number, from: number, to: number): void {
    for (let i = to - 1; i >= from; i--) {
      const obj = this.machine.mem.read64(this.slotPhys(s, i));
      this.slabFreeObject(c, this.slabOfSheafObject(c, s, obj), obj);
    }
    sc.stats[SLOT_ACCESSES]! += to - from;
  }

  /** The slab of an object found in a sheaf. @throws AllocatorError `corruption` when it lies in none of the cache's slabs */
  private slabOfSheafObject(c: SlubCache, s: number, obj: number): number {
    const pfn = this.slabPages.headIfCache(obj, c.id);
    if (pfn >= 0) return pfn;
    throw new AllocatorError('corruption', `general protection fault: a sheaf of ${c.name} at ${kptr(this.table.addr[s]!)} holds ${kptr(obj)}, which is not in the cache's slabs — a stray write corrupted it`, {
      policy: this.policy,
      op: 'kmem_cache_alloc',
      addr: obj,
    });
  }

  /** `sheaf_flush_unused`: every object of a sheaf that is on no CPU goes back to the slabs. */
  private sheafFlushUnused(c: SlubCache, sc: SheafCache, s: number): void {
    const n = this.table.size[s]!;
    if (n === 0) return;
    sc.stats[SHEAF_FLUSH]! += n;
    this.flushSlots(c, sc, s, 0, n);
    this.table.size[s] = 0;
  }

  /** `sheaf_flush_main`: this CPU's main sheaf back to the slabs in batches of PCS_BATCH_MAX; true as the trylock always succeeds here. */
  private sheafFlushMain(c: SlubCache, sc: SheafCache): boolean {
    const s = sc.main[this.machine.ctx.cpu]!;
    do {
      const batch = Math.min(PCS_BATCH_MAX, this.table.size[s]!);
      const rest = this.table.size[s]! - batch;
      this.table.size[s] = rest;
      this.flushSlots(c, sc, s, rest, rest + batch);
      sc.stats[SHEAF_FLUSH]! += batch;
    } while (this.table.size[s] > 0);
    return true;
  }

  // ---------------------------------------------------------------- barn

  private cpuNode(cpu: number): number {
    return this.machine.layout.cpuNode[cpu]!;
  }

  /** `barn_get_empty_sheaf`. */
  private barnGetEmpty(sc: SheafCache, node: number): number {
    if (sc.nrEmpty[node] === 0) return NONE;
    const s = sc.emptyHead[node]!;
    sc.emptyHead[node] = this.table.next[s]!;
    this.table.next[s] = NONE;
    sc.nrEmpty[node]!--;
    return s;
  }

  /** `barn_put_empty_sheaf` (no limit: used where an action is undone). */
  private barnPutEmpty(sc: SheafCache, node: number, s: number): void {
    this.table.next[s] = sc.emptyHead[node]!;
    sc.emptyHead[node] = s;
    sc.nrEmpty[node]!++;
  }

  /** `barn_put_full_sheaf` (no limit, likewise). */
  private barnPutFull(sc: SheafCache, node: number, s: number): void {
    this.table.next[s] = sc.fullHead[node]!;
    sc.fullHead[node] = s;
    sc.nrFull[node]!++;
  }

  /** `barn_replace_empty_sheaf`: a full sheaf for the empty one, or -1. */
  private barnReplaceEmpty(sc: SheafCache, node: number, empty: number): number {
    if (sc.nrFull[node] === 0) return NONE;
    const full = sc.fullHead[node]!;
    sc.fullHead[node] = this.table.next[full]!;
    this.table.next[full] = NONE;
    sc.nrFull[node]!--;
    this.barnPutEmpty(sc, node, empty);
    return full;
  }

  /** `barn_replace_full_sheaf`: an empty sheaf for the full one; E2BIG over MAX_FULL_SHEAVES, ENOMEM with no empty sheaf. */
  private barnReplaceFull(sc: SheafCache, node: number, full: number): number {
    if (sc.nrFull[node]! >= MAX_FULL_SHEAVES) return E2BIG;
    if (sc.nrEmpty[node] === 0) return ENOMEM;
    const empty = this.barnGetEmpty(sc, node);
    this.barnPutFull(sc, node, full);
    return empty;
  }

  /** `barn_shrink`: full sheaves flushed to the slabs, every sheaf freed. */
  private barnShrink(c: SlubCache, sc: SheafCache, node: number): void {
    const full = sc.fullHead[node]!;
    const empty = sc.emptyHead[node]!;
    sc.fullHead[node] = NONE;
    sc.emptyHead[node] = NONE;
    sc.nrFull[node] = 0;
    sc.nrEmpty[node] = 0;
    let guard = this.table.length;
    for (let s = full; s >= 0 && guard-- > 0; ) {
      const next = this.table.next[s]!;
      this.sheafFlushUnused(c, sc, s);
      this.freeEmptySheaf(sc, s);
      s = next;
    }
    guard = this.table.length;
    for (let s = empty; s >= 0 && guard-- > 0; ) {
      const next = this.table.next[s]!;
      this.freeEmptySheaf(sc, s);
      s = next;
    }
  }

  // --------------------------------------------------------------- alloc

  /** {@inheritDoc SlabBackend.alloc} — from the per-CPU sheaves first when the cache has them (`slab_alloc_node`). */
  override alloc(id: number, gfp: Gfp, reqSize?: number): number {
    const sc = this.sheafCaches[id];
    if (sc === undefined) return super.alloc(id, gfp, reqSize);
    const c = this.cache(id, 'kmem_cache_alloc');
    const cpu = this.machine.ctx.cpu;
    let fast = this.table.size[sc.main[cpu]!]! > 0;
    let obj = this.allocFromPcs(c, sc, gfp);
    let pfn: number;
    if (obj !== 0) pfn = this.slabOfSheafObject(c, sc.main[this.machine.ctx.cpu]!, obj);
    else {
      sc.stats[ALLOC_FALLBACK]!++;
      fast = c.cpuFreelist[cpu] !== 0;
      obj = this.slabAllocObject(c, gfp);
      if (obj === 0) return 0;
      pfn = this.slabPages.headIfCache(obj, c.id);
    }
    if (fast) this.opCounters.fastAllocs++;
    this.opCounters.allocs++;
    c.live++;
    this.markLive(c, pfn, obj, true);
    if (gfp & __GFP_ZERO) this.machine.mem.fill(obj - PAGE_OFFSET, c.objectSize, 0);
    return obj;
  }

  /** `alloc_from_pcs`: an object from this CPU's main sheaf, replacing an empty main first; 0 when the sheaves cannot serve. */
  private allocFromPcs(c: SlubCache, sc: SheafCache, gfp: Gfp): number {
    const cpu = this.machine.ctx.cpu;
    if (this.table.size[sc.main[cpu]!] === 0) {
      if (!this.replaceEmptyMain(c, sc, gfp)) return 0;
    } else sc.stats[ALLOC_MAIN_HIT]!++;
    const obj = this.sheafPop(sc.main[this.machine.ctx.cpu]!);
    sc.stats[ALLOC_PCS]!++;
    return obj;
  }

  /** `__pcs_replace_empty_main`: true when main now has objects. */
  private replaceEmptyMain(c: SlubCache, sc: SheafCache, gfp: Gfp): boolean {
    const t = this.table;
    let cpu = this.machine.ctx.cpu;
    const spare = sc.spare[cpu]!;
    if (spare >= 0 && t.size[spare]! > 0) {
      sc.spare[cpu] = sc.main[cpu]!;
      sc.main[cpu] = spare;
      return true;
    }
    const node = this.cpuNode(cpu);
    const full = this.barnReplaceEmpty(sc, node, sc.main[cpu]!);
    if (full >= 0) {
      sc.stats[BARN_GET]!++;
      sc.main[cpu] = full;
      return true;
    }
    sc.stats[BARN_GET_FAIL]!++;
    if (!gfpAllowsBlocking(gfp)) return false;
    let empty: number;
    if (spare >= 0) {
      empty = spare;
      sc.spare[cpu] = NONE;
    } else empty = this.barnGetEmpty(sc, node);
    // local_unlock: the refill may enter direct reclaim, which may shrink this cache.
    let filled = NONE;
    if (empty >= 0) {
      if (this.refillSheaf(c, sc, empty, gfp)) filled = empty;
      else this.freeEmptySheaf(sc, empty);
    } else filled = this.allocFullSheaf(c, sc, gfp);
    if (filled < 0) return false;
    // local_lock again: look at the sheaves afresh.
    cpu = this.machine.ctx.cpu;
    const main = sc.main[cpu]!;
    if (this.table.size[main] === 0) {
      this.barnPutEmpty(sc, node, main);
      sc.main[cpu] = filled;
      return true;
    }
    const sp = sc.spare[cpu]!;
    if (sp < 0) {
      sc.spare[cpu] = filled;
      return true;
    }
    if (this.table.size[sp] === 0) {
      this.barnPutEmpty(sc, node, sp);
      sc.spare[cpu] = filled;
      return true;
    }
    this.barnPutFull(sc, node, filled);
    sc.stats[BARN_PUT]!++;
    return true;
  }

  // ---------------------------------------------------------------- free

  /** {@inheritDoc SlabBackend.free} — into this CPU's sheaves when the cache has them and the object is local (`slab_free`). */
  override free(id: number, addr: number): void {
    const sc = this.sheafCaches[id];
    if (sc === undefined) {
      super.free(id, addr);
      return;
    }
    const c = this.cache(id, 'kmem_cache_free');
    const pfn = this.detect ? this.checkObject(c, addr) : this.slabOfUnchecked(c, addr);
    this.opCounters.frees++;
    c.live--;
    this.markLive(c, pfn, addr, false);
    const cpu = this.machine.ctx.cpu;
    if (this.machine.layout.nodeOf(pfn) === this.cpuNode(cpu)) {
      const fast = this.table.size[sc.main[cpu]!]! < sc.capacity;
      if (this.freeToPcs(c, sc, addr)) {
        if (fast) {
          this.opCounters.fastFrees++;
          sc.stats[FREE_MAIN_HIT]!++;
        }
        return;
      }
      sc.stats[FREE_FALLBACK]!++;
    } else sc.stats[FREE_REMOTE]!++;
    if (this.slabFreeObject(c, pfn, addr)) this.opCounters.fastFrees++;
  }

  /** `free_to_pcs`: false when no sheaf can take the object. */
  private freeToPcs(c: SlubCache, sc: SheafCache, obj: number): boolean {
    if (this.table.size[sc.main[this.machine.ctx.cpu]!] === sc.capacity && !this.replaceFullMain(c, sc)) return false;
    this.sheafPush(sc.main[this.machine.ctx.cpu]!, obj);
    sc.stats[FREE_PCS]!++;
    return true;
  }

  /** `__pcs_replace_full_main`: true when main now has room. */
  private replaceFullMain(c: SlubCache, sc: SheafCache): boolean {
    const t = this.table;
    for (;;) {
      const cpu = this.machine.ctx.cpu;
      const node = this.cpuNode(cpu);
      const spare = sc.spare[cpu]!;
      let putFail = false;
      if (spare < 0) {
        const empty = this.barnGetEmpty(sc, node);
        if (empty >= 0) {
          sc.spare[cpu] = sc.main[cpu]!;
          sc.main[cpu] = empty;
          return true;
        }
      } else if (t.size[spare]! < sc.capacity) {
        sc.spare[cpu] = sc.main[cpu]!;
        sc.main[cpu] = spare;
        return true;
      } else {
        const empty = this.barnReplaceFull(sc, node, sc.main[cpu]!);
        if (empty >= 0) {
          sc.stats[BARN_PUT]!++;
          sc.main[cpu] = empty;
          return true;
        }
        if (empty === E2BIG) {
          // The spare (full, too) goes to the slabs and comes back as the empty sheaf.
          sc.stats[BARN_PUT_FAIL]!++;
          sc.spare[cpu] = NONE;
          this.sheafFlushUnused(c, sc, spare);
          this.installEmptySheaf(sc, spare, node);
          return true;
        }
        putFail = true;
      }
      const empty = this.allocEmptySheaf(sc, GFP_NOWAIT);
      if (empty >= 0) {
        this.installEmptySheaf(sc, empty, node);
        return true;
      }
      if (putFail) sc.stats[BARN_PUT_FAIL]!++;
      if (!this.sheafFlushMain(c, sc)) return false;
      if (t.size[sc.main[this.machine.ctx.cpu]!] !== sc.capacity) return true;
    }
  }

  /** `__pcs_install_empty_sheaf`: main full, `empty` obtained while unlocked. */
  private installEmptySheaf(sc: SheafCache, empty: number, node: number): void {
    const t = this.table;
    const cpu = this.machine.ctx.cpu;
    const main = sc.main[cpu]!;
    const spare = sc.spare[cpu]!;
    if (spare < 0) {
      sc.spare[cpu] = main;
      sc.main[cpu] = empty;
    } else if (t.size[main]! < sc.capacity) {
      this.barnPutEmpty(sc, node, empty);
    } else if (t.size[spare]! < sc.capacity) {
      sc.main[cpu] = spare;
      sc.spare[cpu] = main;
      this.barnPutEmpty(sc, node, empty);
    } else {
      this.barnPutFull(sc, node, main);
      sc.stats[BARN_PUT]!++;
      sc.main[cpu] = empty;
    }
  }

  // ------------------------------------------------------ cache lifecycle

  /**
   * `pcs_flush_all` on every CPU (run on that CPU, as `flush_cpu_slab` is),
   * then, when `barns`, `barn_shrink` on every node.
   */
  private flushSheaves(c: SlubCache, sc: SheafCache, barns: boolean): void {
    const ctx = this.machine.ctx;
    const home = ctx.cpu;
    try {
      for (let cpu = 0; cpu < sc.main.length; cpu++) {
        ctx.setCpu(cpu);
        const spare = sc.spare[cpu]!;
        sc.spare[cpu] = NONE;
        if (spare >= 0) {
          this.sheafFlushUnused(c, sc, spare);
          this.freeEmptySheaf(sc, spare);
        }
        this.sheafFlushMain(c, sc);
      }
    } finally {
      ctx.setCpu(home);
    }
    if (barns) for (let node = 0; node < sc.fullHead.length; node++) this.barnShrink(c, sc, node);
  }

  /** {@inheritDoc SlabBackend.shrink} — every CPU's sheaves and every barn first (`__kmem_cache_do_shrink`). */
  override shrink(id: number): number {
    const sc = this.sheafCaches[id];
    if (sc !== undefined) this.flushSheaves(this.cache(id, 'kmem_cache_shrink'), sc, true);
    return super.shrink(id);
  }

  /** {@inheritDoc SlabBackend.validate} — the CPUs' sheaves flushed first (`validate_slab_cache` → `flush_all`); barns keep theirs. */
  override validate(id: number): number {
    const sc = this.sheafCaches[id];
    if (sc !== undefined) this.flushSheaves(this.cache(id, 'validate'), sc, false);
    return super.validate(id);
  }

  /** {@inheritDoc SlabBackend.destroyCache} — and, when nothing is left, the main sheaves and barns (`__kmem_cache_release`). */
  override destroyCache(id: number): number {
    const sc = this.sheafCaches[id];
    const live = super.destroyCache(id);
    if (live === 0 && sc !== undefined) {
      this.releaseSheaves(sc);
      this.retired.set(id, sc.stats);
      this.sheafCaches[id] = undefined;
    }
    return live;
  }

  // -------------------------------------------------------------- report

  /** Backend id of the live cache called `name` that has sheaves, or -1. */
  private sheafCacheNamed(name: string): number {
    return this.caches.findIndex((c, id) => !c.destroyed && c.name === name && this.sheafCaches[id] !== undefined);
  }

  /** `/sys/kernel/slab/NAME/sheaf_capacity`: 0 for a cache without sheaves (or none of that name). */
  sheafCapacity(name: string): number {
    const id = this.sheafCacheNamed(name);
    return id < 0 ? 0 : this.sheafCaches[id]!.capacity;
  }

  /**
   * The sheaf counters of cache `name`, or summed over every cache (ever
   * created, destroyed ones included) when no name is given.
   */
  sheafStats(name?: string): SheafStats {
    const sum = new Float64Array(NR_STATS);
    const ids = name === undefined ? this.sheafCaches.map((_, id) => id) : [this.sheafCacheNamed(name)];
    for (const id of ids) {
      const st = this.sheafCaches[id]?.stats ?? this.retired.get(id);
      if (st) for (let i = 0; i < NR_STATS; i++) sum[i]! += st[i]!;
    }
    return {
      allocCpuSheaf: sum[ALLOC_PCS]!,
      freeCpuSheaf: sum[FREE_PCS]!,
      allocMainHits: sum[ALLOC_MAIN_HIT]!,
      freeMainHits: sum[FREE_MAIN_HIT]!,
      sheafRefill: sum[SHEAF_REFILL]!,
      sheafFlush: sum[SHEAF_FLUSH]!,
      sheafAlloc: sum[SHEAF_ALLOC]!,
      sheafFree: sum[SHEAF_FREE]!,
      barnGet: sum[BARN_GET]!,
      barnGetFail: sum[BARN_GET_FAIL]!,
      barnPut: sum[BARN_PUT]!,
      barnPutFail: sum[BARN_PUT_FAIL]!,
      allocFallback: sum[ALLOC_FALLBACK]!,
      freeFallback: sum[FREE_FALLBACK]!,
      freeRemote: sum[FREE_REMOTE]!,
      slotAccesses: sum[SLOT_ACCESSES]!,
    };
  }

  /** A snapshot of the sheaves of cache `name`; undefined when it has none. */
  sheafState(name: string): SheafState | undefined {
    const id = this.sheafCacheNamed(name);
    if (id < 0) return undefined;
    const sc = this.sheafCaches[id]!;
    const size = (s: number): number => this.table.size[s]!;
    return {
      capacity: sc.capacity,
      main: Array.from(sc.main, size),
      spare: Array.from(sc.spare, (s) => (s < 0 ? null : size(s))),
      barnFull: Array.from(sc.nrFull),
      barnEmpty: Array.from(sc.nrEmpty),
      mainAt: Array.from(sc.main, (s) => this.table.addr[s]!),
    };
  }

  // ---------------------------------------------------------- invariants

  /** {@inheritDoc InvariantChecked.checkInvariants} — SLUB's, then SH1–SH5. */
  override checkInvariants(): Violation[] {
    this.scratch = { inSheaves: new Map(), freeInSlab: new Map() };
    try {
      const out = super.checkInvariants();
      this.checkSheaves(out);
      return out;
    } finally {
      this.scratch = undefined;
    }
  }

  /** Objects in the sheaves of `c`, for S3 (memoized during a check). */
  protected override objectsHeldAbove(c: SlubCache): ReadonlySet<number> | undefined {
    const sc = this.sheafCaches[c.id];
    if (sc === undefined) return undefined;
    const memo = this.scratch?.inSheaves.get(c.id);
    if (memo) return memo;
    const set = new Set<number>();
    for (const { s } of this.sheavesOf(sc)) {
      const n = Math.min(Math.max(this.table.size[s] ?? 0, 0), sc.capacity);
      for (let i = 0; i < n; i++) set.add(this.machine.mem.read64(this.slotPhys(s, i)));
    }
    this.scratch?.inSheaves.set(c.id, set);
    return set;
  }

  /** Every sheaf of a cache with where it is; barn walks stop after as many steps as there are sheaf slots. */
  private sheavesOf(sc: SheafCache): { s: number; where: string; list?: 'full' | 'empty'; node?: number }[] {
    const out: { s: number; where: string; list?: 'full' | 'empty'; node?: number }[] = [];
    const valid = (s: number): boolean => Number.isInteger(s) && s >= 0 && s < this.table.length;
    for (let cpu = 0; cpu < sc.main.length; cpu++) {
      if (valid(sc.main[cpu]!)) out.push({ s: sc.main[cpu]!, where: `CPU ${cpu}'s main sheaf` });
      if (valid(sc.spare[cpu]!)) out.push({ s: sc.spare[cpu]!, where: `CPU ${cpu}'s spare sheaf` });
    }
    for (let node = 0; node < sc.fullHead.length; node++) {
      for (const list of ['full', 'empty'] as const) {
        let guard = this.table.length;
        for (let s = list === 'full' ? sc.fullHead[node]! : sc.emptyHead[node]!; valid(s) && guard-- > 0; s = this.table.next[s]!) {
          out.push({ s, where: `node ${node}'s barn (${list} list)`, list, node });
        }
      }
    }
    return out;
  }

  /** Free objects of slab `pfn`: its freelist, and its CPU's freelist when it is a CPU slab (bounded walks; SLUB's own checks report bad links). */
  private freeInSlab(c: SlubCache, pfn: number): Set<number> {
    const memo = this.scratch?.freeInSlab.get(pfn);
    if (memo) return memo;
    const set = new Set<number>();
    const objects = this.slabObjects[pfn]!;
    const walk = (start: number): void => {
      for (let o = start, n = 0; o !== 0 && n <= objects && this.slabPages.headIfCache(o, c.id) === pfn; n++) {
        set.add(o);
        o = this.getFreePointer(c, o);
      }
    };
    walk(this.slabFree[pfn]!);
    const cpu = c.cpuSlab.indexOf(pfn);
    if (cpu >= 0) walk(c.cpuFreelist[cpu]!);
    this.scratch?.freeInSlab.set(pfn, set);
    return set;
  }

  /** SH1–SH5 for every cache with sheaves. */
  private checkSheaves(out: Violation[]): void {
    const add = (v: Violation): void => {
      if (out.length < MAX_VIOLATIONS) out.push(v);
    };
    const placed = new Map<number, string>();
    // Slabs of the sheaf caches, from the frames (one pass).
    const slabs = new Map<number, number[]>();
    for (const r of this.machine.layout.memory) {
      for (let pfn = r.start; pfn < r.end; pfn++) {
        const addr = PAGE_OFFSET + pfn * PAGE_SIZE;
        const id = this.slabPages.cacheOf(addr);
        if (id < 0 || this.sheafCaches[id] === undefined || this.slabPages.headOf(addr) !== pfn) continue;
        (slabs.get(id) ?? slabs.set(id, []).get(id)!).push(pfn);
      }
    }
    this.sheafCaches.forEach((sc, id) => {
      if (sc === undefined) return;
      const c = this.caches[id]!;
      const kc = this.caches[sc.memCache]!;
      // SH3: barn counts.
      const sheaves = this.sheavesOf(sc);
      for (let node = 0; node < sc.fullHead.length; node++) {
        const full = sheaves.filter((x) => x.node === node && x.list === 'full').length;
        const empty = sheaves.filter((x) => x.node === node && x.list === 'empty').length;
        if (full !== sc.nrFull[node]) add({ code: 'SH3', message: `${c.name} node ${node}: barn nr_full ${sc.nrFull[node]} but the full list holds ${full}${full >= this.table.length ? ' (cycle?)' : ''}` });
        if (empty !== sc.nrEmpty[node]) add({ code: 'SH3', message: `${c.name} node ${node}: barn nr_empty ${sc.nrEmpty[node]} but the empty list holds ${empty}${empty >= this.table.length ? ' (cycle?)' : ''}` });
      }
      // SH4: a main per CPU; one place per sheaf; memory.
      for (let cpu = 0; cpu < sc.main.length; cpu++) if (!(sc.main[cpu]! >= 0)) add({ code: 'SH4', message: `${c.name}: CPU ${cpu} has no main sheaf` });
      const objs = new Set<number>();
      for (const { s, where, list } of sheaves) {
        const before = placed.get(s);
        if (before !== undefined) add({ code: 'SH4', message: `sheaf #${s} is both ${before} and ${where} of ${c.name}` });
        placed.set(s, `${where} of ${c.name}`);
        if (this.table.cache[s] !== id) add({ code: 'SH4', message: `sheaf #${s}, ${where} of ${c.name}, names cache #${this.table.cache[s]}` });
        const addr = this.table.addr[s]!;
        const mpfn = this.slabPages.headIfCache(addr, sc.memCache);
        if (mpfn < 0 || this.objectStart(addr) !== addr || !this.isLive(kc, mpfn, addr)) {
          add({ code: 'SH4', message: `sheaf #${s}, ${where} of ${c.name}: its memory ${kptr(addr)} is not a live object of ${kc.name}` });
        } else if (kc.objectSize < SHEAF_HEADER_SIZE + sc.capacity * SHEAF_SLOT_SIZE) {
          add({ code: 'SH4', message: `sheaf #${s} of ${c.name}: ${kc.name} objects hold fewer than ${sc.capacity} slots` });
        }
        // SH2: sizes.
        const n = this.table.size[s]!;
        if (n < 0 || n > sc.capacity) add({ code: 'SH2', message: `${where} of ${c.name} holds ${n} objects, capacity ${sc.capacity}` });
        if (list === 'full' && n !== sc.capacity) add({ code: 'SH2', message: `${where} of ${c.name} holds a sheaf of ${n} of ${sc.capacity}` });
        if (list === 'empty' && n !== 0) add({ code: 'SH2', message: `${where} of ${c.name} holds a sheaf of ${n} objects` });
        // SH1: contents.
        for (let i = 0; i < Math.min(Math.max(n, 0), sc.capacity); i++) {
          const obj = this.machine.mem.read64(this.slotPhys(s, i));
          const pfn = this.slabPages.headIfCache(obj, id);
          const problem =
            pfn < 0 || this.objectStart(obj) !== obj
              ? 'is not an object of the cache'
              : this.isLive(c, pfn, obj)
                ? 'is allocated to a client'
                : this.freeInSlab(c, pfn).has(obj)
                  ? 'is also on a freelist'
                  : objs.has(obj)
                    ? 'is in the sheaves twice'
                    : undefined;
          if (problem) add({ code: 'SH1', message: `slot ${i} of ${where} of ${c.name}: ${kptr(obj)} ${problem}`, details: { obj } });
          objs.add(obj);
        }
      }
      // SH5: held + free + in sheaves = objects.
      let total = 0;
      let free = 0;
      for (const pfn of slabs.get(id) ?? []) {
        total += this.slabObjects[pfn]!;
        free += this.freeInSlab(c, pfn).size;
      }
      if (c.live + free + objs.size !== total) {
        add({ code: 'SH5', message: `${c.name}: ${c.live} held + ${free} on freelists + ${objs.size} in sheaves = ${c.live + free + objs.size}, but its slabs hold ${total} objects` });
      }
    });
  }
}

/**
 * Strict 6.18: sheaves only for the caches whose 6.18 callers ask for them
 * ({@link SHEAF_CAPACITY_6_18}: `vm_area_struct` and `maple_node`, 32
 * each); every other cache is plain SLUB and may merge.
 */
export class Sheaves618SlubBackend extends SheavesSlubBackend {
  override readonly policy: string = 'slub-sheaves-6.18';

  /** Only the caches a 6.18 caller creates with `kmem_cache_args.sheaf_capacity`. */
  protected override asksForSheaves(name: string): boolean {
    return SHEAF_CAPACITY_6_18[name] !== undefined;
  }

  /** The capacity that caller passes. */
  protected override sheafCapacityFor(name: string): number {
    return SHEAF_CAPACITY_6_18[name] ?? 0;
  }
}
