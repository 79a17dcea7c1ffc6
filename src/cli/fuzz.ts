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

import { existsSync, statSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { Command, Option } from 'commander';
import { AllocatorError } from '../interfaces/errors.js';
import { policyNames } from '../policies/registry.js';
import { FUZZ_LAYERS, type FuzzLayer } from '../../fuzz/common.js';
import type { FuzzCampaign, FuzzReport } from '../../fuzz/engine.js';
import { findMutant, MUTANTS } from '../../fuzz/mutants/catalogue.js';
import type { MutantEntry } from '../../fuzz/mutants/registry-types.js';
import { verdictOf, type FuzzVerdict } from '../../fuzz/outcome.js';
import { FUZZ_CAMPAIGNS, isFuzzLayer } from '../../fuzz/registry.js';
import { parseJsonText } from '../harness/json-text.js';
import { replayReproducer, reproducerFromJson } from '../../fuzz/reproducer.js';
import { coordinate, type CampaignResult, type StopReason } from '../../fuzz/scale/coordinator.js';
import { checkFindingsDir, CoverageRecorder, ensureFindingsDir, FINDINGS_INDEX, FindingsWriter, mergeFindingsDirs, readFindingsIndex } from '../../fuzz/scale/findings.js';
import { campaignJob, parseShard, type CampaignJob, type Shard } from '../../fuzz/scale/job.js';
import { defaultWorkers, executorFor, MAX_WORKERS } from '../../fuzz/scale/pool.js';
import { queueExecutor } from '../../fuzz/scale/queue.js';
import { badInput, printJson, warn } from './errors.js';
import { readInputText } from './files.js';
import { durationOpt, intOpt, policyArg } from './options.js';
import { progressReporter } from './progress.js';
import { isPolicyPath, loadPolicyFiles } from '../plugin/load.js';

/** The policy options, one per campaign (`--page`, `--slab`, `--vmap`, `--malloc`). */
type PolicyKind = FuzzCampaign['policyKind'];
const POLICY_KINDS: readonly PolicyKind[] = FUZZ_LAYERS.map((l) => FUZZ_CAMPAIGNS[l].policyKind);

const DEFAULT_RUNS = 200;
const DEFAULT_SEED = 1;
/** Commands per run from the command line, every layer (long sequences reach full slabs and fragmented free lists). */
const DEFAULT_MAX_COMMANDS = 150;
/** Where findings go unless `--out` says. */
const DEFAULT_OUT = 'allocsim-findings';

interface FuzzOpts {
  layer?: FuzzLayer;
  page?: string;
  slab?: string;
  vmap?: string;
  malloc?: string;
  mutant?: string;
  runs?: string;
  time?: string;
  seed?: string;
  maxCommands?: string;
  workers?: string;
  shard?: string;
  queue?: string;
  keepGoing?: boolean;
  progress?: boolean;
  replay?: string;
  out?: string;
  json?: boolean;
}

const isDirectory = (p: string): boolean => statSync(p, { throwIfNoEntry: false })?.isDirectory() === true;

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
    text += `reproducer in ${reproducer} (replay: allocsim fuzz --replay ${reproducer})\n`;
    if (v.outcome === 'finding') text += `keep it as a regression test: copy it into fuzz/corpus/ (see fuzz/corpus/README.md)\n`;
  }
  process.stdout.write(text);
}

/** Replays one reproducer file; returns its verdict, printed (unless `json`) in full, or as its one line when `brief`. */
async function replayFile(file: string, json: boolean, brief = false): Promise<{ v: FuzzVerdict; doc: Record<string, unknown> }> {
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
  const extra = { file, layer: repro.layer, policy: repro.policy, ...(mutant ? { mutant: mutant.id } : {}) };
  if (!json) {
    if (brief) process.stdout.write(v.message + '\n');
    else print(v, r, false, extra);
  }
  return { v, doc: { outcome: v.outcome, message: v.message, ...extra, ...r } };
}

