/**
 * The model-based fuzz engine every layer's campaign uses: fast-check
 * commands over a fresh (model, real) pair per run, failures shrunk and
 * reported with seed, path and the explicit command list a reproducer
 * stores; and the replay of such a list.
 */

import fc from 'fast-check';
import { FuzzFailure } from './page/model.js';
import { AllocatorError } from '../src/interfaces/errors.js';

/** A command that can be stored in a reproducer. */
export type StoredCommand<M extends object, R> = fc.Command<M, R> & { toJSON(): object };

/** One layer's campaign definition. */
export interface CampaignDef<M extends object, R> {
  /** Builds a fresh model and system. */
  setup(): { model: M; real: R };
  /** Checks run once on the fresh system. */
  initialCheck(real: R): void;
  /** Weighted command arbitraries. */
  arbs(): fc.Arbitrary<StoredCommand<M, R>>[];
  /** Called when a run is over (pass or fail): frees what the system holds outside the JS heap. */
  teardown?(real: R): void;
  /** Rebuilds a command from its JSON form. */
  fromJSON(o: unknown, index: number): StoredCommand<M, R>;
}

/** The outcome of a campaign or a replay. */
export interface FuzzReport {
  readonly ok: boolean;
  readonly seed: number;
  readonly numRuns: number;
  readonly runsDone: number;
  readonly path?: string;
  readonly commands?: object[];
  readonly commandText?: string;
  readonly failure?: string;
  readonly codes?: string[];
}

function failureOf(e: unknown): { failure: string; codes: string[] } {
  if (e instanceof FuzzFailure) return { failure: e.message, codes: [...new Set(e.violations.map((v) => v.code))] };
  if (e instanceof AllocatorError) return { failure: `AllocatorError(${e.kind}): ${e.message}`, codes: [`error:${e.kind}`] };
  return { failure: e instanceof Error ? `${e.name}: ${e.message}` : String(e), codes: [] };
}

/** Runs `numRuns` seeded runs of at most `maxCommands` commands. */
export function runCampaign<M extends object, R>(def: CampaignDef<M, R>, seed: number, numRuns: number, maxCommands: number, path?: string): FuzzReport {
  let lastError: unknown;
  const prop = fc.property(fc.commands(def.arbs(), { maxCommands, size: 'max' }), (cmds) => {
    const s = def.setup();
    try {
      def.initialCheck(s.real);
      fc.modelRun(() => s, cmds);
    } catch (e) {
      lastError = e;
      throw e;
    } finally {
      def.teardown?.(s.real);
    }
  });
  const details = fc.check(prop, { seed, numRuns, ...(path ? { path } : {}) });
  if (!details.failed) return { ok: true, seed, numRuns, runsDone: details.numRuns };
  // fast-check hands back its wrappers; keep the commands that actually ran.
  const wrapped = details.counterexample ? ([...details.counterexample[0]] as unknown as { cmd: StoredCommand<M, R>; hasRan: boolean }[]) : [];
  const ran = wrapped.filter((w) => w.hasRan).map((w) => w.cmd);
  const list = ran.map((c) => c.toJSON());
  const replay = replayCommands(def, list);
  const f = replay.ok ? failureOf(lastError) : { failure: replay.failure ?? '', codes: replay.codes ?? [] };
  return { ok: false, seed, numRuns, runsDone: details.numRuns, path: details.counterexamplePath ?? undefined, commands: list, commandText: ran.map(String).join(', '), ...f };
}

/** Replays an explicit command list; stops at the first failure. */
export function replayCommands<M extends object, R>(def: CampaignDef<M, R>, commands: readonly unknown[]): FuzzReport {
  const cmds = commands.map((c, i) => def.fromJSON(c, i));
  const { model, real } = def.setup();
  try {
    def.initialCheck(real);
    for (const c of cmds) if (c.check(model)) c.run(model, real);
    return { ok: true, seed: 0, numRuns: 1, runsDone: 1, commands: cmds.map((c) => c.toJSON()) };
  } catch (e) {
    return { ok: false, seed: 0, numRuns: 1, runsDone: 1, commands: cmds.map((c) => c.toJSON()), commandText: cmds.map(String).join(', '), ...failureOf(e) };
  } finally {
    def.teardown?.(real);
  }
}
