/**
 * Built-in seeded slab workloads and the metrics `allocsim compare` prints
 * for SLAB vs SLUB vs SLOB. Each workload is a pure function of (system,
 * ops, seed) and talks only to the KmemApi.
 */

import { AllocatorError } from '../../interfaces/errors.js';
import { GFP_ATOMIC, GFP_KERNEL, GFP_KERNEL_ACCOUNT, __GFP_NOWARN, __GFP_RECLAIMABLE, type Gfp } from '../../interfaces/gfp.js';
import { SLAB_ACCOUNT, SLAB_HWCACHE_ALIGN, SLAB_RECLAIM_ACCOUNT, type CacheHandle } from '../../interfaces/slab.js';
import type { System } from '../../system.js';
import type { WorkloadResultBase } from './page.js';
import { Rng } from '../../machine/rng.js';
import type { KmemEvent } from '../trace/ftrace-kmem.js';
import { replayKmem } from '../trace/replay.js';

/** What one slab run measured. */
export interface SlabWorkloadResult extends WorkloadResultBase {
  /** Bytes asked for by the allocations of the run. */
  readonly bytesRequested: number;
  /** Bytes those allocations took (object or block sizes). */
  readonly bytesAllocated: number;
  /**
   * Share of the slab layer's pages (slabs and large kmallocs) not holding a
   * live object's usable bytes at the end: metadata (SLOB headers, SLAB
   * freelists), slab leftover, and free objects kept in slabs.
   */
  readonly unusedSlabBytes: number;
  readonly partialSlabs: number;
  /**
   * Share of the allocations served by the per-CPU fast path (SLUB's CPU
   * freelist, SLAB's array cache); null when the metric does not apply: the
   * backend served neither an allocation nor a free from a per-CPU fast path
   * in a run that had allocations (SLOB has none).
   */
  readonly fastPathHitRate: number | null;
  readonly pageAllocatorCalls: number;
  readonly failedAllocs: number;
}

/** kmalloc size classes with weights from a real booted kernel's /proc/slabinfo (data/linux-6.1-qemu-smp4/slabinfo.txt, Linux 6.1, active objects of kmalloc-* and kmalloc-cg-*). */
const KMALLOC_MIX: readonly (readonly [lo: number, hi: number, weight: number])[] = [
  [1, 8, 3584],
  [9, 16, 2560],
  [17, 32, 1265],
  [33, 64, 10048],
  [65, 96, 714],
  [97, 128, 576],
  [129, 192, 441],
  [193, 256, 560],
  [257, 512, 352],
  [513, 1024, 352],
  [1025, 2048, 208],
  [2049, 4096, 64],
  [4097, 8192, 24],
  [8193, 32768, 4],
];

/** Named caches from the same slabinfo (object sizes as their objsize column), with active-object weights. */
const NAMED_CACHES: readonly (readonly [name: string, size: number, flags: number, weight: number])[] = [
  ['dentry', 192, SLAB_RECLAIM_ACCOUNT, 10143],
  ['inode_cache', 640, SLAB_RECLAIM_ACCOUNT, 10000],
  ['kernfs_node_cache', 128, 0, 11360],
  ['radix_tree_node', 584, SLAB_RECLAIM_ACCOUNT, 392],
  ['lsm_file_cache', 24, 0, 680],
  ['filp', 256, SLAB_HWCACHE_ALIGN | SLAB_ACCOUNT, 64],
  ['vm_area_struct', 152, SLAB_ACCOUNT, 104],
  ['anon_vma', 104, SLAB_ACCOUNT, 156],
  ['task_struct', 6208, SLAB_ACCOUNT, 95],
  ['pid', 128, SLAB_HWCACHE_ALIGN | SLAB_ACCOUNT, 160],
];

/** A slab workload. */
export interface SlabWorkload {
  readonly name: string;
  readonly summary: string;
  run(sys: System, ops: number, rng: Rng, live: LiveSet): void;
}

/** The objects a run holds: address, cache (-1 for kmalloc) and requested size. */
export class LiveSet {
  readonly addr: Float64Array;
  readonly cache: Int32Array;
  readonly size: Int32Array;
  count = 0;
  constructor(readonly capacity: number) {
    this.addr = new Float64Array(capacity);
    this.cache = new Int32Array(capacity);
    this.size = new Int32Array(capacity);
  }
  push(addr: number, cache: number, size: number): void {
    this.addr[this.count] = addr;
    this.cache[this.count] = cache;
    this.size[this.count] = size;
    this.count++;
  }
  /** Removes entry i (swap with the last). */
  remove(i: number): void {
    this.count--;
    this.addr[i] = this.addr[this.count]!;
    this.cache[i] = this.cache[this.count]!;
    this.size[i] = this.size[this.count]!;
  }
}

/** Counters a run keeps. */
class Meter {
  bytesReq = 0;
  bytesAlloc = 0;
  failed = 0;
  peakPages = 0;
}

