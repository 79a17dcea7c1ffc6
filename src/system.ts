/**
 * The composition root: the only code that touches the container. It
 * validates a config, builds the machine, loads one ContainerModule per
 * layer — or binds a user's own class at that layer's token — and hands back
 * the wired layers as contracts.
 *
 * ```
 *  MACHINE ─┬─ PAGE_ALLOCATOR ─┬─ SLAB_BACKEND ── KMEM ─┬─ DEV_KMALLOC
 *  CONFIG ──┘                  │                        └─ VMALLOC ── VMAP_SPACE
 *  KASAN?, KMEMLEAK? (when on) └─ PROCESSES ── per process: USER_MALLOC (child container:
 *                                                PROCESS_MEMORY, USER_MALLOC_OPTIONS)
 * ```
 */

import 'reflect-metadata';
import { Container, decorate, inject, injectable, optional, type Newable, type ServiceIdentifier } from 'inversify';
import type { SystemConfig, SystemConfigInput } from './interfaces/config.js';
import type { KasanApi, KmemleakApi } from './interfaces/detectors.js';
import type { DevKmallocApi } from './interfaces/devres.js';
import type { Violation } from './interfaces/invariants.js';
import type { Machine } from './interfaces/machine.js';
import type { PageAllocator } from './interfaces/page-allocator.js';
import type { KmemApi, SlabBackend } from './interfaces/slab.js';
import {
  CONFIG,
  DEV_KMALLOC,
  KASAN,
  KMEM,
  KMEMLEAK,
  LAYER_DEPENDENCIES,
  MACHINE,
  PAGE_ALLOCATOR,
  PROCESSES,
  PROCESS_MEMORY,
  SLAB_BACKEND,
  USER_MALLOC,
  USER_MALLOC_OPTIONS,
  VMALLOC,
  VMAP_SPACE,
  type PolicyLayer,
} from './interfaces/tokens.js';
import type { ProcessMemory, ProcessTableApi, UserMalloc, UserMallocOptions } from './interfaces/user.js';
import type { VmallocApi, VmapSpace } from './interfaces/vmalloc.js';
import { resolveConfig } from './config.js';
import { Kasan } from './harness/kasan/kasan.js';
import { Kmemleak } from './harness/kmemleak.js';
import { checkCrossLayer } from './harness/cross-layer.js';
import { KMEM_ENTRY_POINTS, MALLOC_ENTRY_POINTS, PAGE_ENTRY_POINTS, VMALLOC_ENTRY_POINTS, meterEntryPoints, meterMemory } from './machine/cost.js';
import { SimulatedMachine } from './machine/machine.js';
import { ProcessTable } from './mm/address-space.js';
import { DevKmalloc } from './policies/devres/dev-kmalloc.js';
import { policyEntry, type PolicyEntry } from './policies/registry.js';
import { SlabCommon } from './policies/slab/slab-common.js';
import { Vmalloc } from './policies/vmalloc/vmalloc.js';

export { DEFAULT_CONFIG, resolveConfig } from './config.js';

/**
 * A user's own implementations, each bound at its layer's token in place of
 * the configured policy. A class names its dependencies with
 * `@inject(TOKEN)` constructor parameters, as the built-in policies do — or,
 * with no decorators at all, takes its layer's constructor parameters in the
 * order {@link LAYER_DEPENDENCIES} lists.
 */
export interface SystemOverrides {
  /** A class implementing PageAllocator (token PAGE_ALLOCATOR). */
  readonly page?: Newable<PageAllocator>;
  /** A class implementing SlabBackend (token SLAB_BACKEND). */
  readonly slab?: Newable<SlabBackend>;
  /** A class implementing KmemApi, the slab front end (token KMEM). */
  readonly kmem?: Newable<KmemApi>;
  /** A class implementing DevKmallocApi (token DEV_KMALLOC). */
  readonly dev?: Newable<DevKmallocApi>;
  /** A class implementing VmallocApi (token VMALLOC). */
  readonly vmalloc?: Newable<VmallocApi>;
  /** A class implementing VmapSpace (token VMAP_SPACE). */
  readonly vmap?: Newable<VmapSpace>;
  /** A class implementing UserMalloc (token USER_MALLOC), built once per process. */
  readonly malloc?: Newable<UserMalloc>;
}

/** One container's worth of wired layers, every one a contract. */
export interface System {
  readonly config: SystemConfig;
  readonly machine: Machine;
  readonly pages: PageAllocator;
  /** The slab layer: kmem_cache_* and kmalloc. */
  readonly kmem: KmemApi;
  /** The slab backend under it. */
  readonly slab: SlabBackend;
  /** Device-managed kmalloc over the slab layer. */
  readonly dev: DevKmallocApi;
  /** User space: the processes. */
  readonly processes: ProcessTableApi;
  /**
   * The vmalloc layer, built on first use (its `vmap_area` cache and kernel
   * page table appear only in systems that use vmalloc).
   */
  readonly vmalloc: VmallocApi;
  /** The KASAN model, when `debug.kasan` is on. */
  readonly kasan: KasanApi | undefined;
  /** The kmemleak model, when `debug.kmemleak` is on. */
  readonly kmemleak: KmemleakApi | undefined;
  /** Execs a process and loads the configured malloc into it. */
  spawn(comm?: string): UserProcess;
  /**
   * Builds the configured user-space malloc for a process of this system
   * (what `spawn` does after exec). @defaultValue options: the config's
   * tcache, seed = config seed XOR pid
   */
  loadMalloc(mm: ProcessMemory, options?: Partial<UserMallocOptions>): UserMalloc;
  /** Every layer's invariants plus the cross-layer ones (X1, X2). */
  checkInvariants(): Violation[];
}

