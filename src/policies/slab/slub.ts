/**
 * How SLUB works here (Linux 6.8, mm/slub.c).
 *
 * A cache's objects live in slabs: blocks of `1 << order` pages from the page
 * allocator. Each object's free pointer — the address of the next free
 * object, 0 at the end — is stored in simulated memory inside the free object
 * at `offset` (`ALIGN_DOWN(object_size / 2, 8)`, or just after the object
 * when the cache has a constructor, poisoning or RCU), so a client's stray
 * write can corrupt the freelist exactly as on a real machine. A new slab
 * links its objects in ascending address order.
 *
 * Each CPU owns at most one slab (`c->slab`, "frozen") and that slab's
 * objects as its lockless freelist (`c->freelist`): allocation pops the
 * head, a free of an object of this CPU's slab pushes it (LIFO). Frees of
 * other objects go to the object's own slab freelist (`__slab_free`); a slab
 * that was full then joins this CPU's partial list (`put_cpu_partial`), and
 * when that list already holds `cpu_partial_slabs` slabs it is moved to the
 * node's partial list first (empty slabs beyond `min_partial` are freed).
 * When the CPU freelist runs dry the CPU takes the rest of its slab's
 * freelist (remote frees), then a slab from its partial list, then slabs
 * from the node partial list (the first becomes the CPU slab, more go to the
 * CPU partial list until more than half of `cpu_partial_slabs` moved), then
 * a new slab (preferred order with __GFP_NORETRY, else the minimum order).
 * A node-partial slab that becomes empty is freed once `nr_partial >=
 * min_partial`. Full slabs are on no list (non-debug SLUB). Since 6.8
 * CPU-partial slabs are not frozen.
 *
 * Geometry: `calculate_sizes` and the 6.7+ `calculate_order` (min_objects =
 * 4 · (fls(cpus) + 1), waste ≤ 1/16, 1/8, 1/4, 1/2 of the slab, order ≤ 3).
 *
 * Layers it may call: the page allocator (through SlabPages).
 *
 * Debug flags (SLAB_RED_ZONE, SLAB_POISON, SLAB_STORE_USER) shape the
 * object layout exactly as `calculate_sizes` does — right red zone, free
 * pointer after the object, two 32-byte tracks (+4 for kmalloc), left red
 * zone of ALIGN(8, align) before each object — so slabinfo and addresses
 * match a `slub_debug=FZPU` kernel.
 *
 * The SLUB_DEBUG checks are performed (./slub-debug.ts): a debug cache's
 * objects are written with red zones, poison and alloc/free tracks when
 * they are created, allocated and freed; `check_object` runs on every
 * allocation and free (a free whose red zones are damaged is reported and the
 * object leaked, as `free_debug_processing` does), and `validate` walks each
 * slab's freelist as `on_freelist` does.
 *
 * Misuse checks on free (double free, a pointer that is not an object start,
 * a foreign pointer) do not walk freelists: the simulator keeps its own
 * bitmap of allocated objects per slab (`liveMap`, not SLUB state), so they
 * are O(1). With `debug.detect` false they are skipped and the free is
 * carried out as a non-debug kernel would.
 *
 * Known limitations: the debug processing runs on the per-CPU fast path
 * too (Linux sends debug caches down the slow path, so their fast-path
 * counts differ); no freelist randomisation or hardening, one node's
 * partial list per NUMA node but allocations always prefer the current CPU's
 * node, no sheaves.
 */

import { inject, injectable, optional } from 'inversify';
import type { KasanApi } from '../../interfaces/detectors.js';
import type { SystemConfig } from '../../interfaces/config.js';
import { AllocatorError } from '../../interfaces/errors.js';
import { GFP_KERNEL, __GFP_DIRECT_RECLAIM, __GFP_KSWAPD_RECLAIM, __GFP_NOFAIL, __GFP_NOMEMALLOC, __GFP_NORETRY, __GFP_NOWARN, __GFP_ZERO, type Gfp } from '../../interfaces/gfp.js';
import { MAX_VIOLATIONS, type Violation } from '../../interfaces/invariants.js';
import type { PageAllocator } from '../../interfaces/page-allocator.js';
import {
  SLAB_POISON,
  SLAB_RED_ZONE,
  SLAB_STORE_USER,
  SLAB_TYPESAFE_BY_RCU,
  type CacheCounters,
  type CacheSpec,
} from '../../interfaces/slab.js';
import { Cost, CostStruct } from '../../interfaces/cost.js';
import { CONFIG, KASAN, MACHINE, PAGE_ALLOCATOR } from '../../interfaces/tokens.js';
import { PAGE_OFFSET, PAGE_SIZE, alignUp, formatKernelAddr, getOrder, kptr } from '../../interfaces/units.js';
import type { Machine } from '../../interfaces/machine.js';
import { PG_SLAB, PG_TAIL, flagPairs, nextFlagged } from '../../machine/memmap.js';
import { SlabBackendBase, SlabLiveMap } from './backend-base.js';
import { grownTo } from '../../machine/grow.js';
import { calculateAlignment, fls } from './slab-math.js';
import { SLUB_DEBUG_FLAGS, SlubDebug, TRACK_ALLOC, TRACK_FREE, parseSlubDebug, slubDebugFlagsFor, type SlubDebugSpec } from './slub-debug.js';

/** `sizeof(struct track)` on 64-bit with CONFIG_STACKDEPOT. */
export const TRACK_SIZE = 32;
/** `slub_max_order` default (`PAGE_ALLOC_COSTLY_ORDER`). */
export const SLUB_MAX_ORDER = 3;
/** `MAX_OBJS_PER_PAGE`. */
const MAX_OBJS_PER_PAGE = 32767;
const MIN_PARTIAL = 5;
const MAX_PARTIAL = 10;
/** Where a slab is listed. */
const ON_NONE = 0;
const ON_NODE_PARTIAL = 1;
const ON_CPU_PARTIAL = 2;
export const ON_CPU = 3;

/** SLUB's `calculate_order` (6.7+): the slab order for objects of `size` with `cpus` present CPUs. */
export function slubOrder(size: number, cpus: number): number {
  let minObjects = 4 * (fls(cpus <= 1 ? 1 : cpus) + 1);
  const maxObjects = Math.max(Math.floor((PAGE_SIZE << SLUB_MAX_ORDER) / size), 1);
  minObjects = Math.min(minObjects, maxObjects);
  const minOrder = getOrder(minObjects * size);
  if ((PAGE_SIZE << minOrder) / size > MAX_OBJS_PER_PAGE) return getOrder(size * MAX_OBJS_PER_PAGE) - 1;
  for (const fraction of [16, 8, 4, 2]) {
    for (let order = minOrder; order <= SLUB_MAX_ORDER; order++) {
      const slabSize = PAGE_SIZE << order;
      if (slabSize % size <= slabSize / fraction) return order;
    }
  }
  return getOrder(size);
}

