/**
 * Built-in seeded page-allocator workloads. Each is a pure function of
 * (system, ops, seed): it allocates and frees through the PageAllocator
 * interface only, on simulated CPUs, and reports the same metrics for every
 * policy so `allocsim compare` can set them side by side.
 */

import { AllocatorError } from '../../interfaces/errors.js';
import { GFP_ATOMIC, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, __GFP_COMP, __GFP_NOWARN, __GFP_RECLAIMABLE, type Gfp } from '../../interfaces/gfp.js';
import type { PageAllocStats } from '../../interfaces/page-allocator.js';
import { MAX_PAGE_ORDER, NO_PFN, type Pfn } from '../../interfaces/units.js';
import type { System } from '../../system.js';
import { Rng } from '../../machine/rng.js';

/** What every workload run measures, whatever the layer. */
export interface WorkloadResultBase {
  readonly workload: string;
  readonly policy: string;
  readonly ops: number;
  readonly wallMs: number;
  readonly opsPerSec: number;
  /** Most pages held by the workload at once. */
  readonly peakPages: number;
  /** Pages still held at the end (page workloads free them afterwards). */
  readonly finalPages: number;
}

/** What one page-allocator run measured. */
export interface PageWorkloadResult extends WorkloadResultBase {
  /** Allocation attempts that returned no page. */
  readonly failedAllocs: number;
  /** Allocation failures with enough free pages in total: fragmentation failures. */
  readonly fragFailures: number;
  /** Fraction of free memory not in blocks of order ≥ 9 at the end (`unusable free space index` for order 9). */
  readonly unusableIndex9: number;
  readonly stats: PageAllocStats;
}

/** A workload: name, summary and the op generator. */
export interface PageWorkload {
  readonly name: string;
  readonly summary: string;
  /** Picks the next operation: returns an order ≥ 0 with a GFP mask to allocate, or -1 to free. */
  next(rng: Rng, live: number): { order: number; gfp: Gfp } | null;
}

const KERNEL_ORDERS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
// Weights loosely modelled on a booted kernel's page-allocation mix: overwhelmingly order 0.
const KERNEL_ORDER_WEIGHTS = [820, 60, 50, 45, 8, 5, 4, 3, 2, 2, 1];
const KERNEL_GFPS: readonly Gfp[] = [GFP_KERNEL, GFP_HIGHUSER_MOVABLE, GFP_KERNEL | __GFP_RECLAIMABLE, GFP_ATOMIC | __GFP_NOWARN, GFP_KERNEL | __GFP_COMP];
const KERNEL_GFP_WEIGHTS = [40, 40, 8, 7, 5];

/** The named workloads. */
export const PAGE_WORKLOADS: readonly PageWorkload[] = [
  {
    name: 'kernel-mix',
    summary: 'mostly order-0 with some order 1–3 and rare huge orders, unmovable/movable/reclaimable/atomic masks, frees from any CPU',
    next: (rng, live) => {
      if (live > 0 && rng.chance(live > 4000 ? 0.6 : 0.45)) return null;
      return { order: KERNEL_ORDERS[rng.weighted(KERNEL_ORDER_WEIGHTS)]!, gfp: KERNEL_GFPS[rng.weighted(KERNEL_GFP_WEIGHTS)]! | __GFP_NOWARN };
    },
  },
  {
    name: 'order0-churn',
    summary: 'order-0 GFP_KERNEL alloc/free churn around 1000 live pages (the per-CPU fast path)',
    next: (rng, live) => (live > 0 && rng.chance(live > 1000 ? 0.6 : 0.4) ? null : { order: 0, gfp: GFP_KERNEL }),
  },
  {
    name: 'random-orders',
    summary: 'orders 0–10 uniformly, GFP_KERNEL, random frees',
    next: (rng, live) => (live > 0 && rng.chance(live > 200 ? 0.55 : 0.45) ? null : { order: rng.int(MAX_PAGE_ORDER + 1), gfp: GFP_KERNEL | __GFP_NOWARN }),
  },
  {
    name: 'fragmenter',
    summary: 'order-0 churn interleaved with order-9 (2 MiB) requests: scattered small pages break up huge blocks',
    next: (rng, live) => {
      void live;
      return rng.chance(0.5) ? { order: 0, gfp: GFP_KERNEL | __GFP_NOWARN } : rng.chance(0.1) ? { order: 9, gfp: GFP_KERNEL | __GFP_NOWARN } : null;
    },
  },
];

/** Looks a workload up by name. @throws AllocatorError `unknown-name` */
export function pageWorkload(name: string): PageWorkload {
  const w = PAGE_WORKLOADS.find((x) => x.name === name);
  if (!w) throw new AllocatorError('unknown-name', `unknown page workload '${name}' (known: ${PAGE_WORKLOADS.map((x) => x.name).join(', ')})`);
  return w;
}

/**
 * Runs `ops` operations of a workload. CPUs change every 64 operations and
 * a free picks a random live block, so frees are often remote.
 *
 * @param keep - leave the blocks allocated at the end (for /proc snapshots)
 */
export function runPageWorkload(sys: System, name: string, ops: number, seed: number, keep = false): PageWorkloadResult {
  const w = pageWorkload(name);
  const rng = new Rng(seed);
  const pages = sys.pages;
  const ctx = sys.machine.ctx;
  const cap = 1 << 20;
  const livePfn = new Int32Array(cap);
  const liveOrder = new Uint8Array(cap);
  let live = 0;
  let held = 0;
  let peak = 0;
  let failed = 0;
  let frag = 0;
  const t0 = performance.now();
  for (let i = 0; i < ops; i++) {
    if ((i & 63) === 0) ctx.setCpu(rng.int(ctx.nrCpus));
    const op = w.next(rng, live);
    if (op === null || live === cap) {
      if (live === 0) continue;
      const k = rng.int(live);
      pages.freePages(livePfn[k]! as Pfn, liveOrder[k]!);
      held -= 1 << liveOrder[k]!;
      live--;
      livePfn[k] = livePfn[live]!;
      liveOrder[k] = liveOrder[live]!;
      continue;
    }
    const pfn = pages.allocPages(op.order, op.gfp);
    if (pfn === NO_PFN) {
      failed++;
      const s = pages.stats();
      if (s.freePages + s.pcpPages >= 1 << op.order) frag++;
      continue;
    }
    livePfn[live] = pfn;
    liveOrder[live] = op.order;
    live++;
    held += 1 << op.order;
    if (held > peak) peak = held;
  }
  const wallMs = performance.now() - t0;
  const finalPages = held;
  const zones = pages.zones();
  let freeTotal = 0;
  let freeHigh = 0;
  for (const z of zones) {
    z.nrFree.forEach((n, o) => {
      freeTotal += n << o;
      if (o >= 9) freeHigh += n << o;
    });
  }
  const stats = pages.stats();
  if (!keep) {
    for (let k = 0; k < live; k++) pages.freePages(livePfn[k]! as Pfn, liveOrder[k]!);
  }
  return {
    workload: name,
    policy: pages.policy,
    ops,
    wallMs,
    opsPerSec: ops / (wallMs / 1000),
    peakPages: peak,
    finalPages,
    failedAllocs: failed,
    fragFailures: frag,
    unusableIndex9: freeTotal ? (freeTotal - freeHigh) / freeTotal : 0,
    stats,
  };
}
