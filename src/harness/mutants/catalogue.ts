/** Every mutant, by id or name. */

import { AllocatorError } from '../../interfaces/errors.js';
import { BUDDY_MUTANTS } from './buddy.js';
import type { MutantEntry } from './registry-types.js';

/** The catalogue. */
export const MUTANTS: readonly MutantEntry[] = [...BUDDY_MUTANTS];

/** Looks a mutant up by id (`B-01`) or name (`skip-merge`). @throws AllocatorError `unknown-name` */
export function findMutant(key: string): MutantEntry {
  const m = MUTANTS.find((x) => x.id === key || x.name === key);
  if (!m) throw new AllocatorError('unknown-name', `unknown mutant '${key}' (known: ${MUTANTS.map((x) => `${x.id} ${x.name}`).join(', ')})`);
  return m;
}
