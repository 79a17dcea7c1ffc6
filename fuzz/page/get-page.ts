/** Fuzz command: take an extra reference on a held block (get_page); a later free only drops it. */

import type { Command } from 'fast-check';
import type { Pfn } from '../../src/interfaces/units.js';
import { PICK, spec } from '../schema.js';
import { checkAll, type PageModel, type PageReal } from './model.js';

/** get_page(held[pick % n]). */
export class GetPageCommand implements Command<PageModel, PageReal> {
  constructor(readonly pick: number) {}
  check(): boolean {
    return true;
  }
  run(model: PageModel, real: PageReal): void {
    if (!model.held.length) return;
    const b = model.held[this.pick % model.held.length]!;
    real.sys.pages.getPage(b.pfn as Pfn);
    b.refs++;
    checkAll(real);
  }
  toString(): string {
    return `get_page(#${this.pick})`;
  }
  toJSON(): object {
    return { op: 'get_page', pick: this.pick };
  }
}

/** Stored form: `{ op: 'get_page', pick }`. */
export const GET_PAGE_SPEC = spec('get_page', { pick: PICK }, (v) => new GetPageCommand(v.pick));
