/**
 * The comparison in README.md: replays the recorded real-program traces of
 * data/traces/programs/ and two synthetic mixes through the simulated
 * ptmalloc (glibc 2.36) and the mimalloc-style plug-in, and prints one
 * Markdown table (or `--json`).
 *
 *   npm run example:mimalloc            (compiles with tsconfig.examples.json, then runs this)
 *   npm run example:mimalloc -- --json
 *
 * Per trace and allocator: peak live payload, peak heap (brk heap + mmapped
 * chunks for ptmalloc; 4 MiB segments + huge segments for mimalloc — address
 * space obtained, not memory touched), utilization = live / heap; the RSS
 * high-water mark, live / RSS and page faults of a replay that writes every
 * page of every block it gets (`touch`: the program uses its memory), and
 * the RSS high-water mark of a plain replay (only the allocator's own
 * writes); the system calls the allocator made (counted by a ProcessMemory
 * wrapper handed to its constructor), VmSize at the end, and simulated
 * operations per second (plain replays, median of 5 after one warm-up,
 * debug checks off). Every number but the last is deterministic.
 */

import type { ProcessMemory, UserMalloc, UserMallocOptions } from 'allocsim';
import type { Newable } from 'inversify';
import { Ptmalloc, createSystem, generateUserTrace, parseUserTraceFile, replayUserTrace, type UserTrace } from 'allocsim';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import MimallocStyle from './mimalloc.js';

/** System calls an allocator made. */
interface Syscalls {
  brk: number;
  mmap: number;
  munmap: number;
  madvise: number;
  mremap: number;
}

const zero = (): Syscalls => ({ brk: 0, mmap: 0, munmap: 0, madvise: 0, mremap: 0 });
/** The counts of the allocator built last (one replay at a time). */
let counts = zero();

/** `mem` with its system calls counted into {@link counts}; loads and stores go straight through. */
function counting(mem: ProcessMemory): ProcessMemory {
  const c = counts;
  return {
    pid: mem.pid,
    comm: mem.comm,
    brk: (a) => (a !== 0 && c.brk++, mem.brk(a)),
    mmap: (a, l, p, f) => (c.mmap++, mem.mmap(a, l, p, f)),
    munmap: (a, l) => (c.munmap++, mem.munmap(a, l)),
    mremap: (a, o, n, f, na) => (c.mremap++, mem.mremap(a, o, n, f, na)),
    mprotect: (a, l, p) => mem.mprotect(a, l, p),
    madvise: (a, l, adv) => (c.madvise++, mem.madvise(a, l, adv)),
    read8: mem.read8.bind(mem),
    write8: mem.write8.bind(mem),
    read32: mem.read32.bind(mem),
    write32: mem.write32.bind(mem),
    read64: mem.read64.bind(mem),
    write64: mem.write64.bind(mem),
    fill: mem.fill.bind(mem),
    copy: mem.copy.bind(mem),
    vmas: mem.vmas.bind(mem),
    stats: mem.stats.bind(mem),
    exit: mem.exit.bind(mem),
    checkInvariants: mem.checkInvariants.bind(mem),
  };
}

class CountedPtmalloc extends Ptmalloc {
  constructor(mem: ProcessMemory, options: UserMallocOptions) {
    counts = zero();
    super(counting(mem), options);
  }
}

class CountedMimalloc extends MimallocStyle {
  constructor(mem: ProcessMemory, options: UserMallocOptions) {
    counts = zero();
    super(counting(mem), options);
  }
}

/** MIMALLOC_PURGE_DELAY=0: freed pages and arena blocks are purged at once. */
class CountedMimallocPurgeNow extends CountedMimalloc {
  protected override purgeDelay = 0;
  protected override arenaPurgeDelay = 0;
}

const ALLOCATORS: readonly (readonly [string, Newable<UserMalloc>])[] = [
  ['ptmalloc', CountedPtmalloc],
  ['mimalloc-style', CountedMimalloc],
  ['mimalloc-style, purge_delay 0', CountedMimallocPurgeNow],
];

/** A recorded trace of data/traces/programs/ (found from the source and from the compiled script alike). */
function program(name: string): UserTrace {
  // The repository's data/, from dist-examples/examples/mimalloc-style/ or examples/mimalloc-style/.
  const path = [3, 2].map((up) => fileURLToPath(new URL(`${'../'.repeat(up)}data/traces/programs/${name}.ops.gz`, import.meta.url))).find((p) => existsSync(p)) ?? `data/traces/programs/${name}.ops.gz`;
  return parseUserTraceFile(path);
}

