#!/usr/bin/env node
/**
 * The `allocsim` command. Every subcommand builds its systems through
 * `createSystem`, prints text by default and JSON with `--json`, and turns
 * every error into one line on stderr with a non-zero exit status.
 */

import { writeFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { AllocatorError } from '../interfaces/errors.js';
import { POLICIES, policyNames, type PolicyEntry } from '../policies/registry.js';
import { createSystem, type System } from '../system.js';
import { PAGE_WORKLOADS, runPageWorkload } from '../harness/workloads/page.js';
import { buddyinfo, meminfo, pagetypeinfo, zoneinfo } from '../proc/page.js';
import { compareCommand } from './compare.js';
import { slabinfoCommand } from './slabinfo.js';
import { replayCommand } from './replay.js';
import { scenarioCommand } from './scenario.js';
import { fuzzCommand, mallocFuzzAlias } from './fuzz.js';
import { runVmallocMix } from '../harness/workloads/vmalloc.js';
import { vmallocinfo } from '../proc/vmalloc.js';
import { clientBugsCommand } from './client-bugs.js';
import { configFrom, intOpt, machineOptions, type MachineCliOpts } from './options.js';

interface ProcOpts extends MachineCliOpts {
  workload?: string;
  ops?: string;
  json?: boolean;
}

function procCommand(program: Command, name: string, what: string, print: (sys: System, json: boolean) => string): void {
  const cmd = program
    .command(name)
    .description(`print /proc/${name} of a freshly booted machine, optionally after a workload`)
    .addOption(new Option('--page <policy>', 'page-allocator policy').choices(policyNames('page')).default('buddy'))
    .addOption(new Option('--workload <name>', 'run a seeded workload first and keep its pages').choices(PAGE_WORKLOADS.map((w) => w.name)))
    .option('--ops <n>', 'operations of the workload', '100000')
    .option('--trace <file>', 'write the ftrace events (mm_page_alloc, mm_page_free, …) of the run to FILE')
    .option('--json', `print ${what} as JSON`);
  machineOptions(cmd).action((o: ProcOpts) => {
    const sys = createSystem(configFrom(o, o.page));
    if (o.workload) runPageWorkload(sys, o.workload, intOpt(o.ops, 'ops') ?? 100000, sys.config.seed, true);
    process.stdout.write(print(sys, o.json === true));
    if (o.trace) writeFileSync(o.trace, sys.machine.tracer.format());
  });
}

/** Builds the command tree. */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name('allocsim')
    .description('Simulate the Linux memory-allocation stack and fuzz it for corruption bugs')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const zonesJson = (sys: System): string => JSON.stringify(sys.pages.zones(), null, 2) + '\n';
  procCommand(program, 'buddyinfo', 'the zones', (sys, json) => (json ? zonesJson(sys) : buddyinfo(sys.pages)));
  procCommand(program, 'pagetypeinfo', 'the zones', (sys, json) => (json ? zonesJson(sys) : pagetypeinfo(sys.pages)));
  procCommand(program, 'zoneinfo', 'the zones', (sys, json) => {
    const [rec, unrec] = sys.kmem.slabPages();
    // Slab pages are reported on node 0 (the slab layer does not split its counters by node).
    return json ? zonesJson(sys) : zoneinfo(sys.pages, sys.machine, (node): Record<string, number> => (node === 0 ? { nr_slab_reclaimable: rec, nr_slab_unreclaimable: unrec } : {}));
  });
  procCommand(program, 'meminfo', 'the statistics', (sys, json) => {
    const [slabReclaimable, slabUnreclaimable] = sys.kmem.slabPages();
    return json ? JSON.stringify({ pages: sys.pages.stats(), slab: sys.slab.stats(), kmem: sys.kmem.kmemStats() }, null, 2) + '\n' : meminfo(sys.pages, { slabReclaimable, slabUnreclaimable });
  });
  const vmcmd = program
    .command('vmallocinfo')
    .description('print /proc/vmallocinfo (and the vmalloc lines of /proc/meminfo) after a seeded mix of the vmalloc users of a booted kernel')
    .addOption(new Option('--vmap <policy>', 'vmap-area policy').choices(policyNames('vmap')).default('tree'))
    .option('--ops <n>', 'operations of the mix', '200')
    .option('--json', 'print the areas and counters as JSON');
  machineOptions(vmcmd).action((o: MachineCliOpts & { vmap: string; ops: string; json?: boolean }) => {
    const base = configFrom(o);
    const sys = createSystem({ ...base, policies: { ...base.policies, vmap: o.vmap } });
    runVmallocMix(sys, intOpt(o.ops, 'ops') ?? 200, sys.config.seed);
    const v = sys.vmalloc;
    if (o.json) {
      process.stdout.write(JSON.stringify({ areas: v.areas(), stats: v.stats() }, null, 2) + '\n');
      return;
    }
    const used = meminfo(sys.pages, { vmallocUsed: v.stats().pages })
      .split('\n')
      .filter((l) => l.startsWith('Vmalloc'));
    process.stdout.write(vmallocinfo(v.areas()) + '\n' + used.join('\n') + '\n');
  });
  slabinfoCommand(program);
  replayCommand(program);
  scenarioCommand(program);
  compareCommand(program);
  fuzzCommand(program);
  clientBugsCommand(program);
  mallocFuzzAlias(program);
  program
    .command('list')
    .description('list policies and workloads')
    .option('--json', 'print as JSON')
    .action((o: { json?: boolean }) => {
      const data = {
        policies: Object.fromEntries(Object.entries(POLICIES).map(([layer, ps]) => [layer, Object.fromEntries(Object.entries(ps as Record<string, PolicyEntry>).map(([n, p]) => [n, p.summary]))])),
        workloads: { page: Object.fromEntries(PAGE_WORKLOADS.map((w) => [w.name, w.summary])) },
      };
      if (o.json) process.stdout.write(JSON.stringify(data, null, 2) + '\n');
      else {
        for (const [layer, ps] of Object.entries(data.policies)) {
          process.stdout.write(`${layer} policies:\n`);
          for (const [n, s] of Object.entries(ps)) process.stdout.write(`  ${n.padEnd(14)} ${s}\n`);
        }
        process.stdout.write('page workloads:\n');
        for (const [n, s] of Object.entries(data.workloads.page)) process.stdout.write(`  ${n.padEnd(14)} ${s}\n`);
      }
    });
  return program;
}

/** Runs the CLI; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  process.exitCode = 0;
  try {
    await program.parseAsync(argv);
    // A command reports failure by setting process.exitCode (a fuzz finding, a missed client bug).
    return Number(process.exitCode ?? 0);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (e instanceof AllocatorError) {
      process.stderr.write(`allocsim: ${e.message}\n`);
      return e.kind === 'parse' || e.kind === 'config' || e.kind === 'unknown-name' ? 2 : 1;
    }
    process.stderr.write(`allocsim: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 70;
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  // A closed pipe (`allocsim … | head`) ends the program quietly, as a Unix tool should.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  process.exitCode = await main(process.argv);
}
