/** Fuzz command: malloc(size). */

import type { Command } from 'fast-check';
import { spec } from '../schema.js';
import { checkAfter, hold, MALLOC_ALIGNMENT, type UserModel, type UserReal } from './model.js';
import { SIZE_FIELD } from './sizes.js';

/** `malloc(size)`; a non-NULL result is held and tagged. */
export class MallocCommand implements Command<UserModel, UserReal> {
  constructor(readonly size: number) {}
  check(): boolean {
    return true;
  }
  /** @returns `fail` for a NULL (the campaign's coverage) */
  run(model: UserModel, real: UserReal): string {
    const p = real.libc.malloc(this.size);
    if (p !== 0) hold(model, real, p, this.size, MALLOC_ALIGNMENT, String(this));
    checkAfter(model, real);
    return p === 0 ? 'fail' : '';
  }
  toString(): string {
    return `malloc(${this.size})`;
  }
  toJSON(): object {
    return { op: 'malloc', size: this.size };
  }
}

/** Stored form: `{ op: 'malloc', size }`. */
export const MALLOC_SPEC = spec('malloc', { size: SIZE_FIELD }, (v) => new MallocCommand(v.size));
