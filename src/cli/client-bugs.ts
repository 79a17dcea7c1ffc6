/**
 * `allocsim client-bugs`: a seeded kernel client that commits a known bug
 * at a given rate (out-of-bounds, use-after-free, double and invalid
 * frees, mixed kfree/dev_kfree) under KASAN, and the count of bugs the
 * detectors missed or reported wrongly. Exit status 1 when any was.
 */

import { Command, Option } from 'commander';
import { runClientBugFuzz } from '../harness/client-bugs.js';
import { EXIT, badInput, printJson } from './errors.js';
import { formatCount } from './format.js';
import { intOpt } from './options.js';

interface ClientBugCliOpts {
  slab: 'slub' | 'slab';
  seed: string;
  ops: string;
  rate: string;
  json?: boolean;
}

/** Registers the command. */
export function clientBugsCommand(program: Command): void {
  program
    .command('client-bugs')
    .description('inject random client bugs (KASAN on) and check that every one is reported with its class, and nothing else')
    .addOption(new Option('--slab <policy>', 'slab policy (KASAN supports slub and slab)').choices(['slub', 'slab']).default('slub'))
    .option('--seed <n>', 'seed', '1')
    .option('--ops <n>', 'client steps', '100000')
    .option('--rate <p>', 'probability that a step is a bug', '0.05')
    .option('--json', 'print the report as JSON')
    .action((o: ClientBugCliOpts) => {
      const bugRate = Number(o.rate);
      if (!/^\s*(0|1|0?\.\d+)\s*$/.test(o.rate) || !(bugRate >= 0 && bugRate <= 1)) throw badInput(`--rate expects a probability in 0..1, got '${o.rate}'`);
      const r = runClientBugFuzz({ seed: intOpt(o.seed, 'seed') ?? 1, ops: intOpt(o.ops, 'ops') ?? 100000, bugRate, slab: o.slab });
      if (o.json) printJson(r);
      else {
        const classes = Object.entries(r.byClass)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, v]) => `${k} ${formatCount(v)}`)
          .join(', ');
        process.stdout.write(`${formatCount(r.ops)} steps, ${formatCount(r.injected)} bugs injected (${classes || 'none'})\nmissed: ${formatCount(r.missed)}, false or wrong-class reports: ${formatCount(r.falseReports)}\n`);
        for (const p of r.problems) process.stdout.write(`  ${p}\n`);
      }
      if (r.missed || r.falseReports) process.exitCode = EXIT.FINDING;
    });
}