/** Per-cache SLUB state. */
export class SlubCache {
  readonly id: number;
  readonly name: string;
  readonly objectSize: number;
  readonly size: number;
  readonly inuse: number;
  readonly offset: number;
  /** Left red zone before each object (`red_left_pad`); objects start at slab base + redLeftPad + i × size. */
  readonly redLeftPad: number;
  readonly align: number;
  readonly order: number;
  readonly objects: number;
  readonly minOrder: number;
  readonly minPartial: number;
  readonly cpuPartial: number;
  readonly cpuPartialSlabs: number;
  readonly flags: number;
  /** The constructor run on each object of a new slab. */
  readonly ctor: ((obj: number) => void) | undefined;
  readonly kmalloc: boolean;
  // Per node.
  readonly nodePartial: number[];
  readonly nrPartial: Int32Array;
  readonly nrSlabs: Int32Array;
  readonly totalObjects: Int32Array;
  // Per CPU.
  readonly cpuSlab: Int32Array;
  readonly cpuFreelist: Float64Array;
  readonly cpuPartialHead: number[];
  readonly cpuPartialCount: Int32Array;
  /** Objects handed to clients. */
  live = 0;
  destroyed = false;
  /** Which objects of each slab a client holds (slot per slab in `slabSlot`). */
  readonly liveMap: SlabLiveMap;

  constructor(id: number, spec: CacheSpec, kmalloc: boolean, geo: Omit<SlubCache, 'id' | 'name' | 'flags' | 'ctor' | 'kmalloc' | 'nodePartial' | 'nrPartial' | 'nrSlabs' | 'totalObjects' | 'cpuSlab' | 'cpuFreelist' | 'cpuPartialHead' | 'cpuPartialCount' | 'live' | 'destroyed' | 'liveMap'>, machine: Machine) {
    this.id = id;
    this.name = spec.name;
    this.flags = spec.flags;
    this.ctor = spec.ctor;
    this.kmalloc = kmalloc;
    this.objectSize = geo.objectSize;
    this.size = geo.size;
    this.inuse = geo.inuse;
    this.offset = geo.offset;
    this.redLeftPad = geo.redLeftPad;
    this.align = geo.align;
    this.order = geo.order;
    this.objects = geo.objects;
    this.minOrder = geo.minOrder;
    this.minPartial = geo.minPartial;
    this.cpuPartial = geo.cpuPartial;
    this.cpuPartialSlabs = geo.cpuPartialSlabs;
    const nodes = machine.layout.nodes.length;
    const cpus = machine.opts.cpus;
    this.nodePartial = Array.from({ length: nodes }, () => machine.memmap.lists.newHead());
    this.nrPartial = new Int32Array(nodes);
    this.nrSlabs = new Int32Array(nodes);
    this.totalObjects = new Int32Array(nodes);
    this.cpuSlab = new Int32Array(cpus).fill(-1);
    this.cpuFreelist = new Float64Array(cpus);
    this.cpuPartialHead = Array.from({ length: cpus }, () => machine.memmap.lists.newHead());
    this.cpuPartialCount = new Int32Array(cpus);
    this.liveMap = new SlabLiveMap(geo.objects);
  }
}

/**
 * Scratch of {@link SlubBackend.checkInvariants}, shared by every backend
 * (checks are synchronous; a fuzz campaign builds hundreds of backends, and
 * per-instance scratch was allocated again by each one's first check):
 * (pfn, cache id) pairs of slab heads, the heads grouped by cache, and
 * freelist marks per object index with the tag of the last walk.
 */
const scratch = { ids: new Int32Array(512), heads: new Int32Array(256), marks: new Uint32Array(512), markTag: 0 };

/**
 * The SLUB backend.
 *
 * Invariants (checked by {@link SlubBackend.checkInvariants}):
 * 1. S1 Object addressing — every free pointer and every CPU freelist entry
 *    is slab base + i × size with i < objects.
 * 2. S2 Freelist — each slab's freelist (and the CPU freelist of its CPU
 *    slab) is acyclic and duplicate-free, walked at most `objects` steps;
 *    `inuse` = objects − free objects for slabs not owned by a CPU, and
 *    `inuse` = objects for CPU slabs.
 * 3. S3 Liveness — every object of a slab is either held by a client (its
 *    live-map bit) or free: on a freelist, or held by a per-CPU cache a
 *    subclass keeps above the slabs ({@link SlubBackend.objectsHeldAbove}) —
 *    never both, never neither.
 * 4. S4 Capacity — a slab holds `(PAGE_SIZE << order) / size` objects.
 * 5. S5 Lists — node-partial slabs have free objects and are counted in
 *    `nr_partial`; CPU-partial counts match the lists; no slab is on two
 *    lists; the per-node slab and object totals match the slabs found.
 * 6. S11 Page coupling — every frame of every slab carries PG_slab.
 */
@injectable()
export class SlubBackend extends SlabBackendBase<SlubCache> {
  readonly policy: string = 'slub';
  readonly kmallocMinSize = 8;
  readonly kmallocMaxCacheSize = 8192;
  readonly kmallocCacheFlags = 0;
  readonly hasSlabinfo = true;
  readonly mergeable: boolean = true;
  private readonly ctx: Machine['ctx'];
  // struct slab, by head pfn.
  protected readonly slabFree: Float64Array;
  protected readonly slabInuse: Uint16Array;
  protected readonly slabObjects: Uint16Array;
  protected readonly slabOrder: Uint8Array;
  protected readonly slabOn: Uint8Array;
  /** Slot of each slab (by head pfn) in its cache's live map. */
  private readonly slabSlot: Int32Array;
  private readonly nodeOfCpu: readonly number[];
  /** The `slub_debug=` option. */
  private readonly debugSpec: SlubDebugSpec | undefined;
  /** SLUB_DEBUG byte patterns and checks. */
  protected readonly debug: SlubDebug;
  /** The simulator's misuse checks on free (config `debug.detect`). */
  protected readonly detect: boolean;

  constructor(@inject(MACHINE) machine: Machine, @inject(CONFIG) config: SystemConfig, @inject(PAGE_ALLOCATOR) pages: PageAllocator, @inject(KASAN) @optional() kasan?: KasanApi) {
    super(machine, pages, kasan);
    this.debugSpec = config.debug.slubDebug === undefined ? undefined : parseSlubDebug(config.debug.slubDebug);
    this.debug = new SlubDebug(machine, machine.reports);
    this.detect = config.debug.detect !== false;
    this.ctx = machine.ctx;
    const n = machine.layout.nrPages;
    this.slabFree = new Float64Array(n);
    this.slabInuse = new Uint16Array(n);
    this.slabObjects = new Uint16Array(n);
    this.slabOrder = new Uint8Array(n);
    this.slabOn = new Uint8Array(n);
    this.slabSlot = new Int32Array(n);
    this.nodeOfCpu = machine.layout.cpuNode;
  }

