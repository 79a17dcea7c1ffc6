/**
 * Service identifiers, one per interface, typed so `container.get()` stays
 * typed. Kept in their own file to avoid circular imports.
 */

import type { ServiceIdentifier } from 'inversify';
import type { SystemConfig } from './config.js';
import type { PageAllocator } from './page-allocator.js';
import type { KmemApi, SlabBackend } from './slab.js';
import type { DevKmallocApi } from './devres.js';
import type { Machine } from '../machine/machine.js';
import type { UserMallocFactory } from './user.js';
import type { VmapSpace } from './vmalloc.js';

/** The validated system configuration. */
export const CONFIG = Symbol.for('allocsim/Config') as ServiceIdentifier<SystemConfig>;
/** The simulated machine (layout, struct page, bytes, context, tracer). */
export const MACHINE = Symbol.for('allocsim/Machine') as ServiceIdentifier<Machine>;
/** The page allocator. */
export const PAGE_ALLOCATOR = Symbol.for('allocsim/PageAllocator') as ServiceIdentifier<PageAllocator>;
/** The slab backend (SLUB, SLAB or SLOB). */
export const SLAB_BACKEND = Symbol.for('allocsim/SlabBackend') as ServiceIdentifier<SlabBackend>;
/** The slab front end (kmem_cache_* and kmalloc). */
export const KMEM = Symbol.for('allocsim/Kmem') as ServiceIdentifier<KmemApi>;
/** Device-managed kmalloc. */
export const DEV_KMALLOC = Symbol.for('allocsim/DevKmalloc') as ServiceIdentifier<DevKmallocApi>;
/** The vmalloc free-space allocator. */
export const VMAP_SPACE = Symbol.for('allocsim/VmapSpace') as ServiceIdentifier<VmapSpace>;
/** Builds the user-space malloc of one process. */
export const USER_MALLOC_FACTORY = Symbol.for('allocsim/UserMallocFactory') as ServiceIdentifier<UserMallocFactory>;
