/**
 * The mutation score: every mutant of the catalogue (or of some layers)
 * fuzzed by its layer's campaign with the fixed {@link MUTANT_BUDGET}, and
 * for each whether the fuzz alone caught it by one of the invariants the
 * catalogue expects, after how many runs. `allocsim mutants` prints it; the
 * mutants test asserts every row is caught.
 */

import type { FuzzLayer } from '../common.js';
import { MUTANTS, MUTANT_BUDGET, expectedCatch, fuzzMutant } from './catalogue.js';
import type { MutantEntry } from './registry-types.js';

/**
 * What the fuzz made of one mutant: `caught` by an expected invariant,
 * `missed` (every run passed), or `unexpected` (it failed, but on an
 * invariant the catalogue does not name for it: not counted as caught).
 */
export type MutantStatus = 'caught' | 'missed' | 'unexpected';

/** One row of the score. */
export interface MutantScoreRow {
  readonly id: string;
  readonly name: string;
  readonly layer: FuzzLayer;
  readonly summary: string;
  /** The invariant codes the catalogue expects (any one suffices). */
  readonly expected: readonly string[];
  readonly status: MutantStatus;
  /** The code that caught it (`caught`), or the codes it failed with (`unexpected`); empty when missed. */
  readonly caughtBy: readonly string[];
  /** Runs up to and including the first failing one; null when missed. */
  readonly runsToCatch: number | null;
  /** Commands those runs executed (shrinking not counted). */
  readonly commandsRun: number;
  /** The first line of the catching violation, or of the failure. */
  readonly message: string;
}

/** The score of a set of mutants. */
export interface MutantScore {
  /** The budget each mutant was fuzzed with. */
  readonly budget: typeof MUTANT_BUDGET;
  readonly rows: readonly MutantScoreRow[];
  readonly caught: number;
  readonly total: number;
}

/** Fuzzes one mutant with the fixed budget. */
export function scoreMutant(m: MutantEntry): MutantScoreRow {
  const r = fuzzMutant(m, MUTANT_BUDGET);
  const base = { id: m.id, name: m.name, layer: m.layer, summary: m.summary, expected: m.caughtBy, commandsRun: r.commandsRun };
  if (r.ok) return { ...base, status: 'missed', caughtBy: [], runsToCatch: null, message: '' };
  const hit = expectedCatch(m, r);
  if (hit) return { ...base, status: 'caught', caughtBy: [hit.code], runsToCatch: r.runsDone, message: hit.message.split('\n')[0] ?? '' };
  return { ...base, status: 'unexpected', caughtBy: r.codes ?? [], runsToCatch: r.runsDone, message: (r.failure ?? '').split('\n')[0] ?? '' };
}

/**
 * Fuzzes every mutant of `layers` (every layer when omitted), in catalogue
 * order. Deterministic: the budget's seed is fixed.
 *
 * @param layers - the layers whose mutants to run
 * @param onRow - called after each mutant (progress)
 */
export function scoreMutants(layers?: readonly FuzzLayer[], onRow?: (row: MutantScoreRow, done: number, total: number) => void): MutantScore {
  const chosen = MUTANTS.filter((m) => !layers || layers.includes(m.layer));
  const rows: MutantScoreRow[] = [];
  for (const m of chosen) {
    rows.push(scoreMutant(m));
    onRow?.(rows[rows.length - 1]!, rows.length, chosen.length);
  }
  return { budget: MUTANT_BUDGET, rows, caught: rows.filter((r) => r.status === 'caught').length, total: rows.length };
}
