/**
 * Replays parsed kmem events ({@link KmemEvent}) through a slab front end
 * ({@link KmemApi}), mapping each traced pointer to the simulated address
 * the front end returned.
 *
 * How replay works here:
 *
 * 1. **Cache assignment (first pass, {@link assignCaches}).** `kmem_cache_alloc`
 *    names its cache only on recent kernels; `kmem_cache_free` has named it
 *    since ~5.12. Each unnamed `kmem_cache_alloc` is paired with the next
 *    `kmem_cache_free` of the same pointer (any other alloc or `kfree` of
 *    that pointer in between breaks the pair) and takes its `name=`. An
 *    allocation left unpaired (still live at the end, freed by `kfree`, or
 *    freed by an unnamed `kmem_cache_free`) goes to a synthetic cache
 *    `trace-<bytes_req>` of object size `bytes_req`. A named cache gets the
 *    largest `bytes_req` seen for that name in the first pass. Caches are
 *    created on first use with `kmemCacheCreate(name, size)` (shaped by
 *    {@link cacheShape} from the traced stride), or reused when
 *    `findCache(name)` already knows the name.
 * 2. **Allocations.** `kmalloc`/`kmalloc_node` replay as
 *    `kmalloc(bytes_req, gfp)`, `kmem_cache_alloc[_node]` as
 *    `kmemCacheAlloc(cache, gfp)`. A traced allocation whose pointer is null
 *    failed in the real kernel and is skipped (`tracedFailures`). A simulated
 *    0 is a failure (`failures`); later frees of that traced pointer are
 *    skipped (`freesOfFailed`). `kmalloc(0)` returns `ZERO_SIZE_PTR`, which
 *    is not an object: it is not tracked, and frees of its traced pointer are
 *    no-ops (`zeroSizeFrees`).
 * 3. **Lost frees.** An allocation of a traced pointer that is still live
 *    means the trace lost the free (ring-buffer overrun, or a free path not
 *    traced). Rule: count it (`lostFrees`) and free the old simulated object
 *    first, through the call that matches how it was allocated.
 * 4. **Frees.** A null pointer is a no-op (`nullFrees`). A pointer never
 *    allocated in the trace (allocated before tracing began) is counted and
 *    skipped (`unknownFrees`). Otherwise the object is freed the way it was
 *    allocated: `kmemCacheFree(cache, addr)` for cache objects, `kfree(addr)`
 *    for kmalloc objects, whichever event freed it (`crossFrees` counts
 *    `kfree` of a cache object and `kmem_cache_free` of a kmalloc object,
 *    which Linux allows but SLOB would not).
 * 5. **End.** Objects still live are reported (count, bytes) and freed when
 *    `freeAtEnd` is set, in allocation order.
 *
 * Sizes: the bytes a kmalloc object really gets are
 * `kmallocBytesAlloc(bytes_req)` (what ftrace prints as bytes_alloc); a
 * cache object gets its cache's stride (`geometry.size`, ftrace's
 * `s->size`), or `ksize` when the cache is not listed. Both are compared to
 * the trace's own bytes_alloc: for a real SLUB trace replayed on the SLUB
 * policy the kmalloc ones should agree.
 *
 * Errors the front end throws (misuse) are rethrown as the same kind with
 * `replay line N (<kind>): ` before the original message and `info.line` = N.
 */

import { AllocatorError } from '../../interfaces/errors.js';
import type { CacheHandle, KmemApi } from '../../interfaces/slab.js';
import { CACHE_LINE_SIZE, SLAB_HWCACHE_ALIGN, ZERO_SIZE_PTR } from '../../interfaces/slab.js';
import type { KmemEvent, KmemEventKind } from './ftrace-kmem.js';

/** What happened to one event during replay (values of {@link ReplayResult.outcome}). */
export const ReplayOutcome = {
  /** Not replayed: unknown free, free of a failed allocation, traced failure. */
  SKIPPED: 0,
  /** Allocation succeeded. */
  ALLOCATED: 1,
  /** Allocation returned 0. */
  FAILED: 2,
  /** Object freed. */
  FREED: 3,
  /** Free of a null pointer (no-op). */
  NULL_FREE: 4,
  /** `kmalloc(0)` (returns ZERO_SIZE_PTR) or a free of its pointer (no-op). */
  ZERO_SIZE: 5,
} as const;
/** A {@link ReplayOutcome} value. */
export type ReplayOutcome = (typeof ReplayOutcome)[keyof typeof ReplayOutcome];

