/**
 * The bulk page allocation every caller uses (`alloc_pages_bulk_array`):
 * the page allocator's own {@link PageAllocator.allocPagesBulk} when the
 * policy has one (the buddy takes a run off its per-CPU list under one
 * lock), else a loop of single order-0 allocations with the same result
 * shape — so a plug-in page allocator written before the bulk call existed
 * keeps working under vmalloc.
 */

import { AllocatorError } from '../interfaces/errors.js';
import { gfpLooksValid, validateGfp, type Gfp } from '../interfaces/gfp.js';
import type { PageAllocator } from '../interfaces/page-allocator.js';
import { NO_PFN } from '../interfaces/units.js';

/** The operation name bulk-allocation errors carry. */
export const BULK_OP = 'alloc_pages_bulk';

/**
 * Checks the arguments of a bulk allocation without touching state.
 *
 * @throws AllocatorError `misuse` unless `out` is an array or Int32Array and
 *   `nr` an integer in 0..out.length; `invalid-gfp` for a bad mask
 */
export function checkBulkArgs(nr: number, gfp: Gfp, out: Int32Array | number[], policy: string): void {
  // Fast path: an Int32Array page array, a count that fits it, a mask with no unknown or contradictory bits.
  if (out instanceof Int32Array && (nr >>> 0) === nr && nr <= out.length && gfpLooksValid(gfp)) return;
  if (!(out instanceof Int32Array || Array.isArray(out))) {
    throw new AllocatorError('misuse', `the page array is ${out === null ? 'null' : typeof out}, not an Int32Array or an array`, { policy, op: BULK_OP });
  }
  if (!(Number.isInteger(nr) && nr >= 0 && nr <= out.length)) {
    throw new AllocatorError('misuse', `nr ${String(nr)} is not a page count within the page array's ${out.length} entries`, { policy, op: BULK_OP, size: Number.isFinite(nr) ? nr : undefined });
  }
  validateGfp(gfp, policy, BULK_OP);
}

/**
 * Fills the empty entries of `out[0..nr)` with order-0 pages, as
 * {@link PageAllocator.allocPagesBulk} specifies: through the policy's own
 * bulk call when it has one, else one `allocPages(0, gfp, nid)` per empty
 * entry, stopping at the first failure.
 *
 * @param pages - the page allocator
 * @param nr - entries to populate (0..out.length)
 * @param gfp - GFP mask
 * @param out - the page array; entries ≥ 0 are kept
 * @param nid - preferred node
 * @returns the length of the populated prefix of `out[0..nr)`
 * @throws AllocatorError as {@link checkBulkArgs}, and whatever `allocPages` throws
 */
export function allocPagesBulk(pages: PageAllocator, nr: number, gfp: Gfp, out: Int32Array | number[], nid?: number): number {
  if (pages.allocPagesBulk !== undefined) return pages.allocPagesBulk(nr, gfp, out, nid);
  checkBulkArgs(nr, gfp, out, pages.policy);
  let i = 0;
  for (; i < nr; i++) {
    if (out[i]! >= 0) continue;
    const pfn = pages.allocPages(0, gfp, nid);
    if (pfn === NO_PFN) break;
    out[i] = pfn;
  }
  return i;
}
