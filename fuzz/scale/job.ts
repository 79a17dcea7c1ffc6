/**
 * A campaign as a value that can cross a thread or a machine: what to fuzz
 * (layer, policy or mutant, policy files to load first), the seed and the
 * run length, and the allocsim version that wrote it. The campaign's runs
 * are cut into fixed slices of {@link SLICE_RUNS} runs, whatever the number
 * of workers: slice `k` holds the campaign's runs `k·SLICE_RUNS` …
 * `(k+1)·SLICE_RUNS − 1`, drawn by fast-check from the slice's own seed
 * ({@link sliceSeed}, a hash of the campaign seed and `k`) as its runs
 * {@link SLICE_OFFSET} … {@link SLICE_OFFSET} + 24. Any process that runs
 * slice `k` finds the same failures, a campaign's findings do not depend on
 * who ran what, and reaching slice 10⁶ costs what reaching slice 0 does
 * (one long fast-check sequence would have to step through every run
 * before it: +0.3 s a slice at run 10⁶, growing linearly).
 */

import { AllocatorError } from '../../src/interfaces/errors.js';
import type { Layer } from '../../src/policies/registry.js';
import { VERSION } from '../../src/version.js';
import { FUZZ_LAYERS, type FuzzLayer } from '../common.js';
import type { RunSlice } from '../engine.js';

/** Runs per slice: small enough that a slice of the slowest layer takes a few seconds, large enough that handing it out costs nothing. */
export const SLICE_RUNS = 25;

/**
 * Where in its seed's fast-check sequence a slice starts. fast-check biases
 * the values of a run towards small ones with a probability of
 * 1 / (2 + ⌊log10(index + 1)⌋): starting at 100 gives every run the bias of
 * a campaign's middle runs (1 in 4) instead of the 1 in 2 of its first ten.
 */
export const SLICE_OFFSET = 100;

/** The fast-check seed of slice `k` of a campaign of `seed` (murmur3's finaliser over both halves of the seed and `k`). */
export function sliceSeed(seed: number, k: number): number {
  const mix = (h: number): number => {
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    return (h ^ (h >>> 16)) >>> 0;
  };
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 2 ** 32) >>> 0;
  return mix(mix(mix(lo) ^ hi) ^ Math.imul(k + 1, 0x9e3779b9)) | 0;
}

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

/** The fast-check slice of slice `k` of a campaign of `runs` runs (the last slice may be short; `runs` undefined: no end). */
export function sliceOf(job: CampaignJob, k: number, runs?: number): RunSlice {
  const n = runs === undefined ? SLICE_RUNS : Math.min(SLICE_RUNS, runs - k * SLICE_RUNS);
  return { seed: sliceSeed(job.seed, k), from: SLICE_OFFSET, to: SLICE_OFFSET + n, maxCommands: job.maxCommands };
}

/** The campaign's index of run `fcRun` (a fast-check index under the slice seed) of slice `k`. */
export function campaignRun(k: number, fcRun: number): number {
  return k * SLICE_RUNS + fcRun - SLICE_OFFSET;
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
