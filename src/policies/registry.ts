/**
 * The one place policy names live. The CLI, the docs, the wiring test and
 * `createSystem` all read this map; no other code branches on a policy name.
 */

import { ContainerModule, type Newable } from 'inversify';
import { AllocatorError } from '../interfaces/errors.js';
import { PAGE_ALLOCATOR, SLAB_BACKEND, USER_MALLOC, VMAP_SPACE } from '../interfaces/tokens.js';
import type { VmapSpace } from '../interfaces/vmalloc.js';
import { VmapTreeSpace } from './vmalloc/vmap-tree.js';
import { VmapListSpace } from './vmalloc/vmap-list.js';
import type { UserMalloc } from '../interfaces/user.js';
import { Ptmalloc } from './user/ptmalloc.js';
import { ImplicitFirstFit } from './user/implicit.js';
import { SegregatedFit } from './user/segregated.js';
import type { SlabBackend } from '../interfaces/slab.js';
import { SlubBackend } from './slab/slub.js';
import { SlobBackend } from './slab/slob.js';
import { ClassicSlabBackend } from './slab/slab.js';
import type { PageAllocator } from '../interfaces/page-allocator.js';
import { BuddyAllocator } from './page/buddy.js';
import { FirstFitAllocator } from './page/firstfit.js';

/** A policy: its module and a one-line description. */
export interface PolicyEntry {
  /** Binds the layer's token to the policy class. */
  readonly module: ContainerModule;
  /** One line for `--help` and the README. */
  readonly summary: string;
  /** What a table calls it when its name is a path (a policy file: the policy's own name). */
  readonly label?: string;
  /**
   * Slab policies: whether their kernels have /proc/slabinfo — what the
   * backend's `hasSlabinfo` says, here so that the CLI's help can name them
   * without booting one (a test keeps the two equal).
   */
  readonly procSlabinfo?: boolean;
}

/** Module binding a page-allocator class (singleton) to PAGE_ALLOCATOR. */
export function pageAllocatorModule(cls: Newable<PageAllocator>): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(PAGE_ALLOCATOR).to(cls).inSingletonScope();
  });
}

/** Module binding a slab backend class (singleton) to SLAB_BACKEND. */
export function slabBackendModule(cls: Newable<SlabBackend>): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(SLAB_BACKEND).to(cls).inSingletonScope();
  });
}

/**
 * Module binding a user-space malloc class to USER_MALLOC, transient: every
 * process gets its own instance, built in the process's child container
 * (which binds PROCESS_MEMORY and USER_MALLOC_OPTIONS).
 */
export function userMallocModule(cls: Newable<UserMalloc>): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(USER_MALLOC).to(cls).inTransientScope();
  });
}

/** Module binding a vmap-space class (transient: each vmalloc layer owns one) to VMAP_SPACE. */
export function vmapSpaceModule(cls: Newable<VmapSpace>): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(VMAP_SPACE).to(cls).inTransientScope();
  });
}

/** Every policy of every layer, by name. */
export const POLICIES = {
  page: {
    buddy: { module: pageAllocatorModule(BuddyAllocator), summary: 'Linux 6.8 buddy allocator: zones, migrate types, per-CPU lists, watermarks' },
    firstfit: { module: pageAllocatorModule(FirstFitAllocator), summary: 'naive baseline: first fit over a bitmap of frames, aligned, no per-CPU lists' },
  },
  slab: {
    slab: { module: slabBackendModule(ClassicSlabBackend), procSlabinfo: true, summary: 'Linux 6.1 SLAB: per-CPU array caches, shared arrays, colouring, freelist index arrays, partial/full/free lists' },
    slub: { module: slabBackendModule(SlubBackend), procSlabinfo: true, summary: 'Linux 6.8 SLUB: per-CPU slab and freelist, per-CPU and node partial lists, free pointer inside objects' },
    slob: { module: slabBackendModule(SlobBackend), procSlabinfo: false, summary: 'Linux 6.3 SLOB: 2-byte units, three first-fit free lists, 8-byte kmalloc header, no per-CPU state' },
  },
  malloc: {
    ptmalloc: { module: userMallocModule(Ptmalloc), summary: 'glibc 2.36 malloc (ptmalloc2): tcache, fastbins, unsorted/small/large bins, top, mmap threshold, main arena' },
    implicit: { module: userMallocModule(ImplicitFirstFit), summary: 'baseline: CS:APP implicit free list, first fit, boundary tags, brk only' },
    segregated: { module: userMallocModule(SegregatedFit), summary: 'baseline: segregated explicit free lists (20 power-of-two classes), LIFO, boundary tags, brk only' },
  },
  vmap: {
    tree: { module: vmapSpaceModule(VmapTreeSpace), summary: 'Linux 6.8 free_vmap_area_root: tree augmented with subtree_max_size, lowest-address match, O(log n)' },
    list: { module: vmapSpaceModule(VmapListSpace), summary: 'baseline: sorted list of free ranges, linear lowest-address first fit, O(n)' },
  },
} as const satisfies Record<string, Record<string, PolicyEntry>>;

/** Page-allocator policy names. */
export type PagePolicyName = keyof typeof POLICIES.page;
/** Layers that have policies. */
export type Layer = keyof typeof POLICIES;
/** The layers with named policies, in the registry's order (page, slab, malloc, vmap). */
export const POLICY_LAYERS = Object.keys(POLICIES) as readonly Layer[];

/**
 * Policies added at run time (plug-in files loaded by `src/plugin/`), by the
 * name they were given on the command line or in a config (their path).
 */
const ADDED: Record<Layer, Record<string, PolicyEntry>> = { page: {}, slab: {}, malloc: {}, vmap: {} };

/** The built-in names of a layer's policies. */
export function builtinPolicyNames(layer: Layer): string[] {
  return Object.keys(POLICIES[layer]);
}

/** Names of the policies of a layer: the built-ins, then those added at run time. */
export function policyNames(layer: Layer): string[] {
  return [...builtinPolicyNames(layer), ...Object.keys(ADDED[layer])];
}

/** The entry of a policy by name (built-in or added), or undefined. */
export function policyEntry(layer: Layer, name: string): PolicyEntry | undefined {
  return Object.hasOwn(POLICIES[layer], name) ? (POLICIES[layer] as Record<string, PolicyEntry>)[name] : ADDED[layer][name];
}

/**
 * Adds a policy under `name` (a plug-in). A built-in name cannot be taken;
 * adding a name again replaces the entry.
 *
 * @throws AllocatorError `config` for a built-in name
 */
export function addPolicy(layer: Layer, name: string, entry: PolicyEntry): void {
  if (Object.hasOwn(POLICIES[layer], name)) throw new AllocatorError('config', `'${name}' is a built-in ${layer} policy; a plug-in needs another name`);
  ADDED[layer][name] = entry;
}

/** Module binding a class at the token of `layer` (the four layers with named policies). */
export function policyModule(layer: Layer, cls: Newable<unknown>): ContainerModule {
  switch (layer) {
    case 'page':
      return pageAllocatorModule(cls as Newable<PageAllocator>);
    case 'slab':
      return slabBackendModule(cls as Newable<SlabBackend>);
    case 'malloc':
      return userMallocModule(cls as Newable<UserMalloc>);
    case 'vmap':
      return vmapSpaceModule(cls as Newable<VmapSpace>);
  }
}
