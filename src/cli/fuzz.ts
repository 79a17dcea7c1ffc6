/**
 * `allocsim fuzz`: a long model-based campaign from the command line (the
 * test suite runs short ones) against any layer's policy or a mutant, with a
 * reproducer written on failure and replayed with `--replay`. Every layer's
 * campaign comes from the registry in `fuzz/registry.ts`; nothing here
 * branches on the layer. `malloc-fuzz` is the old name of `fuzz --layer
 * user`, kept as an alias.
 *
 * Exit status: 0 for the expected outcome (a policy passes, a mutant is
 * caught, a mutant's reproducer still catches it), 1 for a finding in a
 * real policy or a surviving mutant, 2 for bad input (conflicting options,
 * a malformed reproducer). With `--json`, stdout holds exactly one JSON
 * document.
 */

import { Command, Option } from 'commander';
import { policyNames } from '../policies/registry.js';
import { FUZZ_LAYERS, type FuzzLayer } from '../../fuzz/common.js';
import type { FuzzCampaign, FuzzReport } from '../../fuzz/engine.js';
import { findMutant, fuzzMutant, MUTANTS } from '../../fuzz/mutants/catalogue.js';
import type { MutantEntry } from '../../fuzz/mutants/registry-types.js';
import { verdictOf, type FuzzVerdict } from '../../fuzz/outcome.js';
import { FUZZ_CAMPAIGNS, isFuzzLayer } from '../../fuzz/registry.js';
import { parseJsonText } from '../harness/json-text.js';
import { formatReproducer, replayReproducer, reproducerFromJson, reproducerOf } from '../../fuzz/reproducer.js';
import { badInput, printJson, warn } from './errors.js';
import { checkOutputPath, readInputText, writeOutputFile } from './files.js';
import { intOpt, policyArg } from './options.js';
import { loadPolicyFiles } from '../plugin/load.js';

/** The policy options, one per campaign (`--page`, `--slab`, `--vmap`, `--malloc`). */
type PolicyKind = FuzzCampaign['policyKind'];
const POLICY_KINDS: readonly PolicyKind[] = FUZZ_LAYERS.map((l) => FUZZ_CAMPAIGNS[l].policyKind);

const DEFAULT_RUNS = 200;
const DEFAULT_SEED = 1;
/** Commands per run from the command line, every layer (long sequences reach full slabs and fragmented free lists). */
const DEFAULT_MAX_COMMANDS = 150;
const DEFAULT_OUT = 'allocsim-repro.json';

interface FuzzOpts {
  layer?: FuzzLayer;
  page?: string;
  slab?: string;
  vmap?: string;
  malloc?: string;
  mutant?: string;
  runs?: string;
  seed?: string;
  maxCommands?: string;
  replay?: string;
  out?: string;
  json?: boolean;
}

const conflict = (msg: string): never => {
  throw badInput(msg);
};

/** Prints a verdict and its report: one JSON document with `--json`, else text. */
function print(v: FuzzVerdict, r: FuzzReport, json: boolean, extra: Record<string, unknown>, reproducer?: string): void {
  if (json) {
    printJson({ outcome: v.outcome, message: v.message, ...extra, ...r, ...(reproducer ? { reproducer } : {}) });
    return;
  }
  let text = v.message + '\n';
  if (!r.ok) {
    if (r.params) text += `  params: ${JSON.stringify(r.params)}\n`;
    text += `  failure: ${(r.failure ?? '').split('\n').join('\n           ')}\n  commands: ${r.commandText}\n`;
  }
  if (reproducer) {
    text += `reproducer written to ${reproducer} (replay: allocsim fuzz --replay ${reproducer})\n`;
    if (v.outcome === 'finding') text += `keep it as a regression test: copy it into fuzz/corpus/ (see fuzz/corpus/README.md)\n`;
  }
  process.stdout.write(text);
}

