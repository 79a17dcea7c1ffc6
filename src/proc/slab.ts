/**
 * `/proc/slabinfo` version 2.1 (mm/slab_common.c, v6.8), byte-exact columns,
 * from `KmemApi.caches()` (newest cache first, merged caches once under the
 * first name). SLOB kernels have no /proc/slabinfo; asking for it is an
 * error that says so, as `cat /proc/slabinfo` would.
 */

import { AllocatorError } from '../interfaces/errors.js';
import type { CacheInfo } from '../interfaces/slab.js';

/** The two header lines. */
export const SLABINFO_HEADER =
  'slabinfo - version: 2.1\n# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n';

const r = (v: number, w: number): string => String(v).padStart(w);

/** One cache's line (`cache_show`). */
export function slabinfoLine(c: CacheInfo): string {
  const g = c.geometry;
  const n = c.counters;
  return (
    `${c.name.padEnd(17)} ${r(n.activeObjs, 6)} ${r(n.numObjs, 6)} ${r(g.size, 6)} ${r(g.objPerSlab, 4)} ${r(1 << g.order, 4)}` +
    ` : tunables ${r(g.tunables[0], 4)} ${r(g.tunables[1], 4)} ${r(g.tunables[2], 4)}` +
    ` : slabdata ${r(n.activeSlabs, 6)} ${r(n.numSlabs, 6)} ${r(n.sharedAvail, 6)}\n`
  );
}

/**
 * The whole file.
 * @throws AllocatorError `misuse` for a backend without slabinfo (SLOB)
 */
export function slabinfo(policy: string, hasSlabinfo: boolean, caches: readonly CacheInfo[]): string {
  if (!hasSlabinfo) {
    throw new AllocatorError('misuse', `/proc/slabinfo: No such file or directory (a ${policy.toUpperCase()} kernel has no slabinfo: Linux printed it only for SLAB and SLUB)`, { policy, op: 'slabinfo' });
  }
  return SLABINFO_HEADER + caches.map(slabinfoLine).join('');
}