  // ------------------------------------------------------------ geometry

  /** {@inheritDoc SlabBackend.createCache} */
  createCache(specIn: CacheSpec, kmalloc: boolean): number {
    // kmem_cache_flags: slub_debug= adds debug flags to matching caches.
    const spec = { ...specIn, flags: specIn.flags | slubDebugFlagsFor(this.debugSpec, specIn.name) };
    let align = spec.align || 8;
    if (kmalloc && (spec.size & (spec.size - 1)) === 0) align = Math.max(align, spec.size);
    align = calculateAlignment(spec.flags, align, spec.size);
    // calculate_sizes (v6.8), debug layout included.
    let size = alignUp(spec.size, 8);
    if (spec.flags & SLAB_RED_ZONE && size === spec.size) size += 8;
    const inuse = size;
    let offset: number;
    if (spec.flags & (SLAB_TYPESAFE_BY_RCU | SLAB_POISON) || spec.ctor || (spec.flags & SLAB_RED_ZONE && spec.size < 8) || (kmalloc && spec.flags & SLAB_STORE_USER)) {
      offset = size;
      size += 8;
    } else {
      offset = Math.floor(spec.size / 2 / 8) * 8;
    }
    if (spec.flags & SLAB_STORE_USER) {
      size += 2 * TRACK_SIZE;
      if (kmalloc) size += 4;
    }
    let redLeftPad = 0;
    if (spec.flags & SLAB_RED_ZONE) {
      size += 8;
      redLeftPad = alignUp(8, align);
      size += redLeftPad;
    }
    size = alignUp(size, align);
    const order = slubOrder(size, this.machine.opts.cpus);
    const objects = Math.floor((PAGE_SIZE << order) / size);
    if (objects < 1 || order > 10) {
      throw new AllocatorError('config', `cache ${spec.name}: objects of ${size} bytes do not fit a slab`, { policy: this.policy, op: 'kmem_cache_create', size: spec.size });
    }
    const minPartial = Math.min(MAX_PARTIAL, Math.max(MIN_PARTIAL, Math.floor(Math.floor(Math.log2(size)) / 2)));
    const cpuPartial = size >= PAGE_SIZE ? 6 : size >= 1024 ? 24 : size >= 256 ? 52 : 120;
    const c = new SlubCache(
      this.caches.length,
      spec,
      kmalloc,
      { objectSize: spec.size, size, inuse, offset, redLeftPad, align, order, objects, minOrder: getOrder(size), minPartial, cpuPartial, cpuPartialSlabs: Math.ceil((cpuPartial * 2) / objects) },
      this.machine,
    );
    return this.addCache(c, {
      objectSize: c.objectSize,
      size: c.size,
      align: c.align,
      objPerSlab: c.objects,
      order: c.order,
      usable: c.flags & (SLAB_RED_ZONE | SLAB_POISON) ? c.objectSize : c.flags & (SLAB_TYPESAFE_BY_RCU | SLAB_STORE_USER) ? c.inuse : c.size,
      tunables: [0, 0, 0],
      details: { offset: c.offset, inuse: c.inuse, redLeftPad: c.redLeftPad, debugFlags: c.flags & SLUB_DEBUG_FLAGS, minPartial: c.minPartial, cpuPartial: c.cpuPartial, cpuPartialSlabs: c.cpuPartialSlabs },
    });
  }

  // ---------------------------------------------------------- memory access

  private phys(addr: number): number {
    return addr - PAGE_OFFSET;
  }
  protected getFreePointer(c: SlubCache, obj: number): number {
    return this.machine.mem.read64(obj - PAGE_OFFSET + c.offset);
  }
  protected setFreePointer(c: SlubCache, obj: number, next: number): void {
    this.machine.mem.write64(obj - PAGE_OFFSET + c.offset, next);
  }
  private slabBase(pfn: number): number {
    return PAGE_OFFSET + pfn * PAGE_SIZE;
  }

  // --------------------------------------------------------------- slabs

  /** `allocate_slab`: preferred order with NORETRY, then the minimum order; objects linked ascending. */
  private newSlab(c: SlubCache, gfp: Gfp): number {
    let allocGfp = (gfp | __GFP_NOWARN) & ~__GFP_NOFAIL;
    if (allocGfp & __GFP_DIRECT_RECLAIM && c.order > c.minOrder) allocGfp = (allocGfp | __GFP_NOMEMALLOC | __GFP_NORETRY) & ~(__GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM);
    let order = c.order;
    let pfn = this.slabPages.alloc(c.id, order, allocGfp & ~__GFP_ZERO, c.flags);
    if (pfn < 0 && order > c.minOrder) {
      order = c.minOrder;
      pfn = this.slabPages.alloc(c.id, order, gfp & ~__GFP_ZERO, c.flags);
    }
    if (pfn < 0) return -1;
    const objects = Math.floor((PAGE_SIZE << order) / c.size);
    const base = this.slabBase(pfn) + c.redLeftPad;
    if (c.flags & SLUB_DEBUG_FLAGS) this.debug.initSlab(c, this.slabBase(pfn), PAGE_SIZE << order, objects);
    if (c.ctor) for (let i = 0; i < objects; i++) c.ctor(base + i * c.size);
    const stride = this.linkStride(c);
    for (let i = 0; i < objects; i++) this.setFreePointer(c, base + i * stride, i + 1 < objects ? base + (i + 1) * stride : 0);
    this.slabFree[pfn] = base;
    this.slabInuse[pfn] = 0;
    this.slabObjects[pfn] = objects;
    this.slabOrder[pfn] = order;
    this.slabOn[pfn] = ON_NONE;
    this.slabSlot[pfn] = c.liveMap.take();
    const node = this.machine.layout.nodeOf(pfn);
    c.nrSlabs[node]!++;
    c.totalObjects[node]! += objects;
    this.opCounters.slabsCreated++;
    return pfn;
  }

  /** Distance between objects when a new slab's freelist is built (`s->size`). Mutants override this. */
  protected linkStride(c: SlubCache): number {
    return c.size;
  }

  /** `discard_slab`. */
  protected discardSlab(c: SlubCache, pfn: number): void {
    const node = this.machine.layout.nodeOf(pfn);
    c.nrSlabs[node]!--;
    c.totalObjects[node]! -= this.slabObjects[pfn]!;
    this.slabOn[pfn] = ON_NONE;
    c.liveMap.release(this.slabSlot[pfn]!);
    this.opCounters.slabsFreed++;
    this.slabPages.free(pfn, this.slabOrder[pfn]!, c.flags);
  }

