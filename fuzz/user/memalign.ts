/** Fuzz command: memalign or posix_memalign with a power-of-two alignment. */

import type { Command } from 'fast-check';
import { FuzzFailure } from '../common.js';
import { BOOL, int, spec } from '../schema.js';
import { checkAfter, hold, type UserModel, type UserReal } from './model.js';
import { ALIGN_LOG2_MAX, ALIGN_LOG2_MIN, SIZE_FIELD } from './sizes.js';

/** `memalign(2^alignLog2, size)`, or `posix_memalign(&p, 2^alignLog2, size)` when `posix`. */
export class MemalignCommand implements Command<UserModel, UserReal> {
  constructor(
    readonly alignLog2: number,
    readonly size: number,
    readonly posix: boolean,
  ) {}
  check(): boolean {
    return true;
  }
  /** @returns `fail` for a NULL (the campaign's coverage) */
  run(model: UserModel, real: UserReal): string {
    const align = 2 ** this.alignLog2;
    let p: number;
    if (this.posix) {
      const out = [0];
      const rc = real.libc.posixMemalign(out, align, this.size);
      // Every alignment drawn is a power-of-two multiple of sizeof(void *): EINVAL is a bug.
      if (rc !== 0 && rc !== 12) throw new FuzzFailure([{ code: 'U9', message: `${String(this)} returned ${rc}, not 0 or ENOMEM` }]);
      p = rc === 0 ? out[0]! : 0;
    } else p = real.libc.memalign(align, this.size);
    if (p !== 0) hold(model, real, p, this.size, align, String(this));
    checkAfter(model, real);
    return p === 0 ? 'fail' : '';
  }
  toString(): string {
    return `${this.posix ? 'posix_memalign' : 'memalign'}(${2 ** this.alignLog2}, ${this.size})`;
  }
  toJSON(): object {
    return { op: 'memalign', alignLog2: this.alignLog2, size: this.size, posix: this.posix };
  }
}

/** Stored form: `{ op: 'memalign', alignLog2, size, posix }`. */
export const MEMALIGN_SPEC = spec('memalign', { alignLog2: int(ALIGN_LOG2_MIN, ALIGN_LOG2_MAX), size: SIZE_FIELD, posix: BOOL }, (v) => new MemalignCommand(v.alignLog2, v.size, v.posix));
