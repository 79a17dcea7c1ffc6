import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from '@jest/globals';

import { isAllocatorError } from '../../../src/interfaces/errors.js';
import type { UserTrace, UserTraceFormat } from '../../../src/harness/user/trace.js';
import {
  detectUserTraceFormat,
  formatPlainTrace,
  MAX_TRACE_ID,
  OP,
  parseUserTrace,
  parseUserTraceFile,
  USER_TRACE_FORMATS,
  userTraceFormatFromPath,
} from '../../../src/harness/user/trace.js';

/** The error a strict parse throws: its message and line (fails the test if none or not `parse`). */
function parseError(text: string, format: UserTraceFormat | 'auto' = 'auto'): { message: string; line: number | undefined } {
  try {
    parseUserTrace(text, format);
  } catch (e) {
    if (isAllocatorError(e, 'parse')) return { message: e.message, line: e.info.line };
    throw e;
  }
  throw new Error(`expected a parse error for ${JSON.stringify(text)}`);
}

/** The ops as readable tuples `[op, id, size, arg, line]`. */
function ops(t: UserTrace): [number, number, number, number, number][] {
  return Array.from({ length: t.n }, (_, i) => [t.op[i]!, t.id[i]!, t.size[i]!, t.arg[i]!, t.line[i]!]);
}

const { MALLOC: A, FREE: F, REALLOC: R, CALLOC: C, MEMALIGN: M } = OP;

/** Like CS:APP's short1-bal.rep: header, then a/f lines. */
const SHORT_REP = '20000\n6\n12\n1\na 0 2040\na 1 2040\nf 1\na 2 48\na 3 4072\nf 3\na 4 4072\nf 0\nf 2\na 5 4072\nf 4\nf 5\n';

/** A wee_alloc trace (rustwasm/wee_alloc test/traces/*.trace): `Free(K)` frees the K-th Alloc. */
const WEE_EXAMPLE = 'Alloc(72),\nAlloc(4096),\nFree(0),\nAlloc(16),\nFree(2),\nFree(1),\n';

/** A glibc mtrace log in the grammar of glibc's malloc/mtrace-impl.c (`tr_where` prefix, `+`, `<`/`>` for realloc, `-`). */
const MTRACE_EXAMPLE = [
  '= Start',
  '@ ./demo:[0x401196] + 0x4052a0 0x30',
  '@ ./demo:[0x4011b2] + 0x4052e0 0x100',
  '@ ./demo:[0x4011d0] < 0x4052a0',
  '@ ./demo:[0x4011d0] > 0x4053f0 0x60',
  '@ ./demo:[0x4011e9] - 0x4052e0',
  '@ /lib/x86_64-linux-gnu/libc.so.6:[0x7f2c1a0a1b2c] + 0x405460 0x400',
  '= End',
  '',
].join('\n');

const JSONL_EXAMPLE = [
  '{"op":"malloc","id":3,"size":24}',
  '{"op":"realloc","id":3,"size":100}',
  '{"op":"calloc","id":4,"nmemb":3,"size":8}',
  '{"op":"memalign","id":5,"align":64,"size":100}',
  '{"op":"free","id":3}',
  '',
].join('\n');

