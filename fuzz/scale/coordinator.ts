/**
 * The coordinator of a campaign at scale: hands slices of the seed's run
 * sequence to an executor (this thread, a thread pool, or a Redis queue of
 * machines), keeps `width` of them in flight, and folds their reports in
 * slice order — so for the same seed and run budget the result is the same
 * whatever the number of workers. It stops issuing slices when the run
 * budget is spent, the time budget is over, the signal aborts (Ctrl-C), or,
 * with `stopAtFirst`, once a slice holds a failure (then only slices up to
 * the first such slice count, which keeps that rule deterministic too).
 * Slices already running are waited for.
 */

import type { SliceFinding } from '../engine.js';
import { sliceCount, type CampaignJob, type Shard } from './job.js';
import { FindingsAccumulator, type DistinctFinding } from './findings.js';
import { SliceCancelled, type SliceExecutor } from './pool.js';
import type { SliceResult } from './execute.js';

/** How far a campaign goes. */
export interface CampaignPlan {
  readonly job: CampaignJob;
  /** A run budget (`--runs`); absent: until `deadline`. */
  readonly runs?: number;
  /** A time budget: no slice starts after this moment (ms, `Date.now()` clock). */
  readonly deadline?: number;
  /** Only this shard's slices (`--shard I/N`). */
  readonly shard?: Shard;
  /** Stop at the first slice with a failure (a mutant campaign: the catch is the answer). */
  readonly stopAtFirst?: boolean;
}

/** What the progress line shows. */
export interface CampaignProgress {
  readonly elapsedMs: number;
  readonly runs: number;
  readonly commands: number;
  readonly findings: number;
  readonly distinct: number;
  /** Distinct (command, outcome) pairs seen. */
  readonly coverage: number;
}

/** Why a campaign stopped. */
export type StopReason = 'runs' | 'time' | 'interrupted' | 'finding';

/** The outcome of a campaign. */
export interface CampaignResult {
  readonly job: CampaignJob;
  readonly stopped: StopReason;
  /** Runs made (in the slices that count). */
  readonly runs: number;
  readonly commands: number;
  /** Indices of the slices that count, ascending. */
  readonly slices: readonly number[];
  /** Failing runs. */
  readonly failures: number;
  /** The shrunk report of the first failing run. */
  readonly first?: SliceFinding;
  /** The failures bucketed by signature, in order of first occurrence. */
  readonly distinct: readonly DistinctFinding[];
  /** Distinct (command, outcome) pairs seen, sorted. */
  readonly coverage: readonly string[];
  readonly elapsedMs: number;
}

/** The slice indices of a plan, in order (endless for a time budget). */
function* sliceIndices(plan: CampaignPlan): Generator<number> {
  const step = plan.shard?.count ?? 1;
  const end = plan.runs === undefined ? Infinity : sliceCount(plan.runs);
  for (let k = (plan.shard?.index ?? 1) - 1; k < end; k += step) yield k;
}

/** What a caller hears during a campaign. */
export interface CampaignListeners {
  /** Stops handing out slices (Ctrl-C). */
  readonly signal?: AbortSignal;
  /** After every slice, in completion order. */
  readonly onProgress?: (p: CampaignProgress) => void;
  /** Each slice that counts, in slice order, with the findings it touched (to write them as the campaign goes). */
  readonly onSlice?: (r: SliceResult, touched: readonly DistinctFinding[]) => void;
}

/** Runs a campaign on `executor`. Results are folded in slice order as soon as every earlier slice is in, and then dropped. */
export async function coordinate(plan: CampaignPlan, executor: SliceExecutor, opts: CampaignListeners = {}): Promise<CampaignResult> {
  const t0 = Date.now();
  // Completed slices not yet folded (a later slice finished before an earlier one).
  const pending = new Map<number, SliceResult>();
  const issued: number[] = [];
  const live = { runs: 0, commands: 0, failures: 0, keys: new Set<string>(), coverage: new Set<string>() };
  const folded = { runs: 0, commands: 0, failures: 0, slices: [] as number[], coverage: new Set<string>(), first: undefined as SliceFinding | undefined };
  const findings = new FindingsAccumulator(plan.job);
  let stopped: StopReason = 'runs';
  let error: Error | undefined;
  const next = sliceIndices(plan);
  const aborted = new Promise<void>((resolve) => opts.signal?.addEventListener('abort', () => resolve(), { once: true }));
  const inFlight = new Set<Promise<void>>();
  let cancelled = false;
  const mayIssue = (): boolean => {
    if (error !== undefined) return false;
    if (opts.signal?.aborted) return ((stopped = 'interrupted'), false);
    if (plan.deadline !== undefined && Date.now() >= plan.deadline) return ((stopped = 'time'), false);
    if (plan.stopAtFirst && live.failures > 0) return ((stopped = 'finding'), false);
    return true;
  };
  const fold = (r: SliceResult): void => {
    // A mutant campaign counts the slices up to the first one with a failure: all were issued before any after it.
    if (plan.stopAtFirst && folded.failures > 0) return;
    folded.runs += r.to - r.from;
    folded.commands += r.commandsRun;
    folded.failures += r.failures.length;
    folded.slices.push(r.k);
    for (const c of r.coverage) folded.coverage.add(c);
    folded.first ??= r.findings[0];
    // Added whether or not anyone listens (`?.` would skip evaluating the argument).
    const touched = r.failures.length ? findings.add(r) : [];
    opts.onSlice?.(r, touched);
  };
  const issue = (k: number): void => {
    issued.push(k);
    const p = executor
      .run({ job: plan.job, k, ...(plan.runs !== undefined ? { runs: plan.runs } : {}) })
      .then((r) => {
        live.runs += r.to - r.from;
        live.commands += r.commandsRun;
        live.failures += r.failures.length;
        for (const c of r.coverage) live.coverage.add(c);
        for (const f of r.failures) live.keys.add(f.key);
        pending.set(k, r);
        while (issued.length && pending.has(issued[0]!)) {
          fold(pending.get(issued[0]!)!);
          pending.delete(issued.shift()!);
        }
        opts.onProgress?.({ elapsedMs: Date.now() - t0, runs: live.runs, commands: live.commands, findings: live.failures, distinct: live.keys.size, coverage: live.coverage.size });
      })
      .catch((e: unknown) => {
        // A slice given up on Ctrl-C is not a result: folding stops before it (the runs so far are a prefix).
        if (e instanceof SliceCancelled) return;
        error ??= e instanceof Error ? e : new Error(String(e));
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  for (;;) {
    if (opts.signal?.aborted && !cancelled) {
      // Ctrl-C: the slices not started yet are given up (a queue's), the running ones finish.
      cancelled = true;
      executor.cancel?.();
    }
    while (inFlight.size < executor.width && mayIssue()) {
      const k = next.next();
      if (k.done) break;
      issue(k.value);
    }
    if (inFlight.size === 0) break;
    // Wake on a completion, or on Ctrl-C (a queue's slices may wait for workers a long time); once
    // interrupted, on completions only (the given-up slices reject at once).
    await Promise.race(cancelled ? [...inFlight] : [...inFlight, aborted]);
  }
  if (error !== undefined) throw error;
  return {
    job: plan.job,
    stopped,
    runs: folded.runs,
    commands: folded.commands,
    slices: folded.slices,
    failures: folded.failures,
    ...(folded.first ? { first: folded.first } : {}),
    distinct: findings.list(),
    coverage: [...folded.coverage].sort(),
    elapsedMs: Date.now() - t0,
  };
}
