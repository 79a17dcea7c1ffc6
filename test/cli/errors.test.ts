/** The exit-status contract of src/cli/errors.ts, and the formatting helpers every report uses. */
import { afterEach, describe, expect, it } from '@jest/globals';
import { CommanderError } from 'commander';
import { AllocatorError } from '../../src/interfaces/errors.js';
import { EXIT, badInput, reportError } from '../../src/cli/errors.js';
import { parseFile } from '../../src/cli/files.js';
import { formatCount, formatDecimal, formatTable } from '../../src/cli/format.js';
import { captureStdio } from '../support/stdio.js';

const io = captureStdio();
afterEach(() => {
  delete process.env.ALLOCSIM_DEBUG;
});

describe('reportError', () => {
  it('maps every kind of ending to its exit status and one line', () => {
    expect(reportError(new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)'))).toBe(EXIT.OK);
    expect(reportError(new CommanderError(0, 'commander.version', '0.1.0'))).toBe(EXIT.OK);
    expect(io.err).toBe('');
    expect(reportError(badInput('--ops expects a non-negative integer, got \'x\''))).toBe(EXIT.BAD_INPUT);
    for (const kind of ['parse', 'config', 'unknown-name'] as const) expect(reportError(new AllocatorError(kind, 'x'))).toBe(EXIT.BAD_INPUT);
    expect(reportError(new AllocatorError('double-free', 'slub.kfree: 0xffff888000001000: Object already free'))).toBe(EXIT.FINDING);
    const enoent = Object.assign(new Error("ENOENT: no such file or directory, open 'x.txt'"), { code: 'ENOENT', path: 'x.txt' });
    expect(reportError(enoent)).toBe(EXIT.BAD_INPUT);
    expect(reportError(new TypeError('boom'))).toBe(EXIT.INTERNAL);
    expect(io.err.split('\n')).toEqual([
      "allocsim: --ops expects a non-negative integer, got 'x'",
      'allocsim: x',
      'allocsim: x',
      'allocsim: x',
      'allocsim: slub.kfree: 0xffff888000001000: Object already free',
      'allocsim: x.txt: no such file or directory',
      'allocsim: internal error: boom — please report it with the command line that caused it (ALLOCSIM_DEBUG=1 prints the stack)',
      '',
    ]);
  });

  it('puts a multi-line message on one line, and the stack only with ALLOCSIM_DEBUG=1', () => {
    reportError(new AllocatorError('parse', 'first\n  second'));
    expect(io.err).toBe('allocsim: first second\n');
    io.err = '';
    process.env.ALLOCSIM_DEBUG = '1';
    expect(reportError(new RangeError('deep'))).toBe(EXIT.INTERNAL);
    expect(io.err.split('\n')[1]).toMatch(/^RangeError: deep$/);
  });
});

describe('parseFile', () => {
  const parse = (_text: string): never => {
    throw new AllocatorError('parse', `line 2: bad thing, found 'y'`, { line: 2 });
  };

  it('names the file and the line, and quotes the line unless the message does', () => {
    expect(() => parseFile('t.txt', 'a\n  b c  \n', parse)).toThrow(/^t\.txt:2: bad thing, found 'y' in 'b c'$/);
    expect(() => parseFile('t.txt', 'a\ny\n', parse)).toThrow(/^t\.txt:2: bad thing, found 'y'$/);
    expect(() => parseFile('t.txt', `a\n${'z'.repeat(300)}\n`, parse)).toThrow(/ in 'z{159}…'$/);
  });
});

describe('formatting', () => {
  it('puts thousands separators in every count, whatever the locale', () => {
    expect([0, 999, 1000, 1234567, -1234.6, 12.5].map(formatCount)).toEqual(['0', '999', '1,000', '1,234,567', '-1,235', '13']);
    expect(formatDecimal(12345.67, 1)).toBe('12,345.7');
    expect(formatDecimal(-0.01, 1)).toBe('0.0');
  });

  it('aligns tables: labels left, cells right', () => {
    expect(formatTable(['a', 'bb'], [['rows', ['1', '22']], ['x', ['333', '4']]], 'title')).toBe('title\n        a  bb\nrows    1  22\nx     333   4\n');
  });
});