  private addPartial(c: SlubCache, pfn: number, tail: boolean): void {
    const node = this.machine.layout.nodeOf(pfn);
    const lists = this.machine.memmap.lists;
    if (tail) lists.addTail(c.nodePartial[node]!, pfn);
    else lists.addHead(c.nodePartial[node]!, pfn);
    c.nrPartial[node]!++;
    this.slabOn[pfn] = ON_NODE_PARTIAL;
  }

  private removePartial(c: SlubCache, pfn: number): void {
    this.machine.memmap.lists.del(pfn);
    c.nrPartial[this.machine.layout.nodeOf(pfn)]!--;
    this.slabOn[pfn] = ON_NONE;
  }

  /** `__put_partials`: CPU-partial slabs to the node list; empty ones beyond min_partial are freed. */
  private putPartials(c: SlubCache, cpu: number): void {
    const lists = this.machine.memmap.lists;
    const head = c.cpuPartialHead[cpu]!;
    if (this.cost && lists.first(head) >= 0) this.cost.count(Cost.LIST_LOCK);
    for (let pfn = lists.first(head); pfn >= 0; pfn = lists.first(head)) {
      lists.del(pfn);
      this.slabOn[pfn] = ON_NONE;
      const node = this.machine.layout.nodeOf(pfn);
      if (this.slabInuse[pfn] === 0 && c.nrPartial[node]! >= c.minPartial) this.discardSlab(c, pfn);
      else this.addPartial(c, pfn, true);
    }
    c.cpuPartialCount[cpu] = 0;
  }

  /** `put_cpu_partial`: pushes a slab on this CPU's partial list, draining a full list first when `drain`. */
  private putCpuPartial(c: SlubCache, pfn: number, drain: boolean): void {
    const cpu = this.machine.ctx.cpu;
    // local_lock_irqsave(&s->cpu_slab->lock)
    this.cost?.count(Cost.IRQ_OFF);
    if (drain && c.cpuPartialCount[cpu]! >= c.cpuPartialSlabs) this.putPartials(c, cpu);
    this.machine.memmap.lists.addHead(c.cpuPartialHead[cpu]!, pfn);
    c.cpuPartialCount[cpu]!++;
    this.slabOn[pfn] = ON_CPU_PARTIAL;
  }

  /** `freeze_slab` / `get_freelist`: the CPU takes the slab's whole freelist. */
  private takeFreelist(pfn: number): number {
    // get_freelist / freeze_slab: a cmpxchg_double on the slab's freelist and counters.
    this.cost?.count(Cost.ATOMICS);
    const free = this.slabFree[pfn]!;
    this.slabFree[pfn] = 0;
    this.slabInuse[pfn] = this.slabObjects[pfn]!;
    return free;
  }

  /** `deactivate_slab`: gives a CPU slab back, splicing the CPU freelist into it. */
  private deactivateSlab(c: SlubCache, pfn: number, cpuFreelist: number): void {
    const tail = this.slabFree[pfn]! !== 0;
    let obj = cpuFreelist;
    let guard = this.slabObjects[pfn]!;
    while (obj !== 0 && guard-- > 0) {
      const next = this.getFreePointer(c, obj);
      this.setFreePointer(c, obj, this.slabFree[pfn]!);
      this.slabFree[pfn] = obj;
      this.slabInuse[pfn]!--;
      obj = next;
    }
    this.slabOn[pfn] = ON_NONE;
    const node = this.machine.layout.nodeOf(pfn);
    if (this.cost) {
      // The slab's freelist is updated with cmpxchg_double; list changes take list_lock.
      this.cost.count(Cost.ATOMICS);
      if (this.slabInuse[pfn] === 0 || this.slabFree[pfn] !== 0) this.cost.count(Cost.LIST_LOCK);
    }
    if (this.slabInuse[pfn] === 0 && c.nrPartial[node]! >= c.minPartial) this.discardSlab(c, pfn);
    else if (this.slabFree[pfn] !== 0) this.addPartial(c, pfn, tail);
  }

  /** `flush_cpu_slab`: deactivates the CPU slab and moves the CPU partial list to the node. */
  private flushCpu(c: SlubCache, cpu: number): void {
    const pfn = c.cpuSlab[cpu]!;
    if (pfn >= 0) {
      const fl = c.cpuFreelist[cpu]!;
      c.cpuSlab[cpu] = -1;
      c.cpuFreelist[cpu] = 0;
      this.deactivateSlab(c, pfn, fl);
    }
    this.putPartials(c, cpu);
  }

  // --------------------------------------------------------------- alloc

  /** {@inheritDoc SlabBackend.alloc} */
  alloc(id: number, gfp: Gfp, reqSize?: number): number {
    const c = this.cache(id, 'kmem_cache_alloc');
    const cpu = this.ctx.cpu;
    const fast = c.cpuFreelist[cpu] !== 0;
    const obj = this.slabAllocObject(c, gfp);
    if (obj === 0) return 0;
    if (fast) this.opCounters.fastAllocs++;
    this.opCounters.allocs++;
    c.live++;
    // Objects handed out always come from this CPU's slab.
    this.markLive(c, c.cpuSlab[cpu]!, obj, true);
    if (c.flags & SLUB_DEBUG_FLAGS) {
      // alloc_debug_processing: a free object must still look free (catches writes after free).
      this.debug.checkObject(c, obj, false);
      const orig = reqSize !== undefined && reqSize > 0 && reqSize <= c.objectSize ? reqSize : c.objectSize;
      this.debug.initObject(c, obj, true, orig);
      this.debug.setTrack(c, obj, TRACK_ALLOC);
      this.debug.setOrigSize(c, obj, orig);
    }
    if (gfp & __GFP_ZERO) this.machine.mem.fill(this.phys(obj), c.objectSize, 0);
    return obj;
  }

  /**
   * `__slab_alloc_node` without the hooks: pops this CPU's freelist, or takes
   * the slow path; 0 when out of memory. The object is no client's yet (no
   * counters, live map or debug processing): a subclass that caches objects
   * above the slabs (per-CPU sheaves) fills its cache from here.
   */
  protected slabAllocObject(c: SlubCache, gfp: Gfp): number {
    const cpu = this.ctx.cpu;
    const obj = c.cpuFreelist[cpu]!;
    if (this.cost !== null) this.costAlloc(c, cpu, obj !== 0);
    if (obj === 0) return this.slowAlloc(c, cpu, gfp);
    if (!this.detect) this.followable(c, c.cpuSlab[cpu]!, obj);
    c.cpuFreelist[cpu] = this.getFreePointer(c, obj);
    return obj;
  }

