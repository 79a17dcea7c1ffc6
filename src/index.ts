/**
 * allocsim's public API: explicit named exports only.
 */

export { createSystem, resolveConfig, DEFAULT_CONFIG, type System, type SystemOverrides } from './system.js';
export type { SystemConfig, SystemConfigInput, MachineOpts, DebugOpts, PolicyChoice } from './interfaces/config.js';
export { AllocatorError, isAllocatorError, type AllocatorErrorKind, type AllocatorErrorInfo } from './interfaces/errors.js';
export type { Violation, InvariantChecked } from './interfaces/invariants.js';
export { formatViolations } from './interfaces/invariants.js';
export type { PageAllocator, PageAllocStats, ZoneReport, PcpReport, Shrinker } from './interfaces/page-allocator.js';
export { CONFIG, MACHINE, PAGE_ALLOCATOR } from './interfaces/tokens.js';
export {
  GFP_ATOMIC,
  GFP_DMA,
  GFP_DMA32,
  GFP_HIGHUSER,
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL,
  GFP_KERNEL_ACCOUNT,
  GFP_NOFS,
  GFP_NOIO,
  GFP_NOWAIT,
  GFP_USER,
  GFP_TRANSHUGE,
  GFP_TRANSHUGE_LIGHT,
  __GFP_COMP,
  __GFP_DMA,
  __GFP_DMA32,
  __GFP_HIGH,
  __GFP_MOVABLE,
  __GFP_NOFAIL,
  __GFP_NORETRY,
  __GFP_NOWARN,
  __GFP_RECLAIMABLE,
  __GFP_RETRY_MAYFAIL,
  __GFP_ZERO,
  MigrateType,
  ZoneType,
  formatGfp,
  parseGfp,
  type Gfp,
} from './interfaces/gfp.js';
export {
  MAX_PAGE_ORDER,
  NO_PFN,
  PAGE_OFFSET,
  PAGE_SIZE,
  pfnToPhys,
  pfnToVirt,
  physToPfn,
  virtToPfn,
  type Addr,
  type Order,
  type Pfn,
} from './interfaces/units.js';
export { SimulatedMachine } from './machine/machine.js';
export { BuddyAllocator } from './policies/page/buddy.js';
export { FirstFitAllocator } from './policies/page/firstfit.js';
export { POLICIES, policyNames } from './policies/registry.js';
export { buddyinfo, meminfo, pagetypeinfo, zoneinfo } from './proc/page.js';
export { PAGE_WORKLOADS, runPageWorkload, type PageWorkloadResult } from './harness/workloads/page.js';
export { runPageFuzz, replayPageCommands, type PageFuzzOpts, type PageFuzzReport } from '../fuzz/page/campaign.js';
export { FUZZ_MACHINE, FUZZ_LAYERS, FuzzFailure, type FuzzLayer } from '../fuzz/common.js';
export { type FuzzBudget, type FuzzCampaign, type FuzzReport, type FuzzTarget } from '../fuzz/engine.js';
export { FUZZ_CAMPAIGNS, campaignOf } from '../fuzz/registry.js';
export { MUTANTS, findMutant, fuzzMutant, replayMutant } from '../fuzz/mutants/catalogue.js';
export { type MutantEntry } from '../fuzz/mutants/registry-types.js';
export { parseReproducer, replayReproducer, type Reproducer } from '../fuzz/reproducer.js';
export { Rng } from './machine/rng.js';
