/**
 * allocsim's public API: explicit named exports only — every layer's
 * contract and token, every built-in policy, the composition root, the
 * /proc formatters, the workloads, the fuzz engine and its campaigns, the
 * mutant catalogue and the reproducer files.
 */

// The composition root and the configuration.
export { createSystem, type System, type SystemOverrides, type UserProcess } from './system.js';
export { DEFAULT_CONFIG, CONFIG_SCHEMA, checkConfigInput, resolveConfig, type ConfigSchema, type ConfigFieldType } from './config.js';
export type { SystemConfig, SystemConfigInput, MachineOpts, DebugOpts, PolicyChoice, UserOpts } from './interfaces/config.js';
export { AllocatorError, isAllocatorError, type AllocatorErrorKind, type AllocatorErrorInfo } from './interfaces/errors.js';
export { MAX_VIOLATIONS, formatViolations, type Violation, type InvariantChecked } from './interfaces/invariants.js';

// Tokens: one per contract, and inversify's decorators (a policy file imports them from here, so they are the CLI's own).
export { inject, injectable, optional } from './plugin/decorators.js';
export {
  CONFIG,
  DEV_KMALLOC,
  KASAN,
  KMEM,
  KMEMLEAK,
  MACHINE,
  PAGE_ALLOCATOR,
  PROCESSES,
  PROCESS_MEMORY,
  SLAB_BACKEND,
  USER_MALLOC,
  USER_MALLOC_OPTIONS,
  VMALLOC,
  VMAP_SPACE,
  LAYER_DEPENDENCIES,
  type Dependency,
  type PolicyLayer,
} from './interfaces/tokens.js';

// The contracts, layer by layer.
export type {
  Machine,
  MachineLayoutApi,
  StructPageArray,
  PfnListsApi,
  PhysicalMemoryApi,
  ExecContextApi,
  TracerApi,
  TraceEvent,
  KernelLogApi,
  ReportSinkApi,
  DebugReport,
  ZoneLayout,
  NodeLayout,
  PfnRange,
} from './interfaces/machine.js';
export type { PageAllocator, PageAllocStats, ZoneReport, PcpReport, Shrinker } from './interfaces/page-allocator.js';
export { allocPagesBulk } from './mm/page-bulk.js';
export {
  ARCH_KMALLOC_MINALIGN,
  CACHE_LINE_SIZE,
  KMALLOC_MAX_SIZE,
  SLAB_ACCOUNT,
  SLAB_CACHE_DMA,
  SLAB_CACHE_DMA32,
  SLAB_CONSISTENCY_CHECKS,
  SLAB_HWCACHE_ALIGN,
  SLAB_NO_MERGE,
  SLAB_POISON,
  SLAB_RECLAIM_ACCOUNT,
  SLAB_RED_ZONE,
  SLAB_STORE_USER,
  SLAB_TYPESAFE_BY_RCU,
  ZERO_SIZE_PTR,
  type CacheCounters,
  type CacheGeometry,
  type CacheHandle,
  type CacheInfo,
  type CacheSpec,
  type KmemApi,
  type KmemStats,
  type SlabBackend,
  type SlabStats,
} from './interfaces/slab.js';
export { DEV_HEADER_SIZE, DEV_MAGIC, DevHeader, type DevAllocation, type DevKmallocApi, type DeviceHandle, type DeviceReleaseReport } from './interfaces/devres.js';
export { VMALLOC_END, VM_ALLOC, VM_MAP, lazyMaxPages, type VmAreaInfo, type VmallocApi, type VmallocStats, type VmapSpace } from './interfaces/vmalloc.js';
export {
  MADV_DONTNEED,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_NORESERVE,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  type BinRow,
  type MmStats,
  type OvercommitOpts,
  type ProcessMemory,
  type ProcessTableApi,
  type UserMalloc,
  type UserMallocOptions,
  type UserMallocStats,
  type VmCommitApi,
  type VmaInfo,
} from './interfaces/user.js';
export type { KasanApi, KasanObjectInfo, KmemleakApi, Leak } from './interfaces/detectors.js';
export {
  COST_COUNTERS,
  COST_COUNTER_LABELS,
  COST_OPS,
  Cost,
  CostStruct,
  NR_COST_COUNTERS,
  type CostCounterName,
  type CostDistribution,
  type CostMeterApi,
  type CostOpName,
  type CostRow,
} from './interfaces/cost.js';
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
  gfpAllowsBlocking,
  parseGfp,
  type Gfp,
} from './interfaces/gfp.js';
export {
  MAX_PAGE_ORDER,
  NO_PFN,
  PAGE_OFFSET,
  PAGE_SIZE,
  TASK_SIZE,
  VMALLOC_START,
  alignDown,
  alignUp,
  formatKernelAddr,
  kptr,
  parseSize,
  pfnToPhys,
  pfnToVirt,
  physToPfn,
  virtToPfn,
  type Addr,
  type Order,
  type Pfn,
} from './interfaces/units.js';

