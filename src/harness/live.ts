/**
 * Running a workload live: the run `allocsim top` watches. The workload (or
 * trace replay) runs exactly as a one-shot run does — the same call, the
 * same seeded generator, in one synchronous loop — and the cost meter's
 * per-operation clock (`CostMeterApi.onOp`) paces it and samples it:
 *
 * - **Pacing.** After each top-level operation the listener compares the
 *   operations done with the rate asked for and, when the run is at least
 *   {@link MIN_SLEEP_MS} ahead, sleeps with `Atomics.wait` (the thread
 *   blocks; a UI on another thread stays responsive). A run that falls
 *   behind does not burst to catch up: its clock restarts.
 * - **Pausing.** Word 0 of the control array ({@link LIVE_PAUSED}) is
 *   watched after every operation; while it is set the run waits on it (the
 *   UI thread sets it, clears it and `Atomics.notify`s). Paused time is not
 *   counted in the elapsed time.
 * - **Sampling.** Every `intervalMs` of wall time the listener builds a
 *   {@link LiveSnapshot} (the caches, the zones' free blocks, the page and
 *   slab statistics, the cost table) and hands it to `onSample`.
 *
 * Nothing of the run itself changes: the listener touches no simulated
 * state and allocates nothing per operation (a snapshot is built once per
 * interval), so the end state is the one-shot run's for the same seed
 * (`test/harness/live.test.ts` checks it).
 */

import type { CostRow } from '../interfaces/cost.js';
import { AllocatorError } from '../interfaces/errors.js';
import type { PageAllocStats } from '../interfaces/page-allocator.js';
import type { SlabStats } from '../interfaces/slab.js';
import type { System } from '../system.js';
import type { KmemEvent } from './trace/ftrace-kmem.js';
import { runPageWorkload } from './workloads/page.js';
import { runSlabTrace, runSlabWorkload } from './workloads/slab.js';

/** The layer a live run drives. */
export type LiveLayer = 'slab' | 'page';

/** What a live run runs: a built-in workload of its layer, or (slab) a parsed kmem trace. */
export interface LiveJob {
  readonly layer: LiveLayer;
  /** Workload name (`SLAB_WORKLOADS`/`PAGE_WORKLOADS`); ignored when `trace` is given. */
  readonly workload: string;
  /** Operations of the workload; ignored when `trace` is given. */
  readonly ops: number;
  /** A kmem trace to replay instead of the workload (slab layer): its label (`trace FILE`) and events. */
  readonly trace?: { readonly label: string; readonly events: readonly KmemEvent[] };
}

/** Word 0 of the control array: set while the run is paused. */
export const LIVE_PAUSED = 1;
/** Word 0 of the control array: clear while the run goes on. */
export const LIVE_RUNNING = 0;
/** The run sleeps only when it is at least this far ahead of its rate (fewer, longer sleeps). */
export const MIN_SLEEP_MS = 10;
/** A run this far behind its rate restarts its rate clock instead of bursting to catch up. */
const MAX_LAG_MS = 100;

/** How a live run is paced and sampled. */
export interface LivePaceOpts {
  /** Top-level operations per second of wall time; 0 runs as fast as the simulator goes. */
  readonly rate: number;
  /** Wall-clock milliseconds between samples. */
  readonly intervalMs: number;
  /** Shared control words (word 0: {@link LIVE_PAUSED} / {@link LIVE_RUNNING}); default: a private, never paused one. */
  readonly control?: Int32Array;
  /** Called with each sample, from inside the run. */
  readonly onSample: (s: LiveSnapshot) => void;
}

/** One cache's line, with slabtop's columns. */
export interface LiveCache {
  readonly name: string;
  /** Objects in the cache's slabs (`num_objs`). */
  readonly objs: number;
  /** Active objects (`active_objs`). */
  readonly active: number;
  /** Bytes per object (the stride, slabinfo's objsize). */
  readonly objSize: number;
  readonly slabs: number;
  readonly objPerSlab: number;
  readonly pagesPerSlab: number;
  /** Pages the cache's slabs hold. */
  readonly pages: number;
}

/** One populated zone's free blocks per order (`/proc/buddyinfo`). */
export interface LiveZone {
  readonly node: number;
  readonly name: string;
  /** Free blocks per order. */
  readonly nrFree: readonly number[];
}

/** What a snapshot says about the run itself, besides the system's state. */
export interface LiveRunState {
  /** What runs: `workload kernel-mix` or `trace FILE (N events)`. */
  readonly run: string;
  readonly finished: boolean;
  /** Top-level allocator operations done (the cost meter's count since the run began). */
  readonly opsDone: number;
  /** Operations the workload will do; null for a trace (whose events are not all operations). */
  readonly opsTotal: number | null;
  /** Wall time the run has been going, pauses excluded. */
  readonly elapsedMs: number;
  /** Operations per wall second since the previous sample (for the last one: over the whole run). */
  readonly opsPerSec: number;
}

