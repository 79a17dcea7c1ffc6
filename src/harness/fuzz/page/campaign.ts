/**
 * The page-allocator fuzz campaign: fast-check model-based runs over the
 * commands of this folder, on a small machine (so deep states are reached
 * quickly), against any PageAllocator — a named policy or a user's class
 * (a mutant is just such a class). A failure comes back shrunk, with the
 * seed, the replay path and the explicit command list that a reproducer
 * file stores.
 */

import fc from 'fast-check';
import type { Newable } from 'inversify';
import type { SystemConfigInput } from '../../../interfaces/config.js';
import { AllocatorError } from '../../../interfaces/errors.js';
import type { PageAllocator } from '../../../interfaces/page-allocator.js';
import { MAX_PAGE_ORDER } from '../../../interfaces/units.js';
import { createSystem } from '../../../system.js';
import { AllocCommand, FUZZ_GFPS } from './alloc.js';
import { DrainCommand, SetCpuCommand } from './cpu.js';
import { FreeCommand } from './free.js';
import { GetPageCommand } from './get-page.js';
import { ExhaustCommand, FreeEveryOtherCommand } from './macros.js';
import { FuzzFailure, checkAll, type PageModel, type PageReal } from './model.js';

/** The small machine the fuzz uses unless told otherwise: DMA and DMA32 zones, 2 CPUs. */
export const FUZZ_MACHINE: SystemConfigInput = { machine: { memBytes: 24 << 20, kernelImageBytes: 1 << 20, cpus: 2, thp: false } };

/** A page-allocator fuzz command. */
export type PageCommand = fc.Command<PageModel, PageReal> & { toJSON(): object };

/** Weighted command arbitraries. */
export function pageCommandArbs(): fc.Arbitrary<PageCommand>[] {
  const order = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 3 }) }, { weight: 2, arbitrary: fc.integer({ min: 4, max: MAX_PAGE_ORDER }) });
  const gfp = fc.nat({ max: FUZZ_GFPS.length - 1 });
  return [
    fc.tuple(order, gfp).map(([o, g]) => new AllocCommand(o, g) as PageCommand),
    fc.tuple(order, gfp).map(([o, g]) => new AllocCommand(o, g) as PageCommand),
    fc.nat().map((p) => new FreeCommand(p) as PageCommand),
    fc.nat().map((p) => new FreeCommand(p) as PageCommand),
    fc.nat().map((p) => new GetPageCommand(p) as PageCommand),
    fc.nat({ max: 7 }).map((c) => new SetCpuCommand(c) as PageCommand),
    fc.integer({ min: -1, max: 3 }).map((c) => new DrainCommand(c) as PageCommand),
    fc.tuple(fc.integer({ min: 0, max: 4 }), gfp, fc.integer({ min: 8, max: 600 })).map(([o, g, l]) => new ExhaustCommand(o, g, l) as PageCommand),
    fc.boolean().map((odd) => new FreeEveryOtherCommand(odd) as PageCommand),
  ];
}

/** Rebuilds a command from its JSON form (reproducer files). @throws AllocatorError `parse` */
export function pageCommandFromJSON(o: unknown, index: number): PageCommand {
  const bad = (): never => {
    throw new AllocatorError('parse', `reproducer command #${index} is not a page command: ${JSON.stringify(o)}`);
  };
  if (typeof o !== 'object' || o === null) return bad();
  const r = o as Record<string, unknown>;
  const int = (k: string): number => (Number.isInteger(r[k]) ? (r[k] as number) : bad());
  switch (r['op']) {
    case 'alloc':
      return new AllocCommand(int('order'), int('gfpIndex'));
    case 'free':
      return new FreeCommand(int('pick'));
    case 'get_page':
      return new GetPageCommand(int('pick'));
    case 'set_cpu':
      return new SetCpuCommand(int('cpu'));
    case 'drain':
      return new DrainCommand(int('cpu'));
    case 'exhaust':
      return new ExhaustCommand(int('order'), int('gfpIndex'), int('limit'));
    case 'free_every_other':
      return new FreeEveryOtherCommand(r['odd'] === true);
    default:
      return bad();
  }
}

