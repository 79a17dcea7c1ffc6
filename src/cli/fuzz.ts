/**
 * `allocsim fuzz`: a long model-based campaign from the command line (the
 * test suite runs short ones), against a policy or a mutant, with
 * reproducer files written on failure and replayed with `--replay`.
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { AllocatorError } from '../interfaces/errors.js';
import { policyNames } from '../policies/registry.js';
import { findMutant, fuzzMutant, MUTANTS, replayMutant } from '../../fuzz/mutants/catalogue.js';
import { FUZZ_MACHINE, replayPageCommands, runPageFuzz, type PageFuzzReport } from '../../fuzz/page/campaign.js';
import { replaySlabCommands, runSlabFuzz } from '../../fuzz/slab/campaign.js';
import { VMALLOC_FUZZ_MACHINE, replayVmallocCommands, runVmallocFuzz } from '../../fuzz/vmalloc/campaign.js';
import type { MutantEntry } from '../../fuzz/mutants/registry-types.js';

/** The fuzz layer a mutant belongs to. */
function layerOf(m: MutantEntry): FuzzLayer {
  return m.layer === 'page' ? 'page' : m.layer === 'vmalloc' || m.layer === 'vmap' ? 'vmalloc' : 'slab';
}
import { intOpt } from './options.js';

type FuzzLayer = 'page' | 'slab' | 'vmalloc';

interface FuzzOpts {
  layer: FuzzLayer;
  page: string;
  slab: string;
  vmap: string;
  mutant?: string;
  runs: string;
  seed: string;
  maxCommands: string;
  replay?: string;
  out: string;
  json?: boolean;
}

/** The reproducer file format (version 1). */
export interface Reproducer {
  readonly version: 1;
  readonly layer: FuzzLayer;
  readonly policy: string;
  readonly mutant?: string;
  readonly seed: number;
  readonly path?: string;
  readonly failure?: string;
  readonly codes?: readonly string[];
  readonly commands: readonly object[];
}

function describe(r: PageFuzzReport, label: string): string {
  if (r.ok) return `${label}: ${r.runsDone} runs passed (seed ${r.seed})\n`;
  return `${label}: FAILED after ${r.runsDone} runs (seed ${r.seed}, path ${r.path ?? '-'})\n  failure: ${r.failure?.split('\n').join('\n           ')}\n  commands: ${r.commandText}\n`;
}

/** Registers the command. */
export function fuzzCommand(program: Command): void {
  program
    .command('fuzz')
    .description('model-based fuzzing of a layer (a policy or a mutant) with invariant checks after every command')
    .addOption(new Option('--layer <layer>', 'layer to fuzz').choices(['page', 'slab', 'vmalloc']).default('page'))
    .addOption(new Option('--page <policy>', 'page-allocator policy').choices(policyNames('page')).default('buddy'))
    .addOption(new Option('--slab <policy>', 'slab policy (with --layer slab)').choices(policyNames('slab')).default('slub'))
    .addOption(new Option('--vmap <policy>', 'vmap-area policy (with --layer vmalloc)').choices(policyNames('vmap')).default('tree'))
    .addOption(new Option('--mutant <id>', 'fuzz a mutant instead (proves the fuzzer catches it)').choices(MUTANTS.flatMap((m) => [m.id, m.name])))
    .option('--runs <n>', 'fast-check runs', '200')
    .option('--seed <n>', 'seed', '1')
    .option('--max-commands <n>', 'commands per run', '150')
    .option('--replay <file>', 'replay a reproducer file instead of fuzzing')
    .option('--out <file>', 'where to write the reproducer on failure', 'allocsim-repro.json')
    .option('--json', 'print the report as JSON')
    .action((o: FuzzOpts) => {
      if (o.replay) {
        let repro: Reproducer;
        try {
          repro = JSON.parse(readFileSync(o.replay, 'utf8')) as Reproducer;
        } catch (e) {
          throw new AllocatorError('parse', `cannot read reproducer ${o.replay}: ${(e as Error).message}`);
        }
        if (repro.version !== 1 || !['page', 'slab', 'vmalloc'].includes(repro.layer) || !Array.isArray(repro.commands)) throw new AllocatorError('parse', `${o.replay} is not an allocsim reproducer (version 1)`);
        const r = repro.mutant
          ? replayMutant(findMutant(repro.mutant), repro.commands)
          : repro.layer === 'slab'
            ? replaySlabCommands(repro.commands, { config: { ...FUZZ_MACHINE, policies: { slab: repro.policy } } })
            : repro.layer === 'vmalloc'
              ? replayVmallocCommands(repro.commands, { config: { ...VMALLOC_FUZZ_MACHINE, policies: { vmap: repro.policy } } })
              : replayPageCommands(repro.commands, { config: { ...FUZZ_MACHINE, policies: { page: repro.policy } } });
        process.stdout.write(o.json ? JSON.stringify(r, null, 2) + '\n' : describe(r, `replay ${o.replay}`));
        if (!r.ok) process.exitCode = 1;
        return;
      }
      const mutant = o.mutant ? findMutant(o.mutant) : undefined;
      const seed = intOpt(o.seed, 'seed') ?? 1;
      const budget = { seed, numRuns: intOpt(o.runs, 'runs') ?? 200, maxCommands: intOpt(o.maxCommands, 'max-commands') ?? 150 };
      const layer = mutant ? layerOf(mutant) : o.layer;
      const policy = layer === 'page' ? o.page : layer === 'vmalloc' ? o.vmap : o.slab;
      const r = mutant
        ? fuzzMutant(mutant, budget)
        : layer === 'page'
          ? runPageFuzz({ config: { ...FUZZ_MACHINE, policies: { page: o.page } }, ...budget })
          : layer === 'vmalloc'
            ? runVmallocFuzz({ config: { ...VMALLOC_FUZZ_MACHINE, policies: { vmap: o.vmap } }, ...budget })
            : runSlabFuzz({ config: { ...FUZZ_MACHINE, policies: { slab: o.slab } }, ...budget });
      const label = mutant ? `mutant ${mutant.id} (${mutant.name})` : `${layer} policy ${policy}`;
      process.stdout.write(o.json ? JSON.stringify(r, null, 2) + '\n' : describe(r, label));
      if (!r.ok) {
        const repro: Reproducer = { version: 1, layer, policy, mutant: mutant?.id, seed, path: r.path, failure: r.failure, codes: r.codes, commands: r.commands ?? [] };
        writeFileSync(o.out, JSON.stringify(repro, null, 2) + '\n');
        process.stdout.write(`reproducer written to ${o.out} (replay: allocsim fuzz --replay ${o.out})\n`);
        // A caught mutant is the expected outcome; a failing real policy is an error.
        if (!mutant) process.exitCode = 1;
      } else if (mutant) {
        process.stdout.write(`mutant ${mutant.id} SURVIVED: the fuzzer did not catch it\n`);
        process.exitCode = 1;
      }
    });
}
