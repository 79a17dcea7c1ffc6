/**
 * Layer-free checks over physical memory:
 *
 * - X1 Ownership: every RAM frame is exactly one of reserved, free (owner
 *   NONE, inside no allocated block) or inside exactly one allocated block
 *   whose frames all carry an owner.
 * - X2 Conservation: managed = free + per-CPU + allocated, and the
 *   allocated pages found by the walk equal the allocator's own count.
 * - X4 Mappings: every present user PTE (of every live process) maps a
 *   frame inside a block the page allocator holds as allocated, owned by
 *   USER, and no other PTE maps it (the process model has no fork, no
 *   copy-on-write, no shared file pages: a user frame has exactly one
 *   mapping); every USER frame is mapped (a frame unmapped and not freed is
 *   a leak); every present kernel PTE of a vmalloc area (a PTE outside
 *   every area is the vmalloc layer's V6) maps an allocated frame with
 *   an owner that is not USER (VMALLOC for vmalloc areas, the caller's for
 *   a vmap of its frames: V2 tells the two apart).
 */

import type { PresentPtes, Violation } from '../interfaces/invariants.js';
import { MAX_VIOLATIONS } from '../interfaces/invariants.js';
import type { PageAllocator } from '../interfaces/page-allocator.js';
import type { Machine } from '../interfaces/machine.js';
import { OWNER_MASK, OWNER_NAMES, OWNER_SHIFT, Owner, PG_ALLOCATED, PG_RESERVED, allocatedHeadOf, flagPairs, nextFlagged } from '../machine/memmap.js';
import { PAGE_SIZE, formatKernelAddr } from '../interfaces/units.js';

/** The page tables X4 walks. */
export interface CrossLayerTables {
  /** Live processes' address spaces (those without {@link PresentPtes.forEachPresentPte} are skipped). */
  readonly user: readonly (Partial<PresentPtes> & { readonly pid: number })[];
  /** The vmalloc layer, when it has been built. */
  readonly kernel?: Partial<PresentPtes>;
}

/** Runs X1, X2 and (given the tables) X4; O(frames + present PTEs). */
export function checkCrossLayer(machine: Machine, pages: PageAllocator, tables?: CrossLayerTables): Violation[] {
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
  if (tables) checkMappings(machine, tables, out);
  const present = layout.memory.reduce((a, r) => a + r.end - r.start, 0);
  if (reservedSeen + s.managedPages !== present) {
    out.push({ code: 'X2', message: `reserved ${reservedSeen} + managed ${s.managedPages} pages != ${present} present`, details: { reserved: reservedSeen, managed: s.managedPages, present } });
  }
  return out;
}

/** Mapping count per frame, reused from check to check (grown to the largest machine seen). */
let mapCount = new Uint8Array(0);

/** X4 (see the file comment), appended to `out`. */
function checkMappings(machine: Machine, tables: CrossLayerTables, out: Violation[]): void {
  const mm = machine.memmap;
  const flags = mm.flags;
  const nr = mm.nrPages;
  if (mapCount.length < nr) mapCount = new Uint8Array(nr);
  const seen = mapCount.subarray(0, nr);
  if (tables.user.length > 0) seen.fill(0);
  const add = (message: string, pfn: number): void => {
    if (out.length < MAX_VIOLATIONS) out.push({ code: 'X4', message, details: { pfn } });
  };
  const frame = (pfn: number): string => `frame 0x${pfn.toString(16)} (${pfn < nr ? mm.describeFlags(pfn) : 'beyond RAM'})`;
  const userOwner = Owner.USER << OWNER_SHIFT;
  let userPtes = 0;
  for (const p of tables.user) {
    p.forEachPresentPte?.((va, pte) => {
      userPtes++;
      const pfn = Math.floor(pte / PAGE_SIZE);
      let why: string | undefined;
      if (allocatedHeadOf(flags, mm.order, pfn) < 0) why = 'which the page allocator does not hold as allocated';
      else if ((flags[pfn]! & OWNER_MASK) !== userOwner) why = `owned by ${OWNER_NAMES[mm.owner(pfn)] ?? '?'}; expected user`;
      else if (seen[pfn]!++ > 0) why = 'which another PTE maps too (no fork or shared pages: one mapping per user frame)';
      if (why !== undefined) add(`pid ${p.pid}: PTE of 0x${va.toString(16)} maps ${frame(pfn)}, ${why}`, pfn);
    });
  }
  tables.kernel?.forEachPresentPte?.((va, pte) => {
    const pfn = Math.floor(pte / PAGE_SIZE);
    const owner = pfn < nr ? (flags[pfn]! & OWNER_MASK) >> OWNER_SHIFT : Owner.NONE;
    let why: string | undefined;
    if (allocatedHeadOf(flags, mm.order, pfn) < 0) why = 'which the page allocator does not hold as allocated';
    else if (owner === Owner.NONE || owner === Owner.USER) why = `owned by ${OWNER_NAMES[owner]}; expected vmalloc (or the owner of vmap'ed frames)`;
    if (why !== undefined) add(`kernel PTE of ${formatKernelAddr(va)} maps ${frame(pfn)}, ${why}`, pfn);
  });
  // With no process there are no user PTEs to account for (an exited process's frames are X1/X2's once freed).
  if (tables.user.length > 0 && tables.user.every((p) => p.forEachPresentPte)) {
    let owned = 0;
    let first = -1;
    const pairs = flagPairs(flags);
    // Frames with no owner (most, on a fuzz machine) are skipped two at a time.
    for (let pfn = nextFlagged(flags, pairs, 0, nr, OWNER_MASK); pfn < nr; pfn = nextFlagged(flags, pairs, pfn + 1, nr, OWNER_MASK)) {
      if ((flags[pfn]! & OWNER_MASK) !== userOwner) continue;
      owned++;
      if (first < 0 && seen[pfn] === 0) first = pfn;
    }
    if (owned !== userPtes || first >= 0) add(`${owned} frames are owned by user memory but ${userPtes} user PTEs are present${first >= 0 ? `; ${frame(first)} is mapped by none (leaked)` : ''}`, first);
  }
}
