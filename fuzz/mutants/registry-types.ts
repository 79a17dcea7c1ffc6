/** Shape of a mutant catalogue entry. */

import type { Newable } from 'inversify';

/** One injected bug. */
export interface MutantEntry {
  /** Catalogue id in the mutant catalogue (`B-01` …, listed by `allocsim list`), e.g. `B-01`. */
  readonly id: string;
  /** Short name for the CLI. */
  readonly name: string;
  /** Which binding the mutant replaces: the page allocator, the slab backend, the slab front end, or dev_kmalloc. */
  readonly layer: 'page' | 'slab' | 'kmem' | 'dev' | 'vmalloc' | 'vmap';
  readonly summary: string;
  /** The class bound in place of the real one. */
  readonly impl: Newable<unknown>;
  /** Invariant codes (or `error:<kind>` for a typed error) expected to flag it; any one suffices. */
  readonly caughtBy: readonly string[];
}
