/**
 * What `compare` and `report` share: the options that choose a layer, its
 * policies and a workload or trace, their validation, and the run of one
 * seeded workload through every policy on identical machines. `compare`
 * prints the columns; `report` watches each system while it runs (a hook
 * gets the system before its first operation) and draws them.
 */

import { Command, Option } from 'commander';
import type { SystemConfig, SystemConfigInput } from '../interfaces/config.js';
import { policyNames } from '../policies/registry.js';
import { createSystem, resolveConfig, type System } from '../system.js';
import { PAGE_WORKLOADS, runPageWorkload, type PageWorkloadResult } from '../harness/workloads/page.js';
import { SLAB_WORKLOADS, runSlabTrace, runSlabWorkload, type LiveSet, type SlabWorkloadResult } from '../harness/workloads/slab.js';
import { parseFtraceKmem, type KmemEvent } from '../harness/trace/ftrace-kmem.js';
import { parseUserTrace, type UserTrace } from '../harness/user/trace.js';
import { USER_TRACE_MIXES, generateUserTrace, type UserTraceMixName } from '../harness/user/trace-gen.js';
import { replayUserTrace, type UserReplayResult } from '../harness/user/replayer.js';
import { LARGE_BUFFER_MODES, runLargeBuffers, type LargeBufferResult } from '../harness/workloads/vmalloc.js';
import { badInput } from './errors.js';
import { emptyTrace, parseFile, readInputText } from './files.js';
import { formatCount } from './format.js';
import { intOpt, policyList, policyOption, rejectOptions, type DebugCliOpts, type MachineCliOpts } from './options.js';

/** The layers a comparison runs at. */
export type CompareLayer = 'slab' | 'page' | 'vmalloc' | 'user';

/** The options of a comparison, as commander parses them. */
export interface ComparisonOpts extends MachineCliOpts, DebugCliOpts {
  layer: CompareLayer;
  page?: string;
  slab?: string;
  malloc?: string;
  vmap?: string;
  workload?: string;
  trace?: string;
  allowEmpty?: boolean;
  ops?: string;
}

/** Operations when `--ops` is not given, per layer (a vmalloc operation moves up to a thousand pages). */
export const DEFAULT_OPS: Readonly<Record<CompareLayer, number>> = { slab: 200000, page: 200000, vmalloc: 2000, user: 100000 };
/** Workload when `--workload` is not given. */
const DEFAULT_WORKLOAD: Readonly<Record<'slab' | 'page' | 'user', string>> = { slab: 'kernel-mix', page: 'kernel-mix', user: 'mixed' };

/** The machine every column ran on. */
export interface CompareMachine {
  readonly memBytes: number;
  readonly cpus: number;
  readonly nodes: number;
  readonly seed: number;
}

/** The machine of a configuration. */
export function machineOf(c: SystemConfig): CompareMachine {
  return { memBytes: c.machine.memBytes, cpus: c.machine.cpus, nodes: c.machine.nodes, seed: c.seed };
}

/** Adds the options that choose the layer, its policies and the workload or trace. */
export function comparisonOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--layer <layer>', 'which layer to compare').choices(['slab', 'page', 'vmalloc', 'user']).default('slab'))
    .option('--slab <list>', `--layer slab: comma-separated slab policies or policy files (default: all of ${policyNames('slab').join(', ')})`)
    .option('--page <list>', `--layer page: comma-separated page policies or policy files (default: all of ${policyNames('page').join(', ')})`)
    .addOption(policyOption('vmap', '--layer vmalloc: the vmap-space policy under every column'))
    .option('--malloc <list>', `--layer user: comma-separated user-space mallocs or policy files (default: all of ${policyNames('malloc').join(', ')})`)
    .option('--workload <name>', `built-in workload (slab: ${SLAB_WORKLOADS.map((w) => w.name).join(', ')}; page: ${PAGE_WORKLOADS.map((w) => w.name).join(', ')}; user: a generated ${Object.keys(USER_TRACE_MIXES).join(' or ')} trace; default: kernel-mix, user: mixed; --layer vmalloc has its own)`)
    .option('--ops <n>', `operations (default: ${formatCount(DEFAULT_OPS.slab)}; --layer vmalloc: ${formatCount(DEFAULT_OPS.vmalloc)})`)
    .option('--trace <file>', '--layer slab: replay this ftrace kmem log (.gz ok) through each slab policy; --layer user: this malloc trace (rep, plain, wee, mtrace, jsonl) through each malloc')
    .option('--allow-empty', 'with --trace: replay a trace with no kmem events instead of stopping');
}