describe('malloc-lab rep', () => {
  it('parses the header and the body, one op per line', () => {
    const t = parseUserTrace(SHORT_REP, 'rep');
    expect(t.format).toBe('rep');
    expect(t.n).toBe(12);
    expect(t.nIds).toBe(6);
    expect(ops(t).slice(0, 4)).toEqual([[A, 0, 2040, 0, 5], [A, 1, 2040, 0, 6], [F, 1, 0, 0, 7], [A, 2, 48, 0, 8]]);
    expect(t.meta).toEqual({ heapSize: 20000, declaredIds: 6, declaredOps: 12, weight: 1, headerMismatch: [], failedCalls: 0, lines: 16 });
    expect(t.skipped).toEqual({});
  });

  it('tolerates blank lines, comments, CRLF, a BOM, tabs and the header on one line', () => {
    const messy = '\ufeff# from a course page\r\n20000 3\t5\r\n1\r\n\r\na 0 512   # first\r\n  a\t1 128\r\nr 0 640\r\n\r\nf 1\r\nf 0\r\n';
    const t = parseUserTrace(messy);
    expect(t.format).toBe('rep');
    expect(ops(t)).toEqual([[A, 0, 512, 0, 5], [A, 1, 128, 0, 6], [R, 0, 640, 0, 7], [F, 1, 0, 0, 9], [F, 0, 0, 0, 10]]);
    expect(t.meta.headerMismatch).toEqual(['the header declares 3 ids, the body uses 2']);
  });

  it('lets the body decide when the header counts are wrong, and says so', () => {
    const t = parseUserTrace('100\n9\n2\n0\na 0 1\na 1 2\nf 0\n', 'rep');
    expect(t.n).toBe(3);
    expect(t.meta.weight).toBe(0);
    expect(t.meta.headerMismatch).toEqual(['the header declares 2 ops, the body has 3', 'the header declares 9 ids, the body uses 2']);
  });

  it('names the line of a short or bad header, and rejects c/m ops', () => {
    expect(parseError('100\n2\n', 'rep')).toEqual({ message: expect.stringMatching(/^line 2: the rep header needs 4 numbers .* ends after 2$/), line: 2 });
    expect(parseError('100\n2\nx\n1\n', 'rep')).toEqual({ message: expect.stringMatching(/^line 3: expected header number 3 of 4 \(number of ops\)/), line: 3 });
    expect(parseError('1\n1\n1\n1\nc 0 2 8\n', 'rep')).toEqual({ message: expect.stringMatching(/^line 5: expected an op 'a', 'f', 'r' \(malloc-lab has no 'c'/), line: 5 });
  });
});

describe('plain a/f/r/c/m lines', () => {
  it('parses every op; calloc and memalign keep their count and alignment in arg', () => {
    const t = parseUserTrace('a 0 24\nc 1 3 8\nm 2 4096 100\nr 0 200\nf 1\nr 2 0\n', 'plain');
    expect(ops(t)).toEqual([[A, 0, 24, 0, 1], [C, 1, 8, 3, 2], [M, 2, 100, 4096, 3], [R, 0, 200, 0, 4], [F, 1, 0, 0, 5], [R, 2, 0, 0, 6]]);
    expect(t.nIds).toBe(3);
    expect(t.meta.weight).toBe(1);
  });

  it('a realloc to 0 frees the id: it may be allocated again, not freed again', () => {
    expect(parseUserTrace('a 0 8\nr 0 0\na 0 16\n', 'plain').n).toBe(3);
    expect(parseError('a 0 8\nr 0 0\nf 0\n', 'plain')).toEqual({ message: 'line 3: id 0 is freed twice (it was freed on line 2)', line: 3 });
  });

  it.each([
    ['a 0 24\nq 1\n', 2, /^line 2: expected an op 'a', 'f', 'r', 'c' or 'm', found 'q 1'$/],
    ['a 0\n', 1, /^line 1: expected 'a ID SIZE' \(2 numbers after 'a'\), found 'a 0'$/],
    ['a 0 24 7\n', 1, /^line 1: expected 'a ID SIZE'/],
    ['f\n', 1, /^line 1: expected 'f ID'/],
    ['\n\na 0 x\n', 3, /^line 3: expected a size, found 'x' in 'a 0 x'$/],
    ['a zero 1\n', 1, /^line 1: expected an id, found 'zero'/],
    ['c 0 8\n', 1, /^line 1: expected 'c ID NMEMB SIZE'/],
    ['m 0 64\n', 1, /^line 1: expected 'm ID ALIGN SIZE'/],
    ['alloc 0 8\n', 1, /^line 1: expected an op/],
  ])('malformed %j is an error naming line %i', (text, line, re) => {
    const e = parseError(text, 'plain');
    expect(e.line).toBe(line);
    expect(e.message).toMatch(re);
  });

  it.each([
    ['a 0 24\nf 0\nf 0\n', 3, 'line 3: id 0 is freed twice (it was freed on line 2)'],
    ['f 7\n', 1, 'line 1: id 7 is freed but was never allocated'],
    ['r 7 10\n', 1, 'line 1: id 7 is reallocated but was never allocated'],
    ['a 0 24\nf 0\nr 0 8\n', 3, 'line 3: id 0 is reallocated after it was freed (it was freed on line 2)'],
    ['a 0 24\na 0 48\n', 2, 'line 2: id 0 is allocated while live (allocated on line 1, not freed since)'],
    ['a 0 -5\n', 1, 'line 1: size -5 is not an integer in 0..2^53-1'],
    ['a 0 2.5\n', 1, 'line 1: size 2.5 is not an integer in 0..2^53-1'],
    ['a 0 9007199254740992\n', 1, 'line 1: size 9007199254740992 is not an integer in 0..2^53-1'],
    ['c 0 -1 8\n', 1, 'line 1: nmemb -1 is not an integer in 0..2^53-1'],
    ['m 0 1.5 8\n', 1, 'line 1: alignment 1.5 is not an integer in 0..2^53-1'],
    [`a ${MAX_TRACE_ID + 1} 8\n`, 1, `line 1: id ${MAX_TRACE_ID + 1} is not an integer in 0..${MAX_TRACE_ID}`],
  ])('%j breaks the id rules on line %i', (text, line, message) => {
    expect(parseError(text, 'plain')).toEqual({ message, line });
  });

  it('accepts the largest size and id', () => {
    const t = parseUserTrace(`a ${MAX_TRACE_ID} 9007199254740991\n`, 'plain');
    expect(t.size[0]).toBe(2 ** 53 - 1);
    expect(t.nIds).toBe(MAX_TRACE_ID + 1);
  });

  it('lenient: drops rule-breaking ops, counts them per issue and remembers their lines', () => {
    const text = 'a 0 24\nf 0\nf 0\nf 9\nr 0 5\na 1 8\na 1 8\na 2 -1\nf 2\nf 1\n';
    const t = parseUserTrace(text, 'plain', { lenient: true });
    expect(ops(t)).toEqual([[A, 0, 24, 0, 1], [F, 0, 0, 0, 2], [A, 1, 8, 0, 6], [F, 1, 0, 0, 10]]);
    expect(t.skipped).toEqual({ 'double-free': 1, 'never-allocated': 2, 'use-after-free': 1, 'allocated-while-live': 1, 'bad-size': 1 });
    expect(t.skippedLines).toEqual([3, 4, 5, 7, 8, 9]);
  });

  it('lenient does not excuse a malformed line', () => {
    expect(() => parseUserTrace('a 0 24\nbogus\n', 'plain', { lenient: true })).toThrow(/^line 2: expected an op/);
  });
});

describe('wee_alloc trace', () => {
  it('parses a wee_alloc trace: the Alloc ordinal is the id', () => {
    const t = parseUserTrace(WEE_EXAMPLE);
    expect(t.format).toBe('wee');
    expect(ops(t)).toEqual([[A, 0, 72, 0, 1], [A, 1, 4096, 0, 2], [F, 0, 0, 0, 3], [A, 2, 16, 0, 4], [F, 2, 0, 0, 5], [F, 1, 0, 0, 6]]);
  });

  it('errors name the line: malformed, a Free of an Alloc that has not happened, a double free', () => {
    expect(parseError('Alloc(8),\nFree(x),\n', 'wee')).toEqual({ message: "line 2: expected the ordinal of an Alloc, found 'x' in 'Free(x),'", line: 2 });
    expect(parseError('Alloc(8),\nMalloc(8),\n', 'wee')).toEqual({ message: "line 2: expected 'Alloc(SIZE),' or 'Free(K),', found 'Malloc(8),'", line: 2 });
    expect(parseError('Alloc(8),\nFree(1),\n', 'wee')).toEqual({ message: 'line 2: Free(1) names Alloc number 1, but only 1 Alloc (0..0) came before', line: 2 });
    expect(parseError('Alloc(8),\nFree(0),\nFree(0),\n', 'wee').line).toBe(3);
  });

  it('lenient: a skipped Alloc still takes its ordinal', () => {
    const t = parseUserTrace('Alloc(-1),\nAlloc(8),\nFree(1),\nFree(0),\n', 'wee', { lenient: true });
    expect(ops(t)).toEqual([[A, 1, 8, 0, 2], [F, 1, 0, 0, 3]]);
    expect(t.skipped).toEqual({ 'bad-size': 1, 'never-allocated': 1 });
  });
});

describe('glibc mtrace', () => {
  it('parses an mtrace log: malloc, realloc, free, a library call site', () => {
    const t = parseUserTrace(MTRACE_EXAMPLE);
    expect(t.format).toBe('mtrace');
    // 0x4052e0's id 1 is freed on line 6 and reused for 0x405460 on line 7.
    expect(ops(t)).toEqual([[A, 0, 0x30, 0, 2], [A, 1, 0x100, 0, 3], [R, 0, 0x60, 0, 5], [F, 1, 0, 0, 6], [A, 1, 0x400, 0, 7]]);
    expect(t.nIds).toBe(2);
    expect(t.meta.failedCalls).toBe(0);
  });

  it('reads sizes printed as 0, symbol locations, in-place reallocs, failed calls and free(NULL)-free traces', () => {
    const text = [
      '= Start',
      '@ ./a.out:(main+0x1e)[0x401196] + 0x4052a0 0',
      '+ (nil) 0xffffffffffffffff',
      '@ [0x4011d0] < 0x4052a0',
      '@ [0x4011d0] > 0x4052a0 0x18',
      '! 0x4052a0 0x7fffffffffffffff',
      '- 0x4052a0',
      '= End',
    ].join('\n');
    const t = parseUserTrace(text, 'mtrace');
    expect(ops(t)).toEqual([[A, 0, 0, 0, 2], [R, 0, 0x18, 0, 5], [F, 0, 0, 0, 7]]);
    expect(t.meta.failedCalls).toBe(2);
  });

  it.each([
    ['= Start\n- 0x10\n', 2, 'line 2: pointer 0x10 is freed but is not live (never allocated since tracing started)'],
    ['+ 0x10 0x8\n- 0x10\n- 0x10\n', 3, 'line 3: pointer 0x10 is freed after it was freed on line 2'],
    ['+ 0x10 0x8\n+ 0x10 0x8\n', 2, 'line 2: pointer 0x10 is returned again while live (id 0, not freed since)'],
    ['+ 0x10 0x8\n+ 0x20 0x8\n< 0x10\n> 0x20 0x10\n', 4, 'line 4: realloc returned 0x20, which is live (id 1, not freed since)'],
    ['< 0x10\n> 0x20 0x8\n', 1, 'line 1: pointer 0x10 is reallocated but is not live (never allocated since tracing started)'],
  ])('%j: pointer misuse names line %i', (text, line, message) => {
    expect(parseError(text, 'mtrace')).toEqual({ message, line });
  });

  it.each([
    ['+ 0x10\n', 1, /^line 1: expected '= Start', '= End', '\+ PTR SIZE'/],
    ['+ 0x10 30\n', 1, /^line 1: expected a hex size \('0x30', or '0'\) after '\+ 0x10', found '30'$/],
    ['+ 0x10 0x8\n< 0x10\n- 0x10\n', 3, /^line 3: expected '> PTR SIZE' completing the realloc '<' of line 2/],
    ['+ 0x10 0x8\n< 0x10\n', 2, /^line 2: a realloc '<' is not followed by/],
    ['> 0x10 0x8\n', 1, /^line 1: '>' must follow a '< PTR' line/],
    ['@ ./demo + 0x10 0x8\n', 1, /^line 1: expected a location/],
    ['hello\n', 1, /^line 1: expected '= Start'/],
  ])('malformed %j names line %i', (text, line, re) => {
    const e = parseError(text, 'mtrace');
    expect(e.line).toBe(line);
    expect(e.message).toMatch(re);
  });

  it('lenient: frees of pointers from before tracing are dropped; a realloc of one becomes a malloc', () => {
    const t = parseUserTrace('- 0x99\n< 0x98\n> 0x10 0x20\n- 0x10\n', 'mtrace', { lenient: true });
    expect(ops(t)).toEqual([[A, 0, 0x20, 0, 3], [F, 0, 0, 0, 4]]);
    expect(t.skipped).toEqual({ 'never-allocated': 2 });
  });
});

describe('jsonl', () => {
  it('parses the schema of the module comment', () => {
    const t = parseUserTrace(JSONL_EXAMPLE);
    expect(t.format).toBe('jsonl');
    expect(ops(t)).toEqual([[A, 3, 24, 0, 1], [R, 3, 100, 0, 2], [C, 4, 8, 3, 3], [M, 5, 100, 64, 4], [F, 3, 0, 0, 5]]);
    expect(t.nIds).toBe(6);
  });

  it('ignores extra keys, blank lines and # lines', () => {
    const t = parseUserTrace('# by hand\n\n{"op":"malloc","id":0,"size":8,"t":1.5,"site":"main"}\n', 'jsonl');
    expect(ops(t)).toEqual([[A, 0, 8, 0, 3]]);
  });

  it.each([
    ['{"op":"malloc","id":0,"size":8}\n{"op":"malloc",', 2, /^line 2: expected a JSON object, found '\{"op":"malloc",'/],
    ['[1,2]\n', 1, /^line 1: expected a JSON object, found '\[1,2\]'$/],
    ['{"op":"malloc","id":0}\n', 1, /^line 1: expected "size" to be a number for op "malloc", found no "size"$/],
    ['{"op":"memalign","id":0,"alignment":8,"size":8}\n', 1, /^line 1: expected "align" to be a number/],
    ['{"op":"calloc","id":0,"nmemb":"3","size":8}\n', 1, /^line 1: expected "nmemb" to be a number for op "calloc", found "3"$/],
    ['{"op":"mmap","id":0}\n', 1, /^line 1: expected "op" to be one of "malloc", "free", "realloc", "calloc", "memalign", found "mmap"$/],
    ['{"id":0}\n', 1, /found none$/],
  ])('malformed %j names line %i', (text, line, re) => {
    const e = parseError(text, 'jsonl');
    expect(e.line).toBe(line);
    expect(e.message).toMatch(re);
  });

  it('rule-breaking objects are errors too (or counted when lenient)', () => {
    expect(parseError('{"op":"free","id":1}\n', 'jsonl')).toEqual({ message: 'line 1: id 1 is freed but was never allocated', line: 1 });
    expect(parseError('{"op":"malloc","id":-1,"size":8}\n', 'jsonl')).toEqual({ message: `line 1: id -1 is not an integer in 0..${MAX_TRACE_ID}`, line: 1 });
    const t = parseUserTrace('{"op":"malloc","id":0,"size":1e300}\n{"op":"free","id":0}\n', 'jsonl', { lenient: true });
    expect(t.n).toBe(0);
    expect(t.skipped).toEqual({ 'bad-size': 1, 'never-allocated': 1 });
  });
});

describe('format detection', () => {
  it.each([
    [SHORT_REP, 'rep'],
    ['# header on one line\n20000 2 3 1\na 0 1\n', 'rep'],
    ['a 0 24\nf 0\n', 'plain'],
    ['\n# comment\nc 0 2 8\n', 'plain'],
    ['', 'plain'],
    [WEE_EXAMPLE, 'wee'],
    [MTRACE_EXAMPLE, 'mtrace'],
    ['+ 0x4052a0 0x30\n', 'mtrace'],
    ['@ [0x401196] + 0x4052a0 0x30\n', 'mtrace'],
    [JSONL_EXAMPLE, 'jsonl'],
  ])('detects %j as %s', (text, format) => {
    expect(detectUserTraceFormat(text)).toBe(format);
    expect(parseUserTrace(text).format).toBe(format);
  });

  it('names the line it cannot make sense of', () => {
    expect(parseError('\n\nmalloc(24) = 0x5555555592a0\n')).toEqual({ message: expect.stringMatching(/^line 3: cannot tell the trace format from 'malloc\(24\)/), line: 3 });
  });

  it('maps file extensions, case-insensitively', () => {
    expect(userTraceFormatFromPath('traces/short1-bal.rep')).toBe('rep');
    expect(userTraceFormatFromPath('ls.trace')).toBe('wee');
    expect(userTraceFormatFromPath('logs/x.MTRACE')).toBe('mtrace');
    expect(userTraceFormatFromPath('ops.jsonl')).toBe('jsonl');
    expect(userTraceFormatFromPath('gen.ops')).toBe('plain');
    expect(userTraceFormatFromPath('kmem.txt')).toBeUndefined();
  });

  it('parses a file, detecting by content', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'allocsim-user-trace-')), 'odd-name.trace');
    writeFileSync(path, MTRACE_EXAMPLE);
    expect(parseUserTraceFile(path).format).toBe('mtrace');
    expect(() => parseUserTraceFile(path, 'wee')).toThrow(/^line 1: expected 'Alloc\(SIZE\),'/);
  });

  it('an unknown format name is unknown-name', () => {
    let kind = '';
    try {
      parseUserTrace('', 'csv' as UserTraceFormat);
    } catch (e) {
      if (isAllocatorError(e)) kind = e.kind;
    }
    expect(kind).toBe('unknown-name');
    expect(USER_TRACE_FORMATS).toEqual(['rep', 'plain', 'wee', 'mtrace', 'jsonl']);
  });
});

describe('formatPlainTrace', () => {
  it('writes the plain format, one op per line', () => {
    expect(formatPlainTrace(parseUserTrace(JSONL_EXAMPLE))).toBe('a 3 24\nr 3 100\nc 4 3 8\nm 5 64 100\nf 3\n');
    expect(formatPlainTrace(parseUserTrace('', 'plain'))).toBe('');
  });

  it.each([
    ['rep', SHORT_REP],
    ['wee', WEE_EXAMPLE],
    ['mtrace', MTRACE_EXAMPLE],
    ['jsonl', JSONL_EXAMPLE],
  ])('round-trips a %s trace: same ops, op i on line i + 1', (_fmt, text) => {
    const t = parseUserTrace(text);
    const back = parseUserTrace(formatPlainTrace(t), 'plain');
    expect(ops(back).map(([op, id, size, arg]) => [op, id, size, arg])).toEqual(ops(t).map(([op, id, size, arg]) => [op, id, size, arg]));
    expect(Array.from(back.line)).toEqual(Array.from({ length: t.n }, (_, i) => i + 1));
    expect(formatPlainTrace(back)).toBe(formatPlainTrace(t));
  });
});
