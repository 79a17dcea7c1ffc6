/**
 * The numbers in this folder's README: built-in SLUB against the sheaves
 * plug-in (both flavours) on the real Linux 6.1 boot trace and on the
 * built-in `kernel-mix` and `producer-consumer` workloads, on the default
 * machine (1 GiB, 4 CPUs, 1 node), debug checks off, as `allocsim compare`
 * runs them. It calls the library directly rather than `allocsim compare
 * --slab slub,./examples/slub-sheaves/sheaves.ts` because it counts more.
 *
 * Objects live at the end stay allocated (no teardown is counted). Besides
 * `allocsim compare`'s metrics it counts free-pointer reads and
 * writes (each touches a slab object's memory: SLUB's freelists are inside
 * the objects) and sheaf slot reads and writes (`objects[]`, eight to a
 * cache line), per operation. Run from the repository root:
 *
 *   npx tsc -p tsconfig.examples.json && node dist-examples/examples/slub-sheaves/compare.js [ops]
 */

import {
  SlubBackend,
  createSystem,
  parseFtraceKmemFile,
  runSlabTrace,
  runSlabWorkload,
  type SlabWorkloadResult,
  type SlubCache,
  type SystemOverrides,
} from 'allocsim';
import SheavesSlubBackend, { Sheaves618SlubBackend, type SheafStats } from './sheaves.js';

/** The boot trace of data/README.md, read from the repository root. */
const TRACE = 'data/linux-6.1-qemu-smp4/kmem-trace.txt.gz';

/** Counts free-pointer accesses of a SLUB-based backend. */
interface Touching {
  touches: number;
}

/** `Base`, counting its free-pointer reads and writes in `touches`. */
function countingTouches(Base: typeof SlubBackend): typeof SlubBackend {
  return class extends Base implements Touching {
    touches = 0;
    protected override getFreePointer(c: SlubCache, obj: number): number {
      this.touches++;
      return super.getFreePointer(c, obj);
    }
    protected override setFreePointer(c: SlubCache, obj: number, next: number): void {
      this.touches++;
      super.setFreePointer(c, obj, next);
    }
  };
}

interface Column {
  readonly label: string;
  /** Bound for the throughput runs. */
  readonly plain: SystemOverrides['slab'];
  /** Bound for the counting run. */
  readonly counting: SystemOverrides['slab'];
}

const COLUMNS: readonly Column[] = [
  { label: 'slub', plain: SlubBackend, counting: countingTouches(SlubBackend) },
  { label: 'slub-sheaves', plain: SheavesSlubBackend, counting: countingTouches(SheavesSlubBackend) },
  { label: 'slub-sheaves-6.18', plain: Sheaves618SlubBackend, counting: countingTouches(Sheaves618SlubBackend) },
];

type Run = { kind: 'trace' } | { kind: 'workload'; name: string; ops: number };

interface Measured {
  readonly r: SlabWorkloadResult;
  readonly touchesPerOp: number;
  readonly slotsPerOp: number;
  readonly sheaves?: SheafStats;
  /** Best of REPEATS: simulated operations per second of wall time. */
  readonly opsPerSec: number;
}

let traceEvents: ReturnType<typeof parseFtraceKmemFile>['events'] | undefined;

function runOnce(slab: SystemOverrides['slab'], run: Run): { r: SlabWorkloadResult; be: unknown } {
  const sys = createSystem({ debug: { checks: false, trace: false } }, { slab });
  // The trace is read and parsed once, for the first column that replays it.
  const r = run.kind === 'trace' ? runSlabTrace(sys, `trace ${TRACE}`, (traceEvents ??= parseFtraceKmemFile(TRACE).events)) : runSlabWorkload(sys, run.name, run.ops, sys.config.seed, true);
  return { r, be: sys.slab };
}

/** Timed runs per column, interleaved so that a busy machine slows every column alike; the best is kept. */
const REPEATS = 5;

function measureAll(run: Run): Measured[] {
  const best = COLUMNS.map(() => 0);
  // The boot trace replays in a few milliseconds: too short to time.
  if (run.kind === 'workload') for (let i = 0; i < REPEATS; i++) COLUMNS.forEach((col, k) => (best[k] = Math.max(best[k]!, runOnce(col.plain, run).r.opsPerSec)));
  return COLUMNS.map((col, k) => {
    const counted = runOnce(col.counting, run);
    const be = counted.be as Touching & Partial<SheavesSlubBackend>;
    const sheaves = be.sheafStats?.();
    const ops = counted.r.ops;
    return { r: counted.r, touchesPerOp: be.touches / ops, slotsPerOp: (sheaves?.slotAccesses ?? 0) / ops, sheaves, opsPerSec: best[k]! };
  });
}

const pct = (x: number | null): string => (x === null ? 'n/a' : `${(x * 100).toFixed(1)} %`);
const num = (x: number): string => Math.round(x).toLocaleString('en-US');

function table(title: string, ms: readonly Measured[]): string {
  const rows: [string, (m: Measured) => string][] = [
    ['operations', (m) => num(m.r.ops)],
    ['slab pages, peak', (m) => num(m.r.peakPages)],
    ['slab pages, final', (m) => num(m.r.finalPages)],
    ['per-CPU fast-path hits', (m) => pct(m.r.fastPathHitRate)],
    ['page-allocator calls', (m) => num(m.r.pageAllocatorCalls)],
    ['free-pointer accesses / op', (m) => m.touchesPerOp.toFixed(2)],
    ['sheaf slot accesses / op', (m) => m.slotsPerOp.toFixed(2)],
    ['objects refilled / flushed', (m) => (m.sheaves ? `${num(m.sheaves.sheafRefill)} / ${num(m.sheaves.sheafFlush)}` : 'n/a')],
    ['barn get / put (fails)', (m) => (m.sheaves ? `${num(m.sheaves.barnGet)} / ${num(m.sheaves.barnPut)} (${num(m.sheaves.barnGetFail)} / ${num(m.sheaves.barnPutFail)})` : 'n/a')],
    [`simulated ops/s (JS, best of ${REPEATS})`, (m) => (m.opsPerSec ? num(m.opsPerSec) : 'too short to time')],
  ];
  const head = `| ${title} | ${COLUMNS.map((c) => c.label).join(' | ')} |\n|---|${COLUMNS.map(() => '---:').join('|')}|\n`;
  return head + rows.map(([l, f]) => `| ${l} | ${ms.map(f).join(' | ')} |`).join('\n') + '\n';
}

const ops = Number(process.argv[2] ?? 200000);
const runs: [string, Run][] = [
  ['Linux 6.1 boot trace', { kind: 'trace' }],
  [`kernel-mix, seed 1`, { kind: 'workload', name: 'kernel-mix', ops }],
  [`producer-consumer, seed 1`, { kind: 'workload', name: 'producer-consumer', ops }],
];
for (const [title, run] of runs) process.stdout.write(`${table(title, measureAll(run))}\n`);
