/**
 * The physical memory map: every frame of the machine classified by who
 * holds it at one moment — free blocks by order, free pages parked on
 * per-CPU lists, each slab cache, large kmallocs, page tables, vmalloc,
 * user pages, pages a page-layer client holds, the kernel image, the
 * `mem_map` memblock put at the top of each node, other reserved memory and
 * holes — as one byte per frame, for the report's pixel map.
 *
 * A frame no one holds that is on no buddy free list (a policy without
 * free lists, such as first fit) is free too: its run is cut into the
 * naturally aligned blocks a buddy allocator would hold, as such a policy's
 * /proc/buddyinfo does.
 *
 * It reads `struct page` (flags, order, the X1 owner field) and asks the slab
 * backend which cache a slab frame belongs to (`cacheOf`); nothing is
 * changed.
 */

import { MAX_PAGE_ORDER, NR_PAGE_ORDERS, PAGE_SIZE, pfnToVirt, type Pfn } from '../../interfaces/units.js';
import type { SlabBackend, KmemApi } from '../../interfaces/slab.js';
import type { Machine } from '../../interfaces/machine.js';
import { KERNEL_START_PFN, LINUX_STRUCT_PAGE_BYTES } from '../../machine/layout.js';
import { Owner, OWNER_MASK, OWNER_SHIFT, PG_ALLOCATED, PG_BUDDY, PG_PCP, PG_RESERVED } from '../../machine/memmap.js';

/** Fixed owner classes of the map; slab caches follow from {@link FIRST_CACHE_CLASS}. */
export const MapClass = {
  /** Free in the buddy, order o: class o (0..10). */
  FREE_0: 0,
  /** Free pages on a per-CPU list (free to clients, allocated to the buddy). */
  PCP: NR_PAGE_ORDERS,
  HOLE: NR_PAGE_ORDERS + 1,
  KERNEL_IMAGE: NR_PAGE_ORDERS + 2,
  MEM_MAP: NR_PAGE_ORDERS + 3,
  RESERVED: NR_PAGE_ORDERS + 4,
  KMALLOC_LARGE: NR_PAGE_ORDERS + 5,
  PAGE_TABLE: NR_PAGE_ORDERS + 6,
  VMALLOC: NR_PAGE_ORDERS + 7,
  USER: NR_PAGE_ORDERS + 8,
  PAGE_CLIENT: NR_PAGE_ORDERS + 9,
  METADATA: NR_PAGE_ORDERS + 10,
  OTHER: NR_PAGE_ORDERS + 11,
  /** A slab frame whose cache is beyond the last class a byte can hold. */
  SLAB_OTHER: NR_PAGE_ORDERS + 12,
} as const;

/** The first slab-cache class; cache classes are given in order of first appearance. */
export const FIRST_CACHE_CLASS = NR_PAGE_ORDERS + 13;
/** Classes a byte holds. */
const MAX_CLASSES = 256;

/** Names of the fixed classes, by class number. */
export const FIXED_CLASS_NAMES: readonly string[] = [
  ...Array.from({ length: NR_PAGE_ORDERS }, (_, o) => `free, order ${o}`),
  'free, per-CPU list',
  'hole',
  'kernel image',
  'mem_map',
  'reserved',
  'kmalloc-large',
  'page table',
  'vmalloc',
  'user',
  'page-layer client',
  'metadata',
  'other',
  'slab, other caches',
];

/** The map at one moment. */
export interface MemoryMapSnapshot {
  /** Operations done when it was taken. */
  readonly ops: number;
  /** One class per frame (pfn order). */
  readonly classes: Uint8Array;
  /** Class names, by class number: the fixed ones, then `slab <cache>` classes. */
  readonly names: readonly string[];
}

/**
 * Gives slab caches their map classes, the same class for a cache in every
 * snapshot of one run.
 */
export class CacheClasses {
  private readonly byBackendId = new Map<number, number>();
  /** Class names, by class number. */
  readonly names: string[] = [...FIXED_CLASS_NAMES];

  constructor(
    private readonly kmem: KmemApi,
    private readonly slab: SlabBackend,
  ) {}