  /**
   * The fast path's costs: kmem_cache_cpu's freelist and tid, swapped with
   * this_cpu_cmpxchg_double (no lock). Kept out of the hot function so it
   * stays small enough to inline.
   */
  private costAlloc(c: SlubCache, cpu: number, fast: boolean): void {
    this.cost!.touch(CostStruct.CACHE_CPU, (c.id * 4096 + cpu) * 64);
    if (fast) this.cost!.count(Cost.CPU_CMPXCHG);
  }

  /** A free's costs: virt_to_slab reads the slab's struct page, do_slab_free kmem_cache_cpu; the CPU slab takes a this_cpu_cmpxchg, any other slab is a remote free. */
  private costFree(c: SlubCache, pfn: number, cpu: number): void {
    const cost = this.cost!;
    cost.touch(CostStruct.PAGE, pfn);
    cost.touch(CostStruct.CACHE_CPU, (c.id * 4096 + cpu) * 64);
    cost.count(c.cpuSlab[cpu] === pfn ? Cost.CPU_CMPXCHG : Cost.REMOTE_FREES);
  }

  /** `___slab_alloc`. */
  private slowAlloc(c: SlubCache, cpu: number, gfp: Gfp): number {
    const lists = this.machine.memmap.lists;
    let slab = c.cpuSlab[cpu]!;
    // ___slab_alloc runs under local_lock_irqsave(&s->cpu_slab->lock).
    this.cost?.count(Cost.IRQ_OFF);
    let freelist = 0;
    if (slab >= 0) {
      freelist = this.takeFreelist(slab);
      if (freelist === 0) {
        // The CPU slab is full: it leaves the CPU and sits on no list.
        this.slabOn[slab] = ON_NONE;
        c.cpuSlab[cpu] = -1;
        slab = -1;
      }
    }
    if (freelist === 0) {
      // CPU partial slabs.
      const p = lists.first(c.cpuPartialHead[cpu]!);
      if (p >= 0) {
        lists.del(p);
        c.cpuPartialCount[cpu]!--;
        slab = p;
        freelist = this.takeFreelist(p);
      }
    }
    if (freelist === 0) {
      slab = this.getPartial(c, this.nodeOfCpu[cpu]!);
      if (slab >= 0) freelist = this.takeFreelist(slab);
    }
    if (freelist === 0) {
      slab = this.newSlab(c, gfp);
      if (slab < 0) return 0;
      freelist = this.takeFreelist(slab);
    }
    c.cpuSlab[cpu] = slab;
    this.slabOn[slab] = ON_CPU;
    if (!this.detect) this.followable(c, slab, freelist);
    c.cpuFreelist[cpu] = this.getFreePointer(c, freelist);
    return freelist;
  }

  /** `get_partial_node`: first slab for the CPU, then more to the CPU partial list. */
  private getPartial(c: SlubCache, node: number): number {
    const lists = this.machine.memmap.lists;
    const head = c.nodePartial[node]!;
    if (this.cost) {
      // get_partial_node reads n->nr_partial, and takes list_lock only when the list has slabs.
      this.cost.touch(CostStruct.CACHE_NODE, c.id * 64 + node);
      if (c.nrPartial[node]! > 0) this.cost.count(Cost.LIST_LOCK);
    }
    let first = -1;
    let moved = 0;
    for (let pfn = lists.first(head); pfn >= 0; pfn = lists.first(head)) {
      this.removePartial(c, pfn);
      if (first < 0) first = pfn;
      else {
        this.putCpuPartial(c, pfn, false);
        moved++;
      }
      if (moved > c.cpuPartialSlabs / 2) break;
    }
    return first;
  }

  // ---------------------------------------------------------------- free

  /** {@inheritDoc SlabBackend.free} */
  free(id: number, addr: number): void {
    this.doFree(id, addr);
  }

  /** `do_slab_free`: the CPU-slab fast path or `__slab_free`. Mutants override this. */
  protected doFree(id: number, addr: number): void {
    const c = this.cache(id, 'kmem_cache_free');
    const pfn = this.detect ? this.checkObject(c, addr) : this.slabOfUnchecked(c, addr);
    if (c.flags & SLUB_DEBUG_FLAGS) {
      // free_debug_processing: red zones must still be intact; if not, the object is leaked.
      if (!this.debug.checkObject(c, addr, true)) {
        this.machine.reports.amendLast(`${c.name}: Object at 0x${formatKernelAddr(addr)} not freed`);
        return;
      }
      this.debug.setTrack(c, addr, TRACK_FREE);
      this.debug.initObject(c, addr, false);
    }
    this.opCounters.frees++;
    c.live--;
    this.markLive(c, pfn, addr, false);
    if (this.slabFreeObject(c, pfn, addr)) this.opCounters.fastFrees++;
  }

  /**
   * `do_slab_free` for an object no client holds any more (no counters, no
   * live map): onto this CPU's freelist when `pfn` is the CPU slab (returns
   * true, the fast path), else `__slab_free`. A subclass that caches objects
   * above the slabs flushes them through here.
   */
  protected slabFreeObject(c: SlubCache, pfn: number, addr: number): boolean {
    const cpu = this.ctx.cpu;
    if (this.cost !== null) this.costFree(c, pfn, cpu);
    if (c.cpuSlab[cpu] === pfn) {
      this.setFreePointer(c, addr, c.cpuFreelist[cpu]!);
      c.cpuFreelist[cpu] = addr;
      return true;
    }
    this.slabFreeSlow(c, pfn, addr);
    return false;
  }

  /** `__slab_free`. */
  protected slabFreeSlow(c: SlubCache, pfn: number, addr: number): void {
    const prior = this.slabFree[pfn]!;
    const frozen = this.slabOn[pfn] === ON_CPU;
    // __slab_free: cmpxchg_double_slab on the slab's freelist.
    this.cost?.count(Cost.ATOMICS);
    this.setFreePointer(c, addr, prior);
    this.slabFree[pfn] = addr;
    this.slabInuse[pfn]!--;
    if (frozen) return;
    if (prior === 0) {
      // It was full: it goes to this CPU's partial list.
      this.putCpuPartial(c, pfn, true);
      return;
    }
    if (this.slabOn[pfn] !== ON_NODE_PARTIAL) return;
    if (this.slabInuse[pfn] === 0 && c.nrPartial[this.machine.layout.nodeOf(pfn)]! >= c.minPartial) {
      this.cost?.count(Cost.LIST_LOCK);
      this.removePartial(c, pfn);
      this.discardSlab(c, pfn);
    }
  }

