#!/usr/bin/env node
/**
 * The `allocsim` command. Every subcommand builds its systems through
 * `createSystem`, prints text by default and one JSON document with
 * `--json`, and keeps the exit-status contract of `./errors.js`: 0 success,
 * 1 a finding, 2 bad input (one line `allocsim: …` on stderr), 70 an
 * internal error.
 */

import { Command, Option } from 'commander';
import { POLICIES, POLICY_LAYERS, type Layer, type PolicyEntry } from '../policies/registry.js';
import { loadPolicyFiles } from '../plugin/load.js';
import { createSystem, type System } from '../system.js';
import { PAGE_WORKLOADS, runPageWorkload } from '../harness/workloads/page.js';
import { SLAB_WORKLOADS } from '../harness/workloads/slab.js';
import { buddyinfo, meminfo, pagetypeinfo, zoneinfo } from '../proc/page.js';
import { compareCommand } from './compare.js';
import { topCommand } from './top.js';
import { reportCommand } from './report.js';
import { slabinfoCommand } from './slabinfo.js';
import { replayCommand } from './replay.js';
import { scenarioCommand } from './scenario.js';
import { workerCommand } from './worker.js';
import { fuzzCommand, mallocFuzzAlias } from './fuzz.js';
import { benchCommand } from './bench.js';
import { newCommand } from './new.js';
import { runVmallocMix } from '../harness/workloads/vmalloc.js';
import { vmallocinfo } from '../proc/vmalloc.js';
import { clientBugsCommand } from './client-bugs.js';
import { mutantsCommand } from './mutants.js';
import { configFileOf, configFrom, intOpt, machineOptions, policyOption, rejectOptions, type MachineCliOpts } from './options.js';
import { adoptContract, printJson, reportError } from './errors.js';
import { checkOutputPath, writeOutputFile } from './files.js';

import { VERSION } from '../version.js';

/** The version `--version` prints. */
export { VERSION };

interface ProcOpts extends MachineCliOpts {
  page?: string;
  workload?: string;
  ops: string;
  trace?: string;
  json?: boolean;
}

/**
 * /proc/meminfo as JSON: each field of the text, by name, with the number
 * the text shows (kB, except the HugePages_ counts).
 */
export function meminfoFields(text: string): Record<string, number> {
  const fields: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^([^:]+):\s+(\d+)(?: kB)?$/.exec(line);
    if (m) fields[m[1]!] = Number(m[2]);
  }
  return fields;
}

function procCommand(program: Command, name: string, json: string, print: (sys: System, json: boolean) => string): void {
  const cmd = program
    .command(name)
    .description(`print /proc/${name} of a freshly booted machine, optionally after a seeded page workload`)
    .addOption(policyOption('page', 'page-allocator policy'))
    .addOption(new Option('--workload <name>', 'run a seeded page workload first and keep its pages').choices(PAGE_WORKLOADS.map((w) => w.name)))
    .option('--ops <n>', 'operations of the workload (with --workload)', '100000')
    .option('--trace <file>', 'write the ftrace events (mm_page_alloc, mm_page_free, …) of the workload to FILE (with --workload)')
    .option('--json', `print ${json} as JSON`);
  machineOptions(cmd).action((o: ProcOpts) => {
    if (!o.workload) rejectOptions(cmd, ['ops', 'trace'], 'applies to a --workload run; give --workload too');
    const ops = intOpt(o.ops, 'ops') ?? 100000;
    if (o.trace !== undefined) checkOutputPath(o.trace, '--trace');
    const sys = createSystem(configFrom(o, { policies: { page: o.page }, debug: { trace: o.trace !== undefined ? true : undefined } }));
    if (o.workload) runPageWorkload(sys, o.workload, ops, sys.config.seed, true);
    process.stdout.write(print(sys, o.json === true));
    if (o.trace !== undefined) writeOutputFile(o.trace, sys.machine.tracer.format(), '--trace');
  });
}


/** Every policy a command's options and its `--config` file name, by layer (comma lists split). */
function policySpecs(o: Record<string, unknown>): Partial<Record<Layer, string[]>> {
  const specs: Partial<Record<Layer, string[]>> = {};
  const add = (layer: Layer, v: unknown): void => {
    if (typeof v === 'string') (specs[layer] ??= []).push(...v.split(',').map((x) => x.trim()).filter(Boolean));
  };
  for (const layer of POLICY_LAYERS) add(layer, o[layer]);
  const policies = configFileOf(o).policies ?? {};
  for (const layer of POLICY_LAYERS) add(layer, policies[layer]);
  return specs;
}

