/** Shape of a mutant catalogue entry. */

import type { SystemOverrides } from '../../src/system.js';
import type { FuzzLayer } from '../common.js';

/** One injected bug: classes bound in place of real ones, and the campaign that must catch them. */
export interface MutantEntry {
  /** Catalogue id (`B-01` …, listed by `allocsim list`). */
  readonly id: string;
  /** Short name for the CLI. */
  readonly name: string;
  /** The layer whose campaign runs it (a kmalloc front-end or dev_kmalloc mutant runs under the slab campaign, a vmap one under vmalloc's). */
  readonly layer: FuzzLayer;
  readonly summary: string;
  /** The classes bound at their tokens instead of the configured policy (exactly one, as a rule). */
  readonly overrides: SystemOverrides;
  /** Invariant codes (or `error:<kind>` for a typed error) expected to flag it; any one suffices. */
  readonly caughtBy: readonly string[];
}
