/**
 * Files on the command line, under the contract of `./errors.js`: a file
 * that cannot be read, decompressed or parsed, and an output path that
 * cannot be written, are bad input (exit 2) with one line naming the file
 * — `trace.txt: no such file or directory`, `trace.txt:12: kfree: …` — and
 * output paths are checked before a run starts, not after it.
 */

import { accessSync, constants, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { AllocatorError } from '../interfaces/errors.js';
import { badInput, describeSystemError, warn } from './errors.js';

/** `--config c.json` or `c.json`: how a message names a file. */
const label = (path: string, option?: string): string => (option ? `${option} ${path}` : path);

const errnoOf = (e: unknown): string | undefined => (e as { code?: unknown }).code as string | undefined;
/** Why a file operation failed: the system error in words, or the error's message. */
const reason = (e: unknown): string => (errnoOf(e) ? describeSystemError(e as Error & { code: string }) : (e as Error).message);

/**
 * Reads a file the user named, gunzipping it when the name ends in `.gz`.
 *
 * @param path - as typed
 * @param option - the option that named it (`--config`), for messages; none for a positional argument
 * @returns its text (UTF-8)
 * @throws AllocatorError `usage` when it is missing, a directory, unreadable or not gzip
 */
export function readInputText(path: string, option?: string): string {
  let buf: Buffer;
  try {
    if (statSync(path).isDirectory()) throw badInput(`${label(path, option)}: is a directory, not a file`);
    buf = readFileSync(path);
  } catch (e) {
    if (e instanceof AllocatorError) throw e;
    throw badInput(`${label(path, option)}: ${reason(e)}`);
  }
  if (!path.endsWith('.gz')) return buf.toString('utf8');
  try {
    return gunzipSync(buf).toString('utf8');
  } catch (e) {
    throw badInput(`${label(path, option)}: not a valid gzip file (${(e as Error).message})`);
  }
}

/**
 * Checks, before a run, that `path` can be written: not a directory, in a
 * directory that exists and is writable, and writable itself when it exists.
 *
 * @param path - as typed
 * @param option - the option that names it (`--trace`, `--emit`, `--out`)
 * @throws AllocatorError `usage` saying why not
 */
export function checkOutputPath(path: string, option: string): void {
  const what = label(path, option);
  let st;
  try {
    st = statSync(path, { throwIfNoEntry: false });
  } catch (e) {
    // ENOTDIR: a file where a directory should be, which the check of the directory below names.
    if (errnoOf(e) !== 'ENOTDIR') throw badInput(`${what}: ${describeSystemError(e as Error & { code: string })}`);
  }
  if (st?.isDirectory()) throw badInput(`${what}: is a directory (give a file name)`);
  const dir = dirname(path);
  let dst;
  try {
    dst = statSync(dir, { throwIfNoEntry: false });
  } catch {
    dst = undefined; // ENOTDIR further up: it does not exist as a directory
  }
  if (!dst) throw badInput(`${what}: directory ${dir} does not exist`);
  if (!dst.isDirectory()) throw badInput(`${what}: ${dir} is not a directory`);
  try {
    accessSync(st ? path : dir, constants.W_OK);
  } catch (e) {
    throw badInput(`${what}: cannot write ${st ? 'the file' : `in directory ${dir}`} (${describeSystemError(e as Error & { code: string })})`);
  }
}

/**
 * Writes an output file the user named (checked before the run by
 * {@link checkOutputPath}; this still turns a late failure, a full disk,
 * into the same one line).
 *
 * @throws AllocatorError `usage`
 */
export function writeOutputFile(path: string, text: string, option: string): void {
  try {
    writeFileSync(path, text);
  } catch (e) {
    throw badInput(`${label(path, option)}: cannot write it (${reason(e)})`);
  }
}

/** Longest stretch of an offending line quoted in a message. */
const MAX_QUOTE = 160;

/**
 * Runs a parser over a file's text and puts the file in its errors: a
 * `parse` error about line N becomes `FILE:N: what` followed by the line
 * itself, quoted (unless the message already quotes it).
 *
 * @param path - the file, as the user named it
 * @param text - its text
 * @param parse - the parser
 * @throws AllocatorError `parse` as `FILE:LINE: …`
 */
export function parseFile<T>(path: string, text: string, parse: (text: string) => T): T {
  try {
    return parse(text);
  } catch (e) {
    if (!(e instanceof AllocatorError) || e.kind !== 'parse' || e.info.line === undefined) throw e;
    const n = e.info.line;
    const what = e.message.replace(new RegExp(`^line ${n}: `), '');
    const line = (lineAt(text, n) ?? '').trim();
    const quote = line === '' || what.includes(line) ? '' : ` in '${line.length > MAX_QUOTE ? `${line.slice(0, MAX_QUOTE - 1)}…` : line}'`;
    throw new AllocatorError('parse', `${path}:${n}: ${what}${quote}`, { line: n });
  }
}

/** Line `n` (1-based) of `text`, without its line end. */
function lineAt(text: string, n: number): string | undefined {
  let start = 0;
  for (let i = 1; i < n; i++) {
    const nl = text.indexOf('\n', start);
    if (nl < 0) return undefined;
    start = nl + 1;
  }
  const end = text.indexOf('\n', start);
  return text.slice(start, end < 0 ? undefined : end).replace(/\r$/, '');
}

/**
 * The rule for a trace with nothing to replay: bad input, unless
 * `--allow-empty`, which turns it into a warning.
 *
 * @param file - the trace, as named
 * @param count - events (or ops) found
 * @param what - `kmem events`, `ops`
 * @param allowEmpty - `--allow-empty` was given
 * @throws AllocatorError `usage` when `count` is 0 and empty traces are not allowed
 */
export function emptyTrace(file: string, count: number, what: string, allowEmpty: boolean): void {
  if (count > 0) return;
  if (!allowEmpty) throw badInput(`${file}: 0 ${what}: nothing to replay (--allow-empty replays it anyway)`);
  warn(`${file}: 0 ${what}`);
}
