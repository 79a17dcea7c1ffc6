/**
 * Model and checks of the page-allocator fuzz. The model is deliberately
 * simple — which blocks the client holds and the pattern it wrote into them
 * — never a second allocator. After every command the harness runs every
 * invariant of the system, checks the content of the blocks it holds (X3)
 * and, when an allocation fails, that the failure was allowed (B7).
 */

import { MAX_NR_ZONES, __GFP_DIRECT_RECLAIM, gfpZone, type Gfp } from '../../src/interfaces/gfp.js';
import { pfnToPhys, type Pfn } from '../../src/interfaces/units.js';
import { PG_RESERVED } from '../../src/machine/memmap.js';
import type { System } from '../../src/system.js';
import { FuzzFailure, checkSystem } from '../common.js';

/** One block the client holds. */
export interface HeldBlock {
  readonly pfn: number;
  /** Order; a non-compound block shrinks to order 0 when freed while referenced (`__free_pages`). */
  order: number;
  /** Allocated with __GFP_COMP. */
  readonly compound: boolean;
  /** 64-bit pattern written at the first and last 8 bytes of the block. */
  readonly pattern: number;
  /** Extra references taken with get_page. */
  refs: number;
}

/** The fuzz model. */
export interface PageModel {
  held: HeldBlock[];
  /** Counter that makes patterns unique. */
  stamp: number;
}

/** The system under test. */
export interface PageReal {
  readonly sys: System;
}

/** Runs every invariant, and fails on any detector report (the fuzz client is correct). */
export function checkAll(real: PageReal): void {
  checkSystem(real.sys);
}

const PATTERN_HI = 0xa11c;

/** Writes the block's pattern (X3). */
export function writePattern(real: PageReal, b: HeldBlock): void {
  const mem = real.sys.machine.mem;
  const start = pfnToPhys(b.pfn as Pfn);
  const end = start + (4096 << b.order) - 8;
  mem.write64(start, PATTERN_HI * 2 ** 32 + b.pattern);
  mem.write64(end, PATTERN_HI * 2 ** 32 + (b.pattern ^ 0xffff));
}

/** Verifies the block's pattern is intact (X3); throws FuzzFailure otherwise. */
export function checkPattern(real: PageReal, b: HeldBlock): void {
  const mem = real.sys.machine.mem;
  const start = pfnToPhys(b.pfn as Pfn);
  const end = start + (4096 << b.order) - 8;
  const a = mem.read64(start);
  const z = mem.read64(end);
  if (a !== PATTERN_HI * 2 ** 32 + b.pattern || z !== PATTERN_HI * 2 ** 32 + (b.pattern ^ 0xffff)) {
    throw new FuzzFailure([{ code: 'X3', message: `block 0x${b.pfn.toString(16)} (order ${b.order}) no longer holds the bytes its owner wrote`, details: { pfn: b.pfn } }]);
  }
}

/**
 * B7 (checked for masks that allow direct reclaim, which drains the
 * per-CPU lists): an allocation may fail only when no eligible zone has a free,
 * naturally aligned run of 2^order frames, or when taking it would leave
 * the zone at or below its low watermark plus lowmem reserve (the
 * allocator's documented right to refuse). Free = RAM the allocator
 * manages that the model does not hold.
 */
export function checkFailureAllowed(model: PageModel, real: PageReal, order: number, gfp: Gfp): void {
  if (!(gfp & __GFP_DIRECT_RECLAIM)) return;
  const { layout, memmap } = real.sys.machine;
  const n = 1 << order;
  const heldMark = new Uint8Array(layout.nrPages);
  for (const b of model.held) heldMark.fill(1, b.pfn, b.pfn + (1 << b.order));
  const highest = gfpZone(gfp);
  const reports = real.sys.pages.zones();
  for (const z of layout.zones) {
    if (z.type > highest || z.present === 0) continue;
    const rep = reports[z.node * MAX_NR_ZONES + z.type]!;
    let free = 0;
    let runOk = false;
    for (let p = z.startPfn; p < z.endPfn; p++) if (!heldMark[p] && !(memmap.flags[p]! & PG_RESERVED) && layout.isRam(p)) free++;
    if (free - n <= rep.wmarkLow + Math.max(...rep.lowmemReserve)) continue;
    for (let s = Math.ceil(z.startPfn / n) * n; s + n <= z.endPfn && !runOk; s += n) {
      let ok = true;
      for (let p = s; p < s + n; p++) {
        if (heldMark[p] || memmap.flags[p]! & PG_RESERVED || !layout.isRam(p)) {
          ok = false;
          break;
        }
      }
      runOk = ok;
    }
    if (runOk) {
      throw new FuzzFailure([
        { code: 'B7', message: `order-${order} allocation failed although zone ${z.name} has ${free} free pages and an aligned free run of ${n}`, details: { order, zone: z.name } },
      ]);
    }
  }
}

/** Records a block the client just got and writes its pattern. */
export function holdBlock(model: PageModel, real: PageReal, pfn: number, order: number, compound: boolean): void {
  const b = { pfn, order, compound, pattern: ++model.stamp, refs: 0 };
  model.held.push(b);
  writePattern(real, b);
}