/** What a live run looks like at one moment: plain data (it crosses threads by structured clone). */
export interface LiveSnapshot extends LiveRunState {
  readonly machine: { readonly memBytes: number; readonly cpus: number; readonly nodes: number; readonly seed: number };
  readonly layer: LiveLayer;
  /** The policy driven: the slab policy, or the page policy with `--layer page`. */
  readonly policy: string;
  readonly caches: readonly LiveCache[];
  readonly zones: readonly LiveZone[];
  readonly pageStats: PageAllocStats;
  readonly slabStats: SlabStats;
  /** The cost table (`CostMeterApi.rows()`). */
  readonly cost: readonly CostRow[];
}

/** A snapshot of `sys` now. @remarks O(caches + zones): called once per interval, never per operation. */
export function liveSnapshot(sys: System, layer: LiveLayer, state: LiveRunState): LiveSnapshot {
  const m = sys.config.machine;
  return {
    machine: { memBytes: m.memBytes, cpus: m.cpus, nodes: m.nodes, seed: sys.config.seed },
    layer,
    policy: layer === 'page' ? sys.pages.policy : sys.kmem.policy,
    ...state,
    caches: sys.kmem.caches().map((c) => ({
      name: c.name,
      objs: c.counters.numObjs,
      active: c.counters.activeObjs,
      objSize: c.geometry.size,
      slabs: c.counters.numSlabs,
      objPerSlab: c.geometry.objPerSlab,
      pagesPerSlab: 1 << c.geometry.order,
      pages: c.counters.pages,
    })),
    zones: sys.pages
      .zones()
      .filter((z) => z.present > 0)
      .map((z) => ({ node: z.node, name: z.name, nrFree: [...z.nrFree] })),
    pageStats: sys.pages.stats(),
    slabStats: sys.slab.stats(),
    cost: sys.machine.cost?.rows() ?? [],
  };
}

/** The label of a job (`workload kernel-mix`, `trace FILE (N events)`). */
export function liveRunLabel(job: LiveJob): string {
  return job.trace ? `${job.trace.label} (${job.trace.events.length.toLocaleString('en-US')} events)` : `workload ${job.workload}`;
}

/**
 * Runs `job` on `sys` paced and sampled (module comment); the objects the
 * workload holds at the end stay allocated, as `keep` leaves them.
 *
 * @param sys - a fresh system built with `debug.cost` on (the meter is the run's clock)
 * @returns the final snapshot (`finished`), also handed to `onSample`
 * @throws AllocatorError `config` when the system has no cost meter; whatever the workload throws
 */
export function runLive(sys: System, job: LiveJob, pace: LivePaceOpts): LiveSnapshot {
  const meter = sys.machine.cost;
  if (meter === null) throw new AllocatorError('config', 'a live run needs the cost meter: build the system with debug.cost');
  const control = pace.control ?? new Int32Array(new SharedArrayBuffer(4));
  const msPerOp = pace.rate > 0 ? 1000 / pace.rate : 0;
  const run = liveRunLabel(job);
  const opsTotal = job.trace ? null : job.ops;
  const ops0 = meter.ops;
  const t0 = performance.now();
  let paused = 0;
  // The rate clock: where it (re)started, in time and operations.
  let clockT = t0;
  let clockOps = 0;
  let nextSample = t0 + pace.intervalMs;
  let lastT = t0;
  let lastOps = 0;
  const sample = (now: number, done: number, finished: boolean): LiveSnapshot => {
    const dt = finished ? now - t0 - paused : now - lastT;
    const s = liveSnapshot(sys, job.layer, {
      run,
      finished,
      opsDone: done,
      opsTotal,
      elapsedMs: now - t0 - paused,
      opsPerSec: dt > 0 ? ((finished ? done : done - lastOps) * 1000) / dt : 0,
    });
    lastT = now;
    lastOps = done;
    pace.onSample(s);
    return s;
  };
  meter.onOp((ops) => {
    const done = ops - ops0;
    let now = performance.now();
    if (Atomics.load(control, 0) === LIVE_PAUSED) {
      const p0 = now;
      while (Atomics.load(control, 0) === LIVE_PAUSED) Atomics.wait(control, 0, LIVE_PAUSED);
      now = performance.now();
      paused += now - p0;
      clockT += now - p0;
      lastT += now - p0;
      nextSample = now;
    }
    if (msPerOp > 0) {
      const ahead = clockT + (done - clockOps) * msPerOp - now;
      if (ahead >= MIN_SLEEP_MS) {
        // A pause request wakes the sleep early; the next operation waits for the resume.
        Atomics.wait(control, 0, LIVE_RUNNING, ahead);
        now = performance.now();
      } else if (ahead < -MAX_LAG_MS) {
        clockT = now;
        clockOps = done;
      }
    }
    if (now >= nextSample) {
      sample(now, done, false);
      nextSample = now + pace.intervalMs;
    }
  });
  try {
    if (job.layer === 'page') runPageWorkload(sys, job.workload, job.ops, sys.config.seed, true);
    else if (job.trace) runSlabTrace(sys, job.trace.label, job.trace.events);
    else runSlabWorkload(sys, job.workload, job.ops, sys.config.seed, true);
  } finally {
    meter.onOp(null);
  }
  return sample(performance.now(), meter.ops - ops0, true);
}
