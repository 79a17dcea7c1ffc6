/**
 * The page-allocator fuzz campaign: fast-check model-based runs over the
 * commands of this folder, on a small machine (so deep states are reached
 * quickly), against any PageAllocator — a named policy or a user's class
 * (a mutant is just such a class). A failure comes back shrunk, with the
 * seed, the replay path and the explicit command list that a reproducer
 * file stores.
 */

import fc from 'fast-check';
import { replayCommands, runCampaign, type CampaignDef, type FuzzReport } from '../engine.js';
import type { Newable } from 'inversify';
import type { SystemConfigInput } from '../../src/interfaces/config.js';
import { AllocatorError } from '../../src/interfaces/errors.js';
import type { PageAllocator } from '../../src/interfaces/page-allocator.js';
import { MAX_PAGE_ORDER } from '../../src/interfaces/units.js';
import { createSystem } from '../../src/system.js';
import { AllocCommand, FUZZ_GFPS } from './alloc.js';
import { DrainCommand, SetCpuCommand } from './cpu.js';
import { FreeCommand } from './free.js';
import { GetPageCommand } from './get-page.js';
import { ExhaustCommand, FreeEveryOtherCommand } from './macros.js';
import { checkAll, type PageModel, type PageReal } from './model.js';

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

/** The outcome of a campaign (see the engine). */
export type PageFuzzReport = FuzzReport;

/** The campaign definition for the page layer. */
function pageCampaign(opts: Omit<PageFuzzOpts, 'seed' | 'numRuns'>): CampaignDef<PageModel, PageReal> {
  const cfg = opts.config ?? FUZZ_MACHINE;
  return {
    setup: () => ({ model: { held: [], stamp: 0 }, real: { sys: createSystem({ ...cfg, debug: { ...cfg.debug, checks: true, trace: false } }, opts.impl ? { page: opts.impl } : {}) } }),
    initialCheck: checkAll,
    teardown: (r) => r.sys.machine.mem.release(),
    arbs: pageCommandArbs,
    fromJSON: pageCommandFromJSON,
  };
}

/** Runs a campaign. Deterministic for a given seed. */
export function runPageFuzz(opts: PageFuzzOpts): PageFuzzReport {
  return runCampaign(pageCampaign(opts), opts.seed, opts.numRuns, opts.maxCommands ?? 120, opts.path);
}

/** Replays an explicit command list (a reproducer); stops at the first failure. */
export function replayPageCommands(commands: readonly unknown[], opts: Omit<PageFuzzOpts, 'seed' | 'numRuns'>): PageFuzzReport {
  return replayCommands(pageCampaign(opts), commands);
}