/** `--replay FILE`: the file says the layer, policy and mutant; no other option may. */
async function replay(o: FuzzOpts, file: string): Promise<void> {
  const clashes = (['mutant', 'layer', ...POLICY_KINDS, 'runs', 'seed', 'maxCommands', 'out'] as const).filter((k) => o[k] !== undefined);
  if (clashes.length) conflict(`--replay takes the layer, policy and mutant from ${file}; drop ${clashes.map((k) => `--${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`).join(', ')}`);
  const text = readInputText(file, '--replay');
  // A reproducer found on a policy file names that file: load it (as the options would have) before the
  // reproducer is checked against the known policies.
  const value = parseJsonText(text, file);
  const head = value as { layer?: unknown; policy?: unknown } | null;
  if (head && isFuzzLayer(head.layer) && typeof head.policy === 'string') await loadPolicyFiles({ [FUZZ_CAMPAIGNS[head.layer].policyKind]: [head.policy] });
  const repro = reproducerFromJson(value, file);
  const mutant = repro.mutant ? findMutant(repro.mutant) : undefined;
  const r = replayReproducer(repro);
  const v = verdictOf(r, `replay ${file}: ${repro.layer} policy ${repro.policy}`, mutant, true);
  print(v, r, o.json === true, { file, layer: repro.layer, policy: repro.policy, ...(mutant ? { mutant: mutant.id } : {}) });
  if (!v.expected) process.exitCode = 1;
}

/** Checks the options against each other and picks the campaign. */
function resolve(o: FuzzOpts): { campaign: FuzzCampaign; mutant?: MutantEntry; policy: string } {
  const mutant = o.mutant !== undefined ? findMutant(o.mutant) : undefined;
  if (mutant && o.layer !== undefined && o.layer !== mutant.layer) conflict(`--mutant ${mutant.id} is a ${mutant.layer} mutant; it cannot run with --layer ${o.layer}`);
  const campaign = FUZZ_CAMPAIGNS[mutant?.layer ?? o.layer ?? 'page'];
  for (const k of POLICY_KINDS) {
    if (o[k] === undefined) continue;
    if (k !== campaign.policyKind) conflict(`--${k} selects a ${k} policy, which the ${campaign.layer} campaign does not take (it takes --${campaign.policyKind})`);
    if (mutant) conflict(`--mutant ${mutant.id} binds its own class; drop --${k}`);
  }
  return { campaign, mutant, policy: o[campaign.policyKind] ?? campaign.defaultPolicy };
}

/** The action of `fuzz` (and of its alias `malloc-fuzz`). */
async function fuzzAction(o: FuzzOpts): Promise<void> {
  if (o.replay !== undefined) return replay(o, o.replay);
  const { campaign, mutant, policy } = resolve(o);
  const budget = {
    seed: intOpt(o.seed, 'seed') ?? DEFAULT_SEED,
    numRuns: intOpt(o.runs, 'runs') ?? DEFAULT_RUNS,
    maxCommands: intOpt(o.maxCommands, 'max-commands') ?? DEFAULT_MAX_COMMANDS,
  };
  if (budget.numRuns < 1) conflict('--runs must be at least 1');
  const out = o.out ?? DEFAULT_OUT;
  // The reproducer's path is checked before the campaign runs, not after it finds something.
  checkOutputPath(out, '--out');
  const r = mutant ? fuzzMutant(mutant, budget) : campaign.run({ policy }, budget);
  const v = verdictOf(r, `${campaign.layer} policy ${policy}`, mutant);
  if (!r.ok) writeOutputFile(out, formatReproducer(reproducerOf(campaign.layer, policy, mutant, r)), '--out');
  print(v, r, o.json === true, { layer: campaign.layer, policy, ...(mutant ? { mutant: mutant.id } : {}), maxCommands: budget.maxCommands }, r.ok ? undefined : out);
  if (!v.expected) process.exitCode = 1;
}

const mutantHelp = `fuzz a mutant instead; a catch is the expected outcome (${MUTANTS.map((m) => m.id).join(', ')}, or their names)`;

/** Registers `fuzz`. */
export function fuzzCommand(program: Command): void {
  const cmd = program
    .command('fuzz')
    .description('model-based fuzzing of a layer (a policy or a mutant) with invariant checks after every command; reproducers on failure')
    .addOption(new Option('--layer <layer>', 'layer to fuzz (default page)').choices(FUZZ_LAYERS))
    .addHelpText('after', `\nCampaigns:\n${FUZZ_LAYERS.map((l) => `  ${l.padEnd(8)} ${FUZZ_CAMPAIGNS[l].summary}`).join('\n')}\n\nExit status: 0 a policy passed or a mutant was caught, 1 a finding or a surviving mutant, 2 bad input.`);
  for (const l of FUZZ_LAYERS) {
    const c = FUZZ_CAMPAIGNS[l];
    cmd.addOption(new Option(`--${c.policyKind} <policy>`, `${c.policyKind} policy of --layer ${l}: ${policyNames(c.policyKind).join(', ')}, or a policy file (default ${c.defaultPolicy})`).argParser(policyArg(c.policyKind)));
  }
  cmd
    .option('--mutant <id>', mutantHelp)
    .option('--runs <n>', `fast-check runs (default ${DEFAULT_RUNS})`)
    .option('--seed <n>', `seed (default ${DEFAULT_SEED})`)
    .option('--max-commands <n>', `commands per run at most (default ${DEFAULT_MAX_COMMANDS})`)
    .option('--replay <file>', 'replay a reproducer file instead of fuzzing (it names its layer, policy and mutant)')
    .option('--out <file>', `where to write the reproducer on failure (default ${DEFAULT_OUT})`)
    .option('--json', 'print the report as one JSON document')
    .action((o: FuzzOpts) => fuzzAction(o));
}

interface MallocFuzzOpts {
  malloc?: string;
  mutant?: string;
  seed?: string;
  runs?: string;
  ops?: string;
  maxCommands?: string;
  out?: string;
  json?: boolean;
}

/** Registers `malloc-fuzz`, the old name of `fuzz --layer user`: a notice on stderr, then the same campaign. */
export function mallocFuzzAlias(program: Command): void {
  program
    .command('malloc-fuzz')
    .description("alias of 'allocsim fuzz --layer user' (user-space malloc campaign; --ops is --max-commands)")
    .addOption(new Option('--malloc <policy>', 'user-space malloc policy: a name or a policy file (default ptmalloc)').argParser(policyArg('malloc')))
    .option('--mutant <id>', 'fuzz a user-malloc mutant instead (B-21 … B-26)')
    .option('--seed <n>', `seed (default ${DEFAULT_SEED})`)
    .option('--runs <n>', `runs, a fresh process each (default ${DEFAULT_RUNS})`)
    .option('--ops <n>', `calls per run at most (same as --max-commands; default ${DEFAULT_MAX_COMMANDS})`)
    .option('--max-commands <n>', 'calls per run at most')
    .option('--out <file>', `where to write the reproducer on failure (default ${DEFAULT_OUT})`)
    .option('--json', 'print the report as one JSON document')
    .action((o: MallocFuzzOpts): Promise<void> => {
      warn("malloc-fuzz is now 'allocsim fuzz --layer user'");
      if (o.ops !== undefined && o.maxCommands !== undefined) conflict('--ops and --max-commands say the same thing; give one');
      return fuzzAction({ layer: 'user', malloc: o.malloc, mutant: o.mutant, seed: o.seed, runs: o.runs, maxCommands: o.ops ?? o.maxCommands, out: o.out, json: o.json });
    });
}
