/** Fuzz command: realloc a held block (or NULL when none is held) to a new size. */

import type { Command } from 'fast-check';
import { PICK, spec } from '../schema.js';
import { checkAfter, checkKept, checkTags, hold, MALLOC_ALIGNMENT, type UserModel, type UserReal } from './model.js';
import { SIZE_FIELD } from './sizes.js';

/**
 * `realloc(live[pick % n], size)`, or `realloc(NULL, size)` when nothing is
 * held. The first min(old, new) bytes must move with the block (U9); size 0
 * frees it (glibc's REALLOC_ZERO_BYTES_FREES); a failed realloc keeps the old
 * block.
 */
export class ReallocCommand implements Command<UserModel, UserReal> {
  constructor(
    readonly pick: number,
    readonly size: number,
  ) {}
  check(): boolean {
    return true;
  }
  run(model: UserModel, real: UserReal): void {
    if (model.live.length === 0) {
      const p = real.libc.realloc(0, this.size);
      if (p !== 0) hold(model, real, p, this.size, MALLOC_ALIGNMENT, `realloc(NULL, ${this.size})`);
    } else {
      const i = this.pick % model.live.length;
      const old = model.live[i]!;
      checkTags(real, old, 'realloc');
      const p = real.libc.realloc(old.p, this.size);
      if (p !== 0 || this.size === 0) model.live.splice(i, 1);
      if (p !== 0) {
        checkKept(real, old, p, this.size);
        hold(model, real, p, this.size, MALLOC_ALIGNMENT, String(this));
      }
    }
    checkAfter(model, real);
  }
  toString(): string {
    return `realloc(#${this.pick}, ${this.size})`;
  }
  toJSON(): object {
    return { op: 'realloc', pick: this.pick, size: this.size };
  }
}

/** Stored form: `{ op: 'realloc', pick, size }`. */
export const REALLOC_SPEC = spec('realloc', { pick: PICK, size: SIZE_FIELD }, (v) => new ReallocCommand(v.pick, v.size));