/** How a cache allocation got its cache (see the rule in the module comment). */
export type CacheSource = 'named' | 'paired' | 'synthetic';

/** Result of the first pass. */
export interface CacheAssignment {
  /** Cache name per event index (cache_alloc events only; undefined elsewhere). */
  readonly names: readonly (string | undefined)[];
  /** How each cache_alloc got its name, per event index. */
  readonly sources: readonly (CacheSource | undefined)[];
  /** Object size to create each cache with. */
  readonly sizes: ReadonlyMap<string, number>;
  /** Largest bytes_alloc the traced kernel reported for each cache (its stride). */
  readonly tracedStride: ReadonlyMap<string, number>;
}

/** A cache the replay used. */
export interface ReplayCache {
  readonly name: string;
  readonly handle: CacheHandle;
  /** Object size it was created with (or the size asked for when it already existed). */
  readonly objectSize: number;
  /** Stride: bytes each object takes (what the replay counts as given). */
  readonly bytesAlloc: number;
  readonly source: CacheSource;
  /** True when `findCache` already knew the name. */
  readonly existed: boolean;
}

/** Bytes requested and given for one allocation kind. */
export interface ReplayBytes {
  /** Successful allocations. */
  readonly objects: number;
  readonly bytesReq: number;
  /** What the simulation gave. */
  readonly bytesAlloc: number;
  /** What the traced kernel gave for the same allocations. */
  readonly tracedBytesAlloc: number;
}

/** Allocations whose simulated bytes_alloc differs from the trace's. */
export interface BytesAllocMismatch {
  readonly kind: 'kmalloc' | 'cache_alloc';
  readonly bytesReq: number;
  readonly traced: number;
  readonly simulated: number;
  readonly count: number;
}

/** Replay statistics. */
export interface ReplayStats {
  /** API calls issued per event kind (allocation attempts, including failures; frees performed). */
  readonly replayed: Record<KmemEventKind, number>;
  readonly kmalloc: ReplayBytes;
  readonly cacheAlloc: ReplayBytes;
  /** Simulated allocations that returned 0. */
  readonly failures: number;
  /** Traced allocations with a null pointer (failed in the real kernel), skipped. */
  readonly tracedFailures: number;
  readonly zeroSizeAllocs: number;
  readonly nullFrees: number;
  /** Frees of pointers never allocated in the trace, skipped. */
  readonly unknownFrees: number;
  /** Frees of traced pointers whose simulated allocation failed, skipped. */
  readonly freesOfFailed: number;
  readonly zeroSizeFrees: number;
  /** Allocations of a still-live pointer: the old object was freed first. */
  readonly lostFrees: number;
  /** `kfree` of a cache object or `kmem_cache_free` of a kmalloc object. */
  readonly crossFrees: number;
  /** `kmem_cache_free` naming a cache other than the one the object was allocated from. */
  readonly cacheNameMismatches: number;
  /** Cache allocations per {@link CacheSource}. */
  readonly cacheSources: Record<CacheSource, number>;
  /** Mismatches with the trace's bytes_alloc, by kind and size (sorted by kind, bytes_req). */
  readonly bytesAllocMismatches: readonly BytesAllocMismatch[];
  /** Sum of the mismatch counts. */
  readonly bytesAllocMismatchCount: number;
  /** Highest simulated live bytes (bytes given). */
  readonly peakLiveBytes: number;
  /** Highest number of live objects. */
  readonly peakLiveObjects: number;
  /** Still live after the last event (before `freeAtEnd`). */
  readonly liveAtEnd: { readonly objects: number; readonly bytesReq: number; readonly bytesAlloc: number };
  /** Objects freed by `freeAtEnd`. */
  readonly freedAtEnd: number;
  readonly caches: readonly ReplayCache[];
}

