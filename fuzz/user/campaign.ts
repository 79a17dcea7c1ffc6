/**
 * The user-malloc fuzz campaign: fast-check model-based runs of malloc,
 * free, realloc, calloc, memalign / posix_memalign, malloc_trim and the
 * macros fill-a-size-class and free-every-other, with sizes across the
 * tcache, fastbin, small, large and mmap ranges, in a fresh process per run
 * with glibc's tcache on or off (a per-run parameter, stored in the
 * reproducer). Against any user-space malloc: a named policy (ptmalloc, the
 * implicit and segregated baselines) or a class bound at USER_MALLOC (a
 * mutant or a prototype).
 *
 * After every command: the policy's heap invariants (U1–U8 / F1–F4) and the
 * model (U9 contract, X1 overlap, X3 tags; see `model.ts`). At the end of a
 * run every held block is checked and freed, and the heap and then the
 * whole system (page tables, page allocator, cross-layer) are checked.
 */

import fc from 'fast-check';
import { createSystem } from '../../src/system.js';
import type { SystemConfigInput } from '../../src/interfaces/config.js';
import { FUZZ_MACHINE, FuzzFailure } from '../common.js';
import { defineCampaign, type CampaignDef, type StoredCommand } from '../engine.js';
import { BOOL, commandParser, parseFields } from '../schema.js';
import { CALLOC_SPEC, CallocCommand } from './calloc.js';
import { FREE_SPEC, FreeCommand } from './free.js';
import { FILL_SPEC, FREE_EVERY_OTHER_SPEC, FillClassCommand, FreeEveryOtherCommand } from './macros.js';
import { MALLOC_SPEC, MallocCommand } from './malloc.js';
import { MEMALIGN_SPEC, MemalignCommand } from './memalign.js';
import { checkHeap, release, type UserModel, type UserReal } from './model.js';
import { REALLOC_SPEC, ReallocCommand } from './realloc.js';
import { ALIGN_LOG2_MAX, ALIGN_LOG2_MIN, CALLOC_MAX_NMEMB, CALLOC_MAX_SIZE, FILL_MAX_COUNT, FILL_SIZE, REQUEST_SIZE, TRIM_MAX_PAD } from './sizes.js';
import { TRIM_SPEC, TrimCommand } from './trim.js';

/** A user-malloc fuzz command. */
export type UserCommand = StoredCommand<UserModel, UserReal>;

/** Per-run parameters: glibc's tcache on (the default) or off (`glibc.malloc.tcache_count=0`). */
export interface UserRunParams {
  readonly tcache: boolean;
}

/**
 * The machine: the page and slab campaigns' small one. A run's process
 * stays below 2 MiB resident (measured over 1,000 runs of 200 commands), far
 * from the out-of-memory on a page fault that the simulation treats as
 * misuse; a small machine keeps the per-run system build and the end-of-run
 * system check cheap, which is most of a shrink's cost.
 */
export const USER_FUZZ_MACHINE: SystemConfigInput = FUZZ_MACHINE;

/** Seed of the per-process tcache key (fixed: a reproducer needs no more). */
const TCACHE_KEY_SEED = 1;

/** Weighted command arbitraries (a command listed twice is drawn twice as often). */
export function userCommandArbs(): fc.Arbitrary<UserCommand>[] {
  const malloc = REQUEST_SIZE.map((s) => new MallocCommand(s) as UserCommand);
  const free = fc.nat().map((p) => new FreeCommand(p) as UserCommand);
  const realloc = fc.tuple(fc.nat(), REQUEST_SIZE).map(([p, s]) => new ReallocCommand(p, s) as UserCommand);
  return [
    malloc,
    malloc,
    malloc,
    malloc,
    free,
    free,
    free,
    realloc,
    realloc,
    fc.tuple(fc.integer({ min: 0, max: CALLOC_MAX_NMEMB }), fc.oneof(fc.integer({ min: 0, max: 256 }), fc.integer({ min: 0, max: CALLOC_MAX_SIZE }))).map(([n, s]) => new CallocCommand(n, s) as UserCommand),
    fc.tuple(fc.integer({ min: ALIGN_LOG2_MIN, max: ALIGN_LOG2_MAX }), REQUEST_SIZE, fc.boolean()).map(([a, s, posix]) => new MemalignCommand(a, s, posix) as UserCommand),
    fc.tuple(FILL_SIZE, fc.integer({ min: 1, max: FILL_MAX_COUNT })).map(([s, n]) => new FillClassCommand(s, n) as UserCommand),
    fc.boolean().map((odd) => new FreeEveryOtherCommand(odd) as UserCommand),
    fc.oneof(fc.constant(0), fc.integer({ min: 0, max: TRIM_MAX_PAD })).map((pad) => new TrimCommand(pad) as UserCommand),
  ];
}

/** Rebuilds a command from its JSON form (reproducer files). @throws AllocatorError `parse` naming the command and field */
export const userCommandFromJSON: (o: unknown, index: number) => UserCommand = commandParser<UserCommand>('user', [
  MALLOC_SPEC,
  FREE_SPEC,
  REALLOC_SPEC,
  CALLOC_SPEC,
  MEMALIGN_SPEC,
  TRIM_SPEC,
  FILL_SPEC,
  FREE_EVERY_OTHER_SPEC,
]);

const PARAM_FIELDS = { tcache: BOOL };

/** End of a run: every held block checked and freed, then the heap and the whole system. */
function finalCheck(model: UserModel, real: UserReal): void {
  while (model.live.length) release(model, real, model.live.length - 1, 'end of run, free');
  checkHeap(real, 'end of run, everything freed');
  const v = real.sys.checkInvariants();
  for (const r of real.sys.machine.reports.list()) v.push({ code: 'R0', message: `a detector reported ${r.kind} although the program did nothing wrong` });
  if (v.length) throw new FuzzFailure(v.map((x) => ({ ...x, message: `end of run: ${x.message}` })));
}

/** The user layer's campaign (registry entry). */
export const USER_CAMPAIGN = defineCampaign({
  layer: 'user',
  summary: 'malloc, free, realloc, calloc, memalign/posix_memalign, malloc_trim, fill-a-size-class and free-every-other across the tcache, fastbin, small, large and mmap ranges, tcache on or off per run',
  policyKind: 'malloc',
  defaultPolicy: 'ptmalloc',
  machine: USER_FUZZ_MACHINE,
  defaultMaxCommands: 150,
  def: (cfg, overrides): CampaignDef<UserModel, UserReal, UserRunParams> => ({
    setup: (params) => {
      const sys = createSystem({ ...cfg, debug: { ...cfg.debug, checks: true, trace: false } }, overrides);
      const mm = sys.processes.spawn('fuzz');
      const libc = sys.loadMalloc(mm, { tcache: params.tcache, seed: TCACHE_KEY_SEED });
      return { model: { live: [], stamp: 0 }, real: { sys, mm, libc } };
    },
    initialCheck: (r) => checkHeap(r),
    finalCheck,
    params: {
      // Shrinks towards tcache on, glibc's default; off in about one run in four.
      arb: () => fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }).map((tcache) => ({ tcache })),
      parse: (o) => parseFields('params', PARAM_FIELDS, o),
    },
    teardown: (r) => r.sys.machine.mem.release(),
    arbs: userCommandArbs,
    fromJSON: userCommandFromJSON,
  }),
});
