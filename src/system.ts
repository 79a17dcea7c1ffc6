/**
 * The composition root: the only code that touches the container. It
 * validates a config, builds the machine, loads one ContainerModule per
 * layer (or binds a user's own class), and hands back the wired layers.
 */

import 'reflect-metadata';
import { Container, type Newable } from 'inversify';
import type { SystemConfig, SystemConfigInput } from './interfaces/config.js';
import { resolveConfig } from './config.js';

export { DEFAULT_CONFIG, resolveConfig } from './config.js';
import type { Violation } from './interfaces/invariants.js';
import type { PageAllocator } from './interfaces/page-allocator.js';
import { CONFIG, DEV_KMALLOC, KMEM, MACHINE, PAGE_ALLOCATOR, SLAB_BACKEND, USER_MALLOC_FACTORY, VMAP_SPACE } from './interfaces/tokens.js';
import { Vmalloc } from './mm/vmalloc.js';
import type { VmapSpace } from './interfaces/vmalloc.js';
import type { UserMalloc, UserMallocFactory } from './interfaces/user.js';
import { ProcessTable, type AddressSpace } from './mm/address-space.js';
import { DevKmalloc } from './policies/devres/dev-kmalloc.js';
import type { SlabBackend } from './interfaces/slab.js';
import { SlabCommon } from './policies/slab/slab-common.js';
import { Kasan } from './harness/kasan/kasan.js';
import { Kmemleak } from './harness/kmemleak.js';
import { Machine } from './machine/machine.js';
import { POLICIES } from './policies/registry.js';
import { checkCrossLayer } from './harness/cross-layer.js';

/** A user's own implementations, bound in place of the named policies. */
export interface SystemOverrides {
  /** A class implementing PageAllocator; injected like the built-in ones. */
  readonly page?: Newable<PageAllocator>;
  /** A class implementing SlabBackend. */
  readonly slab?: Newable<SlabBackend>;
  /** A subclass of the slab front end (mutants of kmalloc routing). */
  readonly kmem?: Newable<SlabCommon>;
  /** A subclass of dev_kmalloc (mutants). */
  readonly dev?: Newable<DevKmalloc>;
  /** A subclass of the vmalloc layer (mutants). */
  readonly vmalloc?: typeof Vmalloc;
  /** A class implementing VmapSpace, in place of the named vmap policy. */
  readonly vmap?: Newable<VmapSpace>;
}

/** One container's worth of wired layers. */
export interface System {
  readonly config: SystemConfig;
  readonly machine: Machine;
  readonly pages: PageAllocator;
  /** The slab layer: kmem_cache_* and kmalloc. */
  readonly kmem: SlabCommon;
  /** The slab backend under it. */
  readonly slab: SlabBackend;
  /** Device-managed kmalloc over the slab layer. */
  readonly dev: DevKmalloc;
  /** User space: the processes. */
  readonly processes: ProcessTable;
  /** Builds the configured user-space malloc for a process. */
  readonly mallocFactory: UserMallocFactory;
  /**
   * The vmalloc layer, built on first use (its `vmap_area` cache and kernel
   * page table appear only in systems that use vmalloc).
   */
  readonly vmalloc: Vmalloc;
  /** Execs a process and loads the configured malloc into it. */
  spawn(comm?: string): UserProcess;
  /** Every layer's invariants plus the cross-layer ones (X1, X2). */
  checkInvariants(): Violation[];
}

/** A process with its C library's malloc. */
export interface UserProcess {
  readonly mm: AddressSpace;
  readonly libc: UserMalloc;
}

/**
 * Builds a system: the machine, then each layer's policy from its module.
 *
 * @param input - any subset of the configuration
 * @param overrides - user classes bound in place of named policies
 * @throws AllocatorError `config`
 */
export function createSystem(input: SystemConfigInput = {}, overrides: SystemOverrides = {}): System {
  const config = resolveConfig(input);
  const machine = new Machine(config.machine, config.debug.trace, config.debug.pagePoison === true);
  if (config.debug.kmemleak) machine.kmemleak = new Kmemleak(machine);
  if (config.debug.kasan) machine.kasan = new Kasan(machine, config.debug.kasanQuarantine ?? Math.floor(config.machine.memBytes / 32));
  const container = new Container({ defaultScope: 'Singleton' });
  container.bind(CONFIG).toConstantValue(config);
  container.bind(MACHINE).toConstantValue(machine);
  if (overrides.page) container.bind(PAGE_ALLOCATOR).to(overrides.page).inSingletonScope();
  else container.load(POLICIES.page[config.policies.page as keyof typeof POLICIES.page].module);
  if (overrides.slab) container.bind(SLAB_BACKEND).to(overrides.slab).inSingletonScope();
  else container.load(POLICIES.slab[config.policies.slab as keyof typeof POLICIES.slab].module);
  if (overrides.kmem) container.bind(SlabCommon).to(overrides.kmem).inSingletonScope();
  else container.bind(SlabCommon).toSelf().inSingletonScope();
  container.bind(KMEM).toService(SlabCommon);
  if (overrides.dev) container.bind(DevKmalloc).to(overrides.dev).inSingletonScope();
  else container.bind(DevKmalloc).toSelf().inSingletonScope();
  container.bind(DEV_KMALLOC).toService(DevKmalloc);
  const pages = container.get(PAGE_ALLOCATOR);
  const slab = container.get(SLAB_BACKEND);
  const kmem = container.get(SlabCommon);
  const dev = container.get(DevKmalloc);
  container.load(POLICIES.malloc[config.policies.malloc as keyof typeof POLICIES.malloc].module);
  const mallocFactory = container.get(USER_MALLOC_FACTORY);
  const processes = new ProcessTable(machine, pages);
  if (overrides.vmap) container.bind(VMAP_SPACE).to(overrides.vmap).inTransientScope();
  else container.load(POLICIES.vmap[config.policies.vmap as keyof typeof POLICIES.vmap].module);
  const VmallocClass = overrides.vmalloc ?? Vmalloc;
  let vmalloc: Vmalloc | undefined;
  const getVmalloc = (): Vmalloc => (vmalloc ??= new VmallocClass(machine, pages, kmem, container.get(VMAP_SPACE)));
  return {
    config,
    machine,
    pages,
    kmem,
    slab,
    dev,
    processes,
    mallocFactory,
    get vmalloc(): Vmalloc {
      return getVmalloc();
    },
    spawn: (comm?: string): UserProcess => {
      const mm = processes.spawn(comm);
      return { mm, libc: mallocFactory(mm, { tcache: config.user.tcache, seed: config.seed ^ mm.pid }) };
    },
    checkInvariants: () => [
      ...pages.checkInvariants(),
      ...slab.checkInvariants(),
      ...dev.checkInvariants(),
      ...processes.checkInvariants(),
      ...(vmalloc?.checkInvariants() ?? []),
      ...checkCrossLayer(machine, pages),
    ],
  };
}
