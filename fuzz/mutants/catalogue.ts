/** Every mutant, by id or name. */

import type { Newable } from 'inversify';
import { AllocatorError } from '../../src/interfaces/errors.js';
import type { PageAllocator } from '../../src/interfaces/page-allocator.js';
import type { SlabBackend } from '../../src/interfaces/slab.js';
import type { SlabCommon } from '../../src/policies/slab/slab-common.js';
import type { DevKmalloc } from '../../src/policies/devres/dev-kmalloc.js';
import type { SystemOverrides } from '../../src/system.js';
import type { FuzzReport } from '../engine.js';
import { FUZZ_MACHINE, replayPageCommands, runPageFuzz } from '../page/campaign.js';
import { replaySlabCommands, runSlabFuzz } from '../slab/campaign.js';
import { BUDDY_MUTANTS } from './buddy.js';
import { SLAB_MUTANTS } from './slab.js';
import { DEV_MUTANTS } from './dev.js';
import { VMALLOC_MUTANTS } from './vmalloc.js';
import { replayVmallocCommands, runVmallocFuzz, type VmallocFuzzOpts } from '../vmalloc/campaign.js';
import type { Vmalloc } from '../../src/policies/vmalloc/vmalloc.js';
import type { VmapSpace } from '../../src/interfaces/vmalloc.js';
import type { MutantEntry } from './registry-types.js';

/** The catalogue. */
export const MUTANTS: readonly MutantEntry[] = [...BUDDY_MUTANTS, ...SLAB_MUTANTS, ...DEV_MUTANTS, ...VMALLOC_MUTANTS];

/** Looks a mutant up by id (`B-01`) or name (`skip-merge`). @throws AllocatorError `unknown-name` */
export function findMutant(key: string): MutantEntry {
  const m = MUTANTS.find((x) => x.id === key || x.name === key);
  if (!m) throw new AllocatorError('unknown-name', `unknown mutant '${key}' (known: ${MUTANTS.map((x) => `${x.id} ${x.name}`).join(', ')})`);
  return m;
}

/** The fuzz budget a mutant is run with. */
export interface MutantBudget {
  readonly seed: number;
  readonly numRuns: number;
  readonly maxCommands: number;
}

/** Runs the fuzz of the mutant's layer with the mutant bound in place of the real class. */
export function fuzzMutant(m: MutantEntry, b: MutantBudget): FuzzReport {
  if (m.layer === 'page') return runPageFuzz({ config: FUZZ_MACHINE, impl: m.impl as Newable<PageAllocator>, ...b });
  if (m.layer === 'vmalloc' || m.layer === 'vmap') return runVmallocFuzz({ ...vmallocOpts(m), ...b });
  return runSlabFuzz({ ...mutantSlabOpts(m), ...b });
}

/** Replays a stored command list against the mutant (or, with `real`, against the real classes). */
export function replayMutant(m: MutantEntry, commands: readonly unknown[], real = false): FuzzReport {
  if (m.layer === 'page') return replayPageCommands(commands, { config: FUZZ_MACHINE, impl: real ? undefined : (m.impl as Newable<PageAllocator>) });
  if (m.layer === 'vmalloc' || m.layer === 'vmap') return replayVmallocCommands(commands, real ? {} : vmallocOpts(m));
  return replaySlabCommands(commands, real ? { config: FUZZ_MACHINE } : mutantSlabOpts(m));
}

function vmallocOpts(m: MutantEntry): Pick<VmallocFuzzOpts, 'overrides'> {
  return m.layer === 'vmap' ? { overrides: { vmap: m.impl as Newable<VmapSpace> } } : { overrides: { vmalloc: m.impl as typeof Vmalloc } };
}

function mutantSlabOpts(m: MutantEntry): { config: typeof FUZZ_MACHINE; impl?: Newable<SlabBackend>; overrides?: SystemOverrides } {
  if (m.layer === 'slab') return { config: FUZZ_MACHINE, impl: m.impl as Newable<SlabBackend> };
  if (m.layer === 'dev') return { config: FUZZ_MACHINE, overrides: { dev: m.impl as Newable<DevKmalloc> } };
  return { config: FUZZ_MACHINE, overrides: { kmem: m.impl as Newable<SlabCommon> } };
}
