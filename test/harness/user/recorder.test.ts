/**
 * The malloc recorder (tools/record-malloc/record-malloc.c through
 * src/harness/user/recorder.ts): it builds, records a small C program's
 * calls exactly (ids per live pointer, the LIFO reuse of dead ids, every
 * call it interposes, nothing for free(NULL) or a failed call), cuts at
 * RECORD_MALLOC_MAX, keeps a forked child out of the parent's trace, and
 * writes a trace that parses strictly from a multi-threaded program. The
 * real-program traces of data/traces/programs/ (written by
 * tools/record-malloc/programs.sh, provenance in data/README.md) parse
 * strictly and replay through ptmalloc with a healthy system after, and,
 * where the glibc oracle runs glibc 2.36, with every block at the offset
 * the real glibc gives it.
 *
 * Skipped with the reason where gcc or Linux is missing, as the glibc
 * oracle's test is.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from '@jest/globals';

import { glibcOracle, helperCacheDir, ORACLE_GLIBC_VERSION, runOracle } from '../../../src/harness/user/oracle.js';
import { mallocRecorder, recordMalloc, RECORDER_SOURCE } from '../../../src/harness/user/recorder.js';
import { replayUserTrace } from '../../../src/harness/user/replayer.js';
import { formatPlainTrace, OP, parseUserTrace, parseUserTraceFile } from '../../../src/harness/user/trace.js';
import { createSystem } from '../../../src/system.js';

const recorder = mallocRecorder();
/** Where the test programs are built (removed at the end). */
const BUILD_DIR = join(helperCacheDir(), `recorder-test-${process.pid}`);
afterAll(() => rmSync(BUILD_DIR, { recursive: true, force: true }));

/** Programs compiled by this file run, by name and source (the same program serves several tests). */
const compiled = new Map<string, string>();

/** Compiles a C program into the helper cache, once per file run, and returns its path. */
function compile(name: string, source: string, libs: string[] = []): string {
  const known = compiled.get(`${name}\0${source}`);
  if (known !== undefined) return known;
  const dir = BUILD_DIR;
  mkdirSync(dir, { recursive: true });
  const src = join(dir, `${name}.c`);
  const bin = join(dir, name);
  writeFileSync(src, source);
  execFileSync('gcc', ['-O0', '-std=gnu11', '-o', bin, src, ...libs], { stdio: 'pipe' });
  compiled.set(`${name}\0${source}`, bin);
  return bin;
}

/** The op lines of a trace, comments dropped. */
const ops = (text: string): string[] => text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));

/** Every call the recorder interposes, each once; `volatile` keeps gcc from folding any of them away. */
const CALLS = `#include <malloc.h>
#include <stdlib.h>
int main(void) {
  void *volatile a = malloc(24);
  void *volatile b = calloc(3, 16);
  a = realloc(a, 100);
  void *volatile c = memalign(64, 40);
  void *d;
  if (posix_memalign(&d, 32, 8)) return 1;
  void *volatile e = aligned_alloc(16, 48);
  free(b);
  void *volatile none = NULL;
  free(none);
  b = realloc(NULL, 7);
  free(a);
  b = realloc(b, 0);
  void *volatile f = malloc((size_t)1 << 62);
  free(c);
  free(d);
  free(e);
  void *volatile g = valloc(10);
  void *volatile h = reallocarray(NULL, 5, 6);
  free(g);
  free(h);
  return f != NULL;
}
`;

