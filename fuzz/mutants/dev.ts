/**
 * dev_kmalloc mutants (catalogue B-15 … B-17): the
 * canonical bugs of a header-before-pointer wrapper. Bound in place of the
 * real DevKmalloc; the slab fuzz (with its dev commands) must catch each.
 */

import { injectFromBase, injectable } from 'inversify';
import { DEV_HEADER_SIZE } from '../../src/interfaces/devres.js';
import { DevKmalloc } from '../../src/policies/devres/dev-kmalloc.js';
import type { MutantEntry } from './registry-types.js';

/** B-15: dev_kfree hands the user pointer to kfree (no step-back to the header). */
@injectable()
@injectFromBase()
export class NoStepBack extends DevKmalloc {
  protected override kfreeHeader(h: number): void {
    this.kmem.kfree(h + DEV_HEADER_SIZE);
  }
}

/** B-16: the header is 60 bytes, not a multiple of the kmalloc alignment (the user pointer overlaps its last field). */
@injectable()
@injectFromBase()
export class MisalignedHeader extends DevKmalloc {
  protected override headerSize = DEV_HEADER_SIZE - 4;
}

/** B-17: dev_kfree forgets to unlink the header from its device's list. */
@injectable()
@injectFromBase()
export class MissingUnlink extends DevKmalloc {
  protected override unlink(): void {
    // The bug: the node stays on the list after its memory is freed.
  }
}

/** The dev_kmalloc mutants. */
export const DEV_MUTANTS: readonly MutantEntry[] = [
  { id: 'B-15', name: 'no-step-back', layer: 'slab', summary: 'dev_kfree passes the user pointer to kfree', overrides: { dev: NoStepBack }, caughtBy: ['error:invalid-free', 'error:double-free'] },
  { id: 'B-16', name: 'misaligned-header', layer: 'slab', summary: 'a 60-byte header: user pointers misaligned, overlapping the caller field', overrides: { dev: MisalignedHeader }, caughtBy: ['D5', 'D2', 'X3'] },
  { id: 'B-17', name: 'missing-unlink', layer: 'slab', summary: 'dev_kfree does not unlink the header', overrides: { dev: MissingUnlink }, caughtBy: ['D3'] },
];