  /**
   * Validates that `addr` is a live object of `c`; returns its slab's head
   * pfn. The slab comes from struct page, the object index from the stride,
   * and whether it is allocated from the slab's bit in `liveMap` (O(1), no
   * freelist walk).
   */
  protected checkObject(c: SlubCache, addr: number): number {
    const pfn = this.slabPages.headIfCache(addr, c.id);
    if (pfn < 0) {
      const owner = this.slabPages.cacheOf(addr);
      this.badFree(c, addr, 'invalid-free', owner >= 0 ? ` (it belongs to ${this.caches[owner]?.name ?? '?'})` : '');
    }
    const base = this.slabBase(pfn) + c.redLeftPad;
    if (addr < base || (addr - base) % c.size !== 0 || (addr - base) / c.size >= this.slabObjects[pfn]!) {
      this.badFree(c, addr, 'invalid-free', ` (it lies inside the object at 0x${(base + Math.floor((addr - base) / c.size) * c.size).toString(16)})`);
    }
    if (!this.isLive(c, pfn, addr)) this.badFree(c, addr, 'double-free', '');
    return pfn;
  }

  /**
   * Detection off: the slab holding `addr`, without asking whether `addr`
   * is a live object start (non-debug SLUB does not). A pointer outside the
   * cache's slabs cannot be followed and stays an error.
   */
  protected slabOfUnchecked(c: SlubCache, addr: number): number {
    const pfn = this.slabPages.headIfCache(addr, c.id);
    if (pfn < 0) this.badFree(c, addr, 'invalid-free', ' (outside its slabs: not followed even with detection off)');
    return pfn;
  }

  /**
   * Detection off: a free-list entry about to be handed out must lie in its
   * slab (it may be misaligned: an interior free put it there). One that
   * does not is where the kernel would oops.
   */
  private followable(c: SlubCache, pfn: number, obj: number): void {
    const base = this.slabBase(pfn);
    if (obj >= base && obj + c.objectSize <= base + (PAGE_SIZE << this.slabOrder[pfn]!)) return;
    throw new AllocatorError('corruption', `general protection fault: the ${c.name} free list points to ${kptr(obj)}, outside its slab ${kptr(base)} — an earlier undetected bug corrupted it`, { policy: this.policy, op: 'kmem_cache_alloc', addr: obj });
  }

  private badFree(c: SlubCache, addr: number, kind: 'invalid-free' | 'double-free', detail: string): never {
    const msg = kind === 'double-free' ? `${kptr(addr)} in cache ${c.name}: Object already free` : `${kptr(addr)} is not an object of cache ${c.name}${detail}`;
    throw new AllocatorError(kind, msg, { policy: this.policy, op: 'kmem_cache_free', addr });
  }

  /** Sets or clears an object's bit in its slab's live map. */
  protected markLive(c: SlubCache, pfn: number, obj: number, live: boolean): void {
    const i = (obj - PAGE_OFFSET - pfn * PAGE_SIZE - c.redLeftPad) / c.size;
    if (!this.detect && i !== Math.floor(i)) return; // an interior pointer (detection off) has no bit
    c.liveMap.set(this.slabSlot[pfn]!, i, live);
  }

  protected isLive(c: SlubCache, pfn: number, obj: number): boolean {
    const i = (obj - PAGE_OFFSET - pfn * PAGE_SIZE - c.redLeftPad) / c.size;
    return c.liveMap.get(this.slabSlot[pfn]!, i);
  }

  // ------------------------------------------------------ cache lifecycle

  /** {@link SlabBackend.shrink}; here: `__kmem_cache_do_shrink`: flush every CPU, free every empty slab, fullest first. */
  shrink(id: number): number {
    const c = this.cache(id, 'kmem_cache_shrink');
    const lists = this.machine.memmap.lists;
    let freedPages = 0;
    for (let cpu = 0; cpu < c.cpuSlab.length; cpu++) this.flushCpu(c, cpu);
    for (let node = 0; node < c.nodePartial.length; node++) {
      const keep: number[] = [];
      for (let pfn = lists.first(c.nodePartial[node]!); pfn >= 0; pfn = lists.first(c.nodePartial[node]!)) {
        this.removePartial(c, pfn);
        if (this.slabInuse[pfn] === 0) {
          freedPages += 1 << this.slabOrder[pfn]!;
          this.discardSlab(c, pfn);
        } else keep.push(pfn);
      }
      keep.sort((a, b) => this.slabInuse[b]! - this.slabInuse[a]!);
      for (const pfn of keep) this.addPartial(c, pfn, true);
    }
    return freedPages;
  }

  /**
   * {@link SlabBackend.validate}: (`validate_slab_cache`, what writing
   * 1 to /sys/kernel/slab/NAME/validate does): flushes every CPU, then for
   * each slab walks the freelist as `on_freelist` does — an invalid head is
   * "Freepointer corrupt" (freelist cleared), an invalid link "Freechain
   * corrupt" (the chain cut there), a count that disagrees with `inuse`
   * "Wrong object count" (counter adjusted) — and, for debug caches, checks
   * every object as free or allocated (`validate_slab`).
   */
  validate(id: number): number {
    const c = this.cache(id, 'validate');
    const before = this.machine.reports.list().length;
    for (let cpu = 0; cpu < c.cpuSlab.length; cpu++) this.flushCpu(c, cpu);
    for (const pfn of this.slabsByCache().get(id) ?? []) this.validateSlab(c, pfn);
    return this.machine.reports.list().length - before;
  }

  /** Every slab, found from struct page (heads of PG_slab frames), by cache id, in pfn order. */
  private slabsByCache(): Map<number, number[]> {
    const mm = this.machine.memmap;
    const perCache = new Map<number, number[]>();
    for (const r of this.machine.layout.memory) {
      for (let p = r.start; p < r.end; p++) {
        const f = mm.flags[p]!;
        if (!(f & PG_SLAB) || f & PG_TAIL) continue;
        const id = this.slabPages.cacheOf(this.slabBase(p));
        if (id < 0 || !this.caches[id]) continue;
        (perCache.get(id) ?? perCache.set(id, []).get(id)!).push(p);
      }
    }
    return perCache;
  }

