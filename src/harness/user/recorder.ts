/**
 * The malloc recorder: tools/record-malloc/record-malloc.c, an LD_PRELOAD
 * library compiled with the machine's gcc, records a real program's
 * malloc, calloc, realloc, free and aligned allocations as a plain trace
 * (./trace.ts), the input of `allocsim replay FILE.ops`.
 *
 * How it works here: {@link mallocRecorder} finds the C source next to the
 * package as the glibc oracle does ({@link packageFilePath}), compiles it
 * once into a shared object in the oracle's cache directory under a name
 * that hashes the source and the flags (built under a unique name and
 * renamed into place, so concurrent test workers share it), and
 * {@link recordMalloc} runs a program with it preloaded and returns the
 * trace text. The shell route, for people rather than tests, is
 * tools/record-malloc/record.sh (same library, same environment
 * variables; its README documents the trace it writes).
 *
 * Where the recorder cannot exist (not Linux, no gcc, the source not
 * shipped) {@link mallocRecorder} returns the reason instead of throwing,
 * for tests to skip with.
 *
 * Known limitations: only the first process records (a program that a
 * wrapper execs, `env` or a shell script, is not it; record.sh's
 * `--children` writes one file per process); the order of a
 * multi-threaded program's calls is the order they took the recorder's
 * lock.
 */

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { AllocatorError } from '../../interfaces/errors.js';
import { helperCacheDir, packageFilePath, why } from './oracle.js';

/** Path of the C source from the repository root. */
export const RECORDER_SOURCE = 'tools/record-malloc/record-malloc.c';

/** Flags the library is compiled with (part of the cache key); the libraries follow the source. */
export const RECORDER_CFLAGS: readonly string[] = ['-O2', '-std=gnu11', '-Wall', '-Wextra', '-shared', '-fPIC'];

/** Longest a recorded program may run, ms. */
const RUN_TIMEOUT_MS = 120_000;

/** The compiled recorder, or why there is none. */
export type MallocRecorder = { readonly ok: true; readonly lib: string; readonly source: string } | { readonly ok: false; readonly reason: string };

/** Options of {@link recordMalloc}. */
export interface RecordMallocOpts {
  /** Working directory of the program. @defaultValue the current one */
  readonly cwd?: string;
  /** Extra environment variables (added to this process's, minus any LD_PRELOAD and RECORD_MALLOC_*). */
  readonly env?: Readonly<Record<string, string>>;
  /** Stop recording after this many ops (`RECORD_MALLOC_MAX`). @defaultValue no limit */
  readonly max?: number;
  /** Bytes fed to the program's stdin. @defaultValue none */
  readonly input?: string;
}

/** What {@link recordMalloc} got. */
export interface RecordMallocResult {
  /** The trace: plain format with `#` header and trailer comments. */
  readonly text: string;
  /** The program's exit status (null when a signal ended it). */
  readonly status: number | null;
  /** What the program printed. */
  readonly stdout: string;
}

let cached: MallocRecorder | undefined;
let runSeq = 0;

/**
 * Compiles the recorder (once per source; later calls and processes reuse
 * the shared object).
 *
 * @returns `{ ok: true, lib, source }`, or `{ ok: false, reason }` (never throws)
 * @remarks The first call costs a gcc run when the library is not cached (about a second).
 */
export function mallocRecorder(): MallocRecorder {
  cached ??= build();
  return cached;
}

function build(): MallocRecorder {
  if (process.platform !== 'linux') return { ok: false, reason: `the malloc recorder needs Linux (this is ${process.platform})` };
  const source = packageFilePath(RECORDER_SOURCE);
  if (source === undefined) return { ok: false, reason: `the recorder source ${RECORDER_SOURCE} is not next to this package (it is not shipped in dist)` };
  const hash = createHash('sha256').update(readFileSync(source)).update('\0' + RECORDER_CFLAGS.join(' ')).digest('hex').slice(0, 16);
  const dir = helperCacheDir();
  const lib = join(dir, `record-malloc-${hash}.so`);
  if (!existsSync(lib)) {
    const tmp = `${lib}.${process.pid}.tmp`;
    try {
      mkdirSync(dir, { recursive: true });
      execFileSync('gcc', [...RECORDER_CFLAGS, '-o', tmp, source, '-ldl', '-lpthread'], { stdio: 'pipe' });
      renameSync(tmp, lib);
    } catch (e) {
      rmSync(tmp, { force: true });
      if ((e as { code?: string }).code === 'ENOENT') return { ok: false, reason: 'gcc is not installed (or not on PATH): the malloc recorder cannot be built' };
      return { ok: false, reason: `gcc could not build the malloc recorder: ${why(e)}` };
    }
  }
  return { ok: true, lib, source };
}

/**
 * Runs `argv` with the recorder preloaded and returns its trace.
 *
 * @param argv - the program (looked up on PATH) and its arguments
 * @param opts - {@link RecordMallocOpts}
 * @returns the trace text, the exit status and stdout
 * @throws AllocatorError `misuse` when {@link mallocRecorder} is not ok (check
 *   it first), when the program cannot be started, or when it wrote no trace
 */
export function recordMalloc(argv: readonly string[], opts: RecordMallocOpts = {}): RecordMallocResult {
  const r = mallocRecorder();
  if (!r.ok) throw new AllocatorError('misuse', `malloc recorder unavailable: ${r.reason}`);
  if (argv.length === 0) throw new AllocatorError('misuse', 'recordMalloc: no program given');
  const dir = helperCacheDir();
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `recorded-${process.pid}-${runSeq++}.ops`);
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (k !== 'LD_PRELOAD' && !k.startsWith('RECORD_MALLOC_')) env[k] = v;
  Object.assign(env, opts.env, { LD_PRELOAD: r.lib, RECORD_MALLOC_OUT: out, RECORD_MALLOC_MAX: String(opts.max ?? 0) });
  const res = spawnSync(argv[0]!, argv.slice(1), { cwd: opts.cwd, env, input: opts.input ?? '', timeout: RUN_TIMEOUT_MS, maxBuffer: 1 << 28 });
  try {
    if (res.error) throw new AllocatorError('misuse', `recordMalloc: cannot run ${argv[0]}: ${res.error.message}`);
    if (!existsSync(out)) throw new AllocatorError('misuse', `recordMalloc: ${argv[0]} wrote no trace (a wrapper that execs the real program? see tools/record-malloc/README.md)`);
    return { text: readFileSync(out, 'utf8'), status: res.status, stdout: res.stdout.toString() };
  } finally {
    rmSync(out, { force: true });
  }
}
