/**
 * The real-glibc oracle: tools/oracle/glibc-replay.c, compiled with the
 * machine's gcc, replays a plain trace (`formatPlainTrace` of ./trace.ts) through
 * the machine's glibc, so the simulated ptmalloc can be checked address for
 * address and timed against the real one.
 *
 * How it works here: {@link glibcOracle} finds the C source next to the
 * package (from `src/harness/user/`, `dist/src/harness/user/` and
 * `dist-bench/src/harness/user/` alike, by walking up from this module's
 * `import.meta.url`), compiles it once with `gcc -O2` into
 * `<os.tmpdir()>/allocsim-oracle-<uid>/glibc-replay-<hash>` where the hash
 * covers the source and the flags (a changed source gets a new binary; a
 * binary already there is reused, also by other processes — it is built
 * under a unique name and renamed into place), and asks it for the glibc
 * version. {@link runOracle} writes the trace to a temporary file, runs the
 * binary on it and returns its lines:
 *
 * - `ID heap OFFSET` — block address minus the initial program break, signed decimal;
 * - `ID mmap -` — the chunk is mmapped (IS_MMAPPED);
 * - `ID null` — the call returned NULL;
 *
 * one per `a`, `r`, `c`, `m` op in trace order, none for `f` and for a
 * realloc to 0 (glibc frees). The simulator's replayer prints the same.
 *
 * The child runs with a clean malloc environment: `GLIBC_TUNABLES`,
 * `MALLOC_*` and `LD_PRELOAD` are removed, and with `tcache: false`
 * `GLIBC_TUNABLES=glibc.malloc.tcache_count=0` is set (the tcache struct
 * is still allocated then, so the first block is at offset 672 either way).
 *
 * Where the oracle cannot exist (not Linux, no gcc, no glibc headers, the
 * source not shipped) {@link glibcOracle} returns the reason instead of
 * throwing, for tests to skip with.
 *
 * Known limitations: package.json's `files` ships `dist` and `bin` only, so
 * an installed package has no tools/oracle/ and reports that as the reason;
 * the version printed is the glibc the binary runs against, which must be
 * 2.36 for an address-for-address comparison with the simulator.
 */

import { execFileSync, type ExecFileSyncOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { AllocatorError } from '../../interfaces/errors.js';

/** Path of the C source from the repository root. */
export const ORACLE_SOURCE = 'tools/oracle/glibc-replay.c';

/** Flags the oracle is compiled with (part of the cache key). */
export const ORACLE_CFLAGS: readonly string[] = ['-O2', '-std=gnu11', '-Wall'];

/** The glibc this simulator models, for callers that compare addresses. */
export const ORACLE_GLIBC_VERSION = '2.36';

/** How many directory levels {@link oracleSourcePath} climbs from this module. */
const MAX_CLIMB = 5;

/** Longest a replay may run, ms. */
const RUN_TIMEOUT_MS = 300_000;

/** The oracle binary and the glibc it runs against, or why there is none. */
export type GlibcOracle =
  | { readonly ok: true; readonly bin: string; readonly source: string; readonly glibcVersion: string }
  | { readonly ok: false; readonly reason: string };

/** Options of {@link runOracle} and {@link oracleTimeNs}. */
export interface OracleRunOpts {
  /** Whether glibc's tcache is on (off: `glibc.malloc.tcache_count=0`). */
  readonly tcache: boolean;
}

/**
 * A file of the repository (`rel` from its root, e.g. `tools/oracle/glibc-replay.c`),
 * found by walking up from this module, so it is found from `src/harness/user/`,
 * `dist/src/harness/user/` and `dist-bench/src/harness/user/` alike; undefined
 * when no ancestor holds it (an installed package ships no tools/).
 */
export function packageFilePath(rel: string): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i <= MAX_CLIMB; i++) {
    const candidate = join(dir, rel);
    if (existsSync(candidate)) return candidate;
    const up = resolve(dir, '..');
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}

/**
 * The C source, found by walking up from this module; undefined when no
 * ancestor holds {@link ORACLE_SOURCE}.
 */
export function oracleSourcePath(): string | undefined {
  return packageFilePath(ORACLE_SOURCE);
}

/** The directory compiled helpers are cached in: `<os.tmpdir()>/allocsim-oracle-<uid>`. */
export function helperCacheDir(): string {
  const uid = typeof process.getuid === 'function' ? String(process.getuid()) : 'user';
  return join(tmpdir(), `allocsim-oracle-${uid}`);
}

/** First line of a child's stderr, or of the error message. */
export function why(e: unknown): string {
  const err = e as { stderr?: Buffer | string; message?: string; code?: string };
  const stderr = err.stderr === undefined ? '' : err.stderr.toString().trim();
  return (stderr !== '' ? stderr : (err.message ?? String(e))).split('\n').slice(0, 3).join(' | ');
}

let cached: GlibcOracle | undefined;

