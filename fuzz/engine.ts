/**
 * The model-based fuzz engine every layer's campaign uses: fast-check
 * commands over a fresh (model, real) pair per run, failures shrunk and
 * reported with seed, path and the explicit command list a reproducer
 * stores; and the replay of such a list.
 *
 * A campaign is a {@link CampaignDef}: how to build a fresh system and its
 * model (from optional per-run parameters, such as the user campaign's
 * tcache on/off, drawn by fast-check with the commands and stored beside
 * them), the checks at the start and at the end of a run, the command
 * arbitraries, and the parser of stored commands. {@link defineCampaign}
 * wraps one into a {@link FuzzCampaign} (a layer's entry of the registry in
 * `registry.ts`), whose `run` and `replay` need no knowledge of the layer.
 *
 * Commands are stateless values: fast-check runs the same command objects
 * in many runs while it shrinks, so a command's `toString()` depends on its
 * constructor arguments only. The command text a report prints is rebuilt
 * from the stored JSON, which is why a campaign and a replay of its
 * reproducer print the same list.
 */

import fc from 'fast-check';
import type { SystemConfigInput } from '../src/interfaces/config.js';
import { AllocatorError } from '../src/interfaces/errors.js';
import type { Violation } from '../src/interfaces/invariants.js';
import type { SystemOverrides } from '../src/system.js';
import { FuzzFailure, type FuzzLayer } from './common.js';

/** A command that can be stored in a reproducer. */
export type StoredCommand<M extends object, R> = fc.Command<M, R> & {
  /** The command as a reproducer stores it (`{ op, …fields }`). */
  toJSON(): object;
};

/** Per-run parameters drawn with the commands and stored in the reproducer. */
export interface RunParams<P extends object> {
  /** The arbitrary a run's parameters are drawn from (shrinks towards the common case). */
  arb(): fc.Arbitrary<P>;
  /** Validates stored parameters. @throws AllocatorError `parse` */
  parse(o: unknown): P;
}

/** One layer's campaign definition. */
export interface CampaignDef<M extends object, R, P extends object = object> {
  /** Builds a fresh model and system for one run. */
  setup(params: P): { model: M; real: R };
  /** Checks run once on the fresh system. */
  initialCheck(real: R): void;
  /** Checks run once after the last command (a run's end-of-life checks). */
  finalCheck?(model: M, real: R): void;
  /** Weighted command arbitraries. */
  arbs(): fc.Arbitrary<StoredCommand<M, R>>[];
  /** Per-run parameters, when the layer has any. */
  params?: RunParams<P>;
  /** Called when a run is over (pass or fail): frees what the system holds outside the JS heap. */
  teardown?(real: R): void;
  /** Rebuilds a command from its JSON form. @throws AllocatorError `parse` naming the index and field */
  fromJSON(o: unknown, index: number): StoredCommand<M, R>;
}

/** How long to fuzz. */
export interface FuzzBudget {
  readonly seed: number;
  readonly numRuns: number;
  /** Commands per run at most. @defaultValue the campaign's `defaultMaxCommands` */
  readonly maxCommands?: number;
  /** fast-check replay path of an earlier failure (with its seed). */
  readonly path?: string;
}

/** The outcome of a campaign or a replay. */
export interface FuzzReport {
  readonly ok: boolean;
  readonly seed: number;
  readonly numRuns: number;
  /** Runs made: all of them when ok, else the index (1-based) of the first failing run. */
  readonly runsDone: number;
  /** Commands executed by those runs (shrinking not counted). */
  readonly commandsRun: number;
  readonly path?: string;
  /** The failing run's parameters (layers with per-run parameters). */
  readonly params?: object;
  /** The failing (shrunk) command list, as a reproducer stores it. */
  readonly commands?: object[];
  /** The same list as text, one `toString()` per command. */
  readonly commandText?: string;
  /** What failed, one line per violation. */
  readonly failure?: string;
  /** Invariant codes of the failure, or `error:<kind>` for a typed error. */
  readonly codes?: string[];
  /** The violations of the failure (a typed error is one violation coded `error:<kind>`). */
  readonly violations?: readonly Violation[];
  /** For a thrown error (not a failed check): the top frames of the call that threw, innermost first, function names only. */
  readonly frames?: readonly string[];
  /** The command the failing run was in when it failed, unshrunk: its `op`, else its class (`''`: the initial or final check). */
  readonly failedIn?: string;
  /** The failure's identity before shrinking: first code, `failedIn` and frames (a campaign shrinks one failure per key and slice). */
  readonly key?: string;
}

