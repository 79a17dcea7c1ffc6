/** Fuzz command: allocate a block of some order with some GFP mask. */

import type { Command } from 'fast-check';
import { GFP_ATOMIC, GFP_DMA, GFP_DMA32, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, GFP_NOWAIT, __GFP_COMP, __GFP_NOWARN, __GFP_RECLAIMABLE, __GFP_ZERO, formatGfp, type Gfp } from '../../src/interfaces/gfp.js';
import { MAX_PAGE_ORDER, NO_PFN } from '../../src/interfaces/units.js';
import { int, spec } from '../schema.js';
import { checkAll, checkFailureAllowed, holdBlock, type PageModel, type PageReal } from './model.js';

/** The masks the fuzz draws from. */
export const FUZZ_GFPS: readonly Gfp[] = [
  GFP_KERNEL,
  GFP_KERNEL | __GFP_COMP,
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL | __GFP_RECLAIMABLE,
  GFP_ATOMIC,
  GFP_NOWAIT,
  GFP_KERNEL | __GFP_ZERO,
  GFP_KERNEL | GFP_DMA,
  GFP_KERNEL | GFP_DMA32 | __GFP_COMP,
].map((g) => g | __GFP_NOWARN);

/** alloc_pages(order, FUZZ_GFPS[gfpIndex]). */
export class AllocCommand implements Command<PageModel, PageReal> {
  constructor(
    readonly order: number,
    readonly gfpIndex: number,
  ) {}
  check(): boolean {
    return true;
  }
  /** @returns the zone the block came from, or `fail` (the campaign's coverage) */
  run(model: PageModel, real: PageReal): string {
    const gfp = FUZZ_GFPS[this.gfpIndex % FUZZ_GFPS.length]!;
    const pfn = real.sys.pages.allocPages(this.order, gfp);
    if (pfn === NO_PFN) checkFailureAllowed(model, real, this.order, gfp);
    else holdBlock(model, real, pfn, this.order, (gfp & __GFP_COMP) !== 0);
    checkAll(real);
    const layout = real.sys.machine.layout;
    return pfn === NO_PFN ? 'fail' : layout.zones[layout.zoneOf(pfn)]!.name;
  }
  toString(): string {
    return `alloc(order=${this.order}, ${formatGfp(FUZZ_GFPS[this.gfpIndex % FUZZ_GFPS.length]!)})`;
  }
  toJSON(): object {
    return { op: 'alloc', order: this.order, gfpIndex: this.gfpIndex };
  }
}

/** Stored form: `{ op: 'alloc', order, gfpIndex }`. */
export const ALLOC_SPEC = spec('alloc', { order: int(0, MAX_PAGE_ORDER), gfpIndex: int(0, FUZZ_GFPS.length - 1) }, (v) => new AllocCommand(v.order, v.gfpIndex));
