/**
 * `allocsim malloc-fuzz`: long random-client campaigns against a user-space
 * malloc (or one of its mutants, B-21…B-26), checking the heap invariants
 * and the model after every operation. Exit 1 with the finding when one
 * turns up in a real policy, or when a mutant survives.
 */

import { Command, Option } from 'commander';
import { USER_MUTANTS } from '../../fuzz/mutants/user.js';
import { fuzzUserMalloc } from '../harness/user/fuzz.js';
import { policyNames } from '../policies/registry.js';
import { intOpt } from './options.js';

interface MallocFuzzOpts {
  malloc: string;
  mutant?: string;
  seed: string;
  runs: string;
  ops: string;
  json?: boolean;
}

/** Registers the command. */
export function mallocFuzzCommand(program: Command): void {
  program
    .command('malloc-fuzz')
    .description('random-client fuzzing of a user-space malloc (or a mutant) with heap invariants checked after every call')
    .addOption(new Option('--malloc <policy>', 'user-space malloc policy').choices(policyNames('malloc')).default('ptmalloc'))
    .addOption(new Option('--mutant <id>', 'fuzz a ptmalloc mutant instead').choices(USER_MUTANTS.map((m) => m.key)))
    .option('--seed <n>', 'seed', '1')
    .option('--runs <n>', 'runs (a fresh process each)', '100')
    .option('--ops <n>', 'calls per run', '300')
    .option('--json', 'print the report as JSON')
    .action((o: MallocFuzzOpts) => {
      const mutant = USER_MUTANTS.find((m) => m.key === o.mutant);
      const target = mutant ? { impl: mutant.impl } : { malloc: o.malloc };
      const label = mutant ? `mutant ${mutant.key} (${mutant.summary})` : `malloc policy ${o.malloc}`;
      const t0 = performance.now();
      const r = fuzzUserMalloc(target, intOpt(o.seed, 'seed') ?? 1, intOpt(o.runs, 'runs') ?? 100, intOpt(o.ops, 'ops') ?? 300);
      const ms = performance.now() - t0;
      if (o.json) process.stdout.write(JSON.stringify({ target: label, ...r, ms }, null, 2) + '\n');
      else if (r.finding) process.stdout.write(`${label}: FOUND in run ${r.finding.run}, call ${r.finding.op}: ${r.finding.what}\n`);
      else process.stdout.write(`${label}: ${r.runs} runs, ${r.ops} calls, no finding (${(ms / 1000).toFixed(1)} s)\n`);
      // A mutant is supposed to be found; a real policy is not.
      if (mutant ? !r.finding : r.finding) process.exitCode = 1;
    });
}