/** Per-event results (typed arrays indexed like the events) and statistics. */
export interface ReplayResult {
  /** Simulated address per event: the object allocated or freed; 0 for failures, null frees and skipped events. */
  readonly addr: Float64Array;
  /** Simulated bytes_alloc per allocation event (also for failures: what it would have got). */
  readonly bytesAlloc: Float64Array;
  /** {@link ReplayOutcome} per event. */
  readonly outcome: Uint8Array;
  /** Index into `stats.caches` of the cache allocated from or freed to; -1 for kmalloc objects and skipped events. */
  readonly cacheIndex: Int32Array;
  readonly stats: ReplayStats;
}

/** Options of {@link replayKmem}. */
export interface ReplayOpts {
  /**
   * Free every object still live at the end (reported before freeing).
   * @defaultValue false
   */
  readonly freeAtEnd?: boolean;
}

/**
 * First pass: the cache each `kmem_cache_alloc` replays on (rule in the
 * module comment).
 *
 * @remarks O(events).
 */
export function assignCaches(events: readonly KmemEvent[]): CacheAssignment {
  const names: (string | undefined)[] = new Array<string | undefined>(events.length).fill(undefined);
  const sources: (CacheSource | undefined)[] = new Array<CacheSource | undefined>(events.length).fill(undefined);
  const pending = new Map<string, number>();
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (e.kind === 'cache_alloc' && e.cacheName !== undefined) {
      names[i] = e.cacheName;
      sources[i] = 'named';
    }
    if (e.ptr === '') continue;
    switch (e.kind) {
      case 'cache_alloc':
        if (e.cacheName === undefined) pending.set(e.ptr, i);
        else pending.delete(e.ptr);
        break;
      case 'cache_free': {
        const j = pending.get(e.ptr);
        if (j !== undefined && e.cacheName !== undefined) {
          names[j] = e.cacheName;
          sources[j] = 'paired';
        }
        pending.delete(e.ptr);
        break;
      }
      default:
        pending.delete(e.ptr);
    }
  }
  const sizes = new Map<string, number>();
  const tracedStride = new Map<string, number>();
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (e.kind !== 'cache_alloc' || e.ptr === '') continue;
    let name = names[i];
    if (name === undefined) {
      name = `trace-${e.bytesReq}`;
      names[i] = name;
      sources[i] = 'synthetic';
    }
    sizes.set(name, Math.max(sizes.get(name) ?? 0, e.bytesReq));
    tracedStride.set(name, Math.max(tracedStride.get(name) ?? 0, e.bytesAlloc));
  }
  return { names, sources, sizes, tracedStride };
}

const NOOP_CTOR = (): void => undefined;

/**
 * What the traced stride says about a cache the trace does not describe
 * (documented rule): a stride of ALIGN(size, 8) + 8 means the free pointer
 * sat after the object — a constructor (or RCU) cache — so the replay gives
 * it a no-op constructor; a larger stride that is a multiple of the cache
 * line means SLAB_HWCACHE_ALIGN; otherwise the cache is created plain.
 */
export function cacheShape(size: number, tracedStride: number): { flags: number; ctor?: () => void } {
  const aligned = Math.ceil(size / 8) * 8;
  if (tracedStride === aligned + 8) return { flags: 0, ctor: NOOP_CTOR };
  if (tracedStride > aligned && tracedStride % CACHE_LINE_SIZE === 0) return { flags: SLAB_HWCACHE_ALIGN };
  return { flags: 0 };
}

/** A live simulated object. */
interface Live {
  readonly addr: number;
  /** Index into the cache list, -1 for kmalloc. */
  readonly cache: number;
  readonly bytesReq: number;
  readonly bytesAlloc: number;
}

const emptyBytes = (): { objects: number; bytesReq: number; bytesAlloc: number; tracedBytesAlloc: number } => ({ objects: 0, bytesReq: 0, bytesAlloc: 0, tracedBytesAlloc: 0 });

/**
 * Replays `events` through `api`.
 *
 * @param events - parsed events, in trace order
 * @param api - the slab front end (a fresh one: caches are created on it)
 * @param opts - {@link ReplayOpts}
 * @returns per-event results and statistics
 * @throws AllocatorError from the front end (misuse), with `replay line N: ` prefixed
 * @remarks O(events) plus the front end's costs.
 */