/** Rejects the options that belong to another layer, or to a workload when a trace is replayed. @throws AllocatorError `usage` */
export function checkComparison(cmd: Command, o: ComparisonOpts): void {
  const layer = o.layer;
  if (layer !== 'slab') rejectOptions(cmd, ['slab', 'slub-debug', 'kasan'], `applies to --layer slab only (this is --layer ${layer})`);
  if (layer !== 'slab' && layer !== 'user') rejectOptions(cmd, ['trace'], `applies to --layer slab and --layer user only (this is --layer ${layer})`);
  if (layer !== 'user') rejectOptions(cmd, ['malloc'], `applies to --layer user only (this is --layer ${layer})`);
  if (layer !== 'vmalloc') rejectOptions(cmd, ['vmap'], `applies to --layer vmalloc only (this is --layer ${layer})`);
  if (layer !== 'page') rejectOptions(cmd, ['page'], `applies to --layer page only (this is --layer ${layer}); the page allocator under the other layers comes from --config`);
  if (layer === 'vmalloc') rejectOptions(cmd, ['workload'], 'does not apply to --layer vmalloc, which runs its own large-buffer workload');
  if (o.trace !== undefined) rejectOptions(cmd, ['workload', 'ops'], 'does not apply when --trace replays a trace');
  else rejectOptions(cmd, ['allow-empty'], 'applies to --trace only');
}

/** One column of a comparison: its name (policy or mode), its system after the run, and what the run measured. */
export interface Column<R> {
  readonly name: string;
  readonly sys: System;
  readonly r: R;
}

/** A finished comparison, by layer. */
export type Comparison = { readonly machine: CompareMachine; readonly ops: number } & (
  | { readonly layer: 'slab'; readonly workload: string; readonly columns: readonly Column<SlabWorkloadResult>[] }
  | { readonly layer: 'page'; readonly workload: string; readonly columns: readonly Column<PageWorkloadResult>[] }
  | { readonly layer: 'vmalloc'; readonly workload: 'large-buffers'; readonly columns: readonly Column<LargeBufferResult>[] }
  | { readonly layer: 'user'; readonly workload: string; readonly columns: readonly Column<UserReplayResult>[] }
);

/** How a caller watches the runs. */
export interface ComparisonHooks {
  /**
   * Called with each column's system before its first operation.
   * @param total - the operations the run will make (trace events for a trace)
   * @param live - the slab workload's live set, once the run has made it (undefined for other runs)
   */
  start?(sys: System, total: number, live: () => LiveSet | undefined): void;
  /** Leave a workload's objects allocated at the end (the last map shows them). @defaultValue false */
  readonly keep?: boolean;
}

/**
 * Runs a comparison: the chosen workload or trace through every policy of
 * the layer, each on a fresh system of the same configuration.
 *
 * @param base - the configuration every column shares (its policies of the compared layer are replaced column by column)
 * @throws AllocatorError `usage` for an unknown workload, `input` for a bad trace
 */
