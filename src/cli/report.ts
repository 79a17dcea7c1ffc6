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

import type { Command } from 'commander';
import { PAGE_SIZE } from '../interfaces/units.js';
import type { System } from '../system.js';
import { liveRequestedBytes, type LiveSet } from '../harness/workloads/slab.js';
import { Sampler, type SamplerOpts } from '../harness/observe/sampler.js';
import { renderReport, type ReportRun } from '../harness/observe/html.js';
import { badInput } from './errors.js';
import { checkOutputPath, writeOutputFile } from './files.js';
import { formatComparison, formatMachine } from './compare.js';
import { checkComparison, comparisonOptions, runComparison, type ComparisonOpts } from './comparison.js';
import { formatCount } from './format.js';
import { configFrom, debugOptions, intOpt, machineOptions, rejectOptions } from './options.js';
import { fuzzReport } from './report-fuzz.js';
import { reportFacts } from './report-facts.js';

interface ReportOpts extends ComparisonOpts {
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

/** Slab layer: requested = live objects' requested bytes (workload) or in-use objects × object size (trace); held = slab pages. */
function slabProbes(sys: System, live: () => LiveSet | undefined): Pick<SamplerOpts, 'requested' | 'held'> {
  return {
    requested: () => {
      const set = live();
      if (set) return liveRequestedBytes(set);
      let sum = 0;
      for (const c of sys.kmem.caches()) sum += c.counters.inUse * c.geometry.objectSize;
      return sum + sys.kmem.kmemStats().largePages * PAGE_SIZE;
    },
    held: () => {
      const [a, b] = sys.kmem.slabPages();
      return (a + b) * PAGE_SIZE;
    },
  };
}

/** Registers the command. */
export function reportCommand(program: Command): void {
  const cmd = comparisonOptions(
    program
      .command('report')
      .description("run a comparison (as compare does) while sampling the system, and write one self-contained HTML report: time series per policy, physical memory maps, slabinfo and cost tables; --findings DIR: a fuzz campaign's findings and coverage curve"),
  )
    .option('--every <n>', `sample every N operations (default: ${DEFAULT_SAMPLES} samples per run)`)
    .option('--map-at <list>', 'memory maps after these operation counts or percentages of the run, besides the one at the end (default: 0,50%)')
    .option('--findings <dir>', "report a fuzz campaign's findings directory instead of running a comparison")
    .option('--out <file>', 'the HTML file to write', DEFAULT_REPORT_FILE);
  debugOptions(machineOptions(cmd), ['slub-debug', 'kasan', 'page-poison']).action(async (o: ReportOpts) => {
    checkOutputPath(o.out, '--out');
    if (o.findings !== undefined) {
      rejectOptions(cmd, ['layer', 'slab', 'page', 'vmap', 'malloc', 'workload', 'ops', 'trace', 'allow-empty', 'every', 'map-at', 'mem', 'cpus', 'nodes', 'kernel-image', 'seed', 'config', 'slub-debug', 'kasan', 'page-poison'], 'does not apply to --findings, which reports a finished campaign');
      writeReport(o.out, await fuzzReport(o.findings, argsOf(cmd)));
      return;
    }
    checkComparison(cmd, o);
    const layer = o.layer;
    intOpt(o.ops, 'ops', { min: 1 }); // a report of no operations has nothing to draw
    const everyGiven = intOpt(o.every, 'every', { min: 1 });
    const base = configFrom(o, { policies: { vmap: o.vmap } });
    const mapAt = o.mapAt;
    if (mapAt !== undefined) parseMapAt(mapAt, 0); // bad input before any run
    const samplers: Sampler[] = [];
    const c = runComparison(
      o,
      { ...base, debug: { ...base.debug, checks: false, trace: false, cost: true } },
      {
        keep: true,
        start: (sys, total, live) => {
          const every = everyGiven ?? Math.max(1, Math.ceil(total / DEFAULT_SAMPLES));
          const probes = layer === 'slab' ? slabProbes(sys, live) : {};
          samplers.push(new Sampler(sys, { every, expected: Math.ceil(total / every) + 2, mapAt: parseMapAt(mapAt ?? '0,50%', total), ...probes }));
        },
      },
    );
    const runs: ReportRun[] = c.columns.map((x, i) => ({
      policy: x.name,
      sampler: samplers[i]!.finish(),
      cost: x.sys.machine.cost!.rows(),
      ...(layer === 'slab' ? { caches: x.sys.kmem.caches() } : {}),
    }));
    const m = c.machine;
    const workload = c.layer === 'vmalloc' ? 'large buffers (16 KiB-4 MiB) after fragmenting' : c.workload;
    // Wall-clock rows measure this machine, not the simulated one, and would make two reports of one command differ.
    const summary = formatComparison(c)
      .split('\n')
      .filter((l) => !WALL_CLOCK_ROW.test(l))
      .join('\n');
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
