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
import type { SystemConfigInput } from '../../src/interfaces/config.js';
import type { PageAllocator } from '../../src/interfaces/page-allocator.js';
import { MAX_PAGE_ORDER } from '../../src/interfaces/units.js';
import { createSystem } from '../../src/system.js';
import { FUZZ_MACHINE, FUZZ_MAX_CPU } from '../common.js';
import { defineCampaign, type CampaignDef, type FuzzReport, type StoredCommand } from '../engine.js';
import { commandParser } from '../schema.js';
import { ALLOC_SPEC, AllocCommand, FUZZ_GFPS } from './alloc.js';
import { DRAIN_SPEC, DrainCommand, SET_CPU_SPEC, SetCpuCommand } from './cpu.js';
import { FREE_SPEC, FreeCommand } from './free.js';
import { GET_PAGE_SPEC, GetPageCommand } from './get-page.js';
import { EXHAUST_SPEC, ExhaustCommand, FREE_EVERY_OTHER_SPEC, FreeEveryOtherCommand } from './macros.js';
import { checkAll, type PageModel, type PageReal } from './model.js';

/** A page-allocator fuzz command. */
export type PageCommand = StoredCommand<PageModel, PageReal>;

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
    fc.nat({ max: FUZZ_MAX_CPU }).map((c) => new SetCpuCommand(c) as PageCommand),
    fc.integer({ min: -1, max: 3 }).map((c) => new DrainCommand(c) as PageCommand),
    fc.tuple(fc.integer({ min: 0, max: 4 }), gfp, fc.integer({ min: 8, max: 600 })).map(([o, g, l]) => new ExhaustCommand(o, g, l) as PageCommand),
    fc.boolean().map((odd) => new FreeEveryOtherCommand(odd) as PageCommand),
  ];
}

/** Rebuilds a command from its JSON form (reproducer files). @throws AllocatorError `parse` naming the command and field */
export const pageCommandFromJSON: (o: unknown, index: number) => PageCommand = commandParser<PageCommand>('page', [ALLOC_SPEC, FREE_SPEC, GET_PAGE_SPEC, SET_CPU_SPEC, DRAIN_SPEC, EXHAUST_SPEC, FREE_EVERY_OTHER_SPEC]);

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

/** The page layer's campaign (registry entry). */
export const PAGE_CAMPAIGN = defineCampaign({
  layer: 'page',
  summary: 'alloc_pages with nine GFP masks, __free_pages, get_page, CPU switches, pcp drains, exhaust-an-order and free-every-other',
  policyKind: 'page',
  defaultPolicy: 'buddy',
  machine: FUZZ_MACHINE,
  defaultMaxCommands: 120,
  def: (cfg, overrides): CampaignDef<PageModel, PageReal> => ({
    setup: () => ({ model: { held: [], stamp: 0 }, real: { sys: createSystem({ ...cfg, debug: { ...cfg.debug, checks: true, trace: false } }, overrides) } }),
    initialCheck: checkAll,
    teardown: (r) => r.sys.machine.mem.release(),
    arbs: pageCommandArbs,
    fromJSON: pageCommandFromJSON,
  }),
});

const target = (opts: Omit<PageFuzzOpts, 'seed' | 'numRuns'>) => ({ config: opts.config, overrides: opts.impl ? { page: opts.impl } : {} });

/** Runs a campaign. Deterministic for a given seed. */
export function runPageFuzz(opts: PageFuzzOpts): PageFuzzReport {
  return PAGE_CAMPAIGN.run(target(opts), opts);
}

/** Replays an explicit command list (a reproducer); stops at the first failure. */
export function replayPageCommands(commands: readonly unknown[], opts: Omit<PageFuzzOpts, 'seed' | 'numRuns'>): PageFuzzReport {
  return PAGE_CAMPAIGN.replay(target(opts), commands);
}
