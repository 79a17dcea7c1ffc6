/**
 * The slab-layer fuzz campaign: cache create/destroy, kmem_cache alloc and
 * free (bulk too), kmalloc across every size class and the large path,
 * krealloc, CPU switches and shrink, and dev_kmalloc on top (devices,
 * dev_kmalloc, dev_krealloc, dev_kfree, device_release), against any slab backend (a policy or a
 * mutant class), on a small machine with every invariant checked after each
 * command.
 */

import fc from 'fast-check';
import type { Newable } from 'inversify';
import type { SystemConfigInput } from '../../src/interfaces/config.js';
import type { SlabBackend } from '../../src/interfaces/slab.js';
import { createSystem, type SystemOverrides } from '../../src/system.js';
import { FUZZ_MACHINE, FUZZ_MAX_CPU } from '../common.js';
import { defineCampaign, type CampaignDef, type FuzzReport, type StoredCommand } from '../engine.js';
import { commandParser } from '../schema.js';
import { CACHE_SPECS, CacheAllocCommand, CreateCacheCommand, CreateCtorCacheCommand, DestroyCacheCommand, ShrinkCommand } from './cache-commands.js';
import { checkAll, type SlabModel, type SlabReal } from './model.js';
import { FreeCommand, KMALLOC_MAX_FUZZ, KmallocCommand, KreallocCommand, OBJECT_SPECS, SetCpuCommand } from './object-commands.js';
import { DEV_SPECS, DevAllocCommand, DevKreallocCommand, DeviceReleaseCommand, RegisterDeviceCommand } from './dev-commands.js';

type SlabCommand = StoredCommand<SlabModel, SlabReal>;

/** What to fuzz. */
export interface SlabFuzzOpts {
  /** Machine and policies. @defaultValue FUZZ_MACHINE with SLUB */
  readonly config?: SystemConfigInput;
  /** A backend class to test instead of the named policy (a mutant or a prototype). */
  readonly impl?: Newable<SlabBackend>;
  /** Other classes bound in place of real ones (a slab front end, dev_kmalloc, a page allocator). */
  readonly overrides?: SystemOverrides;
  readonly seed: number;
  readonly numRuns: number;
  /** @defaultValue 100 */
  readonly maxCommands?: number;
}

/** Request sizes: every kmalloc class edge, odd sizes, and the large path. */
const SIZES = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 256 }) },
  { weight: 3, arbitrary: fc.constantFrom(8, 9, 16, 17, 32, 33, 64, 65, 96, 97, 128, 129, 192, 193, 256, 257, 512, 513, 1024, 1025, 2048, 2049, 4096, 4097, 8192, 8193) },
  { weight: 2, arbitrary: fc.integer({ min: 257, max: 8192 }) },
  { weight: 1, arbitrary: fc.integer({ min: 8193, max: KMALLOC_MAX_FUZZ }) },
  { weight: 1, arbitrary: fc.constant(0) },
);

function arbs(): fc.Arbitrary<SlabCommand>[] {
  return [
    fc.tuple(fc.nat(), fc.nat(), fc.nat()).map(([s, a, f]) => new CreateCacheCommand(s, a, f) as SlabCommand),
    fc.tuple(fc.nat(), fc.nat()).map(([s, f]) => new CreateCtorCacheCommand(s, f) as SlabCommand),
    fc.nat().map((p) => new DestroyCacheCommand(p) as SlabCommand),
    fc.tuple(fc.nat(), fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 80 }))).map(([p, n]) => new CacheAllocCommand(p, n) as SlabCommand),
    fc.tuple(fc.nat(), fc.integer({ min: 1, max: 40 })).map(([p, n]) => new CacheAllocCommand(p, n) as SlabCommand),
    fc.tuple(SIZES, fc.nat()).map(([s, g]) => new KmallocCommand(s, g) as SlabCommand),
    fc.tuple(SIZES, fc.nat()).map(([s, g]) => new KmallocCommand(s, g) as SlabCommand),
    fc.tuple(fc.nat(), fc.integer({ min: 1, max: 9000 })).map(([p, s]) => new KreallocCommand(p, s) as SlabCommand),
    fc.tuple(fc.nat(), fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 60 }))).map(([p, n]) => new FreeCommand(p, n) as SlabCommand),
    fc.tuple(fc.nat(), fc.constant(1)).map(([p, n]) => new FreeCommand(p, n) as SlabCommand),
    fc.nat({ max: FUZZ_MAX_CPU }).map((c) => new SetCpuCommand(c) as SlabCommand),
    fc.nat().map((p) => new ShrinkCommand(p) as SlabCommand),
    fc.constant(new RegisterDeviceCommand()),
    fc.tuple(fc.nat(), fc.integer({ min: 0, max: 5000 })).map(([p, s]) => new DevAllocCommand(p, s) as SlabCommand),
    fc.tuple(fc.nat(), fc.integer({ min: 0, max: 600 })).map(([p, s]) => new DevAllocCommand(p, s) as SlabCommand),
    fc.tuple(fc.nat(), fc.integer({ min: 1, max: 3000 })).map(([p, s]) => new DevKreallocCommand(p, s) as SlabCommand),
    fc.nat().map((p) => new DeviceReleaseCommand(p) as SlabCommand),
  ];
}

const fromJSON = commandParser<SlabCommand>('slab', [...CACHE_SPECS, ...OBJECT_SPECS, ...DEV_SPECS]);

/** The slab layer's campaign (registry entry): kmem caches, kmalloc and dev_kmalloc over one slab policy. */
export const SLAB_CAMPAIGN = defineCampaign({
  layer: 'slab',
  summary: 'kmem_cache create/destroy/alloc/bulk/shrink, kmalloc across every class and the large path, krealloc, CPU switches, dev_kmalloc on devices',
  policyKind: 'slab',
  defaultPolicy: 'slub',
  machine: FUZZ_MACHINE,
  defaultMaxCommands: 100,
  def: (cfg, overrides): CampaignDef<SlabModel, SlabReal> => ({
    setup: () => ({
      model: { held: [], caches: [], devices: [], stamp: 0 },
      real: { sys: createSystem({ ...cfg, debug: { ...cfg.debug, checks: true, trace: false } }, overrides) },
    }),
    initialCheck: checkAll,
    teardown: (r) => r.sys.machine.mem.release(),
    arbs,
    fromJSON,
  }),
});

const target = (opts: Omit<SlabFuzzOpts, 'seed' | 'numRuns'>) => ({ config: opts.config, overrides: { ...opts.overrides, ...(opts.impl ? { slab: opts.impl } : {}) } });

/** Runs a slab campaign. */
export function runSlabFuzz(opts: SlabFuzzOpts): FuzzReport {
  return SLAB_CAMPAIGN.run(target(opts), opts);
}

/** Replays a stored slab command list. */
export function replaySlabCommands(commands: readonly unknown[], opts: Omit<SlabFuzzOpts, 'seed' | 'numRuns'>): FuzzReport {
  return SLAB_CAMPAIGN.replay(target(opts), commands);
}
