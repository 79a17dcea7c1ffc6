/**
 * `allocsim compare`: runs one seeded workload through several policies on
 * identical machines and prints the machine, a column per policy, and one
 * summary line per policy saying where it came out best.
 *
 * The compared layer's policies come from `--slab`/`--page` (default: all);
 * the other layers' from `--config` or the defaults. Options that belong to
 * another `--layer`, or to a workload when a trace is replayed, are errors.
 */

import { Command, Option } from 'commander';
import type { SystemConfig } from '../interfaces/config.js';
import { formatSize } from '../interfaces/units.js';
import { policyNames } from '../policies/registry.js';
import type { CostRow } from '../interfaces/cost.js';
import { createSystem, resolveConfig, type System } from '../system.js';
import { formatCostTable } from './cost-table.js';
import { PAGE_WORKLOADS, runPageWorkload, type PageWorkloadResult } from '../harness/workloads/page.js';
import { SLAB_WORKLOADS, runSlabTrace, runSlabWorkload, type SlabWorkloadResult } from '../harness/workloads/slab.js';
import { parseFtraceKmem, type KmemEvent } from '../harness/trace/ftrace-kmem.js';
import { parseUserTrace, type UserTrace } from '../harness/user/trace.js';
import { USER_TRACE_MIXES, generateUserTrace, type UserTraceMixName } from '../harness/user/trace-gen.js';
import { replayUserTrace, type UserReplayResult } from '../harness/user/replayer.js';
import { LARGE_BUFFER_MODES, rescued, runLargeBuffers, type LargeBufferResult } from '../harness/workloads/vmalloc.js';
import { badInput, printJson, warn } from './errors.js';
import { emptyTrace, parseFile, readInputText } from './files.js';
import { NOT_APPLICABLE, formatCount, formatDecimal, formatPercent, formatTable } from './format.js';
import { configFrom, debugOptions, intOpt, machineOptions, policyList, policyOption, rejectOptions, typedOptions, type DebugCliOpts, type MachineCliOpts } from './options.js';

type CompareLayer = 'slab' | 'page' | 'vmalloc' | 'user';

interface CompareOpts extends MachineCliOpts, DebugCliOpts {
  layer: CompareLayer;
  page?: string;
  slab?: string;
  malloc?: string;
  vmap?: string;
  workload?: string;
  trace?: string;
  allowEmpty?: boolean;
  ops?: string;
  json?: boolean;
  /** `--no-cost` makes this false. */
  cost: boolean;
}

/** Operations when `--ops` is not given, per layer (a vmalloc operation moves up to a thousand pages). */
const DEFAULT_OPS: Readonly<Record<CompareLayer, number>> = { slab: 200000, page: 200000, vmalloc: 2000, user: 100000 };
/** Workload when `--workload` is not given. */
const DEFAULT_WORKLOAD: Readonly<Record<'slab' | 'page' | 'user', string>> = { slab: 'kernel-mix', page: 'kernel-mix', user: 'mixed' };

/** The machine every column ran on. */
export interface CompareMachine {
  readonly memBytes: number;
  readonly cpus: number;
  readonly nodes: number;
  readonly seed: number;
}

/** One line saying which machine and which run a comparison is about. */
export function formatMachine(m: CompareMachine, run: string): string {
  return `machine: ${formatSize(m.memBytes)}, ${m.cpus} CPU${m.cpus === 1 ? '' : 's'}, ${m.nodes} node${m.nodes === 1 ? '' : 's'}; ${run}; seed ${m.seed}`;
}

