/**
 * `allocsim compare`: runs one seeded workload through several policies on
 * identical machines and prints a column per policy.
 */

import { Command, Option } from 'commander';
import { AllocatorError } from '../interfaces/errors.js';
import { policyNames } from '../policies/registry.js';
import { createSystem } from '../system.js';
import { PAGE_WORKLOADS, runPageWorkload, type PageWorkloadResult } from '../harness/workloads/page.js';
import { SLAB_WORKLOADS, runSlabTrace, runSlabWorkload, type SlabWorkloadResult } from '../harness/workloads/slab.js';
import { parseFtraceKmemFile } from '../harness/trace/ftrace-kmem.js';
import { configFrom, intOpt, machineOptions, type MachineCliOpts } from './options.js';
import { LARGE_BUFFER_MODES, rescued, runLargeBuffers, type LargeBufferResult } from '../harness/workloads/vmalloc.js';

interface CompareOpts extends MachineCliOpts {
  layer: 'slab' | 'page' | 'vmalloc';
  page?: string;
  slab?: string;
  workload?: string;
  trace?: string;
  ops: string;
  json?: boolean;
}

/** Formats results as an aligned table, one column per policy. */
export function formatCompare(results: readonly PageWorkloadResult[]): string {
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  const rows: [string, (r: PageWorkloadResult) => string][] = [
    ['operations', (r) => String(r.ops)],
    ['wall time (ms)', (r) => r.wallMs.toFixed(1)],
    ['ops/s', (r) => Math.round(r.opsPerSec).toLocaleString('en-US')],
    ['peak pages held', (r) => String(r.peakPages)],
    ['pages held at end', (r) => String(r.finalPages)],
    ['failed allocations', (r) => String(r.failedAllocs)],
    ['  of which fragmentation', (r) => String(r.fragFailures)],
    ['free not in order>=9 blocks', (r) => pct(r.unusableIndex9)],
    ['per-CPU hit rate', (r) => (r.stats.allocs ? pct(r.stats.pcpHits / r.stats.allocs) : '-')],
    ['per-CPU refills', (r) => String(r.stats.pcpRefills)],
    ['splits', (r) => String(r.stats.splits)],
    ['merges', (r) => String(r.stats.merges)],
    ['migrate-type fallbacks', (r) => String(r.stats.fallbacks)],
    ['pageblocks stolen', (r) => String(r.stats.steals)],
  ];
  const head = ['', ...results.map((r) => r.policy)];
  const table = [head, ...rows.map(([label, f]) => [label, ...results.map(f)])];
  const widths = head.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  const first = results[0];
  const title = first ? `workload ${first.workload}, ${first.ops} operations\n` : '';
  return title + table.map((row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')).join('\n') + '\n';
}

/** Formats slab results, one column per policy. */
export function formatSlabCompare(results: readonly SlabWorkloadResult[]): string {
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  const num = (x: number): string => Math.round(x).toLocaleString('en-US');
  const rows: [string, (r: SlabWorkloadResult) => string][] = [
    ['operations', (r) => num(r.ops)],
    ['wall time (ms)', (r) => r.wallMs.toFixed(1)],
    ['ops/s', (r) => num(r.opsPerSec)],
    ['slab pages, peak', (r) => num(r.peakPages)],
    ['slab pages, final', (r) => num(r.finalPages)],
    ['bytes requested', (r) => num(r.bytesRequested)],
    ['bytes allocated', (r) => num(r.bytesAllocated)],
    ['internal fragmentation', (r) => (r.bytesAllocated ? pct(1 - r.bytesRequested / r.bytesAllocated) : '-')],
    ['slab bytes not holding objects', (r) => pct(r.unusedSlabBytes)],
    ['partial slabs at end', (r) => num(r.partialSlabs)],
    ['per-CPU fast-path hits', (r) => pct(r.fastPathHitRate)],
    ['page-allocator calls', (r) => num(r.pageAllocatorCalls)],
    ['failed allocations', (r) => num(r.failedAllocs)],
  ];
  return table(results.map((r) => r.policy), rows.map(([l, f]) => [l, results.map(f)]), results[0] ? `${results[0].workload.startsWith('trace ') ? '' : 'workload '}${results[0].workload}, ${results[0].ops} operations` : '');
}

/** Formats the kmalloc-versus-vmalloc comparison, one column per mode. */
export function formatVmallocCompare(results: readonly LargeBufferResult[]): string {
  const num = (x: number): string => Math.round(x).toLocaleString('en-US');
  const km = results.find((r) => r.mode === 'kmalloc');
  const first = results[0];
  const rows: [string, (r: LargeBufferResult) => string][] = [
    ['requests', (r) => num(r.requests)],
    ['failed', (r) => num(r.failures)],
    ['failed under kmalloc, served here', (r) => (km && r !== km ? num(rescued(km, r)) : '-')],
    ['buffers from vmalloc space', (r) => num(r.vmallocBuffers)],
    ['ns per operation', (r) => num(r.nsPerOp)],
    ['kernel page-table pages', (r) => num(r.pageTablePages)],
    ['kernel TLB flushes (purges)', (r) => num(r.tlbFlushes)],
    ['TLB shootdown IPIs', (r) => num(r.tlbShootdowns)],
  ];
  const title = first
    ? `large buffers (16 KiB-4 MiB) after fragmenting: ${num(first.freePagesAfterFragmenting)} pages free, largest free block order ${first.largestFreeOrder}; ${num(first.ops)} operations`
    : '';
  return table(results.map((r) => r.mode), rows.map(([l, f]) => [l, results.map(f)]), title);
}

function table(heads: string[], rows: [string, string[]][], title: string): string {
  const all = [['', ...heads], ...rows.map(([l, cells]) => [l, ...cells])];
  const widths = all[0]!.map((_, c) => Math.max(...all.map((row) => row[c]!.length)));
  return `${title}\n` + all.map((row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')).join('\n') + '\n';
}

function policyList(text: string | undefined, layer: 'page' | 'slab'): string[] {
  const known = policyNames(layer);
  const names = (text ?? known.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  const bad = names.filter((n) => !known.includes(n));
  if (bad.length || !names.length) throw new AllocatorError('unknown-name', `unknown ${layer} policy '${bad.join(', ')}' (known: ${known.join(', ')})`);
  return names;
}

/** Registers the command. */
export function compareCommand(program: Command): void {
  const cmd = program
    .command('compare')
    .description('run one seeded workload through several policies side by side (SLAB vs SLUB vs SLOB by default; --layer vmalloc: kmalloc vs vmalloc vs kvmalloc for large buffers under fragmentation)')
    .addOption(new Option('--layer <layer>', 'which layer to compare').choices(['slab', 'page', 'vmalloc']).default('slab'))
    .option('--slab <list>', `comma-separated slab policies (${policyNames('slab').join(', ')})`)
    .option('--page <list>', `comma-separated page policies for --layer page (${policyNames('page').join(', ')})`)
    .option('--workload <name>', `built-in workload (slab: ${SLAB_WORKLOADS.map((w) => w.name).join(', ')}; page: ${PAGE_WORKLOADS.map((w) => w.name).join(', ')})`, 'kernel-mix')
    .option('--ops <n>', 'operations', '200000')
    .option('--trace <file>', 'replay this ftrace kmem log (.gz ok) through each slab policy instead of a workload')
    .option('--json', 'print the results as JSON');
  machineOptions(cmd).action((o: CompareOpts) => {
    const ops = intOpt(o.ops, 'ops') ?? 200000;
    const workload = o.workload ?? 'kernel-mix';
    if (o.layer === 'vmalloc') {
      const results = LARGE_BUFFER_MODES.map((mode) => {
        const sys = createSystem({ ...configFrom(o, o.page), debug: { checks: false, trace: false } });
        // This workload's own default (2000): each of its operations moves up to a thousand pages.
        const ops = cmd.getOptionValueSource('ops') === 'default' ? 2000 : (intOpt(o.ops, 'ops') ?? 2000);
        return runLargeBuffers(sys, mode, { ops, seed: sys.config.seed });
      });
      process.stdout.write(o.json ? JSON.stringify(results, null, 2) + '\n' : formatVmallocCompare(results));
      return;
    }
    if (o.layer === 'page') {
      const results = policyList(o.page, 'page').map((page) => {
        const sys = createSystem({ ...configFrom(o, page), debug: { checks: false, trace: false } });
        return runPageWorkload(sys, workload, ops, sys.config.seed);
      });
      process.stdout.write(o.json ? JSON.stringify(results, null, 2) + '\n' : formatCompare(results));
      return;
    }
    const events = o.trace ? parseFtraceKmemFile(o.trace).events : undefined;
    const results = policyList(o.slab, 'slab').map((slab) => {
      const base = configFrom(o, o.page);
      const sys = createSystem({ ...base, policies: { ...base.policies, slab }, debug: { checks: false, trace: false } });
      return events ? runSlabTrace(sys, `trace ${o.trace}`, events) : runSlabWorkload(sys, workload, ops, sys.config.seed);
    });
    process.stdout.write(o.json ? JSON.stringify(results, null, 2) + '\n' : formatSlabCompare(results));
  });
}
