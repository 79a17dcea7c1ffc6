/**
 * Layer-free checks over physical memory:
 *
 * - X1 Ownership: every RAM frame is exactly one of reserved, free (owner
 *   NONE, inside no allocated block) or inside exactly one allocated block
 *   whose frames all carry an owner.
 * - X2 Conservation: managed = free + per-CPU + allocated, and the
 *   allocated pages found by the walk equal the allocator's own count.
 */

import type { Violation } from '../interfaces/invariants.js';
import { MAX_VIOLATIONS } from '../interfaces/invariants.js';
import type { PageAllocator } from '../interfaces/page-allocator.js';
import type { Machine } from '../interfaces/machine.js';
import { OWNER_MASK, PG_ALLOCATED, PG_RESERVED, flagPairs, nextFlagged } from '../machine/memmap.js';

/** Runs X1 and X2; O(frames). */
export function checkCrossLayer(machine: Machine, pages: PageAllocator): Violation[] {
  const out: Violation[] = [];
  const mm = machine.memmap;
  const layout = machine.layout;
  let allocatedSeen = 0;
  let reservedSeen = 0;
  const flags = mm.flags;
  const pairs = flagPairs(flags);
  for (const r of layout.memory) {
    const end = r.end;
    let p = r.start;
    while (out.length < MAX_VIOLATIONS) {
      // Frames that are neither allocated nor reserved need no look.
      p = nextFlagged(flags, pairs, p, end, PG_ALLOCATED | PG_RESERVED);
      if (p >= end) break;
      const f = flags[p]!;
      if (f & PG_ALLOCATED) {
        const n = 1 << mm.order[p]!;
        if (mm.refcount[p]! < 1) out.push({ code: 'X1', message: `allocated block 0x${p.toString(16)} has refcount ${mm.refcount[p]}`, details: { pfn: p } });
        if (!(f & OWNER_MASK)) out.push({ code: 'X1', message: `pfn 0x${p.toString(16)} inside the allocated block at 0x${p.toString(16)} has no owner`, details: { pfn: p, head: p } });
        else {
          // Tail frames: inside RAM, no other block or reservation, an owner.
          for (let q = p + 1; q < p + n; q++) {
            if (q >= end) {
              out.push({ code: 'X1', message: `allocated block 0x${p.toString(16)} of order ${mm.order[p]} runs past the end of RAM`, details: { pfn: p } });
              break;
            }
            const g = flags[q]!;
            if (g & (PG_ALLOCATED | PG_RESERVED) || !(g & OWNER_MASK)) {
              if (g & (PG_ALLOCATED | PG_RESERVED)) out.push({ code: 'X1', message: `pfn 0x${q.toString(16)} (${mm.describeFlags(q)}) overlaps the allocated block at 0x${p.toString(16)}`, details: { pfn: q, head: p } });
              else out.push({ code: 'X1', message: `pfn 0x${q.toString(16)} inside the allocated block at 0x${p.toString(16)} has no owner`, details: { pfn: q, head: p } });
              break;
            }
          }
        }
        allocatedSeen += n;
        p += n;
      } else {
        if (f & PG_RESERVED) reservedSeen++;
        p++;
      }
    }
  }
  const s = pages.stats();
  if (out.length === 0 && allocatedSeen !== s.allocatedPages) {
    out.push({ code: 'X2', message: `${allocatedSeen} pages lie in allocated blocks but ${pages.policy} counts ${s.allocatedPages}`, details: { seen: allocatedSeen, counted: s.allocatedPages } });
  }
  if (s.freePages + s.pcpPages + s.allocatedPages !== s.managedPages) {
    out.push({
      code: 'X2',
      message: `free ${s.freePages} + per-CPU ${s.pcpPages} + allocated ${s.allocatedPages} = ${s.freePages + s.pcpPages + s.allocatedPages} pages, but ${s.managedPages} are managed`,
      details: { free: s.freePages, pcp: s.pcpPages, allocated: s.allocatedPages, managed: s.managedPages },
    });
  }
  const present = layout.memory.reduce((a, r) => a + r.end - r.start, 0);
  if (reservedSeen + s.managedPages !== present) {
    out.push({ code: 'X2', message: `reserved ${reservedSeen} + managed ${s.managedPages} pages != ${present} present`, details: { reserved: reservedSeen, managed: s.managedPages, present } });
  }
  return out;
}
