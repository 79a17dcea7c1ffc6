/** Fuzz command: malloc_trim(pad), after which every held block must be intact. */

import type { Command } from 'fast-check';
import { int, spec } from '../schema.js';
import { checkAfter, type UserModel, type UserReal } from './model.js';
import { TRIM_MAX_PAD } from './sizes.js';

/** `malloc_trim(pad)`: gives free pages back (MADV_DONTNEED) and shrinks top; held blocks must keep their bytes. */
export class TrimCommand implements Command<UserModel, UserReal> {
  constructor(readonly pad: number) {}
  check(): boolean {
    return true;
  }
  run(model: UserModel, real: UserReal): void {
    real.libc.trim(this.pad);
    checkAfter(model, real);
  }
  toString(): string {
    return `malloc_trim(${this.pad})`;
  }
  toJSON(): object {
    return { op: 'trim', pad: this.pad };
  }
}

/** Stored form: `{ op: 'trim', pad }`. */
export const TRIM_SPEC = spec('trim', { pad: int(0, TRIM_MAX_PAD) }, (v) => new TrimCommand(v.pad));
