/** Captures what a CLI command run in-process writes, for the tests that call `main(argv)`. */
import { afterEach, beforeEach, jest } from '@jest/globals';

/** What the command under test wrote to stdout and stderr; a test may clear either between two commands. */
export interface Captured {
  out: string;
  err: string;
}

/**
 * Before each test both captures are cleared and every write to stdout and
 * stderr is appended to them instead of going to the terminal. After each:
 * the streams are restored and `process.exitCode` cleared (a command sets it
 * on a finding).
 */
export function captureStdio(): Captured {
  const io: Captured = { out: '', err: '' };
  beforeEach(() => {
    io.out = '';
    io.err = '';
    jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((io.out += String(s)), true));
    jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((io.err += String(s)), true));
  });
  afterEach(() => {
    jest.restoreAllMocks();
    process.exitCode = undefined;
  });
  return io;
}
