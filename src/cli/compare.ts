/**
 * `allocsim compare`: runs one seeded workload through several policies on
 * identical machines and prints the machine, a column per policy, and one
 * summary line per policy saying where it came out best.
 *
 * The compared layer's policies come from `--slab`/`--page` (default: all);
 * the other layers' from `--config` or the defaults. Options that belong to
 * another `--layer`, or to a workload when a trace is replayed, are errors.
 */

import type { Command } from 'commander';
import { formatSize } from '../interfaces/units.js';
import type { PageWorkloadResult } from '../harness/workloads/page.js';
import type { SlabWorkloadResult } from '../harness/workloads/slab.js';
import type { UserReplayResult } from '../harness/user/replayer.js';
import { rescued, type LargeBufferResult } from '../harness/workloads/vmalloc.js';
import { checkComparison, comparisonOptions, runComparison, type CompareMachine, type Comparison, type ComparisonOpts } from './comparison.js';
import { formatCostTable } from './cost-table.js';
import { printJson, warn } from './errors.js';
import { NOT_APPLICABLE, formatCount, formatDecimal, formatPercent, formatTable } from './format.js';
import { configFrom, debugOptions, machineOptions, typedOptions } from './options.js';

export type { CompareMachine } from './comparison.js';

interface CompareOpts extends ComparisonOpts {
  json?: boolean;
  /** `--no-cost` makes this false. */
  cost: boolean;
}

/** One line saying which machine and which run a comparison is about. */
export function formatMachine(m: CompareMachine, run: string): string {
  return `machine: ${formatSize(m.memBytes)}, ${m.cpus} CPU${m.cpus === 1 ? '' : 's'}, ${m.nodes} node${m.nodes === 1 ? '' : 's'}; ${run}; seed ${m.seed}`;
}

/** A metric a policy can come out best on: its name, the value (undefined: n/a) and its text. */
interface Best<R> {
  readonly what: string;
  readonly value: (r: R) => number | undefined;
  readonly lowerIsBetter: boolean;
  readonly show: (r: R) => string;
}

/**
 * Where each column came out best: the metrics on which no column beats it
 * (when all are equal nobody leads; a column where the metric is n/a ranks
 * last).
 * Wall-clock times are left out: they measure this machine, not the
 * simulated one.
 *
 * @returns column name → its bests, in metric order (empty: it leads on none)
 */
export function summaryOf<R>(columns: readonly R[], name: (r: R) => string, bests: readonly Best<R>[]): Record<string, string[]> {
  const wins: Record<string, string[]> = Object.fromEntries(columns.map((r) => [name(r), []]));
  if (columns.length < 2) return wins;
  for (const b of bests) {
    const scored = columns.map((r) => [r, b.value(r)] as const).filter((x): x is readonly [R, number] => x[1] !== undefined);
    if (scored.length === 0) continue;
    const top = b.lowerIsBetter ? Math.min(...scored.map((x) => x[1])) : Math.max(...scored.map((x) => x[1]));
    const winners = scored.filter((x) => x[1] === top).map((x) => x[0]);
    if (winners.length === columns.length) continue; // all equal: nobody leads
    for (const r of winners) wins[name(r)]!.push(`${b.what} (${b.show(r)})`);
  }
  return wins;
}

/** The summary block of the text report: one line per column. */
function summaryBlock(summary: Readonly<Record<string, readonly string[]>>): string {
  const names = Object.keys(summary);
  const width = Math.max(...names.map((n) => n.length));
  const line = (n: string): string => `  ${n.padEnd(width)}  ${summary[n]!.join('; ') || (names.length > 1 ? 'leads on none of these metrics' : 'the only column')}\n`;
  return `\nsummary:\n${names.map(line).join('')}`;
}

/** One column per result, a row per metric, then the summary of where each column came out best. */
function formatColumns<R>(results: readonly R[], name: (r: R) => string, rows: readonly (readonly [string, (r: R) => string])[], title: string, bests: readonly Best<R>[]): string {
  return (
    formatTable(
      results.map(name),
      rows.map(([l, f]) => [l, results.map(f)]),
      title,
    ) + summaryBlock(summaryOf(results, name, bests))
  );
}