function freeAt(sys: System, live: LiveSet, i: number): void {
  const c = live.cache[i]!;
  if (c < 0) sys.kmem.kfree(live.addr[i]!);
  else sys.kmem.kmemCacheFree(c, live.addr[i]!);
  live.remove(i);
}

function allocKmalloc(sys: System, live: LiveSet, m: Meter, size: number, gfp: Gfp): void {
  const p = sys.kmem.kmalloc(size, gfp | __GFP_NOWARN);
  if (p === 0) {
    m.failed++;
    return;
  }
  m.bytesReq += size;
  m.bytesAlloc += sys.kmem.ksize(p);
  live.push(p, -1, size);
}

function allocCache(sys: System, live: LiveSet, m: Meter, cache: CacheHandle, size: number, gfp: Gfp): void {
  const p = sys.kmem.kmemCacheAlloc(cache, gfp | __GFP_NOWARN);
  if (p === 0) {
    m.failed++;
    return;
  }
  m.bytesReq += size;
  m.bytesAlloc += sys.kmem.ksize(p);
  live.push(p, cache, size);
}

const meters = new WeakMap<LiveSet, Meter>();
const meterOf = (l: LiveSet): Meter => meters.get(l)!;

/** The named workloads. */
export const SLAB_WORKLOADS: readonly SlabWorkload[] = [
  {
    name: 'kernel-mix',
    summary: 'kmalloc sizes and named caches weighted as in a real 6.1 /proc/slabinfo, GFP_KERNEL/ACCOUNT/ATOMIC/reclaimable masks, frees from any CPU',
    run(sys, ops, rng, live) {
      const m = meterOf(live);
      const caches = NAMED_CACHES.map(([name, size, flags]) => sys.kmem.kmemCacheCreate(`wl_${name}`, size, 0, flags));
      const cacheWeights = NAMED_CACHES.map((c) => c[3]);
      const kmWeights = KMALLOC_MIX.map((c) => c[2]);
      const gfps = [GFP_KERNEL, GFP_KERNEL_ACCOUNT, GFP_ATOMIC, GFP_KERNEL | __GFP_RECLAIMABLE];
      for (let i = 0; i < ops; i++) {
        if ((i & 31) === 0) sys.machine.ctx.setCpu(rng.int(sys.machine.ctx.nrCpus));
        if (live.count > 0 && (live.count === live.capacity || rng.chance(live.count > 20000 ? 0.55 : 0.45))) freeAt(sys, live, rng.int(live.count));
        else if (rng.chance(0.4)) {
          const k = rng.weighted(cacheWeights);
          allocCache(sys, live, m, caches[k]!, NAMED_CACHES[k]![1], GFP_KERNEL);
        } else {
          const [lo, hi] = KMALLOC_MIX[rng.weighted(kmWeights)]!;
          allocKmalloc(sys, live, m, lo + rng.int(hi - lo + 1), gfps[rng.weighted([70, 20, 5, 5])]!);
        }
        trackPeak(sys, m, i);
      }
    },
  },
  {
    name: 'uniform-small',
    summary: 'kmalloc of 8–64 bytes, alloc/free churn around 2000 live objects on one CPU at a time',
    run(sys, ops, rng, live) {
      const m = meterOf(live);
      for (let i = 0; i < ops; i++) {
        if ((i & 1023) === 0) sys.machine.ctx.setCpu(rng.int(sys.machine.ctx.nrCpus));
        if (live.count > 0 && (live.count === live.capacity || rng.chance(live.count > 2000 ? 0.6 : 0.4))) freeAt(sys, live, rng.int(live.count));
        else allocKmalloc(sys, live, m, 8 + rng.int(57), GFP_KERNEL);
        trackPeak(sys, m, i);
      }
    },
  },
  {
    name: 'producer-consumer',
    summary: 'CPU 0 allocates 256-byte objects from a cache, the last CPU frees them in FIFO order (every free is remote)',
    run(sys, ops, rng, live) {
      const m = meterOf(live);
      const cache = sys.kmem.kmemCacheCreate('wl_pc_msg', 256, 0, SLAB_HWCACHE_ALIGN);
      const ctx = sys.machine.ctx;
      let head = 0;
      for (let i = 0; i < ops; i++) {
        const produce = live.count - head < 64 || rng.chance(0.5);
        if (produce && live.count < live.capacity) {
          ctx.setCpu(0);
          allocCache(sys, live, m, cache, 256, GFP_KERNEL);
        } else if (head < live.count) {
          ctx.setCpu(ctx.nrCpus - 1);
          sys.kmem.kmemCacheFree(cache, live.addr[head]!);
          head++;
          if (head > 4096) {
            // Compact the queue.
            live.addr.copyWithin(0, head, live.count);
            live.cache.copyWithin(0, head, live.count);
            live.size.copyWithin(0, head, live.count);
            live.count -= head;
            head = 0;
          }
        }
        trackPeak(sys, m, i);
      }
      live.addr.copyWithin(0, head, live.count);
      live.cache.copyWithin(0, head, live.count);
      live.size.copyWithin(0, head, live.count);
      live.count -= head;
    },
  },
  {
    name: 'burst-free',
    summary: 'bursts of 10k kmallocs of 32–512 bytes, then 90 % freed at random: how much memory stays pinned in partial slabs',
    run(sys, ops, rng, live) {
      const m = meterOf(live);
      let i = 0;
      while (i < ops) {
        for (let k = 0; k < 10000 && i < ops && live.count < live.capacity; k++, i++) {
          allocKmalloc(sys, live, m, 32 + rng.int(481), GFP_KERNEL);
          trackPeak(sys, m, i);
        }
        sys.machine.ctx.setCpu(rng.int(sys.machine.ctx.nrCpus));
        const target = Math.floor(live.count / 10);
        while (live.count > target && i < ops) {
          freeAt(sys, live, rng.int(live.count));
          i++;
        }
      }
    },
  },
];

