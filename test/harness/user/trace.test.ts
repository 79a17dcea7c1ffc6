import { describe, expect, it } from '@jest/globals';
import { OP, detectUserTraceFormat, formatPlainTrace, parseUserTrace } from '../../../src/harness/user/trace.js';
import { generateUserTraceText } from '../../../src/harness/user/trace-gen.js';

describe('user trace formats', () => {
  it('parses a malloc-lab rep trace with its header', () => {
    const t = parseUserTrace('20000\n2\n5\n1\na 0 512\na 1 128\nr 0 640\nf 1\nf 0\n');
    expect(t.format).toBe('rep');
    expect(Array.from(t.op)).toEqual([OP.MALLOC, OP.MALLOC, OP.REALLOC, OP.FREE, OP.FREE]);
    expect(Array.from(t.line)).toEqual([5, 6, 7, 8, 9]);
    expect(t.nIds).toBe(2);
  });

  it('parses wee_alloc, mtrace and jsonl', () => {
    const wee = parseUserTrace('Alloc(72),\nAlloc(4096),\nFree(0),\nAlloc(16),\nFree(2),\nFree(1),\n');
    expect(wee.format).toBe('wee');
    expect(Array.from(wee.id)).toEqual([0, 1, 0, 2, 2, 1]);
    const mt = parseUserTrace(
      '= Start\n@ ./demo:[0x401196] + 0x4052a0 0x30\n@ ./demo:[0x4011b2] + 0x4052e0 0x100\n@ ./demo:[0x4011d0] < 0x4052a0\n@ ./demo:[0x4011d0] > 0x4053f0 0x60\n@ ./demo:[0x4011e9] - 0x4052e0\n= End\n',
    );
    expect(mt.format).toBe('mtrace');
    expect(Array.from(mt.op)).toEqual([OP.MALLOC, OP.MALLOC, OP.REALLOC, OP.FREE]);
    expect(Array.from(mt.size)).toEqual([0x30, 0x100, 0x60, 0]);
    const js = parseUserTrace('{"op":"calloc","id":4,"nmemb":3,"size":8}\n{"op":"memalign","id":5,"align":64,"size":100}\n{"op":"free","id":4}\n');
    expect(Array.from(js.op)).toEqual([OP.CALLOC, OP.MEMALIGN, OP.FREE]);
    expect(js.arg[1]).toBe(64);
  });

  it('names the line of a malformed op, and of a double free unless lenient', () => {
    expect(() => parseUserTrace('a 0 24\nq 1\n', 'plain')).toThrow(/line 2: expected an op/);
    expect(() => parseUserTrace('a 0 24\na 1 x\n', 'plain')).toThrow(/line 2: expected 'a ID SIZE'|line 2: expected a size/);
    expect(() => parseUserTrace('a 0 24\nf 0\nf 0\n', 'plain')).toThrow(/line 3: id 0 freed after it was freed/);
    expect(() => parseUserTrace('f 7\n', 'plain')).toThrow(/line 1: id 7 freed but never allocated/);
    const t = parseUserTrace('a 0 24\nf 0\nf 0\nf 9\n', 'plain', { lenient: true });
    expect(t.n).toBe(2);
    expect(t.skipped).toEqual({ 'freed-twice': 1, 'never-allocated': 1 });
    expect(() => parseUserTrace('100\n2\n', 'rep')).toThrow(/rep header needs 4 numbers/);
  });

  it('detects formats and round-trips the plain format', () => {
    expect(detectUserTraceFormat('{"op":"free","id":1}')).toBe('jsonl');
    expect(detectUserTraceFormat('a 0 1\n')).toBe('plain');
    const text = generateUserTraceText({ seed: 5, ops: 500 });
    expect(formatPlainTrace(parseUserTrace(text, 'plain'))).toBe(text);
    expect(generateUserTraceText({ seed: 5, ops: 500 })).toBe(text);
    expect(generateUserTraceText({ seed: 6, ops: 500 })).not.toBe(text);
  });
});