/** Per-CPU hit rate of a page run, undefined when the policy has no per-CPU lists (it never used one). */
const pcpRate = (r: PageWorkloadResult): number | undefined => (r.stats.pcpHits === 0 && r.stats.pcpRefills === 0 ? undefined : r.stats.allocs ? r.stats.pcpHits / r.stats.allocs : 0);

const PAGE_BESTS: readonly Best<PageWorkloadResult>[] = [
  { what: 'fewest failed allocations', value: (r) => r.failedAllocs, lowerIsBetter: true, show: (r) => formatCount(r.failedAllocs) },
  { what: 'least fragmented free memory', value: (r) => r.unusableIndex9, lowerIsBetter: true, show: (r) => `${formatPercent(r.unusableIndex9)} not in order>=9 blocks` },
  { what: 'fastest simulated path', value: pcpRate, lowerIsBetter: false, show: (r) => `${formatPercent(pcpRate(r) ?? 0)} per-CPU hits` },
];

/** Formats page results: the machine, one column per policy, the summary. */
export function formatCompare(results: readonly PageWorkloadResult[], machine?: CompareMachine): string {
  const rows: [string, (r: PageWorkloadResult) => string][] = [
    ['operations', (r) => formatCount(r.ops)],
    ['wall time (ms)', (r) => formatDecimal(r.wallMs, 1)],
    ['ops/s', (r) => formatCount(r.opsPerSec)],
    ['peak pages held', (r) => formatCount(r.peakPages)],
    ['pages held at end', (r) => formatCount(r.finalPages)],
    ['failed allocations', (r) => formatCount(r.failedAllocs)],
    ['  of which fragmentation', (r) => formatCount(r.fragFailures)],
    ['free not in order>=9 blocks', (r) => formatPercent(r.unusableIndex9)],
    ['per-CPU hit rate', (r) => (pcpRate(r) === undefined ? NOT_APPLICABLE : formatPercent(pcpRate(r)!))],
    ['per-CPU refills', (r) => (pcpRate(r) === undefined ? NOT_APPLICABLE : formatCount(r.stats.pcpRefills))],
    ['splits', (r) => formatCount(r.stats.splits)],
    ['merges', (r) => formatCount(r.stats.merges)],
    ['migrate-type fallbacks', (r) => formatCount(r.stats.fallbacks)],
    ['pageblocks stolen', (r) => formatCount(r.stats.steals)],
  ];
  const first = results[0];
  const run = first ? `workload ${first.workload}, ${formatCount(first.ops)} operations` : '';
  const title = first ? (machine ? formatMachine(machine, run) : run) : '';
  return formatColumns(results, (r) => r.policy, rows, title, PAGE_BESTS);
}

const internalFrag = (r: SlabWorkloadResult): number | undefined => (r.bytesAllocated ? 1 - r.bytesRequested / r.bytesAllocated : undefined);

const SLAB_BESTS: readonly Best<SlabWorkloadResult>[] = [
  { what: 'least memory', value: (r) => r.peakPages, lowerIsBetter: true, show: (r) => `${formatCount(r.peakPages)} slab pages at peak` },
  { what: 'least internal fragmentation', value: internalFrag, lowerIsBetter: true, show: (r) => formatPercent(internalFrag(r) ?? 0) },
  { what: 'fastest simulated path', value: (r) => r.fastPathHitRate ?? undefined, lowerIsBetter: false, show: (r) => `${formatPercent(r.fastPathHitRate ?? 0)} per-CPU fast-path hits` },
  { what: 'fewest page-allocator calls', value: (r) => r.pageAllocatorCalls, lowerIsBetter: true, show: (r) => formatCount(r.pageAllocatorCalls) },
];