export function runComparison(o: ComparisonOpts, base: SystemConfigInput, hooks: ComparisonHooks = {}): Comparison {
  const layer = o.layer;
  const ops = intOpt(o.ops, 'ops') ?? DEFAULT_OPS[layer];
  const keep = hooks.keep === true;
  const noLive = (): undefined => undefined;
  /** A column's system, shown to the hook before the run. */
  const systemFor = (input: SystemConfigInput, total: number, live: () => LiveSet | undefined = noLive): System => {
    const sys = createSystem(input);
    hooks.start?.(sys, total, live);
    return sys;
  };
  if (layer === 'vmalloc') {
    const columns = LARGE_BUFFER_MODES.map((mode) => {
      // The hook sees the system once memory is fragmented: the large-buffer requests are the run.
      const sys = createSystem(base);
      return { name: mode, sys, r: runLargeBuffers(sys, mode, { ops, seed: sys.config.seed, onStart: () => hooks.start?.(sys, ops, noLive) }) };
    });
    return { layer, machine: machineOf(columns[0]!.sys.config), ops, workload: 'large-buffers', columns };
  }
  if (layer === 'user') {
    let trace: UserTrace;
    let workload: string;
    if (o.trace !== undefined) {
      const file = o.trace;
      trace = parseFile(file, readInputText(file), (t) => parseUserTrace(t, 'auto'));
      emptyTrace(file, trace.n, 'calls', o.allowEmpty === true);
      workload = `trace ${file}, ${formatCount(trace.n)} calls`;
    } else {
      const mix = o.workload ?? DEFAULT_WORKLOAD.user;
      if (!Object.hasOwn(USER_TRACE_MIXES, mix)) throw badInput(`--workload: unknown user workload '${mix}' (known: ${Object.keys(USER_TRACE_MIXES).join(', ')})`);
      trace = generateUserTrace({ seed: resolveConfig(base).seed, ops, mix: mix as UserTraceMixName });
      workload = `generated ${mix} trace, ${formatCount(trace.n)} calls`;
    }
    const columns = policyList(o.malloc, 'malloc').map((malloc) => {
      const sys = systemFor({ ...base, policies: { ...base.policies, malloc } }, trace.n);
      const r = replayUserTrace(sys, trace);
      return { name: r.policy, sys, r };
    });
    return { layer, machine: machineOf(columns[0]!.sys.config), ops: trace.n, workload, columns };
  }
  if (layer === 'page') {
    const workload = o.workload ?? DEFAULT_WORKLOAD.page;
    if (!PAGE_WORKLOADS.some((w) => w.name === workload)) throw badInput(`--workload: unknown page workload '${workload}' (known: ${PAGE_WORKLOADS.map((w) => w.name).join(', ')})`);
    const columns = policyList(o.page, 'page').map((page) => {
      const sys = systemFor({ ...base, policies: { ...base.policies, page } }, ops);
      const r = runPageWorkload(sys, workload, ops, sys.config.seed, keep);
      return { name: r.policy, sys, r };
    });
    return { layer, machine: machineOf(columns[0]!.sys.config), ops, workload, columns };
  }
  let workload = o.workload ?? DEFAULT_WORKLOAD.slab;
  if (o.trace === undefined && !SLAB_WORKLOADS.some((w) => w.name === workload)) throw badInput(`--workload: unknown slab workload '${workload}' (known: ${SLAB_WORKLOADS.map((w) => w.name).join(', ')})`);
  let events: KmemEvent[] | undefined;
  if (o.trace !== undefined) {
    const file = o.trace;
    const parsed = parseFile(file, readInputText(file), (t) => parseFtraceKmem(t));
    emptyTrace(file, parsed.events.length, 'kmem events', o.allowEmpty === true);
    events = parsed.events;
    workload = `trace ${file}`;
  }
  const columns = policyList(o.slab, 'slab').map((slab) => {
    let live: LiveSet | undefined;
    const sys = systemFor({ ...base, policies: { ...base.policies, slab } }, events ? events.length : ops, () => live);
    const r = events ? runSlabTrace(sys, workload, events) : runSlabWorkload(sys, workload, ops, sys.config.seed, keep, (l) => (live = l));
    return { name: r.policy, sys, r };
  });
  return { layer, machine: machineOf(columns[0]!.sys.config), ops: columns[0]!.r.ops, workload, columns };
}