function machineOf(c: SystemConfig): CompareMachine {
  return { memBytes: c.machine.memBytes, cpus: c.machine.cpus, nodes: c.machine.nodes, seed: c.seed };
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

/** Registers the command. */
export function compareCommand(program: Command): void {
  const cmd = program
    .command('compare')
    .description('run one seeded workload through several policies side by side (SLAB vs SLUB vs SLOB by default; --layer page: the page allocators; --layer vmalloc: kmalloc vs vmalloc vs kvmalloc for large buffers under fragmentation)')
    .addOption(new Option('--layer <layer>', 'which layer to compare').choices(['slab', 'page', 'vmalloc', 'user']).default('slab'))
    .option('--slab <list>', `--layer slab: comma-separated slab policies or policy files (default: all of ${policyNames('slab').join(', ')})`)
    .option('--page <list>', `--layer page: comma-separated page policies or policy files (default: all of ${policyNames('page').join(', ')})`)
    .addOption(policyOption('vmap', '--layer vmalloc: the vmap-space policy under every column'))
    .option('--malloc <list>', `--layer user: comma-separated user-space mallocs or policy files (default: all of ${policyNames('malloc').join(', ')})`)
    .option('--workload <name>', `built-in workload (slab: ${SLAB_WORKLOADS.map((w) => w.name).join(', ')}; page: ${PAGE_WORKLOADS.map((w) => w.name).join(', ')}; user: a generated ${Object.keys(USER_TRACE_MIXES).join(' or ')} trace; default: kernel-mix, user: mixed; --layer vmalloc has its own)`)
    .option('--ops <n>', `operations (default: ${formatCount(DEFAULT_OPS.slab)}; --layer vmalloc: ${formatCount(DEFAULT_OPS.vmalloc)})`)
    .option('--trace <file>', '--layer slab: replay this ftrace kmem log (.gz ok) through each slab policy; --layer user: this malloc trace (rep, plain, wee, mtrace, jsonl) through each malloc')
    .option('--allow-empty', 'with --trace: replay a trace with no kmem events instead of stopping')
    .option('--no-cost', 'do not count hardware-independent costs (cache lines, locks, atomics per operation): the wall-time rows then time the simulator alone')
    .option('--json', 'print the machine, the results and the summary as JSON');
  debugOptions(machineOptions(cmd), ['slub-debug', 'kasan', 'page-poison']).action((o: CompareOpts) => {
    const layer = o.layer;
    if (layer !== 'slab') rejectOptions(cmd, ['slab', 'slub-debug', 'kasan'], `applies to --layer slab only (this is --layer ${layer})`);
    if (layer !== 'slab' && layer !== 'user') rejectOptions(cmd, ['trace'], `applies to --layer slab and --layer user only (this is --layer ${layer})`);
    if (layer !== 'user') rejectOptions(cmd, ['malloc'], `applies to --layer user only (this is --layer ${layer})`);
    if (layer !== 'vmalloc') rejectOptions(cmd, ['vmap'], `applies to --layer vmalloc only (this is --layer ${layer})`);
    if (layer !== 'page') rejectOptions(cmd, ['page'], `applies to --layer page only (this is --layer ${layer}); the page allocator under the other layers comes from --config`);
    if (layer === 'vmalloc') rejectOptions(cmd, ['workload'], 'does not apply to --layer vmalloc, which runs its own large-buffer workload');
    if (o.trace !== undefined) rejectOptions(cmd, ['workload', 'ops'], 'does not apply when --trace replays a trace');
    else rejectOptions(cmd, ['allow-empty'], 'applies to --trace only');
    const ops = intOpt(o.ops, 'ops') ?? DEFAULT_OPS[layer];
    const base = configFrom(o, { policies: { vmap: o.vmap } });
    const compared = layer === 'vmalloc' ? undefined : layer === 'user' ? 'malloc' : layer;
    const fromFile = compared ? base.policies?.[compared] : undefined;
    if (compared && fromFile !== undefined && typedOptions(cmd, [compared]).length === 0) {
      warn(`--config ${o.config}: compare runs every ${compared} policy of --${compared} (default: all), not only policies.${compared} '${fromFile}'; give --${compared} to choose`);
    }
    // Measure the policies, not the simulator's own precondition checks; a trace is not recorded.
    const debug = { ...base.debug, checks: false, trace: false, cost: o.cost };
    /** The cost table of the columns (empty with --no-cost), for the text report. */
    const costText = (cols: readonly { name: string; sys: System }[]): string => (o.cost ? `\n${formatCostTable(cols.map((c) => ({ name: c.name, rows: c.sys.machine.cost!.rows() })))}` : '');
    /** The results with each column's cost rows, for JSON. */
    const withCost = <R extends object>(cols: readonly { sys: System; r: R }[]): (R | (R & { cost: CostRow[] }))[] => cols.map((c) => (o.cost ? { ...c.r, cost: c.sys.machine.cost!.rows() } : c.r));
    const json = o.json === true;
    if (layer === 'vmalloc') {
      const results = LARGE_BUFFER_MODES.map((mode) => {
        const sys = createSystem({ ...base, debug });
        return { sys, r: runLargeBuffers(sys, mode, { ops, seed: sys.config.seed }) };
      });
      const machine = machineOf(results[0]!.sys.config);
      const rs = results.map((x) => x.r);
      if (json) printJson({ layer, machine, workload: 'large-buffers', ops, results: withCost(results), summary: summaryOf(rs, (r) => r.mode, VMALLOC_BESTS) });
      else process.stdout.write(formatVmallocCompare(rs, machine) + costText(results.map((x) => ({ name: x.r.mode, sys: x.sys }))));
      return;
    }
    if (layer === 'user') {
      let trace: UserTrace;
      let what: string;
      if (o.trace !== undefined) {
        const file = o.trace;
        trace = parseFile(file, readInputText(file), (t) => parseUserTrace(t, 'auto'));
        emptyTrace(file, trace.n, 'calls', o.allowEmpty === true);
        what = `trace ${file}, ${formatCount(trace.n)} calls`;
      } else {
        const mix = o.workload ?? DEFAULT_WORKLOAD.user;
        if (!Object.hasOwn(USER_TRACE_MIXES, mix)) throw badInput(`--workload: unknown user workload '${mix}' (known: ${Object.keys(USER_TRACE_MIXES).join(', ')})`);
        trace = generateUserTrace({ seed: resolveConfig({ ...base, debug }).seed, ops, mix: mix as UserTraceMixName });
        what = `generated ${mix} trace, ${formatCount(trace.n)} calls`;
      }
      const runs = policyList(o.malloc, 'malloc').map((malloc) => {
        const sys = createSystem({ ...base, policies: { ...base.policies, malloc }, debug });
        return { sys, r: replayUserTrace(sys, trace) };
      });
      const machine = machineOf(runs[0]!.sys.config);
      const rs = runs.map((x) => x.r);
      if (json) printJson({ layer, machine, workload: what, ops: trace.n, results: withCost(runs), summary: summaryOf(rs, (r) => r.policy, USER_BESTS) });
      else process.stdout.write(formatUserCompare(rs, machine, what) + costText(runs.map((x) => ({ name: x.r.policy, sys: x.sys }))));
      return;
    }
    if (layer === 'page') {
      const workload = o.workload ?? DEFAULT_WORKLOAD.page;
      if (!PAGE_WORKLOADS.some((w) => w.name === workload)) throw badInput(`--workload: unknown page workload '${workload}' (known: ${PAGE_WORKLOADS.map((w) => w.name).join(', ')})`);
      const runs = policyList(o.page, 'page').map((page) => {
        const sys = createSystem({ ...base, policies: { ...base.policies, page }, debug });
        return { sys, r: runPageWorkload(sys, workload, ops, sys.config.seed) };
      });
      const machine = machineOf(runs[0]!.sys.config);
      const rs = runs.map((x) => x.r);
      if (json) printJson({ layer, machine, workload, ops, results: withCost(runs), summary: summaryOf(rs, (r) => r.policy, PAGE_BESTS) });
      else process.stdout.write(formatCompare(rs, machine) + costText(runs.map((x) => ({ name: x.r.policy, sys: x.sys }))));
      return;
    }
    const workload = o.workload ?? DEFAULT_WORKLOAD.slab;
    if (o.trace === undefined && !SLAB_WORKLOADS.some((w) => w.name === workload)) throw badInput(`--workload: unknown slab workload '${workload}' (known: ${SLAB_WORKLOADS.map((w) => w.name).join(', ')})`);
    const slabs = policyList(o.slab, 'slab');
    let events: KmemEvent[] | undefined;
    if (o.trace !== undefined) {
      const trace = o.trace;
      const parsed = parseFile(trace, readInputText(trace), (t) => parseFtraceKmem(t));
      emptyTrace(trace, parsed.events.length, 'kmem events', o.allowEmpty === true);
      events = parsed.events;
    }
    const runs = slabs.map((slab) => {
      const sys = createSystem({ ...base, policies: { ...base.policies, slab }, debug });
      return { sys, r: events ? runSlabTrace(sys, `trace ${o.trace}`, events) : runSlabWorkload(sys, workload, ops, sys.config.seed) };
    });
    const machine = machineOf(runs[0]!.sys.config);
    const rs = runs.map((x) => x.r);
    if (json) printJson({ layer, machine, workload: events ? `trace ${o.trace}` : workload, ops: rs[0]!.ops, results: withCost(runs), summary: summaryOf(rs, (r) => r.policy, SLAB_BESTS) });
    else process.stdout.write(formatSlabCompare(rs, machine) + costText(runs.map((x) => ({ name: x.r.policy, sys: x.sys }))));
  });
}
