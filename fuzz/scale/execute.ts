/**
 * Runs one slice of a campaign job: in the coordinator's own thread, in a
 * pool worker thread, or in a queue worker on another machine — the same
 * function everywhere, so a slice's report does not depend on where it ran.
 * Policy files named by the job are loaded once per thread.
 */

import { setImmediate as nextTurn } from 'node:timers/promises';
import { loadPolicyFiles } from '../../src/plugin/load.js';
import type { SliceReport } from '../engine.js';
import { findMutant } from '../mutants/catalogue.js';
import { FUZZ_CAMPAIGNS } from '../registry.js';
import { campaignRun, sliceOf, type CampaignJob } from './job.js';

/** Which slice of which job: slice `k` of a campaign of `runs` runs (`runs` absent for a time-boxed campaign). */
export interface SliceTask {
  readonly job: CampaignJob;
  readonly k: number;
  readonly runs?: number;
}

/**
 * A slice's report in the campaign's terms: `from`/`to` and every `run` are
 * campaign run indices; a finding's `seed` and `path` stay fast-check's (the
 * slice seed, and the path under it), which replay it.
 */
export type SliceResult = SliceReport & { readonly k: number };

/**
 * Runs a slice to its end, after letting the event loop turn. That turn is
 * what keeps a campaign's memory flat: inversify keeps a `WeakRef` per
 * container, and V8 holds every `WeakRef` target made during a synchronous
 * job alive until the job ends — slices run back to back without a turn
 * (one synchronous loop, or a pool thread taking its next task) kept every
 * run's machine, ≈ 0.4 MB each.
 *
 * @throws AllocatorError when the job's policy file cannot be loaded
 */
export async function executeSlice(t: SliceTask): Promise<SliceResult> {
  await nextTurn();
  const { job } = t;
  if (job.policyFiles) await loadPolicyFiles(job.policyFiles);
  // A mutant runs beside the campaign's default policy, as `fuzzMutant` runs it.
  const target = job.mutant !== undefined ? { overrides: findMutant(job.mutant).overrides } : { policy: job.policy };
  const r = FUZZ_CAMPAIGNS[job.layer].runSlice(target, sliceOf(job, t.k, t.runs));
  const run = (fcRun: number): number => campaignRun(t.k, fcRun);
  return {
    ...r,
    k: t.k,
    from: run(r.from),
    to: run(r.to),
    failures: r.failures.map((f) => ({ ...f, run: run(f.run) })),
    findings: r.findings.map((f) => ({ ...f, run: run(f.run) })),
  };
}