  /** The class of backend cache `id`. */
  classOf(id: number): number {
    let c = this.byBackendId.get(id);
    if (c !== undefined) return c;
    c = this.names.length < MAX_CLASSES ? this.names.length : MapClass.SLAB_OTHER;
    if (c !== MapClass.SLAB_OTHER) this.names.push(`slab ${this.nameOf(id)}`);
    this.byBackendId.set(id, c);
    return c;
  }

  /** A backend cache's name: the front end's record with the same geometry object, else kmalloc's or a number. */
  private nameOf(id: number): string {
    if (id === this.slab.kmallocCache) return 'kmalloc';
    let geo: unknown;
    try {
      geo = this.slab.geometry(id);
    } catch {
      return `cache #${id}`;
    }
    const info = this.kmem.caches().find((c) => c.geometry === geo);
    return info ? info.name : `cache #${id}`;
  }
}

/**
 * Classifies every frame now.
 *
 * @param classes - the run's cache classes (shared by its snapshots)
 * @param ops - the operation count to stamp the snapshot with
 */
export function memoryMap(machine: Machine, slab: SlabBackend, classes: CacheClasses, ops: number): MemoryMapSnapshot {
  const mm = machine.memmap;
  const n = mm.nrPages;
  const out = new Uint8Array(n).fill(MapClass.HOLE);
  const flags = mm.flags;
  const order = mm.order;
  const kernelEnd = KERNEL_START_PFN + Math.ceil(machine.opts.kernelImageBytes / PAGE_SIZE);
  const memmapStart = machine.layout.nodes.map((nd) => nd.endPfn - Math.ceil(((nd.endPfn - nd.startPfn) * LINUX_STRUCT_PAGE_BYTES) / PAGE_SIZE));
  for (const r of machine.layout.memory) {
    for (let p = r.start; p < r.end; ) {
      const f = flags[p]!;
      if (f & (PG_BUDDY | PG_PCP)) {
        const end = Math.min(r.end, p + 2 ** order[p]!);
        out.fill(f & PG_BUDDY ? MapClass.FREE_0 + order[p]! : MapClass.PCP, p, end);
        p = end;
        continue;
      }
      if ((f & (PG_RESERVED | PG_ALLOCATED | OWNER_MASK)) === 0) {
        // Free without a buddy free list (a policy such as first fit): the run, cut into the aligned blocks a buddy would hold.
        let end = p + 1;
        while (end < r.end && (flags[end]! & (PG_RESERVED | PG_ALLOCATED | PG_BUDDY | PG_PCP | OWNER_MASK)) === 0) end++;
        while (p < end) {
          let o = MAX_PAGE_ORDER;
          while (o > 0 && (p % 2 ** o !== 0 || p + 2 ** o > end)) o--;
          out.fill(MapClass.FREE_0 + o, p, p + 2 ** o);
          p += 2 ** o;
        }
        continue;
      }
      if (f & PG_RESERVED) out[p] = p >= KERNEL_START_PFN && p < kernelEnd ? MapClass.KERNEL_IMAGE : p >= memmapStart[machine.layout.nodeOf(p)]! ? MapClass.MEM_MAP : MapClass.RESERVED;
      else out[p] = ownerClass((f & OWNER_MASK) >>> OWNER_SHIFT, p, slab, classes);
      p++;
    }
  }
  return { ops, classes: out, names: [...classes.names] };
}

/** The map class of each X1 owner code other than SLAB (index: the code). */
const OWNER_CLASS: Readonly<Record<number, number>> = {
  [Owner.KMALLOC_LARGE]: MapClass.KMALLOC_LARGE,
  [Owner.PAGE_TABLE]: MapClass.PAGE_TABLE,
  [Owner.VMALLOC]: MapClass.VMALLOC,
  [Owner.USER]: MapClass.USER,
  [Owner.PAGE_CLIENT]: MapClass.PAGE_CLIENT,
  [Owner.METADATA]: MapClass.METADATA,
  [Owner.RESERVED]: MapClass.RESERVED,
};

function ownerClass(owner: number, pfn: number, slab: SlabBackend, classes: CacheClasses): number {
  if (owner !== Owner.SLAB) return OWNER_CLASS[owner] ?? MapClass.OTHER;
  const id = slab.cacheOf(pfnToVirt(pfn as Pfn));
  return id < 0 ? MapClass.SLAB_OTHER : classes.classOf(id);
}
