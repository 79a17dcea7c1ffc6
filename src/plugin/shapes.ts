/**
 * The contracts of the layers a policy file can implement, as run-time
 * shapes: every member with what it must be. The type checker keeps each
 * shape complete — a member added to a contract without a line here does
 * not compile — so a plug-in is checked against the contract as it is.
 */

import type { PageAllocator } from '../interfaces/page-allocator.js';
import type { SlabBackend } from '../interfaces/slab.js';
import type { UserMalloc } from '../interfaces/user.js';
import type { VmapSpace } from '../interfaces/vmalloc.js';
import type { Layer } from '../policies/registry.js';

/** What a member must be at run time (`?` suffix: it may be absent). */
export type MemberKind = 'method' | 'string' | 'number' | 'boolean' | 'array' | 'method?';

/** A contract's members, each with its kind; complete by construction. */
export type ContractShape<T> = {
  readonly [K in keyof T]-?: undefined extends T[K]
    ? 'method?'
    : T[K] extends (...args: never[]) => unknown
      ? 'method'
      : T[K] extends string
        ? 'string'
        : T[K] extends number
          ? 'number'
          : T[K] extends boolean
            ? 'boolean'
            : 'array';
};

const PAGE_ALLOCATOR_SHAPE: ContractShape<PageAllocator> = {
  policy: 'string',
  allocPages: 'method',
  allocPagesBulk: 'method?',
  freePages: 'method',
  getPage: 'method',
  drainPcp: 'method',
  registerShrinker: 'method',
  stats: 'method',
  zones: 'method',
  pageblockType: 'method',
  checkInvariants: 'method',
};

const SLAB_BACKEND_SHAPE: ContractShape<SlabBackend> = {
  policy: 'string',
  kmallocMinSize: 'number',
  kmallocCacheFlags: 'number',
  kmallocMaxCacheSize: 'number',
  hasSlabinfo: 'boolean',
  mergeable: 'boolean',
  cacheMergeable: 'method?',
  kmallocSizes: 'array',
  kmallocCache: 'number',
  createCache: 'method',
  destroyCache: 'method',
  alloc: 'method',
  free: 'method',
  shrink: 'method',
  validate: 'method?',
  cacheOf: 'method',
  objectStart: 'method',
  geometry: 'method',
  counters: 'method',
  stats: 'method',
  kmallocBytes: 'method',
  ksize: 'method',
  checkInvariants: 'method',
};

const USER_MALLOC_SHAPE: ContractShape<UserMalloc> = {
  name: 'string',
  malloc: 'method',
  free: 'method',
  calloc: 'method',
  realloc: 'method',
  memalign: 'method',
  posixMemalign: 'method',
  usableSize: 'method',
  trim: 'method',
  stats: 'method',
  isMmapped: 'method',
  binReport: 'method',
  checkInvariants: 'method',
};

const VMAP_SPACE_SHAPE: ContractShape<VmapSpace> = {
  policy: 'string',
  blocks: 'number',
  steps: 'number',
  reset: 'method',
  alloc: 'method',
  free: 'method',
  freeBlocks: 'method',
  check: 'method',
};

/** The contract each layer's policy implements, by name, with its shape. */
export const LAYER_CONTRACTS: Readonly<Record<Layer, { readonly name: string; readonly shape: Readonly<Record<string, MemberKind>> }>> = {
  page: { name: 'PageAllocator', shape: PAGE_ALLOCATOR_SHAPE },
  slab: { name: 'SlabBackend', shape: SLAB_BACKEND_SHAPE },
  malloc: { name: 'UserMalloc', shape: USER_MALLOC_SHAPE },
  vmap: { name: 'VmapSpace', shape: VMAP_SPACE_SHAPE },
};

const kindOf = (v: unknown): string => (v === undefined ? 'missing' : v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'function' ? 'a method' : `a ${typeof v}`);

/**
 * What is wrong with `instance` as an implementation of `layer`'s contract:
 * one entry per missing or wrong member (`ksize: missing (a method)`,
 * `policy: a number, not a string`); empty when it conforms.
 */
export function contractProblems(layer: Layer, instance: object): string[] {
  const problems: string[] = [];
  for (const [member, kind] of Object.entries(LAYER_CONTRACTS[layer].shape)) {
    const v = (instance as Record<string, unknown>)[member];
    const want = kind.replace('?', '');
    if (v === undefined && kind.endsWith('?')) continue;
    const ok = want === 'method' ? typeof v === 'function' : want === 'array' ? Array.isArray(v) : typeof v === want;
    if (ok) continue;
    const expected = want === 'method' ? 'a method' : want === 'array' ? 'an array' : `a ${want}`;
    problems.push(v === undefined ? `${member}: missing (${expected})` : `${member}: ${kindOf(v)}, not ${expected}`);
  }
  return problems;
}
