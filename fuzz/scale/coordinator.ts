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
import { distinctFindings, type DistinctFinding } from './findings.js';
import type { SliceExecutor } from './pool.js';
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

/** Runs a campaign on `executor`. `onProgress` is called after every slice. */
export async function coordinate(plan: CampaignPlan, executor: SliceExecutor, opts: { signal?: AbortSignal; onProgress?: (p: CampaignProgress) => void } = {}): Promise<CampaignResult> {
  const t0 = Date.now();
  const done = new Map<number, SliceResult>();
  const coverage = new Set<string>();
  const signatures = new Set<string>();
  let runs = 0;
  let commands = 0;
  let failures = 0;
  let firstFailing = Infinity;
  let stopped: StopReason = 'runs';
  let error: Error | undefined;
  const next = sliceIndices(plan);
  const inFlight = new Set<Promise<void>>();
  const mayIssue = (): boolean => {
    if (error !== undefined) return false;
    if (opts.signal?.aborted) return ((stopped = 'interrupted'), false);
    if (plan.deadline !== undefined && Date.now() >= plan.deadline) return ((stopped = 'time'), false);
    if (firstFailing !== Infinity) return ((stopped = 'finding'), false);
    return true;
  };
  const issue = (k: number): void => {
    const p = executor
      .run({ job: plan.job, k, ...(plan.runs !== undefined ? { runs: plan.runs } : {}) })
      .then((r) => {
        done.set(k, r);
        runs += r.to - r.from;
        commands += r.commandsRun;
        failures += r.failures.length;
        for (const c of r.coverage) coverage.add(c);
        for (const f of r.failures) signatures.add(f.key);
        if (r.failures.length && plan.stopAtFirst) firstFailing = Math.min(firstFailing, k);
        opts.onProgress?.({ elapsedMs: Date.now() - t0, runs, commands, findings: failures, distinct: signatures.size, coverage: coverage.size });
      })
      .catch((e: unknown) => {
        error ??= e instanceof Error ? e : new Error(String(e));
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  for (;;) {
    while (inFlight.size < executor.width && mayIssue()) {
      const k = next.next();
      if (k.done) break;
      issue(k.value);
    }
    if (inFlight.size === 0) break;
    await Promise.race(inFlight);
  }
  if (error !== undefined) throw error;
  const counted = [...done.values()].filter((r) => r.k <= firstFailing).sort((a, b) => a.k - b.k);
  const cov = new Set(counted.flatMap((r) => r.coverage));
  return {
    job: plan.job,
    stopped,
    runs: counted.reduce((n, r) => n + r.to - r.from, 0),
    commands: counted.reduce((n, r) => n + r.commandsRun, 0),
    slices: counted.map((r) => r.k),
    failures: counted.reduce((n, r) => n + r.failures.length, 0),
    ...(counted.find((r) => r.findings.length)?.findings[0] ? { first: counted.find((r) => r.findings.length)!.findings[0]! } : {}),
    distinct: distinctFindings(plan.job, counted),
    coverage: [...cov].sort(),
    elapsedMs: Date.now() - t0,
  };
}
