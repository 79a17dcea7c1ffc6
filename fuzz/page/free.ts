/** Fuzz command: free the i-th held block (index taken modulo the count, so it survives shrinking). */

import type { Command } from 'fast-check';
import type { Pfn } from '../../src/interfaces/units.js';
import { PICK, spec } from '../schema.js';
import { checkAll, checkPattern, writePattern, type PageModel, type PageReal } from './model.js';

/** __free_pages(held[pick % n]). */
export class FreeCommand implements Command<PageModel, PageReal> {
  constructor(readonly pick: number) {}
  check(): boolean {
    return true;
  }
  run(model: PageModel, real: PageReal): void {
    if (!model.held.length) return;
    const i = this.pick % model.held.length;
    const b = model.held[i]!;
    checkPattern(real, b);
    real.sys.pages.freePages(b.pfn as Pfn, b.order);
    if (b.refs > 0) {
      b.refs--;
      // __free_pages on a referenced non-compound block frees all but its first page.
      if (!b.compound && b.order > 0) {
        b.order = 0;
        writePattern(real, b);
      }
    } else model.held.splice(i, 1);
    checkAll(real);
  }
  /** Depends on the arguments only: fast-check runs one command object in many runs while it shrinks. */
  toString(): string {
    return `free(#${this.pick})`;
  }
  toJSON(): object {
    return { op: 'free', pick: this.pick };
  }
}

/** Stored form: `{ op: 'free', pick }`. */
export const FREE_SPEC = spec('free', { pick: PICK }, (v) => new FreeCommand(v.pick));