const TRACES: readonly (readonly [string, () => UserTrace])[] = [
  ['gcc-cc1-wordcount', () => program('gcc-cc1-wordcount')],
  ['python3-dict-repr', () => program('python3-dict-repr')],
  ['sed-regex', () => program('sed-regex')],
  ['synthetic mixed (seed 1, 50k ops)', () => generateUserTrace({ seed: 1, ops: 50_000, mix: 'mixed' })],
  ['synthetic small (seed 42, 50k ops)', () => generateUserTrace({ seed: 42, ops: 50_000, mix: 'small' })],
];

const MACHINE = { machine: { memBytes: 1 << 30, cpus: 1 } };
const TIMED_RUNS = 5;

/** One row of the table. */
interface Row {
  readonly trace: string;
  readonly malloc: string;
  readonly ops: number;
  readonly peakLiveBytes: number;
  readonly peakHeapBytes: number;
  readonly utilization: number;
  readonly rssHwmKiB: number;
  readonly liveOverRss: number;
  readonly faults: number;
  readonly allocatorRssHwmKiB: number;
  readonly syscalls: Syscalls;
  readonly vmSizeKiB: number;
  readonly opsPerSec: number;
}

function measure(trace: string, t: UserTrace, name: string, cls: Newable<UserMalloc>): Row {
  const sys = createSystem({ ...MACHINE, debug: { checks: false, trace: false } }, { malloc: cls });
  const r = replayUserTrace(sys, t, { touch: true });
  const calls = counts;
  const violations = sys.checkInvariants();
  if (violations.length) throw new Error(`${name} on ${trace}: ${violations[0]!.code} ${violations[0]!.message}`);
  const proc = sys.processes.list().at(-1)!;
  // Run 0, untimed (it warms the JIT), is also the replay without touching: the allocator's own RSS.
  let plainRssHwmPages = 0;
  const times: number[] = [];
  for (let i = 0; i <= TIMED_RUNS; i++) {
    const s = createSystem({ ...MACHINE, debug: { checks: false, trace: false } }, { malloc: cls });
    const run = replayUserTrace(s, t);
    s.machine.mem.release();
    if (i > 0) times.push(run.elapsedMs);
    else plainRssHwmPages = run.rssHwmPages;
  }
  times.sort((a, b) => a - b);
  return {
    trace,
    malloc: name,
    ops: r.ops,
    peakLiveBytes: r.peakLiveBytes,
    peakHeapBytes: r.peakHeapBytes,
    utilization: r.utilization,
    rssHwmKiB: r.rssHwmPages * 4,
    liveOverRss: r.peakLiveBytes / (r.rssHwmPages * 4096),
    faults: r.faults,
    allocatorRssHwmKiB: plainRssHwmPages * 4,
    syscalls: calls,
    vmSizeKiB: proc.stats().totalVmPages * 4,
    opsPerSec: (t.n / times[Math.floor(times.length / 2)]!) * 1000,
  };
}

const kib = (bytes: number): string => `${(bytes / 1024).toLocaleString('en-US', { maximumFractionDigits: 0 })} KiB`;
const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;

const rows: Row[] = [];
for (const [trace, load] of TRACES) {
  const t = load();
  for (const [name, cls] of ALLOCATORS) rows.push(measure(trace, t, name, cls));
}

if (process.argv.includes('--json')) {
  console.log(JSON.stringify(rows, null, 2));
} else {
  console.log('| trace | malloc | peak live | peak heap | util. | RSS HWM | live/RSS | faults | RSS HWM, allocator only | brk / mmap / munmap / madvise | VmSize at end | sim. ops/s |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  const n = (x: number): string => x.toLocaleString('en-US');
  for (const r of rows) {
    const s = r.syscalls;
    console.log(
      `| ${r.trace} | ${r.malloc} | ${kib(r.peakLiveBytes)} | ${kib(r.peakHeapBytes)} | ${pct(r.utilization)} | ${n(r.rssHwmKiB)} KiB | ${pct(r.liveOverRss)} | ${n(r.faults)} | ${n(r.allocatorRssHwmKiB)} KiB | ${s.brk} / ${s.mmap} / ${s.munmap} / ${s.madvise} | ${n(r.vmSizeKiB)} KiB | ${n(Math.round(r.opsPerSec))} |`,
    );
  }
}
