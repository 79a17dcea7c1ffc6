/**
 * `allocsim compare`: runs one seeded workload through several policies on
 * identical machines and prints a column per policy.
 */

import { Command, Option } from 'commander';
import { AllocatorError } from '../interfaces/errors.js';
import { policyNames } from '../policies/registry.js';
import { createSystem } from '../system.js';
import { PAGE_WORKLOADS, runPageWorkload, type PageWorkloadResult } from '../harness/workloads/page.js';
import { configFrom, intOpt, machineOptions, type MachineCliOpts } from './options.js';

interface CompareOpts extends MachineCliOpts {
  page: string;
  workload: string;
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

/** Registers the command. */
export function compareCommand(program: Command): void {
  const cmd = program
    .command('compare')
    .description('run one seeded workload through several policies side by side')
    .option('--page <list>', `comma-separated page-allocator policies (${policyNames('page').join(', ')})`, policyNames('page').join(','))
    .addOption(new Option('--workload <name>', 'built-in workload').choices(PAGE_WORKLOADS.map((w) => w.name)).default('kernel-mix'))
    .option('--ops <n>', 'operations', '200000')
    .option('--json', 'print the results as JSON');
  machineOptions(cmd).action((o: CompareOpts) => {
    const names = o.page.split(',').map((s) => s.trim()).filter(Boolean);
    const known = policyNames('page');
    const bad = names.filter((n) => !known.includes(n));
    if (bad.length || !names.length) throw new AllocatorError('unknown-name', `unknown page policy '${bad.join(', ')}' (known: ${known.join(', ')})`);
    const ops = intOpt(o.ops, 'ops') ?? 200000;
    const results = names.map((page) => {
      const sys = createSystem({ ...configFrom(o, page), debug: { checks: false, trace: false } });
      return runPageWorkload(sys, o.workload, ops, sys.config.seed);
    });
    process.stdout.write(o.json ? JSON.stringify(results, null, 2) + '\n' : formatCompare(results));
  });
}
