/**
 * Macro commands that reach deep states within a short sequence: exhaust an
 * order, and free every other held block (the classic fragmenter).
 */

import type { Command } from 'fast-check';
import { __GFP_COMP } from '../../src/interfaces/gfp.js';
import { MAX_PAGE_ORDER, NO_PFN, type Pfn } from '../../src/interfaces/units.js';
import { BOOL, int, spec } from '../schema.js';
import { FUZZ_GFPS } from './alloc.js';
import { checkAll, checkFailureAllowed, checkPattern, holdBlock, type PageModel, type PageReal } from './model.js';

/** Allocates blocks of one order until one fails or `limit` succeed. */
export class ExhaustCommand implements Command<PageModel, PageReal> {
  constructor(
    readonly order: number,
    readonly gfpIndex: number,
    readonly limit: number,
  ) {}
  check(): boolean {
    return true;
  }
  run(model: PageModel, real: PageReal): void {
    const gfp = FUZZ_GFPS[this.gfpIndex % FUZZ_GFPS.length]!;
    for (let i = 0; i < this.limit; i++) {
      const pfn = real.sys.pages.allocPages(this.order, gfp);
      if (pfn === NO_PFN) {
        checkFailureAllowed(model, real, this.order, gfp);
        break;
      }
      holdBlock(model, real, pfn, this.order, (gfp & __GFP_COMP) !== 0);
    }
    checkAll(real);
  }
  toString(): string {
    return `exhaust(order=${this.order}, gfp#${this.gfpIndex}, limit=${this.limit})`;
  }
  toJSON(): object {
    return { op: 'exhaust', order: this.order, gfpIndex: this.gfpIndex, limit: this.limit };
  }
}

/** Frees held blocks at even (or odd) positions. */
export class FreeEveryOtherCommand implements Command<PageModel, PageReal> {
  constructor(readonly odd: boolean) {}
  check(): boolean {
    return true;
  }
  run(model: PageModel, real: PageReal): void {
    const keep = [];
    for (let i = 0; i < model.held.length; i++) {
      const b = model.held[i]!;
      if (i % 2 === (this.odd ? 1 : 0) && b.refs === 0) {
        checkPattern(real, b);
        real.sys.pages.freePages(b.pfn as Pfn, b.order);
      } else keep.push(b);
    }
    model.held = keep;
    checkAll(real);
  }
  toString(): string {
    return `free_every_other(${this.odd ? 'odd' : 'even'})`;
  }
  toJSON(): object {
    return { op: 'free_every_other', odd: this.odd };
  }
}

/** Most blocks one exhaust command takes. */
export const EXHAUST_MAX_LIMIT = 1000;

/** Stored form: `{ op: 'exhaust', order, gfpIndex, limit }`. */
export const EXHAUST_SPEC = spec('exhaust', { order: int(0, MAX_PAGE_ORDER), gfpIndex: int(0, FUZZ_GFPS.length - 1), limit: int(0, EXHAUST_MAX_LIMIT) }, (v) => new ExhaustCommand(v.order, v.gfpIndex, v.limit));

/** Stored form: `{ op: 'free_every_other', odd }`. */
export const FREE_EVERY_OTHER_SPEC = spec('free_every_other', { odd: BOOL }, (v) => new FreeEveryOtherCommand(v.odd));
