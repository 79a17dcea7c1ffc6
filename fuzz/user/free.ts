/** Fuzz command: free the i-th held block (index taken modulo the count, so it survives shrinking). */

import type { Command } from 'fast-check';
import { PICK, spec } from '../schema.js';
import { checkAfter, release, type UserModel, type UserReal } from './model.js';

/** `free(live[pick % n])`, after checking the block's tags (X3). */
export class FreeCommand implements Command<UserModel, UserReal> {
  constructor(readonly pick: number) {}
  check(model: UserModel): boolean {
    return model.live.length > 0;
  }
  run(model: UserModel, real: UserReal): void {
    release(model, real, this.pick % model.live.length);
    checkAfter(model, real);
  }
  toString(): string {
    return `free(#${this.pick})`;
  }
  toJSON(): object {
    return { op: 'free', pick: this.pick };
  }
}

/** Stored form: `{ op: 'free', pick }`. */
export const FREE_SPEC = spec('free', { pick: PICK }, (v) => new FreeCommand(v.pick));