/** Frames kept in a failure's signature. */
const TOP_FRAMES = 3;

/** The innermost named frames of an error's stack (function names, no files or lines: they survive a rebuild). */
function topFrames(e: Error): string[] {
  const out: string[] = [];
  for (const line of (e.stack ?? '').split('\n').slice(1)) {
    const m = /^\s*at (?:new )?([\w$.<>]+) \(/.exec(line);
    if (m?.[1] && !m[1].startsWith('<')) out.push(m[1]);
    if (out.length === TOP_FRAMES) break;
  }
  return out;
}

type Failure = Pick<FuzzReport, 'failure' | 'codes' | 'violations' | 'frames'>;

function failureOf(e: unknown): Failure {
  if (e instanceof FuzzFailure) return { failure: e.message, codes: [...new Set(e.violations.map((v) => v.code))], violations: e.violations };
  if (e instanceof AllocatorError) {
    const v = { code: `error:${e.kind}`, message: e.message };
    return { failure: `AllocatorError(${e.kind}): ${e.message}`, codes: [v.code], violations: [v], frames: topFrames(e) };
  }
  if (e instanceof Error) return { failure: `${e.name}: ${e.message}`, codes: [`error:${e.name}`], violations: [], frames: topFrames(e) };
  return { failure: String(e), codes: [], violations: [] };
}

/** A failure whose shrunk list passes on replay: said so, since its reproducer will not reproduce it. */
function nonReplayable(f: Failure): Failure {
  return { ...f, failure: `${f.failure ?? ''}\n(the shrunk command list passes when replayed: this failure depends on state the list does not rebuild)` };
}

/**
 * Distinct (command, outcome) pairs seen: a command's `run` may return a
 * short outcome (the zone an allocation came from, `fail` for a NULL), `''`
 * when it returns nothing. Keyed by the command's `op` when it has one
 * (one class serving several calls), else its class name; outcomes are
 * constant strings, so counting costs no allocation per command.
 */
export type CoverageMap = Map<string, Set<string>>;

/** Where a run failed: the command running when it threw, as {@link FuzzReport.failedIn} names it. */
interface FailedAt {
  command: string;
}

/** Runs one list on a fresh system: initial check, the commands whose precondition holds, final check, teardown. */
function runList<M extends object, R, P extends object>(def: CampaignDef<M, R, P>, s: { model: M; real: R }, cmds: Iterable<fc.Command<M, R>>, onRun: () => void, coverage?: CoverageMap, at?: FailedAt): void {
  const { model, real } = s;
  try {
    def.initialCheck(real);
    for (const c of cmds) {
      if (!c.check(model)) continue;
      onRun();
      // fast-check hands its own wrapper around each generated command.
      const inner = (c as { cmd?: { op?: unknown } }).cmd ?? (c as { op?: unknown });
      // A command class that serves several calls says which in `op`.
      const name = typeof inner.op === 'string' ? inner.op : inner.constructor.name;
      if (at) at.command = name;
      const outcome = c.run(model, real) as unknown;
      if (coverage) {
        let seen = coverage.get(name);
        if (!seen) coverage.set(name, (seen = new Set()));
        seen.add(typeof outcome === 'string' ? outcome : '');
      }
    }
    if (at) at.command = '';
    def.finalCheck?.(model, real);
  } finally {
    def.teardown?.(real);
  }
}

/**
 * Runs `numRuns` seeded runs of at most `maxCommands` commands; a failure
 * comes back shrunk — or, with `shrink` false, as it happened (no command
 * list: what failed, where, and its {@link FuzzReport.key}). With `only`,
 * a failure counts only when it is that key's (the same command and
 * frames, the key's invariant among its codes): shrinking then keeps to
 * that bug instead of wandering to another one smaller lists happen to hit.
 */
export function runCampaign<M extends object, R, P extends object>(def: CampaignDef<M, R, P>, budget: Required<Omit<FuzzBudget, 'path'>> & Pick<FuzzBudget, 'path'>, coverage?: CoverageMap, shrink = true, only?: string): FuzzReport {
  const { seed, numRuns, maxCommands, path } = budget;
  const at: FailedAt = { command: '' };
  let failedIn = '';
  let lastError: unknown;
  let setupError: Error | undefined;
  let commandsRun = 0;
  let counting = true;
  const body = (params: P, cmds: Iterable<fc.Command<M, R>>): void => {
    let s: { model: M; real: R };
    try {
      s = def.setup(params);
    } catch (e) {
      // A system that cannot be built (a bad config) is the caller's error, not a finding.
      setupError ??= e instanceof Error ? e : new Error(String(e));
      throw e;
    }
    try {
      runList(
        def,
        s,
        cmds,
        () => {
          if (counting) commandsRun++;
        },
        counting ? coverage : undefined,
        at,
      );
    } catch (e) {
      if (only !== undefined && !sameFailure(only, failureOf(e), at.command)) return;
      // Shrinking runs more lists; only the runs up to the first failure are counted.
      if (counting) failedIn = at.command;
      counting = false;
      lastError = e;
      throw e;
    }
  };
  const cmdsArb = fc.commands(def.arbs(), { maxCommands, size: 'max' });
  const opts = { seed, numRuns, ...(path ? { path } : {}), endOnFailure: !shrink };
  const details: Pick<fc.RunDetails<unknown[]>, 'failed' | 'numRuns' | 'counterexamplePath'> & { counterexample: unknown[] | null } = def.params
    ? fc.check(fc.property(def.params.arb(), cmdsArb, body), opts)
    : fc.check(fc.property(cmdsArb, (cmds) => body({} as P, cmds)), opts);
  if (setupError !== undefined) throw setupError;
  if (!details.failed) return { ok: true, seed, numRuns, runsDone: details.numRuns, commandsRun };
  const found = failureOf(lastError);
  const key = failureKey(found, failedIn);
  if (!shrink) return { ok: false, seed, numRuns, runsDone: details.numRuns, commandsRun, path: details.counterexamplePath ?? undefined, ...found, failedIn, key };
  // fast-check hands back its wrappers; keep the commands that actually ran.
  const example = details.counterexample ?? [];
  const params = def.params ? (example[0] as P) : undefined;
  const wrapped = [...((example[def.params ? 1 : 0] ?? []) as Iterable<{ cmd: StoredCommand<M, R>; hasRan: boolean }>)];
  const list = wrapped.filter((w) => w.hasRan).map((w) => w.cmd.toJSON());
  // The report is the replay's: the same command text and failure a `--replay` of the reproducer prints.
  const replay = replayCommands(def, list, params);
  const f = replay.ok ? nonReplayable(failureOf(lastError)) : replay;
  return {
    ok: false,
    seed,
    numRuns,
    runsDone: details.numRuns,
    commandsRun,
    path: details.counterexamplePath ?? undefined,
    ...(params ? { params } : {}),
    commands: list,
    commandText: replay.commandText,
    failure: f.failure,
    codes: f.codes,
    violations: f.violations,
    ...(f.frames ? { frames: f.frames } : {}),
    failedIn,
    key,
  };
}

/**
 * What identifies a failure before it is shrunk: the invariant that broke
 * first (its first violation's code, or `error:<kind>`), the command it
 * broke in, the top frames of what threw. The other codes of the same
 * failure are consequences that vary from run to run (a lost object also
 * breaks the counters) and would split one bug into many.
 */
function failureKey(f: Failure, failedIn: string): string {
  return keyOf(f.codes?.[0] ?? '', failedIn, f);
}

/** The key a failure of `f`'s command and frames would have if `code` had broken first. */
function keyOf(code: string, failedIn: string, f: Failure): string {
  return [code, failedIn, (f.frames ?? []).join('<')].join('|');
}

/** Whether a failure (while shrinking) is the one of `key`: the same command and frames, and the key's invariant among its codes. */
function sameFailure(key: string, f: Failure, failedIn: string): boolean {
  return (f.codes?.length ? f.codes : ['']).some((code) => keyOf(code, failedIn, f) === key);
}

/** A slice of a campaign: runs `from` … `to - 1` of the run sequence `seed` draws (a campaign of `--runs N` is the slice 0 … N). */
export interface RunSlice {
  readonly seed: number;
  readonly from: number;
  readonly to: number;
  readonly maxCommands: number;
}

/** A failure found in a slice and shrunk: the report of its run, and the run's index in the seed's sequence. */
export type SliceFinding = FuzzReport & { readonly run: number; readonly key: string };

/** A failing run of a slice: its index and its failure's key (every failing run is one; the first of each key is also shrunk). */
export interface SliceFailure {
  readonly run: number;
  readonly key: string;
}

/** The outcome of a slice: every run made (a failing run does not stop the slice). */
export interface SliceReport extends RunSlice {
  /** Commands executed (shrinking not counted). */
  readonly commandsRun: number;
  /** Every failing run, in run order. */
  readonly failures: readonly SliceFailure[];
  /** The first failing run of each key, shrunk, in run order; each is identified by seed and run index, whoever ran it. */
  readonly findings: readonly SliceFinding[];
  /** Distinct `Command:outcome` pairs executed (see {@link CoverageMap}). */
  readonly coverage: readonly string[];
}

/**
 * Runs a slice to its end: the runs are exactly those of a campaign of the
 * same seed (fast-check's path starts it at run `from`), so a slice gives
 * the same report whichever process runs it. A failing run does not stop
 * the slice. Failures are told apart by their key before shrinking (as a
 * fuzzer buckets crashes by stack before minimising them): the first run of
 * each key is run again and shrunk, the others are only counted.
 */
export function runSlice<M extends object, R, P extends object>(def: CampaignDef<M, R, P>, slice: RunSlice): SliceReport {
  const coverage: CoverageMap = new Map();
  const failures: SliceFailure[] = [];
  const findings: SliceFinding[] = [];
  const shrunk = new Set<string>();
  let commandsRun = 0;
  for (let from = slice.from; from < slice.to; ) {
    const r = runCampaign(def, { seed: slice.seed, numRuns: slice.to - from, maxCommands: slice.maxCommands, path: String(from) }, coverage, false);
    commandsRun += r.commandsRun;
    if (r.ok) break;
    const run = Number((r.path ?? '').split(':')[0]);
    if (!Number.isInteger(run) || run < from) throw new Error(`fast-check reported a failure without a usable path (${r.path ?? 'none'})`);
    const key = r.key ?? '';
    failures.push({ run, key });
    if (!shrunk.has(key)) {
      shrunk.add(key);
      const s = runCampaign(def, { seed: slice.seed, numRuns: 1, maxCommands: slice.maxCommands, path: String(run) }, undefined, true, key);
      if (!s.ok) findings.push({ ...s, run, key });
    }
    from = run + 1;
  }
  const keys: string[] = [];
  for (const [name, outcomes] of coverage) for (const o of outcomes) keys.push(o ? `${name}:${o}` : name);
  return { ...slice, commandsRun, failures, findings, coverage: keys.sort() };
}

/** Validates a stored list (and parameters) and rebuilds the commands. @throws AllocatorError `parse` */
export function parseCommands<M extends object, R, P extends object>(def: CampaignDef<M, R, P>, commands: readonly unknown[], params?: unknown): { cmds: StoredCommand<M, R>[]; params: P } {
  const cmds = commands.map((c, i) => def.fromJSON(c, i));
  if (!def.params && params !== undefined) throw new AllocatorError('parse', `params: this campaign has no per-run parameters, got ${JSON.stringify(params)}`);
  return { cmds, params: def.params ? def.params.parse(params) : ({} as P) };
}

/** Replays an explicit command list; stops at the first failure. @throws AllocatorError `parse` for a malformed list */
export function replayCommands<M extends object, R, P extends object>(def: CampaignDef<M, R, P>, commands: readonly unknown[], params?: unknown): FuzzReport {
  const parsed = parseCommands(def, commands, params);
  const base = {
    seed: 0,
    numRuns: 1,
    runsDone: 1,
    ...(def.params ? { params: parsed.params } : {}),
    commands: parsed.cmds.map((c) => c.toJSON()),
    commandText: parsed.cmds.map(String).join(', '),
  };
  let commandsRun = 0;
  const s = def.setup(parsed.params);
  try {
    runList(def, s, parsed.cmds, () => commandsRun++);
    return { ok: true, ...base, commandsRun };
  } catch (e) {
    return { ok: false, ...base, commandsRun, ...failureOf(e) };
  }
}

/** What a campaign is run against: the layer's named policy (or the default), and classes bound in place of real ones. */
export interface FuzzTarget {
  /** Policy name of the campaign's policy layer (`--page`, `--slab`, `--vmap`, `--malloc`). @defaultValue the campaign's default */
  readonly policy?: string;
  /** Classes bound at their tokens (a mutant or a prototype). */
  readonly overrides?: SystemOverrides;
  /** Machine and other policies. @defaultValue the campaign's machine */
  readonly config?: SystemConfigInput;
}

/** A layer's campaign, as the registry lists it: everything the CLI and the mutant runner need, with no per-layer branch. */
export interface FuzzCampaign {
  readonly layer: FuzzLayer;
  /** One line for `--help` and the docs. */
  readonly summary: string;
  /** The policy table (`POLICIES` key) the campaign's policy option selects from, and the option's name. */
  readonly policyKind: 'page' | 'slab' | 'vmap' | 'malloc';
  /** The policy fuzzed when none is named. */
  readonly defaultPolicy: string;
  /** The machine the campaign runs on. */
  readonly machine: SystemConfigInput;
  /** Commands per run when the budget does not say. */
  readonly defaultMaxCommands: number;
  /** Runs a campaign. Deterministic for a given seed. */
  run(target: FuzzTarget, budget: FuzzBudget): FuzzReport;
  /** Runs a slice of a campaign to its end (see {@link runSlice}). */
  runSlice(target: FuzzTarget, slice: RunSlice): SliceReport;
  /** Replays a stored list (stops at the first failure). @throws AllocatorError `parse` for a malformed list */
  replay(target: FuzzTarget, commands: readonly unknown[], params?: unknown): FuzzReport;
  /** Validates a stored list without running it. @throws AllocatorError `parse` */
  validate(commands: readonly unknown[], params?: unknown): void;
  /** Draws `n` commands (with per-run parameters) from the generators, in their stored form: a reproducer's schema must accept each. */
  sample(n: number, seed: number): { commands: object[]; params?: object };
}

/** The description of a campaign, and how to build its definition for one target. */
export interface CampaignSpec<M extends object, R, P extends object> extends Omit<FuzzCampaign, 'run' | 'runSlice' | 'replay' | 'validate' | 'sample'> {
  /** The definition for a full config (machine and policy already resolved) and the overrides. */
  def(config: SystemConfigInput, overrides: SystemOverrides): CampaignDef<M, R, P>;
}

/** Wraps a layer's definition into its registry entry. */
export function defineCampaign<M extends object, R, P extends object>(s: CampaignSpec<M, R, P>): FuzzCampaign {
  const defFor = (t: FuzzTarget): CampaignDef<M, R, P> => {
    const base = t.config ?? s.machine;
    const config = { ...base, policies: { ...base.policies, [s.policyKind]: t.policy ?? base.policies?.[s.policyKind] ?? s.defaultPolicy } };
    return s.def(config, t.overrides ?? {});
  };
  return {
    layer: s.layer,
    summary: s.summary,
    policyKind: s.policyKind,
    defaultPolicy: s.defaultPolicy,
    machine: s.machine,
    defaultMaxCommands: s.defaultMaxCommands,
    run: (t, b) => runCampaign(defFor(t), { seed: b.seed, numRuns: b.numRuns, maxCommands: b.maxCommands ?? s.defaultMaxCommands, path: b.path }),
    runSlice: (t, slice) => runSlice(defFor(t), slice),
    replay: (t, commands, params) => replayCommands(defFor(t), commands, params),
    validate: (commands, params) => void parseCommands(defFor({}), commands, params),
    sample: (n, seed) => {
      const def = defFor({});
      const [cmds, params] = fc.sample(fc.tuple(fc.array(fc.oneof(...def.arbs()), { minLength: n, maxLength: n }), def.params ? def.params.arb() : fc.constant(undefined)), { seed, numRuns: 1 })[0]!;
      return { commands: cmds.map((c) => c.toJSON()), ...(params ? { params } : {}) };
    },
  };
}