/** What to fuzz and for how long. */
export interface PageFuzzOpts {
  /** Machine and policy. @defaultValue FUZZ_MACHINE with the buddy policy */
  readonly config?: SystemConfigInput;
  /** A class to test instead of the named policy (a mutant or a prototype). */
  readonly impl?: Newable<PageAllocator>;
  readonly seed: number;
  readonly numRuns: number;
  /** @defaultValue 120 */
  readonly maxCommands?: number;
  /** Replay a previous failure's path (with its seed). */
  readonly path?: string;
}

/** The outcome of a campaign. */
export interface PageFuzzReport {
  readonly ok: boolean;
  readonly seed: number;
  readonly numRuns: number;
  /** Runs executed before the failure (or all). */
  readonly runsDone: number;
  readonly path?: string;
  /** The shrunk failing command list, as stored in a reproducer. */
  readonly commands?: object[];
  /** Readable command list. */
  readonly commandText?: string;
  /** The first failure's message (violations or error). */
  readonly failure?: string;
  /** Invariant codes of the failure (empty for an exception). */
  readonly codes?: string[];
}

/** Builds a fresh system and an empty model. */
function setup(opts: PageFuzzOpts): () => { model: PageModel; real: PageReal } {
  const cfg = opts.config ?? FUZZ_MACHINE;
  return () => {
    const sys = createSystem({ ...cfg, debug: { checks: true, trace: false } }, opts.impl ? { page: opts.impl } : {});
    return { model: { held: [], stamp: 0 }, real: { sys } };
  };
}

function failureOf(e: unknown): { failure: string; codes: string[] } {
  if (e instanceof FuzzFailure) return { failure: e.message, codes: [...new Set(e.violations.map((v) => v.code))] };
  return { failure: e instanceof Error ? `${e.name}: ${e.message}` : String(e), codes: [] };
}

/** Runs a campaign. Deterministic for a given seed. */
export function runPageFuzz(opts: PageFuzzOpts): PageFuzzReport {
  const init = setup(opts);
  let lastError: unknown;
  const prop = fc.property(fc.commands(pageCommandArbs(), { maxCommands: opts.maxCommands ?? 120, size: 'max' }), (cmds) => {
    try {
      const s = init();
      checkAll(s.real);
      fc.modelRun(() => s, cmds);
    } catch (e) {
      lastError = e;
      throw e;
    }
  });
  const details = fc.check(prop, { seed: opts.seed, numRuns: opts.numRuns, ...(opts.path ? { path: opts.path } : {}) });
  if (!details.failed) return { ok: true, seed: opts.seed, numRuns: opts.numRuns, runsDone: details.numRuns };
  const cmds = details.counterexample?.[0];
  // fast-check hands back its wrappers; keep the commands that actually ran.
  const wrapped = cmds ? ([...cmds] as unknown as { cmd: PageCommand; hasRan: boolean }[]) : [];
  const list = wrapped.filter((w) => w.hasRan).map((w) => w.cmd.toJSON());
  // Re-run the shrunk list to report its own failure (the last error seen is the shrunk one).
  const replay = replayPageCommands(list, opts);
  const f = replay.ok ? failureOf(lastError) : { failure: replay.failure ?? '', codes: replay.codes ?? [] };
  return {
    ok: false,
    seed: opts.seed,
    numRuns: opts.numRuns,
    runsDone: details.numRuns,
    path: details.counterexamplePath ?? undefined,
    commands: list,
    commandText: wrapped.filter((w) => w.hasRan).map((w) => w.cmd.toString()).join(', '),
    failure: f.failure,
    codes: f.codes,
  };
}

/** Replays an explicit command list (a reproducer); stops at the first failure. */
export function replayPageCommands(commands: readonly unknown[], opts: Omit<PageFuzzOpts, 'seed' | 'numRuns'>): PageFuzzReport {
  const cmds = commands.map((c, i) => pageCommandFromJSON(c, i));
  const { model, real } = setup({ ...opts, seed: 0, numRuns: 1 })();
  try {
    checkAll(real);
    for (const c of cmds) c.run(model, real);
    return { ok: true, seed: 0, numRuns: 1, runsDone: 1, commands: cmds.map((c) => c.toJSON()) };
  } catch (e) {
    const f = failureOf(e);
    return { ok: false, seed: 0, numRuns: 1, runsDone: 1, commands: cmds.map((c) => c.toJSON()), commandText: cmds.map(String).join(', '), ...f };
  }
}
