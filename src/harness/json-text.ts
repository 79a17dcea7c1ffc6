/**
 * JSON read from a user's file, with a parse error that says where in the
 * file's own words (line and column) instead of V8's message, which
 * changes between Node versions.
 */

import { AllocatorError } from '../interfaces/errors.js';

/**
 * Where `JSON.parse` stopped (0-based offset in its text), read from V8's
 * message; undefined when the text ended early (V8 then names no position).
 */
export function jsonErrorPosition(e: unknown): number | undefined {
  const at = /at position (\d+)/.exec(e instanceof Error ? e.message : '');
  return at ? Number(at[1]) : undefined;
}

/**
 * Parses JSON text from a file.
 *
 * @param text - the file's text
 * @param what - how the message names the file (`--config c.json`, `r.json`)
 * @throws AllocatorError `parse`: `WHAT: not valid JSON at line L, column C` (or `(it ends early)`)
 */
export function parseJsonText(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    const pos = jsonErrorPosition(e);
    const line = pos === undefined ? 0 : text.slice(0, pos).split('\n').length;
    const column = pos === undefined ? 0 : pos - text.lastIndexOf('\n', pos - 1);
    throw new AllocatorError('parse', `${what}: not valid JSON ${pos === undefined ? '(it ends early)' : `at line ${line}, column ${column}`}`);
  }
}
