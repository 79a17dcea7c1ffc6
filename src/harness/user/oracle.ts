/**
 * The real-glibc oracle: compiles tools/oracle/glibc-replay.c with the
 * machine's gcc (once, cached under the OS temp dir by a hash of the source)
 * and runs a plain trace through the machine's glibc, returning its
 * `--addresses` lines or its replay time. Where gcc is missing the functions
 * return a reason to skip instead of throwing.
 */

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The oracle binary, or why there is none. */
export type Oracle = { readonly ok: true; readonly bin: string } | { readonly ok: false; readonly reason: string };

function sourcePath(): string {
  // Walk up from this module (src/, dist/ or dist-bench/src/) to the repo root holding tools/.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'tools/oracle/glibc-replay.c');
    if (existsSync(candidate)) return candidate;
    dir = resolve(dir, '..');
  }
  return 'tools/oracle/glibc-replay.c';
}

let cached: Oracle | undefined;

/** Compiles (or finds) the oracle. */
export function glibcOracle(): Oracle {
  if (cached) return cached;
  const src = sourcePath();
  if (!existsSync(src)) return (cached = { ok: false, reason: `oracle source missing at ${src}` });
  const text = readFileSync(src);
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'allocsim-oracle');
  const bin = join(dir, `glibc-replay-${hash}`);
  if (!existsSync(bin)) {
    try {
      mkdirSync(dir, { recursive: true });
      execFileSync('gcc', ['-O2', '-o', bin + '.tmp', src], { stdio: 'pipe' });
      execFileSync('mv', [bin + '.tmp', bin]);
    } catch (e) {
      return (cached = { ok: false, reason: `gcc could not build the glibc oracle (${(e as Error).message.split('\n')[0]})` });
    }
  }
  return (cached = { ok: true, bin });
}

function run(traceText: string, tcache: boolean, extra: string[]): string {
  const o = glibcOracle();
  if (!o.ok) throw new Error(o.reason);
  const dir = join(tmpdir(), 'allocsim-oracle');
  const file = join(dir, `trace-${process.pid}-${createHash('sha1').update(traceText).digest('hex').slice(0, 12)}.txt`);
  writeFileSync(file, traceText);
  const env = { ...process.env };
  if (!tcache) env.GLIBC_TUNABLES = 'glibc.malloc.tcache_count=0';
  else delete env.GLIBC_TUNABLES;
  return execFileSync(o.bin, [file, ...extra], { env, maxBuffer: 1 << 28 }).toString();
}

/** The real glibc's `ID heap OFFSET` / `ID mmap -` lines for a plain trace. */
export function runOracle(traceText: string, opts: { tcache: boolean }): string[] {
  return run(traceText, opts.tcache, []).split('\n').filter((l) => l !== '');
}

/** Nanoseconds the real glibc takes to replay the trace. */
export function oracleTimeNs(traceText: string, opts: { tcache: boolean }): number {
  return Number(run(traceText, opts.tcache, ['--time']).trim());
}
