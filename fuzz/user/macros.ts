/**
 * Macro commands that reach deep heap states within a short sequence: fill
 * one size class (past the 7 tcache entries into the fastbins or small
 * bins when they are freed), and free every other held block (the classic
 * fragmenter: free chunks between live ones, then coalescing when the
 * others go).
 */

import type { Command } from 'fast-check';
import { BOOL, int, spec } from '../schema.js';
import { checkAfter, hold, MALLOC_ALIGNMENT, release, type UserModel, type UserReal } from './model.js';
import { FILL_MAX_COUNT, FILL_MAX_SIZE } from './sizes.js';

/** `count` × `malloc(size)`: one size class filled; stops at the first NULL. */
export class FillClassCommand implements Command<UserModel, UserReal> {
  constructor(
    readonly size: number,
    readonly count: number,
  ) {}
  check(): boolean {
    return true;
  }
  run(model: UserModel, real: UserReal): void {
    for (let i = 0; i < this.count; i++) {
      const p = real.libc.malloc(this.size);
      if (p === 0) break;
      hold(model, real, p, this.size, MALLOC_ALIGNMENT, `malloc(${this.size}) #${i} of ${String(this)}`);
    }
    checkAfter(model, real);
  }
  toString(): string {
    return `fill(${this.size} x${this.count})`;
  }
  toJSON(): object {
    return { op: 'fill', size: this.size, count: this.count };
  }
}

/** Frees the held blocks at even (or odd) positions of the list, from the newest down. */
export class FreeEveryOtherCommand implements Command<UserModel, UserReal> {
  constructor(readonly odd: boolean) {}
  check(model: UserModel): boolean {
    return model.live.length > 0;
  }
  run(model: UserModel, real: UserReal): void {
    const n = model.live.length;
    // Positions in the list as it stood: walking down keeps the lower ones in place.
    for (let i = n - 1; i >= 0; i--) if (i % 2 === (this.odd ? 1 : 0)) release(model, real, i, String(this));
    checkAfter(model, real);
  }
  toString(): string {
    return `free_every_other(${this.odd ? 'odd' : 'even'})`;
  }
  toJSON(): object {
    return { op: 'free_every_other', odd: this.odd };
  }
}

/** Stored form: `{ op: 'fill', size, count }`. */
export const FILL_SPEC = spec('fill', { size: int(0, FILL_MAX_SIZE), count: int(1, FILL_MAX_COUNT) }, (v) => new FillClassCommand(v.size, v.count));

/** Stored form: `{ op: 'free_every_other', odd }`. */
export const FREE_EVERY_OTHER_SPEC = spec('free_every_other', { odd: BOOL }, (v) => new FreeEveryOtherCommand(v.odd));
