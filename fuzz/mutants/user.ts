/**
 * The user-malloc mutants of the catalogue (B-21…B-26):
 * ptmalloc with one deliberate bug each, built the way the real one is (a
 * subclass overriding one helper), so the user fuzz harness can prove it
 * catches them.
 */

import { injectFromBase, injectable, type Newable } from 'inversify';
import type { UserMalloc } from '../../src/interfaces/user.js';
import { CHUNK_HDR_SZ, Ptmalloc, protectPtr } from '../../src/policies/user/ptmalloc.js';

/** B-21: PREV_INUSE of the next chunk is never set when a chunk is handed out. */
@injectable()
@injectFromBase()
class NoInuseBit extends Ptmalloc {
  protected override setInuseBitAt(): void {}
}

/** B-22: the footer (`set_foot`) is never written. */
@injectable()
@injectFromBase()
class NoFooter extends Ptmalloc {
  protected override setFoot(): void {}
}

/** B-23: no backward coalescing (the previous chunk always looks in use). */
@injectable()
@injectFromBase()
class NoCoalesce extends Ptmalloc {
  protected override prevInuse(): boolean {
    return true;
  }
}

/** B-24: tcache counts are never updated, so a bin grows past tcache_count. */
@injectable()
@injectFromBase()
class StuckTcacheCount extends Ptmalloc {
  protected override setTcacheCount(): void {}
}

/** B-25: Safe-Linking with the chunk address as `pos` instead of the field's. */
@injectable()
@injectFromBase()
class WrongSafeLinkPos extends Ptmalloc {
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
class TopNotAdvanced extends Ptmalloc {
  protected override setTop(p: number): void {
    const t = this.top();
    if (t !== 0 && t !== this.binAt(1) && p > t && p - t < 1 << 20) return;
    super.setTop(p);
  }
}

/** A user-malloc mutant. */
export interface UserMutant {
  readonly key: string;
  readonly summary: string;
  /** The class bound at USER_MALLOC. */
  readonly impl: Newable<UserMalloc>;
}

/** B-21…B-26. */
export const USER_MUTANTS: readonly UserMutant[] = [
  { key: 'B-21', summary: 'PREV_INUSE of the next chunk not set on allocation', impl: NoInuseBit },
  { key: 'B-22', summary: 'footer (set_foot) omitted', impl: NoFooter },
  { key: 'B-23', summary: 'no coalescing with the previous free chunk', impl: NoCoalesce },
  { key: 'B-24', summary: 'tcache count not updated', impl: StuckTcacheCount },
  { key: 'B-25', summary: 'Safe-Linking with the wrong pos', impl: WrongSafeLinkPos },
  { key: 'B-26', summary: 'top not advanced after a split from top', impl: TopNotAdvanced },
];
