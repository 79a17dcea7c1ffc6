/** Fuzz command: calloc(nmemb, size), whose bytes must read zero. */

import type { Command } from 'fast-check';
import { int, spec } from '../schema.js';
import { checkAfter, checkZeroed, hold, MALLOC_ALIGNMENT, type UserModel, type UserReal } from './model.js';
import { CALLOC_MAX_NMEMB, CALLOC_MAX_SIZE } from './sizes.js';

/** `calloc(nmemb, size)`: the block is checked for zeros (U9) before it is tagged. */
export class CallocCommand implements Command<UserModel, UserReal> {
  constructor(
    readonly nmemb: number,
    readonly size: number,
  ) {}
  check(): boolean {
    return true;
  }
  /** @returns `fail` for a NULL (the campaign's coverage) */
  run(model: UserModel, real: UserReal): string {
    const bytes = this.nmemb * this.size;
    const p = real.libc.calloc(this.nmemb, this.size);
    if (p !== 0) {
      checkZeroed(real, p, bytes, String(this));
      hold(model, real, p, bytes, MALLOC_ALIGNMENT, String(this));
    }
    checkAfter(model, real);
    return p === 0 ? 'fail' : '';
  }
  toString(): string {
    return `calloc(${this.nmemb}, ${this.size})`;
  }
  toJSON(): object {
    return { op: 'calloc', nmemb: this.nmemb, size: this.size };
  }
}

/** Stored form: `{ op: 'calloc', nmemb, size }`. */
export const CALLOC_SPEC = spec('calloc', { nmemb: int(0, CALLOC_MAX_NMEMB), size: int(0, CALLOC_MAX_SIZE) }, (v) => new CallocCommand(v.nmemb, v.size));