  /** `on_freelist(s, slab, NULL)` and `validate_slab` for one slab. */
  private validateSlab(c: SlubCache, pfn: number): void {
    const base = this.slabBase(pfn);
    const first = base + c.redLeftPad;
    const objects = this.slabObjects[pfn]!;
    const valid = (o: number): boolean => o >= first && (o - first) % c.size === 0 && (o - first) / c.size < objects;
    const info = (): { base: number; objects: number; inuse: number; freelist: number } => ({ base, objects, inuse: this.slabInuse[pfn]!, freelist: this.slabFree[pfn]! });
    const free = new Set<number>();
    let prev = 0;
    for (let fp = this.slabFree[pfn]!; fp !== 0 && free.size <= objects; ) {
      if (!valid(fp) || free.has(fp)) {
        if (prev) {
          this.debug.objectErr(c, prev, base, 'Freechain corrupt');
          this.setFreePointer(c, prev, 0);
        } else {
          this.debug.slabErr(c, info(), 'Freepointer corrupt', 'Freepointer corrupt', 'Freelist cleared');
          this.slabFree[pfn] = 0;
          this.slabInuse[pfn] = objects;
          return;
        }
        break;
      }
      free.add(fp);
      prev = fp;
      fp = this.getFreePointer(c, fp);
    }
    if (this.slabInuse[pfn] !== objects - free.size) {
      this.debug.slabErr(c, info(), `Wrong object count. Counter is ${this.slabInuse[pfn]!} but counted were ${objects - free.size}`, 'Wrong object count', 'Object count adjusted');
      this.slabInuse[pfn] = objects - free.size;
    }
    if (!(c.flags & SLUB_DEBUG_FLAGS)) return;
    for (let i = 0; i < objects; i++) {
      const obj = first + i * c.size;
      this.debug.checkObject(c, obj, !free.has(obj));
    }
  }

  /** {@inheritDoc SlabBackend.destroyCache} */
  destroyCache(id: number): number {
    const c = this.cache(id, 'kmem_cache_destroy');
    this.shrink(id);
    if (c.live > 0) return c.live;
    c.destroyed = true;
    return 0;
  }

  /** {@link SlabBackend.ksize}; here: and from then on the kmalloc red zone is not checked (`skip_orig_size_check`). */
  override ksize(id: number, addr: number): number {
    const usable = super.ksize(id, addr);
    const c = this.caches[id]!;
    if (c.flags & SLUB_DEBUG_FLAGS) this.debug.setOrigSize(c, addr, c.objectSize);
    return usable;
  }

  /** {@inheritDoc SlabBackend.objectStart} */
  objectStart(addr: number): number {
    const id = this.slabPages.cacheOf(addr);
    if (id < 0) return -1;
    const c = this.caches[id]!;
    const base = this.slabBase(this.slabPages.headOf(addr)) + c.redLeftPad;
    const i = Math.max(0, Math.floor((addr - base) / c.size));
    return base + i * c.size;
  }

  // --------------------------------------------------------------- report

  /** {@link SlabBackend.counters}; here: `get_slabinfo`: free objects on CPU slabs and CPU partials count as active. */
  counters(id: number): CacheCounters {
    const c = this.cache(id, 'counters');
    const lists = this.machine.memmap.lists;
    let numObjs = 0;
    let numSlabs = 0;
    let freeOnNode = 0;
    let partial = 0;
    for (let node = 0; node < c.nodePartial.length; node++) {
      numObjs += c.totalObjects[node]!;
      numSlabs += c.nrSlabs[node]!;
      partial += c.nrPartial[node]!;
      for (let p = lists.first(c.nodePartial[node]!); p >= 0; p = lists.after(p)) freeOnNode += this.slabObjects[p]! - this.slabInuse[p]!;
    }
    for (let cpu = 0; cpu < c.cpuSlab.length; cpu++) partial += c.cpuPartialCount[cpu]!;
    let pages = 0;
    for (let node = 0; node < c.nodePartial.length; node++) pages += c.nrSlabs[node]! << c.order;
    return {
      activeObjs: numObjs - freeOnNode,
      numObjs,
      activeSlabs: numSlabs,
      numSlabs,
      sharedAvail: 0,
      inUse: c.live,
      partialSlabs: partial,
      pages,
    };
  }


  /** {@inheritDoc InvariantChecked.checkInvariants} */
  checkInvariants(): Violation[] {
    const out: Violation[] = [];
    const add = (v: Violation): void => {
      if (out.length < MAX_VIOLATIONS) out.push(v);
    };
    const mm = this.machine.memmap;
    const lists = mm.lists;
    const { heads, start } = this.slabHeadsByCache();
    for (const c of this.caches) {
      if (c.destroyed) continue;
      const from = start[c.id]!;
      const nSlabs = start[c.id + 1]! - from;
      const above = this.objectsHeldAbove(c);
      let objs = 0;
      const counted = new Int32Array(c.nrSlabs.length);
      for (let s = from; s < from + nSlabs; s++) {
        const pfn = heads[s]!;
        const order = this.slabOrder[pfn]!;
        const objects = this.slabObjects[pfn]!;
        counted[this.machine.layout.nodeOf(pfn)]!++;
        objs += objects;
        if (objects !== Math.floor((PAGE_SIZE << order) / c.size)) add({ code: 'S4', message: `slab 0x${pfn.toString(16)} of ${c.name} holds ${objects} objects, not ${Math.floor((PAGE_SIZE << order) / c.size)}` });
        for (let p = pfn; p < pfn + (1 << order); p++) {
          if (!(mm.flags[p]! & PG_SLAB)) add({ code: 'S11', message: `frame 0x${p.toString(16)} of slab 0x${pfn.toString(16)} (${c.name}) lacks PG_slab` });
        }
        const cpu = this.slabOn[pfn] === ON_CPU ? c.cpuSlab.indexOf(pfn) : -1;
        // Objects found on the slab's freelist are marked `tag`, on the CPU freelist `tag + 1` (scratch marks, no sets).
        const mark = this.freeMarks(objects);
        const tag = this.nextMarkTag();
        const free = this.walkFree(c, pfn, this.slabFree[pfn]!, add, mark, tag, -1);
        const cpuFree = cpu >= 0 ? this.walkFree(c, pfn, c.cpuFreelist[cpu]!, add, mark, tag + 1, tag) : { found: 0, shared: 0 };
        if (cpuFree.shared > 0) add({ code: 'S2', message: `slab 0x${pfn.toString(16)} of ${c.name}: an object is on both the slab and the CPU freelist` });
        const base = this.slabBase(pfn) + c.redLeftPad;
        for (let k = 0; k < objects; k++) {
          const o = base + k * c.size;
          const onList = mark[k] === tag || mark[k] === tag + 1;
          const cached = above?.has(o) === true;
          if (this.isLive(c, pfn, o) === (onList || cached)) {
            add({ code: 'S3', message: `object ${kptr(o)} of ${c.name} is ${onList ? 'on a freelist but allocated' : cached ? 'in a per-CPU cache above the slabs but allocated' : 'neither free nor allocated (lost)'}`, details: { obj: o } });
            break;
          }
        }
        const expectInuse = objects - free.found;
        if (this.slabOn[pfn] !== ON_CPU && this.slabInuse[pfn] !== expectInuse) {
          add({ code: 'S2', message: `slab 0x${pfn.toString(16)} of ${c.name}: inuse ${this.slabInuse[pfn]} but ${free.found} of ${objects} objects are free (Wrong object count)` });
        }
        if (this.slabOn[pfn] === ON_CPU && this.slabInuse[pfn]! + 0 !== objects - free.found) {
          add({ code: 'S2', message: `CPU slab 0x${pfn.toString(16)} of ${c.name}: inuse ${this.slabInuse[pfn]} with ${free.found} remote frees of ${objects}` });
        }
        if (this.slabOn[pfn] === ON_NODE_PARTIAL && free.found === 0) add({ code: 'S5', message: `slab 0x${pfn.toString(16)} of ${c.name} is on the partial list but has no free object` });
        if (this.slabOn[pfn] === ON_NONE && free.found > 0) add({ code: 'S5', message: `slab 0x${pfn.toString(16)} of ${c.name} has ${free.found} free objects but is on no list (lost to allocation)` });
      }
      // Lists.
      for (let node = 0; node < c.nodePartial.length; node++) {
        const w = lists.walkInto(c.nodePartial[node]!, nSlabs + 1);
        if (!w.ok) add({ code: 'S5', message: `${c.name} node ${node} partial list is corrupt: ${w.problem ?? ''}` });
        if (w.n !== c.nrPartial[node]) add({ code: 'S5', message: `${c.name} node ${node}: nr_partial ${c.nrPartial[node]} but the list holds ${w.n}` });
        for (let i = 0; i < w.n; i++) {
          const p = w.pfns[i]!;
          if (this.slabOn[p] !== ON_NODE_PARTIAL) add({ code: 'S5', message: `slab 0x${p.toString(16)} is on ${c.name}'s node partial list but marked ${this.slabOn[p]}` });
        }
        if (counted[node] !== c.nrSlabs[node]) add({ code: 'S5', message: `${c.name} node ${node}: nr_slabs ${c.nrSlabs[node]} but ${counted[node]} slabs exist` });
      }
      for (let cpu = 0; cpu < c.cpuSlab.length; cpu++) {
        const w = lists.walkInto(c.cpuPartialHead[cpu]!, nSlabs + 1);
        if (!w.ok || w.n !== c.cpuPartialCount[cpu]) add({ code: 'S5', message: `${c.name} cpu ${cpu}: partial count ${c.cpuPartialCount[cpu]} but the list holds ${w.n}${w.ok ? '' : ` (${w.problem ?? ''})`}` });
      }
      const total = c.totalObjects.reduce((s, x) => s + x, 0);
      if (total !== objs) add({ code: 'S5', message: `${c.name}: total_objects ${total} but slabs hold ${objs}` });
    }
    return out;
  }