/**
 * Compiles the oracle (once per source; later calls and later processes
 * reuse the binary) and checks that it runs.
 *
 * @returns `{ ok: true, bin, source, glibcVersion }`, or `{ ok: false, reason }`
 *   saying why there is no oracle on this machine (never throws)
 * @remarks The first call in a process costs a gcc run when the binary is
 *   not cached (about a second), later calls nothing.
 */
export function glibcOracle(): GlibcOracle {
  cached ??= buildOracle();
  return cached;
}

function buildOracle(): GlibcOracle {
  if (process.platform !== 'linux') return { ok: false, reason: `the glibc oracle needs Linux with glibc (this is ${process.platform})` };
  const source = oracleSourcePath();
  if (source === undefined) return { ok: false, reason: `the oracle source ${ORACLE_SOURCE} is not next to this package (it is not shipped in dist)` };
  const hash = createHash('sha256').update(readFileSync(source)).update('\0' + ORACLE_CFLAGS.join(' ')).digest('hex').slice(0, 16);
  const dir = helperCacheDir();
  const bin = join(dir, `glibc-replay-${hash}`);
  if (!existsSync(bin)) {
    const tmp = `${bin}.${process.pid}.tmp`;
    try {
      mkdirSync(dir, { recursive: true });
      execFileSync('gcc', [...ORACLE_CFLAGS, '-o', tmp, source], { stdio: 'pipe' });
      renameSync(tmp, bin);
    } catch (e) {
      rmSync(tmp, { force: true });
      if ((e as { code?: string }).code === 'ENOENT') return { ok: false, reason: 'gcc is not installed (or not on PATH): the glibc oracle cannot be built' };
      return { ok: false, reason: `gcc could not build the glibc oracle: ${why(e)}` };
    }
  }
  try {
    const glibcVersion = execFileSync(bin, ['--version'], { stdio: 'pipe', env: cleanEnv(true) }).toString().trim();
    return { ok: true, bin, source, glibcVersion };
  } catch (e) {
    return { ok: false, reason: `the glibc oracle ${bin} does not run: ${why(e)}` };
  }
}

/** The environment of a replay: no malloc tunables but ours. */
function cleanEnv(tcache: boolean): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'GLIBC_TUNABLES' || k === 'LD_PRELOAD' || k.startsWith('MALLOC_')) continue;
    env[k] = v;
  }
  if (!tcache) env.GLIBC_TUNABLES = 'glibc.malloc.tcache_count=0';
  return env;
}

let traceSeq = 0;

function run(traceText: string, opts: OracleRunOpts, args: readonly string[]): string {
  const o = glibcOracle();
  if (!o.ok) throw new AllocatorError('misuse', `glibc oracle unavailable: ${o.reason}`);
  const dir = helperCacheDir();
  const file = join(dir, `trace-${process.pid}-${traceSeq++}.txt`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, traceText);
  const execOpts: ExecFileSyncOptions = { env: cleanEnv(opts.tcache), stdio: 'pipe', maxBuffer: 1 << 30, timeout: RUN_TIMEOUT_MS };
  try {
    return execFileSync(o.bin, [...args, file], execOpts).toString();
  } catch (e) {
    const err = e as { signal?: string; status?: number };
    if (err.signal === 'SIGABRT') throw new AllocatorError('malloc-abort', `glibc aborted replaying the trace: ${why(e)}`);
    if (err.status === 2) throw new AllocatorError('parse', `the glibc oracle rejected the trace: ${why(e)}`);
    throw new AllocatorError('misuse', `the glibc oracle failed (${err.signal ?? `exit ${err.status}`}): ${why(e)}`);
  } finally {
    rmSync(file, { force: true });
  }
}

/**
 * Replays a plain trace through the real glibc.
 *
 * @param traceText - a plain trace (`formatPlainTrace`). It is replayed
 *   literally (`f ID` is `free(p[ID])`), so one that breaks the trace rules
 *   (a double free, say) does to glibc what the program would
 * @param opts - tcache on or off
 * @returns one line per a/r/c/m op (`ID heap OFFSET`, `ID mmap -`, `ID null`), without newlines
 * @throws AllocatorError `misuse` when {@link glibcOracle} is not ok (check it
 *   first), `parse` when the oracle rejects a line, `malloc-abort` when glibc
 *   aborts (its message, e.g. `free(): double free detected in tcache 2`, is
 *   in the error)
 */
export function runOracle(traceText: string, opts: OracleRunOpts): string[] {
  const out = run(traceText, opts, []);
  const lines = out.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/**
 * Times a replay through the real glibc: the oracle's replay loop alone
 * (parsing and output excluded), by CLOCK_MONOTONIC.
 *
 * @returns elapsed nanoseconds
 * @throws AllocatorError as {@link runOracle}
 */
export function oracleTimeNs(traceText: string, opts: OracleRunOpts): number {
  const out = run(traceText, opts, ['--time']).trim();
  const ns = Number(out);
  if (!Number.isFinite(ns)) throw new AllocatorError('misuse', `the glibc oracle printed '${out}' instead of a time in ns`);
  return ns;
}
