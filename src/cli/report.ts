/**
 * `allocsim report`: runs what `compare` runs — one seeded workload or trace
 * through several policies on identical machines — with the cost meter on
 * and a {@link Sampler} on its operation clock, and writes one
 * self-contained HTML file: the comparison table, the time series of every
 * policy on shared axes, physical memory maps at chosen moments, the caches
 * as slabinfo, and the cost table. `--findings DIR` instead reports a fuzz
 * campaign's findings directory (./report-fuzz.ts).
 *
 * The report states how it was made (machine, workload, seed, policies,
 * versions, the command line) and holds no timestamp: the same command gives
 * the same bytes.
 */

import { Command, Option } from 'commander';
import type { SystemConfig } from '../interfaces/config.js';
import { PAGE_SIZE } from '../interfaces/units.js';
import { policyNames } from '../policies/registry.js';
import { createSystem, resolveConfig, type System } from '../system.js';
import { PAGE_WORKLOADS, runPageWorkload } from '../harness/workloads/page.js';
import { SLAB_WORKLOADS, liveRequestedBytes, runSlabTrace, runSlabWorkload, type LiveSet } from '../harness/workloads/slab.js';
import { parseFtraceKmem, type KmemEvent } from '../harness/trace/ftrace-kmem.js';
import { parseUserTrace, type UserTrace } from '../harness/user/trace.js';
import { USER_TRACE_MIXES, generateUserTrace, type UserTraceMixName } from '../harness/user/trace-gen.js';
import { replayUserTrace } from '../harness/user/replayer.js';
import { LARGE_BUFFER_MODES, runLargeBuffers } from '../harness/workloads/vmalloc.js';
import { Sampler, type SamplerOpts } from '../harness/observe/sampler.js';
import { renderReport, type ReportRun } from '../harness/observe/html.js';
import { badInput } from './errors.js';
import { checkOutputPath, emptyTrace, parseFile, readInputText, writeOutputFile } from './files.js';
import { formatCompare, formatMachine, formatSlabCompare, formatUserCompare, formatVmallocCompare, type CompareMachine } from './compare.js';
import { formatCount } from './format.js';
import { configFrom, debugOptions, intOpt, machineOptions, policyList, policyOption, rejectOptions, type DebugCliOpts, type MachineCliOpts } from './options.js';
import { fuzzReport } from './report-fuzz.js';
import { reportFacts } from './report-facts.js';

type ReportLayer = 'slab' | 'page' | 'vmalloc' | 'user';

interface ReportOpts extends MachineCliOpts, DebugCliOpts {
  layer: ReportLayer;
  page?: string;
  slab?: string;
  malloc?: string;
  vmap?: string;
  workload?: string;
  trace?: string;
  allowEmpty?: boolean;
  ops?: string;
  every?: string;
  mapAt?: string;
  out: string;
  findings?: string;
}

/** Where the report goes when `--out` is not given. */
export const DEFAULT_REPORT_FILE = 'allocsim-report.html';
/** Samples per policy when `--every` is not given. */
export const DEFAULT_SAMPLES = 200;
/** Rows of compare's table left out of the report. */
const WALL_CLOCK_ROW = /^(wall time \(ms\)|ops\/s|calls\/s|ns per operation) /;
const DEFAULT_OPS: Readonly<Record<ReportLayer, number>> = { slab: 200000, page: 200000, vmalloc: 2000, user: 100000 };
const DEFAULT_WORKLOAD = { slab: 'kernel-mix', page: 'kernel-mix', user: 'mixed' } as const;

/**
 * Parses `--map-at`: a comma-separated list of operation counts or
 * percentages of the run (`0,50%,120000`).
 *
 * @param total - the run's operations (what 100 % is)
 * @throws AllocatorError `usage` for anything else
 */
export function parseMapAt(text: string, total: number): number[] {
  const out: number[] = [];
  for (const raw of text.split(',')) {
    const item = raw.trim();
    const pct = /^(\d+(?:\.\d+)?)%$/.exec(item);
    if (pct) {
      const p = Number(pct[1]);
      if (p > 100) throw badInput(`--map-at: ${item} is more than 100%`);
      out.push(Math.round((p / 100) * total));
    } else if (/^\d+$/.test(item) && Number.isSafeInteger(Number(item))) out.push(Number(item));
    else throw badInput(`--map-at expects operation counts or percentages separated by commas (e.g. 0,50%,120000), got '${item}'`);
  }
  return out;
}