  /**
   * Every slab, found from struct page (heads of PG_slab frames) as
   * {@link slabsByCache} finds them, grouped by cache id in pfn order:
   * cache `id`'s heads are `heads[start[id]]` … `heads[start[id + 1] - 1]`.
   * The arrays are scratch, valid until the next call.
   */
  private slabHeadsByCache(): { heads: Int32Array; start: Int32Array } {
    const mm = this.machine.memmap;
    const nCaches = this.caches.length;
    let ids = scratch.ids;
    const start = new Int32Array(nCaches + 2);
    let n = 0;
    const flags = mm.flags;
    const pairs = flagPairs(flags);
    for (const r of this.machine.layout.memory) {
      const end = r.end;
      for (let p = nextFlagged(flags, pairs, r.start, end, PG_SLAB); p < end; p = nextFlagged(flags, pairs, p + 1, end, PG_SLAB)) {
        if (flags[p]! & PG_TAIL) continue;
        const id = this.slabPages.cacheOf(this.slabBase(p));
        if (id < 0 || !this.caches[id]) continue;
        // Pairs (pfn, id) in pfn order in `ids`; counted per cache.
        if (n + 2 > ids.length) scratch.ids = ids = grownTo(ids, 2 * ids.length);
        ids[n++] = p;
        ids[n++] = id;
        start[id + 2]!++;
      }
    }
    // Counting sort by cache id, stable (pfn order within a cache).
    for (let i = 2; i < start.length; i++) start[i]! += start[i - 1]!;
    if (scratch.heads.length < n / 2) scratch.heads = new Int32Array(ids.length / 2);
    const heads = scratch.heads;
    for (let i = 0; i < n; i += 2) heads[start[ids[i + 1]! + 1]!++] = ids[i]!;
    return { heads, start };
  }

  /** Scratch marks for a slab of `objects` objects. */
  private freeMarks(objects: number): Uint32Array {
    if (scratch.marks.length < objects) scratch.marks = new Uint32Array(Math.max(objects, 2 * scratch.marks.length));
    return scratch.marks;
  }

  /** A fresh pair of tags (`t`, `t + 1`) that no mark holds yet. */
  private nextMarkTag(): number {
    if (scratch.markTag >= 0xfffffff0) {
      scratch.marks.fill(0);
      scratch.markTag = 0;
    }
    scratch.markTag += 2;
    return scratch.markTag - 1;
  }

  /**
   * Free objects of `c` that a layer above the slabs holds (none here; a
   * subclass with per-CPU sheaves returns the objects in its sheaves). S3
   * counts them as free although they are on no freelist: the slab counts
   * them in `inuse`, as Linux does.
   */
  protected objectsHeldAbove(_c: SlubCache): ReadonlySet<number> | undefined {
    return undefined;
  }

  /**
   * Walks a freelist from `start` within slab `pfn`, checking every entry
   * (S1, S2): marks each object found `tag` in `mark` (by object index), and
   * counts those already marked `other` (on the other freelist of the slab).
   */
  private walkFree(c: SlubCache, pfn: number, start: number, add: (v: Violation) => void, mark: Uint32Array, tag: number, other: number): { found: number; shared: number } {
    const base = this.slabBase(pfn) + c.redLeftPad;
    const objects = this.slabObjects[pfn]!;
    let found = 0;
    let shared = 0;
    let last = 0;
    for (let o = start; o !== 0; ) {
      if (found >= objects) {
        add({ code: 'S2', message: `slab 0x${pfn.toString(16)} of ${c.name}: Freelist cycle detected` });
        break;
      }
      if (o < base || (o - base) % c.size !== 0 || (o - base) / c.size >= objects) {
        add({ code: 'S1', message: `slab 0x${pfn.toString(16)} of ${c.name}: Freechain corrupt (0x${found ? this.debug.hex64(last + c.offset) : formatKernelAddr(o)} is not an object of this slab)` });
        break;
      }
      const k = (o - base) / c.size;
      if (mark[k] === tag) {
        add({ code: 'S2', message: `slab 0x${pfn.toString(16)} of ${c.name}: Freelist cycle detected at ${kptr(o)}` });
        break;
      }
      if (mark[k] === other) shared++;
      mark[k] = tag;
      found++;
      last = o;
      o = this.getFreePointer(c, o);
    }
    return { found, shared };
  }
}


/** Default GFP for internal allocations. */
export const SLUB_GFP = GFP_KERNEL;
