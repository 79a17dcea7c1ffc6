/**
 * The user-malloc mutants of the catalogue (B-21 … B-26): ptmalloc with one
 * deliberate bug each, built the way the real one is (a subclass overriding
 * one helper), bound at USER_MALLOC in every process; the user campaign must
 * catch each.
 */

import { injectFromBase, injectable } from 'inversify';
import { Ptmalloc } from '../../src/policies/user/ptmalloc.js';
import { CHUNK_HDR_SZ, protectPtr } from '../../src/policies/user/ptmalloc-layout.js';
import type { MutantEntry } from './registry-types.js';

/** B-21: PREV_INUSE of the next chunk is never set when a chunk is handed out. */
@injectable()
@injectFromBase()
export class NoInuseBit extends Ptmalloc {
  protected override setInuseBitAt(): void {}
}

/** B-22: the footer (`set_foot`) is never written. */
@injectable()
@injectFromBase()
export class NoFooter extends Ptmalloc {
  protected override setFoot(): void {}
}

/** B-23: no backward coalescing (the previous chunk always looks in use). */
@injectable()
@injectFromBase()
export class NoCoalesce extends Ptmalloc {
  protected override prevInuse(): boolean {
    return true;
  }
}

/** B-24: tcache counts are never updated, so a bin grows past tcache_count. */
@injectable()
@injectFromBase()
export class StuckTcacheCount extends Ptmalloc {
  protected override setTcacheCount(): void {}
}

/** B-25: Safe-Linking with the chunk address as `pos` instead of the field's. */
@injectable()
@injectFromBase()
export class WrongSafeLinkPos extends Ptmalloc {
  protected override tcachePut(chunk: number, tcIdx: number): void {
    super.tcachePut(chunk, tcIdx);
    const e = chunk + CHUNK_HDR_SZ;
    // Re-protect the stored next pointer against the wrong position.
    const next = protectPtr(e, this.mem.read64(e));
    this.w64(e, protectPtr(chunk + 0x1000, next));
  }
}

/** B-26: top is not advanced after a split from top. */
@injectable()
@injectFromBase()
export class TopNotAdvanced extends Ptmalloc {
  protected override setTop(p: number): void {
    const t = this.top();
    if (t !== 0 && t !== this.binAt(1) && p > t && p - t < 1 << 20) return;
    super.setTop(p);
  }
}

/** The user-malloc mutants. */
export const USER_MUTANTS: readonly MutantEntry[] = [
  { id: 'B-21', name: 'no-inuse-bit', layer: 'user', summary: 'PREV_INUSE of the next chunk not set on allocation', overrides: { malloc: NoInuseBit }, caughtBy: ['U2', 'U9', 'error:malloc-abort'] },
  { id: 'B-22', name: 'no-footer', layer: 'user', summary: 'footer (set_foot) omitted', overrides: { malloc: NoFooter }, caughtBy: ['U2', 'error:malloc-abort'] },
  { id: 'B-23', name: 'no-coalesce', layer: 'user', summary: 'no coalescing with the previous free chunk', overrides: { malloc: NoCoalesce }, caughtBy: ['U3', 'error:malloc-abort'] },
  { id: 'B-24', name: 'stuck-tcache-count', layer: 'user', summary: 'tcache count not updated', overrides: { malloc: StuckTcacheCount }, caughtBy: ['U5'] },
  { id: 'B-25', name: 'wrong-safe-link-pos', layer: 'user', summary: 'Safe-Linking with the wrong pos', overrides: { malloc: WrongSafeLinkPos }, caughtBy: ['U5', 'error:malloc-abort', 'error:segfault'] },
  { id: 'B-26', name: 'top-not-advanced', layer: 'user', summary: 'top not advanced after a split from top', overrides: { malloc: TopNotAdvanced }, caughtBy: ['U6', 'U1', 'X1'] },
];
