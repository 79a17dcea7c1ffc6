import { describe, expect, it } from '@jest/globals';

import { isAllocatorError } from '../../../src/interfaces/errors.js';
import { GLIBC_SIZE_CLASSES, generateUserTrace, generateUserTraceText, USER_TRACE_MIXES } from '../../../src/harness/user/trace-gen.js';
import type { UserTraceMix } from '../../../src/harness/user/trace-gen.js';
import { formatPlainTrace, OP, parseUserTrace } from '../../../src/harness/user/trace.js';

const MMAP_MIN = 128 * 1024;

/** Counts what a trace is made of. */
function census(seed: number, ops: number): {
  classes: Record<string, number>;
  byOp: number[];
  grows: number;
  shrinks: number;
  intoMmap: number;
  outOfMmap: number;
  reallocZero: number;
  alignments: Set<number>;
  maxLive: number;
} {
  const t = generateUserTrace({ seed, ops });
  const classes: Record<string, number> = {};
  const byOp = [0, 0, 0, 0, 0];
  const cur = new Map<number, number>();
  let grows = 0;
  let shrinks = 0;
  let intoMmap = 0;
  let outOfMmap = 0;
  let reallocZero = 0;
  let maxLive = 0;
  const alignments = new Set<number>();
  for (let i = 0; i < t.n; i++) {
    const op = t.op[i]!;
    const id = t.id[i]!;
    const size = t.size[i]!;
    byOp[op]!++;
    if (op === OP.FREE) {
      cur.delete(id);
      continue;
    }
    if (op === OP.REALLOC) {
      const old = cur.get(id)!;
      if (size === 0) reallocZero++;
      else if (size > old) grows++;
      else if (size < old) shrinks++;
      if (old < MMAP_MIN && size >= MMAP_MIN) intoMmap++;
      if (old >= MMAP_MIN && size > 0 && size < MMAP_MIN) outOfMmap++;
      if (size === 0) cur.delete(id);
      else cur.set(id, size);
      continue;
    }
    const bytes = op === OP.CALLOC ? size * t.arg[i]! : size;
    if (op === OP.MEMALIGN) alignments.add(t.arg[i]!);
    const cls = GLIBC_SIZE_CLASSES.find((c) => c.sizes === undefined && bytes >= c.min && bytes <= c.max)?.name ?? 'edge';
    classes[cls] = (classes[cls] ?? 0) + 1;
    cur.set(id, size);
    maxLive = Math.max(maxLive, cur.size);
  }
  return { classes, byOp, grows, shrinks, intoMmap, outOfMmap, reallocZero, alignments, maxLive };
}

describe('generateUserTrace', () => {
  it('is deterministic for a seed, and seeds differ', () => {
    const a = generateUserTraceText({ seed: 7, ops: 3000 });
    expect(generateUserTraceText({ seed: 7, ops: 3000 })).toBe(a);
    expect(generateUserTraceText({ seed: 8, ops: 3000 })).not.toBe(a);
    expect(generateUserTraceText({ seed: 7, ops: 3000, mix: 'small' })).not.toBe(a);
  });

  it('makes exactly the ops asked for, valid under the strict parser, op i on line i + 1', () => {
    const t = generateUserTrace({ seed: 3, ops: 5000 });
    expect(t.n).toBe(5000);
    expect(t.format).toBe('plain');
    expect(Array.from(t.line.subarray(0, 3))).toEqual([1, 2, 3]);
    const back = parseUserTrace(formatPlainTrace(t), 'plain');
    expect(back.n).toBe(5000);
    expect(Array.from(back.op)).toEqual(Array.from(t.op));
    expect(Array.from(back.size)).toEqual(Array.from(t.size));
  });

  it('covers every glibc size range, reallocs that grow, shrink and cross the mmap threshold, callocs and memaligns', () => {
    const c = census(1, 20000);
    expect(Object.keys(c.classes).sort()).toEqual(['edge', 'large', 'mmap', 'small', 'tcache', 'tcache-large']);
    expect(c.classes.tcache!).toBeGreaterThan(c.classes.small!);
    expect(c.classes.mmap!).toBeGreaterThan(20);
    expect(c.classes.mmap!).toBeLessThan(c.classes.large! / 4);
    expect(c.byOp[OP.CALLOC]!).toBeGreaterThan(200);
    expect(c.byOp[OP.MEMALIGN]!).toBeGreaterThan(200);
    expect(c.grows).toBeGreaterThan(500);
    expect(c.shrinks).toBeGreaterThan(500);
    expect(c.intoMmap).toBeGreaterThan(10);
    expect(c.outOfMmap).toBeGreaterThan(10);
    expect(c.reallocZero).toBeGreaterThan(5);
    expect([...c.alignments].sort((x, y) => x - y)).toEqual([16, 32, 64, 128, 256, 512, 1024, 2048, 4096]);
  });

  it('bounds the live set', () => {
    expect(census(2, 20000).maxLive).toBeLessThanOrEqual(USER_TRACE_MIXES.mixed.maxLive);
    const mix: UserTraceMix = { ...USER_TRACE_MIXES.mixed, maxLive: 10 };
    const t = generateUserTrace({ seed: 2, ops: 2000, mix });
    let live = 0;
    let peak = 0;
    for (let i = 0; i < t.n; i++) {
      const op = t.op[i]!;
      if (op === OP.FREE || (op === OP.REALLOC && t.size[i] === 0)) live--;
      else if (op !== OP.REALLOC) live++;
      peak = Math.max(peak, live);
    }
    expect(peak).toBe(10);
  });

  it('rejects an unusable mix, listing every problem', () => {
    const mix: UserTraceMix = { ...USER_TRACE_MIXES.mixed, maxLive: 0, sizes: [{ name: 'huge', min: 10, max: 2 ** 40, weight: 1 }] };
    let problems: readonly string[] | undefined;
    try {
      generateUserTrace({ seed: 1, ops: 10, mix });
    } catch (e) {
      if (isAllocatorError(e, 'config')) problems = e.info.problems;
    }
    expect(problems).toEqual(['size class huge: need integers 0 <= min <= max <= 2^32-1, not 10..1099511627776', 'maxLive must be >= 1, not 0']);
  });

  it('small mode: 200k mallocs and frees of 1-256 bytes', () => {
    const t = generateUserTrace({ seed: 42, ops: 200_000, mix: 'small' });
    expect(t.n).toBe(200_000);
    let min = Infinity;
    let max = 0;
    let others = 0;
    for (let i = 0; i < t.n; i++) {
      if (t.op[i] === OP.MALLOC) {
        min = Math.min(min, t.size[i]!);
        max = Math.max(max, t.size[i]!);
      } else if (t.op[i] !== OP.FREE) {
        others++;
      }
    }
    expect({ min, max, others }).toEqual({ min: 1, max: 256, others: 0 });
  });
});