function machineOf(c: SystemConfig): CompareMachine {
  return { memBytes: c.machine.memBytes, cpus: c.machine.cpus, nodes: c.machine.nodes, seed: c.seed };
}

/** A run under observation: the system built with the cost meter on, its sampler, and how to read "requested" and "held". */
function observed(config: Parameters<typeof createSystem>[0], sampling: Omit<SamplerOpts, 'requested' | 'held'>, probes: (sys: System) => Pick<SamplerOpts, 'requested' | 'held'>): { sys: System; sampler: Sampler } {
  const sys = createSystem(config);
  return { sys, sampler: new Sampler(sys, { ...sampling, ...probes(sys) }) };
}

/** Slab layer: requested = live objects' requested bytes (workload) or in-use objects × object size (trace); held = slab pages. */
function slabProbes(live: { set?: LiveSet }): (sys: System) => Pick<SamplerOpts, 'requested' | 'held'> {
  return (sys) => ({
    requested: () => {
      if (live.set) return liveRequestedBytes(live.set);
      let sum = 0;
      for (const c of sys.kmem.caches()) sum += c.counters.inUse * c.geometry.objectSize;
      return sum + sys.kmem.kmemStats().largePages * PAGE_SIZE;
    },
    held: () => {
      const [a, b] = sys.kmem.slabPages();
      return (a + b) * PAGE_SIZE;
    },
  });
}

const noProbes = (): Pick<SamplerOpts, 'requested' | 'held'> => ({});