/** Formats slab results: the machine, one column per policy, the summary. */
export function formatSlabCompare(results: readonly SlabWorkloadResult[], machine?: CompareMachine): string {
  const rows: [string, (r: SlabWorkloadResult) => string][] = [
    ['operations', (r) => formatCount(r.ops)],
    ['wall time (ms)', (r) => formatDecimal(r.wallMs, 1)],
    ['ops/s', (r) => formatCount(r.opsPerSec)],
    ['slab pages, peak', (r) => formatCount(r.peakPages)],
    ['slab pages, final', (r) => formatCount(r.finalPages)],
    ['bytes requested', (r) => formatCount(r.bytesRequested)],
    ['bytes allocated', (r) => formatCount(r.bytesAllocated)],
    ['internal fragmentation', (r) => (internalFrag(r) === undefined ? NOT_APPLICABLE : formatPercent(internalFrag(r)!))],
    ['slab bytes not holding objects', (r) => formatPercent(r.unusedSlabBytes)],
    ['partial slabs at end', (r) => formatCount(r.partialSlabs)],
    ['per-CPU fast-path hits', (r) => (r.fastPathHitRate === null ? NOT_APPLICABLE : formatPercent(r.fastPathHitRate))],
    ['page-allocator calls', (r) => formatCount(r.pageAllocatorCalls)],
    ['failed allocations', (r) => formatCount(r.failedAllocs)],
  ];
  const first = results[0];
  const run = first ? `${first.workload.startsWith('trace ') ? '' : 'workload '}${first.workload}, ${formatCount(first.ops)} operations` : '';
  const title = first ? (machine ? formatMachine(machine, run) : run) : '';
  return formatColumns(results, (r) => r.policy, rows, title, SLAB_BESTS);
}

const VMALLOC_BESTS: readonly Best<LargeBufferResult>[] = [
  { what: 'fewest failed requests', value: (r) => r.failures, lowerIsBetter: true, show: (r) => formatCount(r.failures) },
  { what: 'fewest kernel page-table pages', value: (r) => r.pageTablePages, lowerIsBetter: true, show: (r) => formatCount(r.pageTablePages) },
  { what: 'fewest TLB flushes', value: (r) => r.tlbFlushes, lowerIsBetter: true, show: (r) => formatCount(r.tlbFlushes) },
];

/** Formats the kmalloc-versus-vmalloc comparison: the machine, one column per mode, the summary. */
export function formatVmallocCompare(results: readonly LargeBufferResult[], machine?: CompareMachine): string {
  const km = results.find((r) => r.mode === 'kmalloc');
  const first = results[0];
  const rows: [string, (r: LargeBufferResult) => string][] = [
    ['requests', (r) => formatCount(r.requests)],
    ['failed', (r) => formatCount(r.failures)],
    ['failed under kmalloc, served here', (r) => (km && r !== km ? formatCount(rescued(km, r)) : NOT_APPLICABLE)],
    ['buffers from vmalloc space', (r) => formatCount(r.vmallocBuffers)],
    ['ns per operation', (r) => formatCount(r.nsPerOp)],
    ['kernel page-table pages', (r) => formatCount(r.pageTablePages)],
    ['kernel TLB flushes (purges)', (r) => formatCount(r.tlbFlushes)],
    ['TLB shootdown IPIs', (r) => formatCount(r.tlbShootdowns)],
  ];
  const run = first
    ? `large buffers (16 KiB-4 MiB) after fragmenting: ${formatCount(first.freePagesAfterFragmenting)} pages free, largest free block order ${first.largestFreeOrder}; ${formatCount(first.ops)} operations`
    : '';
  const title = first ? (machine ? formatMachine(machine, run) : run) : '';
  return formatColumns(results, (r) => r.mode, rows, title, VMALLOC_BESTS);
}

const USER_BESTS: readonly Best<UserReplayResult>[] = [
  { what: 'least memory', value: (r) => r.peakHeapBytes, lowerIsBetter: true, show: (r) => `${formatSize(r.peakHeapBytes)} peak heap` },
  { what: 'best utilization', value: (r) => r.utilization, lowerIsBetter: false, show: (r) => formatPercent(r.utilization) },
  { what: 'fewest page faults', value: (r) => r.faults, lowerIsBetter: true, show: (r) => formatCount(r.faults) },
];

