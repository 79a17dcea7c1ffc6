/**
 * Every mutant, by id or name, and the one way to run one: the campaign of
 * its layer with its overrides bound (no per-layer branch).
 */

import { AllocatorError } from '../../src/interfaces/errors.js';
import type { FuzzBudget, FuzzReport } from '../engine.js';
import { FUZZ_CAMPAIGNS } from '../registry.js';
import { BUDDY_MUTANTS } from './buddy.js';
import { DEV_MUTANTS } from './dev.js';
import type { MutantEntry } from './registry-types.js';
import { SLAB_MUTANTS } from './slab.js';
import { USER_MUTANTS } from './user.js';
import { VMALLOC_MUTANTS } from './vmalloc.js';

/** The catalogue, every layer. */
export const MUTANTS: readonly MutantEntry[] = [...BUDDY_MUTANTS, ...SLAB_MUTANTS, ...DEV_MUTANTS, ...VMALLOC_MUTANTS, ...USER_MUTANTS];

/** Looks a mutant up by id (`B-01`) or name (`skip-merge`). @throws AllocatorError `unknown-name` */
export function findMutant(key: string): MutantEntry {
  const m = MUTANTS.find((x) => x.id === key || x.name === key);
  if (!m) throw new AllocatorError('unknown-name', `unknown mutant '${key}' (known: ${MUTANTS.map((x) => `${x.id} ${x.name}`).join(', ')})`);
  return m;
}

/** The budget a mutant is fuzzed with. */
export type MutantBudget = FuzzBudget;

/**
 * The fixed budget every mutant of the catalogue must be caught within: seed
 * 1, 40 runs of at most 100 commands. The mutants test and `allocsim
 * mutants` both use it, so the score the CLI prints is the one `npm test`
 * asserts.
 */
export const MUTANT_BUDGET: Readonly<Required<Omit<FuzzBudget, 'path'>>> = { seed: 1, numRuns: 40, maxCommands: 100 };

/** Runs the campaign of the mutant's layer with the mutant bound in place of the real class. */
export function fuzzMutant(m: MutantEntry, b: MutantBudget): FuzzReport {
  return FUZZ_CAMPAIGNS[m.layer].run({ overrides: m.overrides }, b);
}

/** A stored failure: its command list and, for layers that have them, its per-run parameters. */
export interface StoredList {
  readonly commands?: readonly unknown[];
  readonly params?: unknown;
}

/** Replays a stored list against the mutant (or, with `real`, against the real classes of the campaign's default policy). */
export function replayMutant(m: MutantEntry, list: StoredList, real = false): FuzzReport {
  return FUZZ_CAMPAIGNS[m.layer].replay(real ? {} : { overrides: m.overrides }, list.commands ?? [], list.params);
}

/** The first violation of a report whose code the mutant's `caughtBy` names, if any. */
export function expectedCatch(m: MutantEntry, r: FuzzReport): { code: string; message: string } | undefined {
  return r.violations?.find((v) => m.caughtBy.includes(v.code));
}
