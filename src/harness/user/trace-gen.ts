/**
 * Seeded random user-space traces for the glibc-oracle tests and the
 * benchmarks. `mixed` spreads sizes over every glibc path (tcache and
 * fastbin sizes 0–120, small 121–1032, large-bin 1 KiB–20 KiB and
 * 20 KiB–128 KiB, mmap-sized 100 KiB–600 KiB), frees live ids in random
 * order, reallocs that grow and shrink (some crossing the mmap threshold),
 * callocs and memaligns (alignments 8…4096), and keeps at most 300 blocks
 * live. `small` is 1–256-byte mallocs and frees only (the benchmark trace).
 */

import { Rng } from '../rng.js';
import { parseUserTrace, type UserTrace } from './trace.js';

/** Generator options. */
export interface UserTraceGenOpts {
  readonly seed: number;
  readonly ops: number;
  /** @defaultValue 'mixed' */
  readonly mix?: 'mixed' | 'small';
}

function mixedSize(r: Rng): number {
  const x = r.float();
  if (x < 0.4) return r.int(121);
  if (x < 0.6) return 121 + r.int(912);
  if (x < 0.85) return 1033 + r.int(18968);
  if (x < 0.95) return 20000 + r.int(111001);
  return 100000 + r.int(500001);
}

/** Generates the plain-format text of a random trace. */
export function generateUserTraceText(o: UserTraceGenOpts): string {
  const r = new Rng(o.seed);
  const live: number[] = [];
  let next = 0;
  const out: string[] = [];
  const small = o.mix === 'small';
  const cap = small ? 1000 : 300;
  for (let i = 0; i < o.ops; i++) {
    const x = r.float();
    if (live.length && (x < 0.4 || live.length > cap)) {
      const j = r.int(live.length);
      const id = live[j]!;
      live[j] = live[live.length - 1]!;
      live.pop();
      out.push(`f ${id}`);
    } else if (small) {
      out.push(`a ${next} ${1 + r.int(256)}`);
      live.push(next++);
    } else if (live.length && x < 0.55) {
      const id = live[r.int(live.length)]!;
      out.push(`r ${id} ${1 + mixedSize(r)}`);
    } else if (x < 0.6) {
      out.push(`c ${next} ${1 + r.int(4)} ${mixedSize(r)}`);
      live.push(next++);
    } else if (x < 0.63) {
      out.push(`m ${next} ${2 ** (3 + r.int(10))} ${mixedSize(r)}`);
      live.push(next++);
    } else {
      out.push(`a ${next} ${mixedSize(r)}`);
      live.push(next++);
    }
  }
  return out.join('\n') + '\n';
}

/** Generates a random trace. */
export function generateUserTrace(o: UserTraceGenOpts): UserTrace {
  return parseUserTrace(generateUserTraceText(o), 'plain');
}
