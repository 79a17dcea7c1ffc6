/**
 * Where slices run: in this thread, one at a time, or on a pool of worker
 * threads (piscina), one slice per thread at a time. Both run
 * {@link executeSlice}, so a slice's report is the same in either.
 */

import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { executeSlice, type SliceResult, type SliceTask } from './execute.js';

/** Something that runs slices, `width` at a time. */
export interface SliceExecutor {
  /** Slices it runs at once (the coordinator keeps this many in flight). */
  readonly width: number;
  /** Runs a slice. */
  run(t: SliceTask): Promise<SliceResult>;
  /** Stops its threads or connections. */
  close(): Promise<void>;
  /**
   * Gives up the slices not started yet (Ctrl-C): their `run` rejects with
   * {@link SliceCancelled}. Executors whose slices all start at once (a pool,
   * this thread) have none to give up and need not have it.
   */
  cancel?(): void;
}

/** A slice given up before it ran (see {@link SliceExecutor.cancel}): not a result, not an error. */
export class SliceCancelled extends Error {
  constructor(readonly k: number) {
    super(`slice ${k} was given up before it ran`);
    this.name = 'SliceCancelled';
  }
}

/** Most threads `--workers` takes (fuzz and worker). */
export const MAX_WORKERS = 256;

/** The default worker count: the cores Node may use. */
export function defaultWorkers(): number {
  return availableParallelism();
}

/** Runs slices in this thread, one at a time. */
export function inThreadExecutor(): SliceExecutor {
  return {
    width: 1,
    run: executeSlice,
    close: async () => {},
  };
}

/** Runs slices on `threads` worker threads. */
export function poolExecutor(threads: number): SliceExecutor {
  const entry = new URL('./pool-worker.js', import.meta.url);
  // From the TypeScript sources (a test runner) there is no compiled entry for the threads to load.
  if (!existsSync(entry)) throw new Error(`the worker pool needs the compiled ${fileURLToPath(entry)} (npm run build), or one worker (--workers 1, ALLOCSIM_WORKERS=1)`);
  const pool = new Piscina<SliceTask, SliceResult>({
    filename: entry.href,
    minThreads: threads,
    maxThreads: threads,
    // One slice per thread at a time: a queued slice waits in the pool, not in a busy thread.
    concurrentTasksPerWorker: 1,
    idleTimeout: 1000,
  });
  return {
    width: threads,
    run: (t) => pool.run(t),
    close: () => pool.destroy(),
  };
}

/** `workers` threads: this thread for 1, else a pool. */
export function executorFor(workers: number): SliceExecutor {
  return workers <= 1 ? inThreadExecutor() : poolExecutor(workers);
}