/** Registers the command. */
export function reportCommand(program: Command): void {
  const cmd = program
    .command('report')
    .description('run a comparison (as compare does) while sampling the system, and write one self-contained HTML report: time series per policy, physical memory maps, slabinfo and cost tables; --findings DIR: a fuzz campaign\'s findings and coverage curve')
    .addOption(new Option('--layer <layer>', 'which layer to compare').choices(['slab', 'page', 'vmalloc', 'user']).default('slab'))
    .option('--slab <list>', `--layer slab: comma-separated slab policies or policy files (default: all of ${policyNames('slab').join(', ')})`)
    .option('--page <list>', `--layer page: comma-separated page policies or policy files (default: all of ${policyNames('page').join(', ')})`)
    .addOption(policyOption('vmap', '--layer vmalloc: the vmap-space policy under every column'))
    .option('--malloc <list>', `--layer user: comma-separated user-space mallocs or policy files (default: all of ${policyNames('malloc').join(', ')})`)
    .option('--workload <name>', `built-in workload (slab: ${SLAB_WORKLOADS.map((w) => w.name).join(', ')}; page: ${PAGE_WORKLOADS.map((w) => w.name).join(', ')}; user: ${Object.keys(USER_TRACE_MIXES).join(' or ')}; default: kernel-mix, user: mixed)`)
    .option('--ops <n>', `operations (default: ${formatCount(DEFAULT_OPS.slab)}; --layer vmalloc: ${formatCount(DEFAULT_OPS.vmalloc)})`)
    .option('--trace <file>', '--layer slab: replay this ftrace kmem log; --layer user: this malloc trace')
    .option('--allow-empty', 'with --trace: replay a trace with no events instead of stopping')
    .option('--every <n>', `sample every N operations (default: ${DEFAULT_SAMPLES} samples per run)`)
    .option('--map-at <list>', 'memory maps after these operation counts or percentages of the run, besides the one at the end (default: 0,50%)')
    .option('--findings <dir>', 'report a fuzz campaign\'s findings directory instead of running a comparison')
    .option('--out <file>', 'the HTML file to write', DEFAULT_REPORT_FILE);
  debugOptions(machineOptions(cmd), ['slub-debug', 'kasan', 'page-poison']).action(async (o: ReportOpts) => {
    checkOutputPath(o.out, '--out');
    if (o.findings !== undefined) {
      rejectOptions(cmd, ['layer', 'slab', 'page', 'vmap', 'malloc', 'workload', 'ops', 'trace', 'allow-empty', 'every', 'map-at', 'mem', 'cpus', 'nodes', 'kernel-image', 'seed', 'config', 'slub-debug', 'kasan', 'page-poison'], 'does not apply to --findings, which reports a finished campaign');
      writeReport(o.out, await fuzzReport(o.findings, argsOf(cmd)));
      return;
    }
    const layer = o.layer;
    if (layer !== 'slab') rejectOptions(cmd, ['slab', 'slub-debug', 'kasan'], `applies to --layer slab only (this is --layer ${layer})`);
    if (layer !== 'slab' && layer !== 'user') rejectOptions(cmd, ['trace'], `applies to --layer slab and --layer user only (this is --layer ${layer})`);
    if (layer !== 'user') rejectOptions(cmd, ['malloc'], `applies to --layer user only (this is --layer ${layer})`);
    if (layer !== 'vmalloc') rejectOptions(cmd, ['vmap'], `applies to --layer vmalloc only (this is --layer ${layer})`);
    if (layer !== 'page') rejectOptions(cmd, ['page'], `applies to --layer page only (this is --layer ${layer})`);
    if (layer === 'vmalloc') rejectOptions(cmd, ['workload'], 'does not apply to --layer vmalloc, which runs its own large-buffer workload');
    if (o.trace !== undefined) rejectOptions(cmd, ['workload', 'ops'], 'does not apply when --trace replays a trace');
    else rejectOptions(cmd, ['allow-empty'], 'applies to --trace only');
    const opsGiven = intOpt(o.ops, 'ops', { min: 1 });
    const everyGiven = intOpt(o.every, 'every', { min: 1 });
    const base = configFrom(o, { policies: { vmap: o.vmap } });
    const debug = { ...base.debug, checks: false, trace: false, cost: true };
    const seed = resolveConfig({ ...base, debug }).seed;
    const sampling = (total: number): Omit<SamplerOpts, 'requested' | 'held'> => {
      const every = everyGiven ?? Math.max(1, Math.ceil(total / DEFAULT_SAMPLES));
      return { every, expected: Math.ceil(total / every) + 2, mapAt: parseMapAt(o.mapAt ?? '0,50%', total) };
    };
    const runs: ReportRun[] = [];
    const finish = (policy: string, x: { sys: System; sampler: Sampler }, slab: boolean): void => {
      x.sampler.finish();
      runs.push({ policy, sampler: x.sampler, cost: x.sys.machine.cost!.rows(), ...(slab ? { caches: x.sys.kmem.caches() } : {}) });
    };
    let summary: string;
    let workload: string;
    let machine: CompareMachine | undefined;
    if (layer === 'slab') {
      const ops = opsGiven ?? DEFAULT_OPS.slab;
      workload = o.workload ?? DEFAULT_WORKLOAD.slab;
      if (o.trace === undefined && !SLAB_WORKLOADS.some((w) => w.name === workload)) throw badInput(`--workload: unknown slab workload '${workload}' (known: ${SLAB_WORKLOADS.map((w) => w.name).join(', ')})`);
      let events: KmemEvent[] | undefined;
      if (o.trace !== undefined) {
        const file = o.trace;
        const parsed = parseFile(file, readInputText(file), (t) => parseFtraceKmem(t));
        emptyTrace(file, parsed.events.length, 'kmem events', o.allowEmpty === true);
        events = parsed.events;
        workload = `trace ${file}`;
      }
      const results = policyList(o.slab, 'slab').map((slab) => {
        const live: { set?: LiveSet } = {};
        const x = observed({ ...base, policies: { ...base.policies, slab }, debug }, sampling(events ? events.length : ops), slabProbes(live));
        machine ??= machineOf(x.sys.config);
        const r = events ? runSlabTrace(x.sys, workload, events) : runSlabWorkload(x.sys, workload, ops, x.sys.config.seed, true, (l) => (live.set = l));
        finish(r.policy, x, true);
        return r;
      });
      summary = formatSlabCompare(results, machine);
    } else if (layer === 'page') {
      const ops = opsGiven ?? DEFAULT_OPS.page;
      workload = o.workload ?? DEFAULT_WORKLOAD.page;
      if (!PAGE_WORKLOADS.some((w) => w.name === workload)) throw badInput(`--workload: unknown page workload '${workload}' (known: ${PAGE_WORKLOADS.map((w) => w.name).join(', ')})`);
      const results = policyList(o.page, 'page').map((page) => {
        const x = observed({ ...base, policies: { ...base.policies, page }, debug }, sampling(ops), noProbes);
        machine ??= machineOf(x.sys.config);
        const r = runPageWorkload(x.sys, workload, ops, x.sys.config.seed, true);
        finish(r.policy, x, false);
        return r;
      });
      summary = formatCompare(results, machine);
    } else if (layer === 'vmalloc') {
      const ops = opsGiven ?? DEFAULT_OPS.vmalloc;
      workload = 'large buffers (16 KiB-4 MiB) after fragmenting';
      const results = LARGE_BUFFER_MODES.map((mode) => {
        const x = observed({ ...base, debug }, sampling(ops), noProbes);
        machine ??= machineOf(x.sys.config);
        const r = runLargeBuffers(x.sys, mode, { ops, seed: x.sys.config.seed });
        finish(mode, x, false);
        return r;
      });
      summary = formatVmallocCompare(results, machine);
    } else {
      let trace: UserTrace;
      if (o.trace !== undefined) {
        const file = o.trace;
        trace = parseFile(file, readInputText(file), (t) => parseUserTrace(t, 'auto'));
        emptyTrace(file, trace.n, 'calls', o.allowEmpty === true);
        workload = `trace ${file}, ${formatCount(trace.n)} calls`;
      } else {
        const mix = o.workload ?? DEFAULT_WORKLOAD.user;
        if (!Object.hasOwn(USER_TRACE_MIXES, mix)) throw badInput(`--workload: unknown user workload '${mix}' (known: ${Object.keys(USER_TRACE_MIXES).join(', ')})`);
        trace = generateUserTrace({ seed, ops: opsGiven ?? DEFAULT_OPS.user, mix: mix as UserTraceMixName });
        workload = `generated ${mix} trace, ${formatCount(trace.n)} calls`;
      }
      const results = policyList(o.malloc, 'malloc').map((malloc) => {
        const x = observed({ ...base, policies: { ...base.policies, malloc }, debug }, sampling(trace.n), noProbes);
        machine ??= machineOf(x.sys.config);
        const r = replayUserTrace(x.sys, trace);
        finish(r.policy, x, false);
        return r;
      });
      summary = formatUserCompare(results, machine!, workload);
    }
    const m = machine!;
    // Wall-clock rows measure this machine, not the simulated one, and would make two reports of one command differ.
    summary = summary.split('\n').filter((l) => !WALL_CLOCK_ROW.test(l)).join('\n');
    const facts = reportFacts(
      [
        ['machine', formatMachine(m, `layer ${layer}`).replace(/^machine: /, '')],
        ['workload', workload],
        ['seed', String(m.seed)],
        ['policies', runs.map((r) => r.policy).join(', ')],
        ['sampling', `every ${formatCount(runs[0]!.sampler.every)} operations, ${formatCount(runs[0]!.sampler.table.length)} samples per policy`],
      ],
      argsOf(cmd),
    );
    writeReport(o.out, await renderReport({ title: `allocsim report: ${layer} layer, ${runs.map((r) => r.policy).join(' vs ')}`, facts, summary, runs, slab: layer === 'slab' }));
  });
}

/** The arguments the program was parsed from, after node and the script (commander keeps them as `rawArgs`, untyped). */
function argsOf(cmd: Command): string[] {
  const raw = (cmd.parent as unknown as { rawArgs?: unknown } | null)?.rawArgs;
  return (Array.isArray(raw) ? (raw as string[]) : process.argv).slice(2);
}

/** Writes the report and prints its path. */
function writeReport(path: string, html: string): void {
  writeOutputFile(path, html, '--out');
  process.stdout.write(`${path}\n`);
}