/** `--replay FILE|DIR`: the file says the layer, policy and mutant; no other option may. A findings directory replays every finding of its index. */
async function replay(o: FuzzOpts, target: string): Promise<void> {
  const clashes = (['mutant', 'layer', ...POLICY_KINDS, 'runs', 'time', 'seed', 'maxCommands', 'out', 'workers', 'shard', 'queue', 'keepGoing'] as const).filter((k) => o[k] !== undefined);
  if (clashes.length) conflict(`--replay takes the layer, policy and mutant from ${target}; drop ${clashes.map((k) => `--${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`).join(', ')}`);
  const json = o.json === true;
  if (!isDirectory(target)) {
    const { v, doc } = await replayFile(target, json);
    if (json) printJson(doc);
    if (!v.expected) process.exitCode = 1;
    return;
  }
  if (!existsSync(join(target, FINDINGS_INDEX))) conflict(`--replay ${target}: a directory, but not a findings directory (no ${FINDINGS_INDEX})`);
  const index = readFindingsIndex(target);
  const results = [];
  for (const e of index.findings) results.push(await replayFile(join(target, e.file), json, true));
  const unexpected = results.filter((x) => !x.v.expected).length;
  if (json) printJson({ dir: target, replays: results.map((x) => x.doc), unexpected });
  else process.stdout.write(`replayed ${index.findings.length} finding${index.findings.length === 1 ? '' : 's'} of ${target}: ${unexpected ? `${unexpected} not as recorded` : 'all as recorded'}\n`);
  if (unexpected) process.exitCode = 1;
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

/** The budget options, checked against each other. */
function budgetOf(o: FuzzOpts): { runs?: number; timeMs?: number; shard?: Shard; workers: number } {
  if (o.time !== undefined && o.runs !== undefined) conflict('--time and --runs are both budgets; give one');
  if (o.queue !== undefined && o.workers !== undefined) conflict('--workers sizes the local pool; with --queue each `allocsim worker` sizes its own (its --workers)');
  if (o.queue !== undefined && o.shard !== undefined) conflict('--shard and --queue both spread a campaign (batch tasks, or a Redis queue); give one');
  const timeMs = durationOpt(o.time, 'time');
  const runs = timeMs === undefined ? (intOpt(o.runs, 'runs', { min: 1 }) ?? DEFAULT_RUNS) : undefined;
  const shard = o.shard !== undefined ? shardOpt(o.shard) : undefined;
  const workers = intOpt(o.workers, 'workers', { min: 1, max: MAX_WORKERS }) ?? envWorkers() ?? defaultWorkers();
  return { ...(runs !== undefined ? { runs } : {}), ...(timeMs !== undefined ? { timeMs } : {}), ...(shard ? { shard } : {}), workers };
}

/** `--shard I/N`, as bad input when malformed. */
function shardOpt(text: string): Shard {
  try {
    return parseShard(text);
  } catch (e) {
    throw badInput((e as Error).message);
  }
}

/** `ALLOCSIM_WORKERS`, the default of `--workers` when set. */
function envWorkers(): number | undefined {
  const v = process.env['ALLOCSIM_WORKERS'];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS) throw badInput(`ALLOCSIM_WORKERS expects an integer in 1..${MAX_WORKERS}, got '${v}'`);
  return n;
}

/** The job of a campaign: policy files by absolute path, so pool threads and other machines load the same file. */
function jobOf(campaign: FuzzCampaign, policy: string, mutant: MutantEntry | undefined, seed: number, maxCommands: number): CampaignJob {
  const file = !mutant && isPolicyPath(policy) ? resolvePath(policy.split('#')[0]!) + (policy.includes('#') ? policy.slice(policy.indexOf('#')) : '') : undefined;
  return campaignJob({
    layer: campaign.layer,
    policy: file ?? policy,
    ...(file ? { policyFiles: { [campaign.policyKind]: [file] } } : {}),
    ...(mutant ? { mutant: mutant.id } : {}),
    seed,
    maxCommands,
  });
}

const STOP_NOTE: Readonly<Record<StopReason, string>> = { runs: '', time: ', when the time budget ran out', interrupted: ', when interrupted (the runs so far)', finding: '' };

/** The verdict of a campaign, worded as a single campaign's: the first failure is the one a report shows. */
function campaignVerdict(result: CampaignResult, label: string, mutant: MutantEntry | undefined): { v: FuzzVerdict; first?: FuzzReport } {
  const base = { seed: result.job.seed, numRuns: result.runs, commandsRun: result.commands };
  const f = result.first;
  const first: FuzzReport | undefined = f ? { ...f, ...base, runsDone: f.run + 1 } : undefined;
  const v = verdictOf(first ?? { ok: true, ...base, runsDone: result.runs }, label, mutant);
  return { v: { ...v, message: v.message + STOP_NOTE[result.stopped] }, first };
}

/** The action of `fuzz` (and of its alias `malloc-fuzz`). */
async function fuzzAction(o: FuzzOpts): Promise<void> {
  if (o.replay !== undefined) return replay(o, o.replay);
  const { campaign, mutant, policy } = resolve(o);
  const budget = budgetOf(o);
  const seed = intOpt(o.seed, 'seed') ?? DEFAULT_SEED;
  const maxCommands = intOpt(o.maxCommands, 'max-commands') ?? DEFAULT_MAX_COMMANDS;
  if (o.keepGoing && !mutant) conflict('--keep-going is for --mutant campaigns (a policy campaign always runs its whole budget)');
  // Each shard would stop at its own first catch: merged, they would not be the campaign's findings.
  if (mutant && budget.shard && !o.keepGoing) conflict('--shard with --mutant needs --keep-going (each shard would stop at its own first catch)');
  const out = o.out ?? DEFAULT_OUT;
  // The findings directory is checked before the campaign runs, not after it finds something.
  try {
    if (o.out !== undefined) ensureFindingsDir(out);
    else checkFindingsDir(out);
  } catch (e) {
    throw badInput(`--out ${out}: cannot write there ${/\([^()]*\)$/.exec((e as Error).message)?.[0] ?? ''}`.trimEnd());
  }
  const job = jobOf(campaign, policy, mutant, seed, maxCommands);
  const executor = o.queue !== undefined ? await queueExecutor(o.queue) : executorFor(budget.workers);
  const stop = new AbortController();
  // Findings are written as the campaign goes (every 5 s at most), so a campaign killed at hour seven keeps them.
  const writer = new FindingsWriter(out);
  // The coverage curve (slice order) goes beside the index: `allocsim report --findings DIR` draws it.
  const coverage = new CoverageRecorder(job);
  const onInt = (): void => {
    if (stop.signal.aborted) {
      writer.flush();
      process.exit(130);
    }
    warn('interrupted: finishing the slices under way (Ctrl-C again to quit at once)');
    stop.abort();
  };
  process.on('SIGINT', onInt);
  const progress = progressReporter(process.stderr, o.progress === false);
  let result: CampaignResult;
  try {
    const plan = { job, ...(budget.runs !== undefined ? { runs: budget.runs } : {}), ...(budget.timeMs !== undefined ? { deadline: Date.now() + budget.timeMs } : {}), ...(budget.shard ? { shard: budget.shard } : {}), stopAtFirst: mutant !== undefined && !o.keepGoing };
    result = await coordinate(plan, executor, { signal: stop.signal, onProgress: (p) => progress.update(p), onSlice: (r, touched) => (coverage.add(r), writer.add(touched)) });
  } finally {
    progress.end();
    process.off('SIGINT', onInt);
    await executor.close();
  }
  const { v, first } = campaignVerdict(result, `${campaign.layer} policy ${policy}`, mutant);
  const index = result.distinct.length || o.out !== undefined ? writer.flush() : undefined;
  if (index) coverage.write(out);
  const extra = {
    layer: campaign.layer,
    policy,
    ...(mutant ? { mutant: mutant.id } : {}),
    maxCommands,
    workers: o.queue !== undefined ? 'queue' : budget.workers,
    elapsedMs: result.elapsedMs,
    // Peak resident set of this process (its pool threads included), for the flat-memory benchmark and the curious.
    maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    stopped: result.stopped,
    slices: result.slices.length,
    coverage: result.coverage.length,
    failures: result.failures,
    distinct: result.distinct.map((d) => d.entry),
    ...(index ? { out, indexed: index.findings.length } : {}),
  };
  const report: FuzzReport = first ?? { ok: true, seed, numRuns: result.runs, runsDone: result.runs, commandsRun: result.commands };
  print(v, report, o.json === true, extra, result.distinct[0] && join(out, result.distinct[0].entry.file));
  if (!o.json && result.distinct.length > 1) {
    const lines = result.distinct.map((d) => `  ${d.entry.file}  ×${d.entry.occurrences.length}  first at run ${d.entry.run} (path ${d.entry.path}): ${d.entry.summary}`);
    process.stdout.write(`${result.failures} failing runs, ${result.distinct.length} distinct findings (index: ${join(out, FINDINGS_INDEX)}):\n${lines.join('\n')}\n`);
  }
  if (!v.expected) process.exitCode = 1;
}

/** Registers `fuzz merge`. */
function mergeCommand(fuzz: Command): void {
  fuzz
    .command('merge')
    .description('merge findings directories (from --shard tasks or separate campaigns) into one: every distinct finding once, every occurrence once')
    .argument('<dir...>', 'findings directories')
    .option('--out <dir>', 'the merged directory (default: the first directory, merged in place)')
    .option('--json', 'print the merged index as one JSON document')
    .action((dirs: string[], o: { out?: string; json?: boolean }) => {
      const out = o.out ?? dirs[0]!;
      for (const d of dirs) if (!isDirectory(d)) conflict(`fuzz merge: ${d} is not a directory`);
      let index;
      try {
        index = mergeFindingsDirs(out, dirs);
      } catch (e) {
        throw e instanceof AllocatorError ? badInput(`fuzz merge: ${e.message}`) : e;
      }
      if (o.json) printJson(index);
      else process.stdout.write(`merged ${dirs.length} director${dirs.length === 1 ? 'y' : 'ies'} into ${out}: ${index.findings.length} distinct finding${index.findings.length === 1 ? '' : 's'}, ${index.findings.reduce((n, e) => n + e.occurrences.length, 0)} occurrences\n`);
    });
}

const mutantHelp = `fuzz a mutant instead; a catch is the expected outcome (${MUTANTS.map((m) => m.id).join(', ')}, or their names)`;

/** Registers `fuzz`. */
export function fuzzCommand(program: Command): void {
  const cmd = program
    .command('fuzz')
    .description('model-based fuzzing of a layer (a policy or a mutant) with invariant checks after every command; reproducers on failure')
    // `fuzz merge --out DIR`: the subcommand's options are its own, not fuzz's.
    .enablePositionalOptions()
    .addOption(new Option('--layer <layer>', 'layer to fuzz (default page)').choices(FUZZ_LAYERS))
    .addHelpText('after', `\nCampaigns:\n${FUZZ_LAYERS.map((l) => `  ${l.padEnd(8)} ${FUZZ_CAMPAIGNS[l].summary}`).join('\n')}\n\nExit status: 0 a policy passed or a mutant was caught, 1 a finding or a surviving mutant, 2 bad input.`);
  for (const l of FUZZ_LAYERS) {
    const c = FUZZ_CAMPAIGNS[l];
    cmd.addOption(new Option(`--${c.policyKind} <policy>`, `${c.policyKind} policy of --layer ${l}: ${policyNames(c.policyKind).join(', ')}, or a policy file (default ${c.defaultPolicy})`).argParser(policyArg(c.policyKind)));
  }
  cmd
    .option('--mutant <id>', mutantHelp)
    .option('--runs <n>', `runs (default ${DEFAULT_RUNS})`)
    .option('--time <duration>', 'run until this much time has passed instead (90s, 10m, 2h, 1h30m)')
    .option('--seed <n>', `seed (default ${DEFAULT_SEED})`)
    .option('--max-commands <n>', `commands per run at most (default ${DEFAULT_MAX_COMMANDS})`)
    .option('--workers <n>', 'worker threads (default: the number of cores, or ALLOCSIM_WORKERS); the findings do not depend on it')
    .option('--shard <i/n>', 'run only slice i of n of the campaign (a batch task index); join the findings with fuzz merge')
    .option('--queue <url>', 'spread the campaign over machines through a Redis queue (redis://HOST:PORT); run allocsim worker on each')
    .option('--keep-going', 'a mutant campaign goes on after the first catch (collecting every distinct finding)')
    .option('--no-progress', 'no progress lines on stderr')
    .option('--replay <file|dir>', 'replay a reproducer file, or every finding of a findings directory, instead of fuzzing')
    .option('--out <dir>', `findings directory: one reproducer per distinct finding and an index (default ${DEFAULT_OUT})`)
    .option('--json', 'print the report as one JSON document')
    .action((o: FuzzOpts) => fuzzAction(o));
  mergeCommand(cmd);
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
    .option('--out <dir>', `findings directory (default ${DEFAULT_OUT})`)
    .option('--json', 'print the report as one JSON document')
    .action((o: MallocFuzzOpts): Promise<void> => {
      warn("malloc-fuzz is now 'allocsim fuzz --layer user'");
      if (o.ops !== undefined && o.maxCommands !== undefined) conflict('--ops and --max-commands say the same thing; give one');
      return fuzzAction({ layer: 'user', malloc: o.malloc, mutant: o.mutant, seed: o.seed, runs: o.runs, maxCommands: o.ops ?? o.maxCommands, out: o.out, json: o.json });
    });
}
