import { describe, expect, it } from '@jest/globals';

import { isAllocatorError } from '../../../src/interfaces/errors.js';
import { createSystem } from '../../../src/system.js';
import { glibcOracle, ORACLE_GLIBC_VERSION, oracleSourcePath, oracleTimeNs, runOracle } from '../../../src/harness/user/oracle.js';
import { generateUserTraceText } from '../../../src/harness/user/trace-gen.js';
import { formatPlainTrace, parseUserTrace } from '../../../src/harness/user/trace.js';
import { replayUserTrace } from '../../../src/harness/user/replayer.js';

const MACHINE = { machine: { memBytes: 256 << 20, cpus: 2 } };
/**
 * Offsets from the initial break: the 0x290-byte tcache_perthread_struct
 * chunk comes first (with tcache_count=0 too), so the first block is at
 * 0x290 + 0x10 = 0x2a0 = 672; a 24-byte request is a 0x20 chunk, so the
 * next is at 704. 200 KiB is above the 128 KiB mmap threshold; 2^50 bytes
 * fails; a realloc to 0 prints nothing.
 */
const SMOKE = 'a 0 24\na 1 204800\nf 0\na 2 24\nc 3 3 8\nr 3 0\na 4 1125899906842624\nm 5 4096 100\n';
const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
const oracle = glibcOracle();
const skipReason = !oracle.ok
  ? oracle.reason
  : oracle.glibcVersion !== ORACLE_GLIBC_VERSION
    ? `the machine's glibc is ${oracle.glibcVersion}, the simulator models ${ORACLE_GLIBC_VERSION}`
    : undefined;

/** The simulator's `--addresses` lines for a trace text. */
function simLines(text: string, tcache: boolean): string[] {
  const sys = createSystem({ ...MACHINE, user: { tcache } });
  const lines = replayUserTrace(sys, parseUserTrace(text), { addresses: true }).addresses!;
  expect(sys.checkInvariants()).toEqual([]);
  return lines;
}

/** The AllocatorError `f` throws. */
function thrown(f: () => unknown): { kind: string; message: string } {
  try {
    f();
  } catch (e) {
    if (isAllocatorError(e)) return { kind: e.kind, message: e.message };
    throw e;
  }
  throw new Error('expected an AllocatorError');
}

describe('the glibc oracle itself', () => {
  it('finds its C source from the module', () => {
    expect(oracleSourcePath()).toMatch(/tools\/oracle\/glibc-replay\.c$/);
  });

  if (skipReason !== undefined) {
    it.skip(`(no glibc oracle: ${skipReason})`, () => undefined);
    return;
  }

  it.each([true, false])('prints known offsets, mmap and null (tcache %s)', (tcache) => {
    expect(runOracle(SMOKE, { tcache })).toEqual(['0 heap 672', '1 mmap -', '2 heap 672', '3 heap 704', '4 null', '5 heap 4096']);
  });

  it('runs glibc 2.36 here', () => {
    expect(oracle.ok && oracle.glibcVersion).toBe('2.36');
  });

  it('times a replay in nanoseconds', () => {
    const ns = oracleTimeNs(generateUserTraceText({ seed: 1, ops: 2000, mix: 'small' }), { tcache: true });
    expect(Number.isInteger(ns)).toBe(true);
    expect(ns).toBeGreaterThan(0);
  });

  it('rejects a malformed line naming it, and reports a glibc abort with its message', () => {
    expect(thrown(() => runOracle('a 0 24\nq 1\n', { tcache: true }))).toEqual({ kind: 'parse', message: expect.stringContaining('line 2: expected an op a, f, r, c or m') });
    expect(thrown(() => runOracle('a 0 24\nf 0\nf 0\n', { tcache: true }))).toEqual({ kind: 'malloc-abort', message: expect.stringContaining('free(): double free detected in tcache 2') });
    expect(thrown(() => runOracle('a 0 24\nf 0\nf 0\n', { tcache: false }))).toEqual({ kind: 'malloc-abort', message: expect.stringContaining('double free or corruption (fasttop)') });
  });
});

describe('ptmalloc against the real glibc 2.36 (address for address)', () => {
  if (skipReason !== undefined) {
    it.skip(`(no glibc oracle: ${skipReason})`, () => undefined);
    return;
  }

  it.each([true, false])('the smoke trace gives the same lines, NULL included (tcache %s)', (tcache) => {
    expect(simLines(SMOKE, tcache)).toEqual(runOracle(SMOKE, { tcache }));
  });

  it.each([
    ['rep', '20000\n6\n12\n1\na 0 2040\na 1 2040\nf 1\na 2 48\na 3 4072\nf 3\na 4 4072\nf 0\nf 2\na 5 4072\nf 4\nf 5\n'],
    ['wee', 'Alloc(72),\nAlloc(4096),\nFree(0),\nAlloc(16),\nFree(2),\nFree(1),\n'],
    ['mtrace', '= Start\n+ 0x4052a0 0x30\n+ 0x4052e0 0x100\n< 0x4052a0\n> 0x4053f0 0x60\n- 0x4052e0\n+ 0x405460 0x400\n= End\n'],
    ['jsonl', '{"op":"malloc","id":3,"size":24}\n{"op":"realloc","id":3,"size":100}\n{"op":"calloc","id":4,"nmemb":3,"size":8}\n{"op":"memalign","id":5,"align":64,"size":100}\n{"op":"free","id":3}\n'],
  ])('a %s trace, through formatPlainTrace, gives the same lines', (_fmt, text) => {
    const plain = formatPlainTrace(parseUserTrace(text));
    for (const tcache of [true, false]) expect(simLines(plain, tcache)).toEqual(runOracle(plain, { tcache }));
  });

  for (const tcache of [true, false]) {
    it.each(SEEDS)(`seed %i, 3000 mixed ops, tcache ${tcache ? 'on' : 'off'}: every line equals glibc's`, (seed) => {
      const text = generateUserTraceText({ seed, ops: 3000 });
      const want = runOracle(text, { tcache });
      const got = simLines(text, tcache);
      expect(got.length).toBe(want.length);
      const firstDiff = got.findIndex((l, i) => l !== want[i]);
      expect(firstDiff === -1 ? 'identical' : `line ${firstDiff}: sim '${got[firstDiff]}' vs glibc '${want[firstDiff]}'`).toBe('identical');
    });
  }
});
