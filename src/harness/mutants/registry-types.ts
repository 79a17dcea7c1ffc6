/** Shape of a mutant catalogue entry. */

import type { Newable } from 'inversify';
import type { PageAllocator } from '../../interfaces/page-allocator.js';

/** One injected bug. */
export interface MutantEntry {
  /** Catalogue id (shared/reference/fuzzing.md §6b), e.g. `B-01`. */
  readonly id: string;
  /** Short name for the CLI. */
  readonly name: string;
  /** Layer whose token the mutant is bound to. */
  readonly layer: 'page';
  readonly summary: string;
  /** The class bound in place of the real policy. */
  readonly impl: Newable<PageAllocator>;
  /** Invariant codes expected to flag it (any one suffices). */
  readonly caughtBy: readonly string[];
}
