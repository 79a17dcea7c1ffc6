/** Captures what a CLI command run in-process writes, for the tests that call `main(argv)`. */
import { afterEach, beforeEach, jest } from '@jest/globals';

/**
 * Before each test: `reset()`, then every write to stdout and stderr goes to
 * `onOut` / `onErr` instead of the terminal. After each: the streams are
 * restored and `process.exitCode` cleared (a command sets it on a finding).
 */
export function captureStdio(onOut: (s: string) => void, onErr: (s: string) => void, reset: () => void): void {
  beforeEach(() => {
    reset();
    jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (onOut(String(s)), true));
    jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (onErr(String(s)), true));
  });
  afterEach(() => {
    jest.restoreAllMocks();
    process.exitCode = undefined;
  });
}
