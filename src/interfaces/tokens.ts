/**
 * Service identifiers, one per contract, typed so `container.get()` stays
 * typed. Kept in their own file to avoid circular imports; this file imports
 * nothing but other contracts.
 */

import type { ServiceIdentifier } from 'inversify';
import type { SystemConfig } from './config.js';
import type { PageAllocator } from './page-allocator.js';
import type { KmemApi, SlabBackend } from './slab.js';
import type { DevKmallocApi } from './devres.js';
import type { Machine } from './machine.js';
import type { ProcessMemory, ProcessTableApi, UserMalloc, UserMallocOptions } from './user.js';
import type { VmallocApi, VmapSpace } from './vmalloc.js';
import type { KasanApi, KmemleakApi } from './detectors.js';

/** The validated system configuration. */
export const CONFIG = Symbol.for('allocsim/Config') as ServiceIdentifier<SystemConfig>;
/** The simulated machine (layout, struct page, bytes, context, tracer, logs). */
export const MACHINE = Symbol.for('allocsim/Machine') as ServiceIdentifier<Machine>;
/** The page allocator. */
export const PAGE_ALLOCATOR = Symbol.for('allocsim/PageAllocator') as ServiceIdentifier<PageAllocator>;
/** The slab backend (SLUB, SLAB or SLOB). */
export const SLAB_BACKEND = Symbol.for('allocsim/SlabBackend') as ServiceIdentifier<SlabBackend>;
/** The slab front end (kmem_cache_* and kmalloc). */
export const KMEM = Symbol.for('allocsim/Kmem') as ServiceIdentifier<KmemApi>;
/** Device-managed kmalloc. */
export const DEV_KMALLOC = Symbol.for('allocsim/DevKmalloc') as ServiceIdentifier<DevKmallocApi>;
/** The vmalloc layer (vmalloc, vfree, vmap, kvmalloc). */
export const VMALLOC = Symbol.for('allocsim/Vmalloc') as ServiceIdentifier<VmallocApi>;
/** The vmalloc free-space allocator (one per vmalloc layer). */
export const VMAP_SPACE = Symbol.for('allocsim/VmapSpace') as ServiceIdentifier<VmapSpace>;
/** The processes of the system. */
export const PROCESSES = Symbol.for('allocsim/Processes') as ServiceIdentifier<ProcessTableApi>;
/**
 * A user-space malloc: one instance per process, built in a child container
 * of the process that binds {@link PROCESS_MEMORY} and {@link USER_MALLOC_OPTIONS}.
 */
export const USER_MALLOC = Symbol.for('allocsim/UserMalloc') as ServiceIdentifier<UserMalloc>;
/** The memory of the process a user-space malloc is being built for. */
export const PROCESS_MEMORY = Symbol.for('allocsim/ProcessMemory') as ServiceIdentifier<ProcessMemory>;
/** The options of the user-space malloc being built (tcache, seed). */
export const USER_MALLOC_OPTIONS = Symbol.for('allocsim/UserMallocOptions') as ServiceIdentifier<UserMallocOptions>;
/** The KASAN model; bound only when `debug.kasan` is on (inject it `@optional()`). */
export const KASAN = Symbol.for('allocsim/Kasan') as ServiceIdentifier<KasanApi>;
/** The kmemleak model; bound only when `debug.kmemleak` is on (inject it `@optional()`). */
export const KMEMLEAK = Symbol.for('allocsim/Kmemleak') as ServiceIdentifier<KmemleakApi>;

/** A layer a policy class can be bound at (the keys of `SystemOverrides`). */
export type PolicyLayer = 'page' | 'slab' | 'kmem' | 'dev' | 'vmalloc' | 'vmap' | 'malloc';

/** One constructor parameter of a policy class: the token it is injected from, its name, and whether it may be absent. */
export interface Dependency {
  readonly token: ServiceIdentifier<unknown>;
  /** The parameter's name in the built-in policies (and in the files `allocsim new` writes). */
  readonly name: string;
  /** Bound only when enabled (the detectors): the parameter is `undefined` otherwise. */
  readonly optional?: boolean;
}

const dep = (token: ServiceIdentifier<unknown>, name: string, optional = false): Dependency => ({ token, name, optional });

/**
 * What a policy class of each layer receives, in constructor order — the
 * built-in policies' own constructors. A class with no inversify decorators
 * (plain JavaScript, a plug-in file) is bound with these, so it needs none:
 *
 * - page: `(machine, config, kasan?)`
 * - slab: `(machine, config, pages, kasan?)`
 * - kmem: `(backend, pages, machine, kasan?, kmemleak?)`
 * - dev: `(kmem, machine, kmemleak?)`
 * - vmalloc: `(machine, pages, kmem, vmapSpace, kasan?)`
 * - vmap: `()`
 * - malloc: `(processMemory, { tcache, seed })`, one instance per process
 */
export const LAYER_DEPENDENCIES: Readonly<Record<PolicyLayer, readonly Dependency[]>> = {
  page: [dep(MACHINE, 'machine'), dep(CONFIG, 'config'), dep(KASAN, 'kasan', true)],
  slab: [dep(MACHINE, 'machine'), dep(CONFIG, 'config'), dep(PAGE_ALLOCATOR, 'pages'), dep(KASAN, 'kasan', true)],
  kmem: [dep(SLAB_BACKEND, 'backend'), dep(PAGE_ALLOCATOR, 'pages'), dep(MACHINE, 'machine'), dep(KASAN, 'kasan', true), dep(KMEMLEAK, 'kmemleak', true)],
  dev: [dep(KMEM, 'kmem'), dep(MACHINE, 'machine'), dep(KMEMLEAK, 'kmemleak', true)],
  vmalloc: [dep(MACHINE, 'machine'), dep(PAGE_ALLOCATOR, 'pages'), dep(KMEM, 'kmem'), dep(VMAP_SPACE, 'space'), dep(KASAN, 'kasan', true)],
  vmap: [],
  malloc: [dep(PROCESS_MEMORY, 'mem'), dep(USER_MALLOC_OPTIONS, 'options')],
};
