/**
 * A campaign as a value that can cross a thread or a machine: what to fuzz
 * (layer, policy or mutant, policy files to load first), the seed and the
 * run length, and the allocsim version that wrote it. The campaign's runs
 * are cut into fixed slices of {@link SLICE_RUNS} runs, whatever the number
 * of workers: slice `k` is runs `k·SLICE_RUNS` … `(k+1)·SLICE_RUNS − 1` of the
 * seed's run sequence, so any process that runs slice `k` finds the same
 * failures, and a campaign's findings do not depend on who ran what.
 */

import { AllocatorError } from '../../src/interfaces/errors.js';
import type { Layer } from '../../src/policies/registry.js';
import { VERSION } from '../../src/version.js';
import { FUZZ_LAYERS, type FuzzLayer } from '../common.js';
import type { RunSlice } from '../engine.js';

/** Runs per slice: small enough that a slice of the slowest layer takes a few seconds, large enough that handing it out costs nothing. */
export const SLICE_RUNS = 25;

/** What every slice of a campaign runs. */
export interface CampaignJob {
  /** The allocsim version of the coordinator (a worker of another version refuses the job). */
  readonly version: string;
  readonly layer: FuzzLayer;
  /** The policy of the campaign's policy layer: a built-in name or a policy file's absolute path. */
  readonly policy: string;
  /** Policy files to load before the campaign runs (absolute paths), by layer. */
  readonly policyFiles?: Readonly<Partial<Record<Layer, readonly string[]>>>;
  /** Catalogue id of a mutant bound in place of the policy. */
  readonly mutant?: string;
  readonly seed: number;
  /** Commands per run at most. */
  readonly maxCommands: number;
}

/** A job of this version. */
export function campaignJob(j: Omit<CampaignJob, 'version'>): CampaignJob {
  return { version: VERSION, ...j };
}

/** Slice `k` of a campaign of `runs` runs (the last slice may be short; `runs` undefined: no end). */
export function sliceOf(job: CampaignJob, k: number, runs?: number): RunSlice {
  const from = k * SLICE_RUNS;
  return { seed: job.seed, from, to: runs === undefined ? from + SLICE_RUNS : Math.min(runs, from + SLICE_RUNS), maxCommands: job.maxCommands };
}

/** Number of slices of a campaign of `runs` runs. */
export function sliceCount(runs: number): number {
  return Math.ceil(runs / SLICE_RUNS);
}

/** One of `count` deterministic slices of a campaign (`--shard index/count`, index from 1): it runs slices k with k mod count = index − 1. */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/** Parses `I/N`. @throws AllocatorError `parse` */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new AllocatorError('parse', `--shard expects I/N (this task's index from 1, and the number of tasks), got '${text}'`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index < 1 || index > count) throw new AllocatorError('parse', `--shard ${text}: the index must be between 1 and ${Math.max(count, 1)}`);
  return { index, count };
}

/** Checks a job that came from elsewhere (a queue). @throws AllocatorError `parse` naming the field, or `config` for another version */
export function checkJob(o: unknown): CampaignJob {
  const bad = (msg: string): never => {
    throw new AllocatorError('parse', `campaign job: ${msg}`);
  };
  if (typeof o !== 'object' || o === null) return bad('not an object');
  const j = o as Record<string, unknown>;
  if (j['version'] !== VERSION) throw new AllocatorError('config', `the job was written by allocsim ${JSON.stringify(j['version'])}; this is allocsim ${VERSION}: run workers of the coordinator's version`);
  if (!(FUZZ_LAYERS as readonly unknown[]).includes(j['layer'])) return bad(`unknown layer ${JSON.stringify(j['layer'])}`);
  if (typeof j['policy'] !== 'string') return bad('policy must be a string');
  if (j['mutant'] !== undefined && typeof j['mutant'] !== 'string') return bad('mutant must be a string');
  for (const k of ['seed', 'maxCommands'] as const) if (!Number.isSafeInteger(j[k])) return bad(`${k} must be an integer`);
  return o as CampaignJob;
}
