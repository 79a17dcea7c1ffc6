/**
 * `allocsim bench`: the benchmark cases of one layer (benchmark.js, debug
 * checks off) for several policies side by side — built-in names or policy
 * files — with each rate also as a ratio to the first policy measured in the
 * same run, the anchor. `npm run bench` runs the same cases for the
 * built-ins and records them in bench/RESULTS.md.
 */

import { cpus, totalmem } from 'node:os';
import { Command, Option } from 'commander';
import { BENCH_CASES, runBench } from '../harness/bench/cases.js';
import { POLICY_LAYERS as LAYERS, builtinPolicyNames, policyEntry, type Layer } from '../policies/registry.js';
import { badInput, printJson } from './errors.js';
import { formatCount, formatDecimal, formatTable } from './format.js';
import { policyList, rejectOptions } from './options.js';
import { commitOf } from './report-facts.js';
import { VERSION } from '../version.js';

interface BenchOpts {
  layer: Layer;
  page?: string;
  slab?: string;
  malloc?: string;
  vmap?: string;
  maxTime?: string;
  json?: boolean;
}

/** Registers the command. */
export function benchCommand(program: Command): void {
  const cmd = program
    .command('bench')
    .description('time the benchmark cases of a layer for several policies (built-in names or policy files) side by side, each as a ratio to the first')
    .addOption(new Option('--layer <layer>', 'layer to benchmark').choices(LAYERS).default('slab'));
  for (const l of LAYERS) cmd.option(`--${l} <list>`, `--layer ${l}: comma-separated policies or policy files (default: all of ${builtinPolicyNames(l).join(', ')})`);
  cmd
    .option('--max-time <seconds>', 'seconds per case and policy (default 1)')
    .option('--json', 'print the rates as one JSON document')
    .action((o: BenchOpts) => {
      const layer = o.layer;
      rejectOptions(cmd, LAYERS.filter((l) => l !== layer), `selects policies of another layer; this run benchmarks --layer ${layer}`);
      const maxTime = o.maxTime === undefined ? 1 : Number(o.maxTime);
      if (!(Number.isFinite(maxTime) && maxTime > 0 && maxTime <= 60)) throw badInput(`--max-time expects seconds in (0, 60], got '${o.maxTime}'`);
      const names = policyList(o[layer], layer);
      const results = runBench(layer, names, maxTime);
      const cases = BENCH_CASES[layer];
      // Where the numbers were measured, so a prototype's speed can be set beside the built-ins' (bench/RESULTS.md).
      const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version, allocsim: VERSION, commit: commitOf() ?? null };
      if (o.json) {
        printJson({ layer, maxTime, machine, anchor: names[0], results: results.map((r) => ({ ...r, ratio: r.hz / results.find((a) => a.name === r.name && a.policy === names[0])!.hz })) });
        return;
      }
      const rows: [string, string[]][] = [];
      for (const c of cases) {
        const mine = names.map((n) => results.find((r) => r.name === c.name && r.policy === n)!);
        rows.push([`${c.name} (${c.unit})`, mine.map((r) => formatCount(r.hz))]);
        rows.push(['  ± (%)', mine.map((r) => formatDecimal(r.rme, 1))]);
        rows.push([`  × ${names[0]}`, mine.map((r) => formatDecimal(r.hz / mine[0]!.hz, 2))]);
      }
      process.stdout.write(
        formatTable(
          names.map((n) => policyEntry(layer, n)?.label ?? n),
          rows,
          `bench --layer ${layer}: ${maxTime} s per case and policy, compiled JS, debug checks off; ratios to ${names[0]} from the same run\n` +
            `machine: ${machine.cpu} × ${machine.cores}, ${machine.memGiB} GiB, Node ${machine.node}; allocsim ${machine.allocsim}${machine.commit ? ` (commit ${machine.commit})` : ''}`,
        ),
      );
    });
}