export function replayKmem(events: readonly KmemEvent[], api: KmemApi, opts: ReplayOpts = {}): ReplayResult {
  const n = events.length;
  const assignment = assignCaches(events);
  const addr = new Float64Array(n);
  const bytesAllocOut = new Float64Array(n);
  const outcome = new Uint8Array(n);
  const cacheIndex = new Int32Array(n).fill(-1);

  const replayed: Record<KmemEventKind, number> = { kmalloc: 0, cache_alloc: 0, kfree: 0, cache_free: 0 };
  const kmallocBytes = emptyBytes();
  const cacheBytes = emptyBytes();
  const cacheSources: Record<CacheSource, number> = { named: 0, paired: 0, synthetic: 0 };
  const mismatches = new Map<string, { kind: 'kmalloc' | 'cache_alloc'; bytesReq: number; traced: number; simulated: number; count: number }>();
  let failures = 0;
  let tracedFailures = 0;
  let zeroSizeAllocs = 0;
  let nullFrees = 0;
  let unknownFrees = 0;
  let freesOfFailed = 0;
  let zeroSizeFrees = 0;
  let lostFrees = 0;
  let crossFrees = 0;
  let cacheNameMismatches = 0;

  const caches: ReplayCache[] = [];
  const cacheByName = new Map<string, number>();
  const kmallocSize = new Map<number, number>();
  const live = new Map<string, Live>();
  const failedPtrs = new Set<string>();
  const zeroPtrs = new Set<string>();
  let liveBytes = 0;
  let peakLiveBytes = 0;
  let peakLiveObjects = 0;

  const kmallocBytesAlloc = (size: number): number => {
    let b = kmallocSize.get(size);
    if (b === undefined) {
      b = api.kmallocBytesAlloc(size);
      kmallocSize.set(size, b);
    }
    return b;
  };

  const cacheFor = (name: string, source: CacheSource): number => {
    let idx = cacheByName.get(name);
    if (idx !== undefined) return idx;
    const objectSize = assignment.sizes.get(name)!;
    const found = api.findCache(name);
    const shape = cacheShape(objectSize, assignment.tracedStride.get(name) ?? 0);
    const handle = found >= 0 ? found : api.kmemCacheCreate(name, objectSize, 0, shape.flags, shape.ctor);
    const info = api.caches().find((c) => c.handle === handle);
    idx = caches.length;
    caches.push({ name, handle, objectSize, bytesAlloc: info?.geometry.size ?? -1, source, existed: found >= 0 });
    cacheByName.set(name, idx);
    return idx;
  };

  const release = (obj: Live): void => {
    if (obj.cache >= 0) api.kmemCacheFree(caches[obj.cache]!.handle, obj.addr);
    else api.kfree(obj.addr);
    liveBytes -= obj.bytesAlloc;
  };

  const noteMismatch = (kind: 'kmalloc' | 'cache_alloc', bytesReq: number, traced: number, simulated: number): void => {
    if (traced === simulated) return;
    const key = `${kind}:${bytesReq}:${traced}:${simulated}`;
    const m = mismatches.get(key);
    if (m) m.count++;
    else mismatches.set(key, { kind, bytesReq, traced, simulated, count: 1 });
  };

  for (let i = 0; i < n; i++) {
    const e = events[i]!;
    try {
      if (e.kind === 'kmalloc' || e.kind === 'cache_alloc') {
        if (e.ptr === '') {
          tracedFailures++;
          continue;
        }
        const old = live.get(e.ptr);
        if (old) {
          lostFrees++;
          release(old);
          live.delete(e.ptr);
        }
        failedPtrs.delete(e.ptr);
        zeroPtrs.delete(e.ptr);
        replayed[e.kind]++;
        let a: number;
        let given: number;
        let cache = -1;
        let acc = kmallocBytes;
        if (e.kind === 'kmalloc') {
          a = api.kmalloc(e.bytesReq, e.gfp);
          given = e.bytesReq === 0 ? 0 : kmallocBytesAlloc(e.bytesReq);
          if (e.bytesReq === 0) {
            zeroSizeAllocs++;
            zeroPtrs.add(e.ptr);
            addr[i] = a;
            outcome[i] = ReplayOutcome.ZERO_SIZE;
            continue;
          }
        } else {
          const source = assignment.sources[i]!;
          cacheSources[source]++;
          cache = cacheFor(assignment.names[i]!, source);
          cacheIndex[i] = cache;
          acc = cacheBytes;
          a = api.kmemCacheAlloc(caches[cache]!.handle, e.gfp);
          given = caches[cache]!.bytesAlloc;
          if (given < 0) given = a !== 0 ? api.ksize(a) : 0;
        }
        bytesAllocOut[i] = given;
        if (a === 0) {
          failures++;
          failedPtrs.add(e.ptr);
          outcome[i] = ReplayOutcome.FAILED;
          continue;
        }
        addr[i] = a;
        outcome[i] = ReplayOutcome.ALLOCATED;
        acc.objects++;
        acc.bytesReq += e.bytesReq;
        acc.bytesAlloc += given;
        acc.tracedBytesAlloc += e.bytesAlloc;
        noteMismatch(e.kind, e.bytesReq, e.bytesAlloc, given);
        live.set(e.ptr, { addr: a, cache, bytesReq: e.bytesReq, bytesAlloc: given });
        liveBytes += given;
        if (liveBytes > peakLiveBytes) peakLiveBytes = liveBytes;
        if (live.size > peakLiveObjects) peakLiveObjects = live.size;
      } else {
        if (e.ptr === '') {
          nullFrees++;
          outcome[i] = ReplayOutcome.NULL_FREE;
          continue;
        }
        const obj = live.get(e.ptr);
        if (!obj) {
          if (failedPtrs.delete(e.ptr)) freesOfFailed++;
          else if (zeroPtrs.delete(e.ptr)) {
            zeroSizeFrees++;
            addr[i] = ZERO_SIZE_PTR;
            outcome[i] = ReplayOutcome.ZERO_SIZE;
          } else unknownFrees++;
          continue;
        }
        if ((e.kind === 'kfree') !== (obj.cache < 0)) crossFrees++;
        if (e.kind === 'cache_free' && obj.cache >= 0 && e.cacheName !== undefined && e.cacheName !== caches[obj.cache]!.name) cacheNameMismatches++;
        replayed[e.kind]++;
        release(obj);
        live.delete(e.ptr);
        addr[i] = obj.addr;
        cacheIndex[i] = obj.cache;
        outcome[i] = ReplayOutcome.FREED;
      }
    } catch (err) {
      if (err instanceof AllocatorError) {
        // The original message already starts with `policy.op: `; keeping them in info would print it twice.
        const { policy: _policy, op: _op, ...rest } = err.info;
        throw new AllocatorError(err.kind, `replay line ${e.line} (${e.kind}): ${err.message}`, { ...rest, line: e.line });
      }
      throw err;
    }
  }

  let liveReq = 0;
  let liveAlloc = 0;
  for (const obj of live.values()) {
    liveReq += obj.bytesReq;
    liveAlloc += obj.bytesAlloc;
  }
  const liveAtEnd = { objects: live.size, bytesReq: liveReq, bytesAlloc: liveAlloc };
  let freedAtEnd = 0;
  if (opts.freeAtEnd) {
    for (const obj of live.values()) {
      release(obj);
      freedAtEnd++;
    }
    live.clear();
  }

  const bytesAllocMismatches = [...mismatches.values()].sort((a, b) => (a.kind === b.kind ? a.bytesReq - b.bytesReq || a.traced - b.traced : a.kind < b.kind ? -1 : 1));
  return {
    addr,
    bytesAlloc: bytesAllocOut,
    outcome,
    cacheIndex,
    stats: {
      replayed,
      kmalloc: kmallocBytes,
      cacheAlloc: cacheBytes,
      failures,
      tracedFailures,
      zeroSizeAllocs,
      nullFrees,
      unknownFrees,
      freesOfFailed,
      zeroSizeFrees,
      lostFrees,
      crossFrees,
      cacheNameMismatches,
      cacheSources,
      bytesAllocMismatches,
      bytesAllocMismatchCount: bytesAllocMismatches.reduce((s, m) => s + m.count, 0),
      peakLiveBytes,
      peakLiveObjects,
      liveAtEnd,
      freedAtEnd,
      caches,
    },
  };
}
