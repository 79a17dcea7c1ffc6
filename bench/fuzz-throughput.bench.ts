/**
 * Fuzz throughput: checked commands per second per core, for every layer's
 * campaign (`FUZZ_CAMPAIGNS`), its default policy and machine, 150 commands
 * per run at most, the same seeds each time. Per layer:
 *
 * - commands/s: `report.commandsRun` over the CPU time of the campaign
 *   (`process.cpuUsage`, user + system: per core, and steadier than wall
 *   time when other processes share the machine; fast-check's generation,
 *   the system built per run, the commands, the checks after each one and
 *   the teardown all included), and over its wall time;
 * - setup per run: the same campaign with empty command lists (build the
 *   system, the initial check, teardown), in ms per run;
 * - check share: the fraction of the campaign's time inside the
 *   after-command checks (`CHECK_CLOCK` in fuzz/common.ts: every
 *   `checkSystem`, and the user campaign's heap and tag check).
 *
 * Median of 3 campaigns (seeds 3, 4, 5), after one warm-up campaign.
 * Run alone: `npx tsc -p tsconfig.bench.json && node -e "import('./dist-bench/bench/fuzz-throughput.bench.js').then(m => console.log(m.formatFuzzThroughput(m.runFuzzThroughputBench())))"`.
 */

import { CHECK_CLOCK, FUZZ_LAYERS, type FuzzLayer } from '../fuzz/common.js';
import { FUZZ_CAMPAIGNS } from '../fuzz/registry.js';
import { median } from './debug.bench.js';

/** Commands per run at most. */
const MAX_COMMANDS = 150;

/** Runs per measured campaign, per layer (about 1–3 s each at the baseline). */
const RUNS: Readonly<Record<FuzzLayer, number>> = { page: 100, slab: 100, vmalloc: 40, user: 200 };

/** Seeds of the measured campaigns (the median is reported). */
const SEEDS = [3, 4, 5];

/** One layer's figures. */
export interface FuzzThroughputRow {
  readonly layer: FuzzLayer;
  readonly runs: number;
  /** Commands run (the median campaign's). */
  readonly commands: number;
  /** Checked commands per CPU second (median of the seeds). */
  readonly commandsPerSec: number;
  /** Checked commands per wall-clock second (median of the seeds). */
  readonly wallCommandsPerSec: number;
  /** Build + initial check + teardown of one run, in CPU ms. */
  readonly setupMsPerRun: number;
  /** Fraction of the campaign's wall time spent in the after-command checks. */
  readonly checkShare: number;
}

interface Timed {
  readonly commands: number;
  /** Wall time. */
  readonly ms: number;
  /** CPU time (user + system). */
  readonly cpuMs: number;
  readonly checkMs: number;
}

function campaignOnce(layer: FuzzLayer, seed: number, numRuns: number, maxCommands: number): Timed {
  const campaign = FUZZ_CAMPAIGNS[layer];
  CHECK_CLOCK.on = true;
  CHECK_CLOCK.ms = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const report = campaign.run({}, { seed, numRuns, maxCommands });
  const c = process.cpuUsage(c0);
  const ms = performance.now() - t0;
  CHECK_CLOCK.on = false;
  if (!report.ok) throw new Error(`fuzz-throughput: the ${layer} campaign (seed ${seed}) failed: ${report.failure ?? ''}`);
  return { commands: report.commandsRun, ms, cpuMs: (c.user + c.system) / 1000, checkMs: CHECK_CLOCK.ms };
}

/** Measures one layer. */
export function fuzzThroughput(layer: FuzzLayer, runs = RUNS[layer]): FuzzThroughputRow {
  campaignOnce(layer, 1, Math.max(5, Math.floor(runs / 4)), MAX_COMMANDS);
  const timed = SEEDS.map((seed) => campaignOnce(layer, seed, runs, MAX_COMMANDS));
  const rates = timed.map((t) => t.commands / (t.cpuMs / 1000));
  const rate = median(rates);
  const mid = timed[rates.indexOf(rate)]!;
  const wall = median(timed.map((t) => t.commands / (t.ms / 1000)));
  const setup = median(SEEDS.map((seed) => campaignOnce(layer, seed, runs, 0).cpuMs / runs));
  return { layer, runs, commands: mid.commands, commandsPerSec: rate, wallCommandsPerSec: wall, setupMsPerRun: setup, checkShare: mid.checkMs / mid.ms };
}

/** Every layer with a campaign, in FUZZ_LAYERS order (or the ones named). */
export function runFuzzThroughputBench(layers: readonly FuzzLayer[] = FUZZ_LAYERS): FuzzThroughputRow[] {
  return layers.map((l) => fuzzThroughput(l));
}

/** The rows as a Markdown table. */
export function formatFuzzThroughput(rows: readonly FuzzThroughputRow[]): string {
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  return [
    `| fuzz layer (${MAX_COMMANDS} commands/run at most) | runs | checked commands per CPU s | per wall s | setup CPU ms/run | time in checks |`,
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.layer} | ${r.runs} | ${fmt(r.commandsPerSec)} | ${fmt(r.wallCommandsPerSec)} | ${r.setupMsPerRun.toFixed(2)} | ${(r.checkShare * 100).toFixed(0)} % |`),
  ].join('\n');
}