/** A process with its C library's malloc. */
export interface UserProcess {
  readonly mm: ProcessMemory;
  readonly libc: UserMalloc;
}

/**
 * Makes a class with no inversify metadata of its own (plain JavaScript, a
 * plug-in written without decorators) injectable with its layer's
 * constructor convention ({@link LAYER_DEPENDENCIES}); a decorated class is
 * left as it is. Returns the class.
 */
export function asPolicyClass<T>(layer: PolicyLayer, cls: Newable<T>): Newable<T> {
  if (Reflect.getOwnMetadataKeys(cls).length > 0) return cls;
  decorate(injectable(), cls);
  LAYER_DEPENDENCIES[layer].forEach((d, i) => decorate(d.optional ? [inject(d.token), optional()] : inject(d.token), cls, i));
  return cls;
}

/** Binds `token` to the user's class when given, else loads the configured policy's module. */
function bindLayer<T>(container: Container, token: ServiceIdentifier<T>, layer: PolicyLayer, given: Newable<T> | undefined, entry: { module: Parameters<Container['load']>[0] }, transient = false): void {
  const cls = given && asPolicyClass(layer, given);
  if (!cls) container.load(entry.module);
  else if (transient) container.bind(token).to(cls).inTransientScope();
  else container.bind(token).to(cls).inSingletonScope();
}

/**
 * Builds a system: the machine, then each layer from its module or the
 * user's class.
 *
 * @param input - any subset of the configuration
 * @param overrides - user classes bound in place of named policies
 * @throws AllocatorError `config`
 */
export function createSystem(input: SystemConfigInput = {}, overrides: SystemOverrides = {}): System {
  const config = resolveConfig(input);
  const machine = new SimulatedMachine(config.machine, config.debug.trace, config.debug.pagePoison === true, config.debug.cost === true);
  const meter = machine.cost;
  const container = new Container({ defaultScope: 'Singleton' });
  container.bind(CONFIG).toConstantValue(config);
  container.bind(MACHINE).toConstantValue(machine);
  if (config.debug.kasan) container.bind(KASAN).toConstantValue(new Kasan(machine, config.debug.kasanQuarantine ?? Math.floor(config.machine.memBytes / 32)));
  if (config.debug.kmemleak) container.bind(KMEMLEAK).toConstantValue(new Kmemleak(machine));
  bindLayer(container, PAGE_ALLOCATOR, 'page', overrides.page, policyEntry('page', config.policies.page) as PolicyEntry);
  bindLayer(container, SLAB_BACKEND, 'slab', overrides.slab, policyEntry('slab', config.policies.slab) as PolicyEntry);
  container.bind(KMEM).to(overrides.kmem ? asPolicyClass('kmem', overrides.kmem) : SlabCommon).inSingletonScope();
  container.bind(DEV_KMALLOC).to(overrides.dev ? asPolicyClass('dev', overrides.dev) : DevKmalloc).inSingletonScope();
  container.bind(VMALLOC).to(overrides.vmalloc ? asPolicyClass('vmalloc', overrides.vmalloc) : Vmalloc).inSingletonScope();
  bindLayer(container, VMAP_SPACE, 'vmap', overrides.vmap, policyEntry('vmap', config.policies.vmap) as PolicyEntry, true);
  bindLayer(container, USER_MALLOC, 'malloc', overrides.malloc, policyEntry('malloc', config.policies.malloc) as PolicyEntry, true);
  container.bind(PROCESSES).to(ProcessTable).inSingletonScope();

  const pages = container.get(PAGE_ALLOCATOR);
  const slab = container.get(SLAB_BACKEND);
  const kmem = container.get(KMEM);
  if (meter) {
    meterEntryPoints(pages, meter, PAGE_ENTRY_POINTS);
    meterEntryPoints(kmem, meter, KMEM_ENTRY_POINTS);
  }
  const dev = container.get(DEV_KMALLOC);
  const processes = container.get(PROCESSES);
  const kasan = container.get(KASAN, { optional: true });
  const kmemleak = container.get(KMEMLEAK, { optional: true });
  let vmalloc: VmallocApi | undefined;
  const loadMalloc = (mm: ProcessMemory, options: Partial<UserMallocOptions> = {}): UserMalloc => {
    // One child container per process: the malloc class gets this process's memory.
    const child = new Container({ parent: container });
    child.bind(PROCESS_MEMORY).toConstantValue(mm);
    child.bind(USER_MALLOC_OPTIONS).toConstantValue({ tcache: config.user.tcache, seed: config.seed ^ mm.pid, ...options });
    if (!meter) return child.get(USER_MALLOC);
    meterMemory(mm, meter, true);
    return meterEntryPoints(child.get(USER_MALLOC), meter, MALLOC_ENTRY_POINTS);
  };
  return {
    config,
    machine,
    pages,
    kmem,
    slab,
    dev,
    processes,
    kasan,
    kmemleak,
    get vmalloc(): VmallocApi {
      return (vmalloc ??= meter ? meterEntryPoints(container.get(VMALLOC), meter, VMALLOC_ENTRY_POINTS) : container.get(VMALLOC));
    },
    spawn: (comm?: string): UserProcess => {
      const mm = processes.spawn(comm);
      return { mm, libc: loadMalloc(mm) };
    },
    loadMalloc,
    checkInvariants: () => [
      ...pages.checkInvariants(),
      ...slab.checkInvariants(),
      ...dev.checkInvariants(),
      ...processes.checkInvariants(),
      ...(vmalloc?.checkInvariants() ?? []),
      ...checkCrossLayer(machine, pages, { user: processes.list(), ...(vmalloc ? { kernel: vmalloc } : {}) }),
    ],
  };
}