/** Builds the command tree, under the contract of `./errors.js`. */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name('allocsim')
    .description('Simulate the Linux memory-allocation stack and fuzz it for corruption bugs')
    .version(VERSION)
    // A subcommand's options are its own (`fuzz merge --out` is not fuzz's --out): commander needs this on every level.
    .enablePositionalOptions()
    .addHelpText('after', '\nExit status: 0 success, 1 a finding (a detected bug, a failed invariant), 2 bad input, 70 an internal error.');
  const zonesJson = (sys: System): string => JSON.stringify(sys.pages.zones(), null, 2) + '\n';
  procCommand(program, 'buddyinfo', 'the zones', (sys, json) => (json ? zonesJson(sys) : buddyinfo(sys.pages)));
  procCommand(program, 'pagetypeinfo', 'the zones', (sys, json) => (json ? zonesJson(sys) : pagetypeinfo(sys.pages)));
  procCommand(program, 'zoneinfo', 'the zones', (sys, json) => {
    const [rec, unrec] = sys.kmem.slabPages();
    // Slab pages are reported on node 0 (the slab layer does not split its counters by node).
    return json ? zonesJson(sys) : zoneinfo(sys.pages, sys.machine, (node): Record<string, number> => (node === 0 ? { nr_slab_reclaimable: rec, nr_slab_unreclaimable: unrec } : {}));
  });
  procCommand(program, 'meminfo', 'the fields (name: number, in kB as the text shows them)', (sys, json) => {
    const [slabReclaimable, slabUnreclaimable] = sys.kmem.slabPages();
    const text = meminfo(sys.pages, { slabReclaimable, slabUnreclaimable, commitLimit: sys.processes.vm.commitLimit(), committedAs: sys.processes.vm.committed });
    return json ? JSON.stringify(meminfoFields(text), null, 2) + '\n' : text;
  });
  const vmcmd = program
    .command('vmallocinfo')
    .description('print /proc/vmallocinfo (and the vmalloc lines of /proc/meminfo) after a seeded mix of the vmalloc users of a booted kernel')
    .addOption(policyOption('vmap', 'vmap-area policy'))
    .option('--ops <n>', 'operations of the mix', '200')
    .option('--json', 'print the areas and counters as JSON');
  machineOptions(vmcmd).action((o: MachineCliOpts & { vmap?: string; ops: string; json?: boolean }) => {
    const ops = intOpt(o.ops, 'ops') ?? 200;
    const sys = createSystem(configFrom(o, { policies: { vmap: o.vmap } }));
    runVmallocMix(sys, ops, sys.config.seed);
    const v = sys.vmalloc;
    if (o.json) {
      printJson({ areas: v.areas(), stats: v.stats() });
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
  topCommand(program);
  reportCommand(program);
  fuzzCommand(program);
  workerCommand(program);
  clientBugsCommand(program);
  mutantsCommand(program);
  mallocFuzzAlias(program);
  benchCommand(program);
  newCommand(program);
  program
    .command('list')
    .description('list policies and workloads')
    .option('--json', 'print as JSON')
    .action((o: { json?: boolean }) => {
      const data = {
        policies: Object.fromEntries(Object.entries(POLICIES).map(([layer, ps]) => [layer, Object.fromEntries(Object.entries(ps as Record<string, PolicyEntry>).map(([n, p]) => [n, p.summary]))])),
        workloads: { page: Object.fromEntries(PAGE_WORKLOADS.map((w) => [w.name, w.summary])), slab: Object.fromEntries(SLAB_WORKLOADS.map((w) => [w.name, w.summary])) },
      };
      if (o.json) printJson(data);
      else {
        for (const [layer, ps] of Object.entries(data.policies)) {
          process.stdout.write(`${layer} policies:\n`);
          for (const [n, s] of Object.entries(ps)) process.stdout.write(`  ${n.padEnd(14)} ${s}\n`);
        }
        for (const [layer, ws] of Object.entries(data.workloads)) {
          process.stdout.write(`${layer} workloads:\n`);
          for (const [n, s] of Object.entries(ws)) process.stdout.write(`  ${n.padEnd(18)} ${s}\n`);
        }
      }
    });
  // Policy files named by an option or by the --config file are loaded and checked before any command runs.
  program.hook('preAction', async (_program, action) => {
    await loadPolicyFiles(policySpecs(action.opts()));
  });
  return adoptContract(program);
}

/** Runs the CLI; returns the exit status ({@link EXIT} of `./errors.js`). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  process.exitCode = 0;
  try {
    await program.parseAsync(argv);
    // A command reports a finding by setting process.exitCode (a fuzz failure, a missed client bug).
    return Number(process.exitCode ?? 0);
  } catch (e) {
    return reportError(e);
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