function slabPagesNow(sys: System): number {
  const [a, b] = sys.kmem.slabPages();
  return a + b;
}

function trackPeak(sys: System, m: Meter, i: number): void {
  if ((i & 255) === 0) {
    const p = slabPagesNow(sys);
    if (p > m.peakPages) m.peakPages = p;
  }
}

/** Looks a workload up. @throws AllocatorError `unknown-name` */
export function slabWorkload(name: string): SlabWorkload {
  const w = SLAB_WORKLOADS.find((x) => x.name === name);
  if (!w) throw new AllocatorError('unknown-name', `unknown slab workload '${name}' (known: ${SLAB_WORKLOADS.map((x) => x.name).join(', ')})`);
  return w;
}

/** Measures a finished run: the shared tail of workload and trace runs. */
function measure(sys: System, name: string, ops: number, wallMs: number, before: ReturnType<System['slab']['stats']>, m: Meter, liveBytes: number): SlabWorkloadResult {
  const after = sys.slab.stats();
  const finalPages = slabPagesNow(sys);
  if (finalPages > m.peakPages) m.peakPages = finalPages;
  let partial = 0;
  for (const c of sys.kmem.caches()) partial += c.counters.partialSlabs;
  const slabBytes = finalPages * 4096;
  const allocs = after.allocs - before.allocs;
  return {
    workload: name,
    policy: sys.kmem.policy,
    ops,
    wallMs,
    opsPerSec: ops / (wallMs / 1000),
    peakPages: m.peakPages,
    finalPages,
    bytesRequested: m.bytesReq,
    bytesAllocated: m.bytesAlloc,
    unusedSlabBytes: slabBytes ? Math.max(0, slabBytes - liveBytes) / slabBytes : 0,
    partialSlabs: partial,
    fastPathHitRate: !allocs ? 0 : after.fastAllocs === before.fastAllocs && after.fastFrees === before.fastFrees ? null : (after.fastAllocs - before.fastAllocs) / allocs,
    pageAllocatorCalls: after.pageAllocatorCalls - before.pageAllocatorCalls,
    failedAllocs: m.failed,
  };
}

/**
 * Replays parsed trace events and measures them like a workload (objects
 * still live at the end stay allocated while measuring, then are freed).
 */
export function runSlabTrace(sys: System, label: string, events: readonly KmemEvent[]): SlabWorkloadResult {
  const m = new Meter();
  const before = sys.slab.stats();
  const t0 = performance.now();
  const r = replayKmem(events, sys.kmem);
  const wallMs = performance.now() - t0;
  const s = r.stats;
  m.bytesReq = s.kmalloc.bytesReq + s.cacheAlloc.bytesReq;
  m.bytesAlloc = s.kmalloc.bytesAlloc + s.cacheAlloc.bytesAlloc;
  m.failed = s.failures;
  return measure(sys, label, events.length, wallMs, before, m, s.liveAtEnd.bytesAlloc);
}

/** Bytes the objects of a live set asked for (the sum of their requested sizes). */
export function liveRequestedBytes(live: LiveSet): number {
  let sum = 0;
  for (let i = 0; i < live.count; i++) sum += live.size[i]!;
  return sum;
}

/**
 * Runs a workload and measures it.
 * @param keep - leave the objects allocated (for /proc snapshots)
 * @param onStart - called with the run's live set before the first operation (an observer reads it, e.g. {@link liveRequestedBytes})
 */
export function runSlabWorkload(sys: System, name: string, ops: number, seed: number, keep = false, onStart?: (live: LiveSet) => void): SlabWorkloadResult {
  const w = slabWorkload(name);
  const live = new LiveSet(1 << 18);
  const m = new Meter();
  meters.set(live, m);
  onStart?.(live);
  const before = sys.slab.stats();
  const t0 = performance.now();
  w.run(sys, ops, new Rng(seed), live);
  const wallMs = performance.now() - t0;
  let liveBytes = 0;
  for (let i = 0; i < live.count; i++) liveBytes += sys.kmem.ksize(live.addr[i]!);
  const result = measure(sys, name, ops, wallMs, before, m, liveBytes);
  if (!keep) for (let i = live.count - 1; i >= 0; i--) freeAt(sys, live, i);
  return result;
}