/** Formats user-malloc results: the machine and trace, one column per malloc, the summary. */
export function formatUserCompare(results: readonly UserReplayResult[], machine: CompareMachine, what: string): string {
  const rows: [string, (r: UserReplayResult) => string][] = [
    ['calls', (r) => formatCount(r.ops)],
    ['wall time (ms)', (r) => formatDecimal(r.elapsedMs, 1)],
    ['calls/s', (r) => formatCount(r.opsPerSec)],
    ['NULL returns', (r) => formatCount(r.nulls)],
    ['peak live bytes', (r) => formatCount(r.peakLiveBytes)],
    ['peak heap bytes', (r) => formatCount(r.peakHeapBytes)],
    ['utilization', (r) => formatPercent(r.utilization)],
    ['RSS high-water (pages)', (r) => formatCount(r.rssHwmPages)],
    ['page faults', (r) => formatCount(r.faults)],
    ['page-table pages', (r) => formatCount(r.pageTablePages)],
    ['TLB flushes', (r) => formatCount(r.tlbFlushes)],
  ];
  return formatColumns(results, (r) => r.policy, rows, formatMachine(machine, what), USER_BESTS);
}

/** The text report of a comparison: the machine, one column per policy, the summary. */
export function formatComparison(c: Comparison): string {
  switch (c.layer) {
    case 'slab':
      return formatSlabCompare(c.columns.map((x) => x.r), c.machine);
    case 'page':
      return formatCompare(c.columns.map((x) => x.r), c.machine);
    case 'vmalloc':
      return formatVmallocCompare(c.columns.map((x) => x.r), c.machine);
    case 'user':
      return formatUserCompare(c.columns.map((x) => x.r), c.machine, c.workload);
  }
}

/** Where each column came out best, by the layer's metrics. */
function summaryOfComparison(c: Comparison): Record<string, string[]> {
  switch (c.layer) {
    case 'slab':
      return summaryOf(c.columns.map((x) => x.r), (r) => r.policy, SLAB_BESTS);
    case 'page':
      return summaryOf(c.columns.map((x) => x.r), (r) => r.policy, PAGE_BESTS);
    case 'vmalloc':
      return summaryOf(c.columns.map((x) => x.r), (r) => r.mode, VMALLOC_BESTS);
    case 'user':
      return summaryOf(c.columns.map((x) => x.r), (r) => r.policy, USER_BESTS);
  }
}

/** Registers the command. */
export function compareCommand(program: Command): void {
  const cmd = comparisonOptions(
    program.command('compare').description(
      'run one seeded workload through several policies side by side (SLAB vs SLUB vs SLOB by default; --layer page: the page allocators; --layer vmalloc: kmalloc vs vmalloc vs kvmalloc for large buffers under fragmentation)',
    ),
  )
    .option('--no-cost', 'do not count hardware-independent costs (cache lines, locks, atomics per operation): the wall-time rows then time the simulator alone')
    .option('--json', 'print the machine, the results and the summary as JSON');
  debugOptions(machineOptions(cmd), ['slub-debug', 'kasan', 'page-poison']).action((o: CompareOpts) => {
    checkComparison(cmd, o);
    const layer = o.layer;
    const base = configFrom(o, { policies: { vmap: o.vmap } });
    const compared = layer === 'vmalloc' ? undefined : layer === 'user' ? 'malloc' : layer;
    const fromFile = compared ? base.policies?.[compared] : undefined;
    if (compared && fromFile !== undefined && typedOptions(cmd, [compared]).length === 0) {
      warn(`--config ${o.config}: compare runs every ${compared} policy of --${compared} (default: all), not only policies.${compared} '${fromFile}'; give --${compared} to choose`);
    }
    // Measure the policies, not the simulator's own precondition checks; a trace is not recorded.
    const c = runComparison(o, { ...base, debug: { ...base.debug, checks: false, trace: false, cost: o.cost } });
    if (o.json) {
      const results = c.columns.map((x) => (o.cost ? { ...x.r, cost: x.sys.machine.cost!.rows() } : x.r));
      printJson({ layer, machine: c.machine, workload: c.workload, ops: c.ops, results, summary: summaryOfComparison(c) });
      return;
    }
    const cost = o.cost ? `\n${formatCostTable(c.columns.map((x) => ({ name: x.name, rows: x.sys.machine.cost!.rows() })))}` : '';
    process.stdout.write(formatComparison(c) + cost);
  });
}