describe('the malloc recorder', () => {
  it(`finds its C source (${RECORDER_SOURCE})`, () => {
    expect(recorder.ok ? recorder.source : RECORDER_SOURCE).toMatch(/tools\/record-malloc\/record-malloc\.c$/);
  });

  if (!recorder.ok) {
    it.skip(`(no malloc recorder: ${recorder.reason})`, () => undefined);
    return;
  }

  it('records every interposed call exactly, with ids per live pointer reused LIFO', () => {
    const r = recordMalloc([compile('calls', CALLS)]);
    expect(r.status).toBe(0);
    expect(ops(r.text)).toEqual([
      'a 0 24',
      'c 1 3 16',
      'r 0 100',
      'm 2 64 40',
      'm 3 32 8',
      'm 4 16 48',
      'f 1',
      'a 1 7', // realloc(NULL, 7): the most recently freed id
      'f 0',
      'r 1 0', // realloc(p, 0): glibc freed it
      // malloc(2^62) returned NULL: no line
      'f 2',
      'f 3',
      'f 4',
      'm 4 4096 10', // valloc
      'a 3 30', // reallocarray(NULL, 5, 6) is realloc(NULL, 30)
      'f 4',
      'f 3',
    ]);
    expect(r.text).toMatch(/^# record-malloc: allocsim plain trace \(a\/f\/r\/c\/m\), pid \d+, comm calls\n/);
    expect(r.text).toContain('# calls returned-null 1\n');
    expect(r.text).toContain('# calls free-null 1\n');
    const t = parseUserTrace(r.text, 'plain');
    expect([t.n, t.nIds]).toEqual([17, 5]);
  });

  it('stops at RECORD_MALLOC_MAX, leaving a valid prefix (later calls pass through, counted)', () => {
    const r = recordMalloc([compile('calls', CALLS)], { max: 4 });
    expect(ops(r.text)).toEqual(['a 0 24', 'c 1 3 16', 'r 0 100', 'm 2 64 40']);
    expect(r.text).toContain('# calls after-max 15\n');
    expect(parseUserTrace(r.text, 'plain').n).toBe(4);
  });

  it('keeps a forked child out of the trace (only the parent records)', () => {
    const bin = compile(
      'forks',
      `#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
  void *volatile a = malloc(10);
  pid_t pid = fork();
  if (pid == 0) { void *volatile x = malloc(20); free(x); _exit(0); }
  waitpid(pid, NULL, 0);
  free(a);
  return 0;
}
`,
    );
    expect(ops(recordMalloc([bin]).text)).toEqual(['a 0 10', 'f 0']);
  });

  it('serializes a multi-threaded program into a trace that parses strictly', () => {
    const bin = compile(
      'threads',
      `#include <pthread.h>
#include <stdlib.h>
static void *work(void *arg) {
  void *p[16] = {0};
  for (int i = 0; i < 4000; i++) {
    int k = (i * 7 + (int)(size_t)arg) % 16;
    free(p[k]);
    p[k] = malloc((size_t)(i % 300) + 1);
  }
  for (int k = 0; k < 16; k++) free(p[k]);
  return NULL;
}
int main(void) {
  pthread_t t[4];
  for (long i = 0; i < 4; i++) pthread_create(&t[i], NULL, work, (void *)i);
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  return 0;
}
`,
      ['-lpthread'],
    );
    const t = parseUserTrace(recordMalloc([bin]).text, 'plain');
    let mallocs = 0;
    let frees = 0;
    for (let i = 0; i < t.n; i++) {
      if (t.op[i] === OP.FREE) frees++;
      else if (t.op[i] === OP.MALLOC && t.size[i]! <= 300) mallocs++;
    }
    // Each thread: 4000 mallocs and as many frees; pthread's own blocks come on top.
    expect(mallocs).toBeGreaterThanOrEqual(4 * 4000);
    expect(frees).toBeGreaterThanOrEqual(4 * 4000);
  });
});

describe('data/traces/programs: real programs recorded with it', () => {
  const dir = fileURLToPath(new URL('../../../data/traces/programs/', import.meta.url));
  const oracle = glibcOracle();
  const oracleMissing = !oracle.ok ? oracle.reason : oracle.glibcVersion !== ORACLE_GLIBC_VERSION ? `glibc ${oracle.glibcVersion} here` : undefined;
  it.each(['gcc-cc1-wordcount.ops.gz', 'python3-dict-repr.ops.gz', 'sed-regex.ops.gz'])(
    `%s parses strictly and replays through ptmalloc${oracleMissing === undefined ? ', every block where glibc 2.36 puts it' : ` (address check skipped: ${oracleMissing})`}`,
    (name) => {
      const t = parseUserTraceFile(join(dir, name));
      expect(t.format).toBe('plain');
      expect(t.n).toBeGreaterThan(20_000);
      expect(t.n).toBeLessThan(60_000);
      const sys = createSystem({ machine: { memBytes: 64 << 20, cpus: 1 } });
      const r = replayUserTrace(sys, t, { addresses: true });
      expect(r.nulls).toBe(0);
      expect(sys.checkInvariants()).toEqual([]);
      if (oracleMissing === undefined) expect(r.addresses).toEqual(runOracle(formatPlainTrace(t), { tcache: true }));
    },
  );
});