// The built-in policies and the machine, and the one place their names live.
export { SimulatedMachine } from './machine/machine.js';
export { Rng } from './machine/rng.js';
export { BuddyAllocator } from './policies/page/buddy.js';
export { FirstFitAllocator } from './policies/page/firstfit.js';
export { SlabCommon } from './policies/slab/slab-common.js';
export { SlubBackend, type SlubCache } from './policies/slab/slub.js';
export { ClassicSlabBackend } from './policies/slab/slab.js';
export { SlobBackend } from './policies/slab/slob.js';
export { SlabBackendBase, SlabLiveMap, kmallocSizeClasses, type BackendCache } from './policies/slab/backend-base.js';
export { Mempool } from './policies/slab/mempool.js';
export { DevKmalloc } from './policies/devres/dev-kmalloc.js';
export { Vmalloc } from './policies/vmalloc/vmalloc.js';
export { VmapTreeSpace } from './policies/vmalloc/vmap-tree.js';
export { VmapListSpace } from './policies/vmalloc/vmap-list.js';
export { Ptmalloc } from './policies/user/ptmalloc.js';
export { ImplicitFirstFit } from './policies/user/implicit.js';
export { SegregatedFit } from './policies/user/segregated.js';
export { POLICIES, policyNames, pageAllocatorModule, slabBackendModule, userMallocModule, vmapSpaceModule, type Layer, type PolicyEntry } from './policies/registry.js';

// Cost counters and time-series sampling.
export { CostMeter, meterEntryPoints, meterLists, meterMemory, type EntryPoints, type OpListener } from './machine/cost.js';
export { Col, Sampler, SeriesTable, type SamplerOpts } from './harness/observe/sampler.js';
export { memoryMap, type MemoryMapSnapshot } from './harness/observe/memory-map.js';

// /proc formats.
export { buddyinfo, meminfo, pagetypeinfo, zoneinfo } from './proc/page.js';
export { unusableFreeIndex, unusableIndex } from './proc/extfrag.js';
export { slabinfo } from './proc/slab.js';
export { vmallocinfo } from './proc/vmalloc.js';
export { maps, smaps } from './proc/process.js';

// Workloads and traces.
export { PAGE_WORKLOADS, runPageWorkload, type PageWorkloadResult } from './harness/workloads/page.js';
export { SLAB_WORKLOADS, runSlabTrace, runSlabWorkload, type SlabWorkloadResult } from './harness/workloads/slab.js';
export { parseFtraceKmem, parseFtraceKmemFile, type KmemEvent } from './harness/trace/ftrace-kmem.js';
export { replayKmem, type ReplayResult } from './harness/trace/replay.js';
export { parseUserTrace, parseUserTraceFile, type UserTrace, type UserTraceFormat } from './harness/user/trace.js';
export { USER_TRACE_MIXES, generateUserTrace, type UserTraceGenOpts } from './harness/user/trace-gen.js';
export { replayUserTrace, type UserReplayResult } from './harness/user/replayer.js';

// Fuzzing: the engine, one campaign per layer, mutants and reproducers.
export { FUZZ_LAYERS, FUZZ_MACHINE, FuzzFailure, type FuzzLayer } from '../fuzz/common.js';
export {
  runCampaign,
  runSlice,
  replayCommands,
  defineCampaign,
  type CampaignDef,
  type CampaignSpec,
  type CoverageMap,
  type FuzzBudget,
  type FuzzCampaign,
  type FuzzReport,
  type FuzzTarget,
  type RunSlice,
  type SliceFailure,
  type SliceFinding,
  type SliceReport,
  type StoredCommand,
} from '../fuzz/engine.js';
// Campaigns at scale (the Redis queue is the CLI's: `allocsim fuzz --queue`, `allocsim worker`).
export { coordinate, type CampaignListeners, type CampaignPlan, type CampaignProgress, type CampaignResult, type StopReason } from '../fuzz/scale/coordinator.js';
export { campaignJob, sliceSeed, SLICE_RUNS, SLICE_OFFSET, type CampaignJob, type Shard } from '../fuzz/scale/job.js';
export { executeSlice, type SliceResult, type SliceTask } from '../fuzz/scale/execute.js';
export { executorFor, inThreadExecutor, poolExecutor, type SliceExecutor } from '../fuzz/scale/pool.js';
export { addFindings, FindingsWriter, mergeFindingsDirs, readFindingsIndex, type DistinctFinding, type FindingEntry, type FindingsIndex } from '../fuzz/scale/findings.js';
export { FUZZ_CAMPAIGNS, campaignOf } from '../fuzz/registry.js';
export { runPageFuzz, replayPageCommands, type PageFuzzOpts } from '../fuzz/page/campaign.js';
export { runSlabFuzz, replaySlabCommands, type SlabFuzzOpts } from '../fuzz/slab/campaign.js';
export { runVmallocFuzz, replayVmallocCommands, type VmallocFuzzOpts } from '../fuzz/vmalloc/campaign.js';
export { MUTANTS, findMutant, fuzzMutant, replayMutant } from '../fuzz/mutants/catalogue.js';
export type { MutantEntry } from '../fuzz/mutants/registry-types.js';
export { REPRODUCER_VERSION, formatReproducer, parseReproducer, replayReproducer, reproducerOf, type Reproducer } from '../fuzz/reproducer.js';
export { verdictOf, type FuzzOutcome, type FuzzVerdict } from '../fuzz/outcome.js';
