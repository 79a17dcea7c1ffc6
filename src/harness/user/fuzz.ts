/**
 * Random-client fuzz for user-space mallocs: seeded runs of malloc, free,
 * realloc, calloc and memalign in a fresh process, checking after every
 * operation the policy's heap invariants (U1–U8 / F1–F4), the model
 * (U9: live blocks 16-aligned (or as asked), non-overlapping, at least the
 * requested usable size, their first and last bytes intact) and the process
 * and cross-layer invariants at the end. The first finding stops the run:
 * a violation, a C-library abort, or a model mismatch.
 */

import { isAllocatorError } from '../../interfaces/errors.js';
import type { Newable } from 'inversify';
import type { UserMalloc } from '../../interfaces/user.js';
import { createSystem } from '../../system.js';
import { Rng } from '../../machine/rng.js';

/** What a campaign found. */
export interface UserFuzzReport {
  readonly runs: number;
  readonly ops: number;
  /** First finding, or undefined when clean. */
  readonly finding?: { readonly run: number; readonly op: number; readonly what: string };
}

/** What to fuzz: a named policy, or a class bound at USER_MALLOC (a mutant or a prototype). */
export interface UserFuzzTarget {
  readonly malloc?: string;
  readonly impl?: Newable<UserMalloc>;
}

/** Runs `runs` seeded runs of `opsPerRun` operations against the target. */
export function fuzzUserMalloc(target: UserFuzzTarget, seed: number, runs: number, opsPerRun: number): UserFuzzReport {
  let ops = 0;
  for (let run = 0; run < runs; run++) {
    const r = new Rng(seed * 7919 + run);
    const sys = createSystem({ machine: { memBytes: 256 << 20, cpus: 2 }, policies: { malloc: target.malloc ?? 'ptmalloc' }, debug: { checks: false, trace: false } }, target.impl ? { malloc: target.impl } : {});
    try {
      const mm = sys.processes.spawn();
      const libc = sys.loadMalloc(mm, { tcache: r.chance(0.7), seed });
      const live: { p: number; size: number; tag: number }[] = [];
      const size = (): number => (r.chance(0.6) ? r.int(200) : r.chance(0.9) ? r.int(5000) : 100000 + r.int(200000));
      for (let op = 0; op < opsPerRun; op++, ops++) {
        try {
          const x = r.float();
          let p = 0;
          let sz = 0;
          let align = 16;
          if (live.length && x < 0.4) {
            const b = live.splice(r.int(live.length), 1)[0]!;
            if (b.size && (mm.read8(b.p) !== b.tag || mm.read8(b.p + b.size - 1) !== b.tag)) return { runs: run + 1, ops, finding: { run, op, what: `U9: block ${b.p.toString(16)} lost its bytes` } };
            if (r.chance(0.7)) libc.free(b.p);
            else {
              sz = 1 + size();
              p = libc.realloc(b.p, sz);
            }
          } else if (x < 0.5) {
            sz = size();
            p = libc.calloc(1, sz);
          } else if (x < 0.55) {
            align = 2 ** (5 + r.int(8));
            sz = size();
            p = libc.memalign(align, sz);
          } else {
            sz = size();
            p = libc.malloc(sz);
          }
          if (p !== 0) {
            if (p % align !== 0 || libc.usableSize(p) < sz) return { runs: run + 1, ops, finding: { run, op, what: `U9: block ${p.toString(16)} misaligned or too small` } };
            for (const o of live) if (p < o.p + Math.max(o.size, 1) && o.p < p + Math.max(sz, 1)) return { runs: run + 1, ops, finding: { run, op, what: `U9: ${p.toString(16)} overlaps live ${o.p.toString(16)}` } };
            const tag = 1 + (op & 0x7f);
            if (sz) {
              mm.write8(p, tag);
              mm.write8(p + sz - 1, tag);
            }
            live.push({ p, size: sz, tag });
          }
          const v = libc.checkInvariants();
          if (v.length) return { runs: run + 1, ops, finding: { run, op, what: `${v[0]!.code}: ${v[0]!.message}` } };
        } catch (e) {
          if (isAllocatorError(e)) return { runs: run + 1, ops, finding: { run, op, what: `${e.kind}: ${e.message}` } };
          throw e;
        }
      }
      const v = sys.checkInvariants();
      if (v.length) return { runs: run + 1, ops, finding: { run, op: opsPerRun, what: `${v[0]!.code}: ${v[0]!.message}` } };
    } finally {
      // The run's machine is done with: its byte segments go back to the pool (see PhysicalMemory.release).
      sys.machine.mem.release();
    }
  }
  return { runs, ops };
}
