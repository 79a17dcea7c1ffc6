/**
 * User-written classes, one per layer token, as a researcher would write a
 * prototype: a class that implements the layer's contract from scratch (no
 * inheritance from the built-in policy), names its dependencies with
 * `@inject`, and here forwards every call to a built-in policy it builds
 * itself while counting the calls — so a test can prove the class it bound
 * is the one the system, the contract suite and the fuzzer used.
 */

import { inject, injectable, optional } from 'inversify';
import type { SystemConfig } from '../../src/interfaces/config.js';
import type { KasanApi, KmemleakApi } from '../../src/interfaces/detectors.js';
import type { DevAllocation, DevKmallocApi, DeviceHandle, DeviceReleaseReport } from '../../src/interfaces/devres.js';
import type { MigrateType, Gfp } from '../../src/interfaces/gfp.js';
import type { Violation } from '../../src/interfaces/invariants.js';
import type { Machine } from '../../src/interfaces/machine.js';
import type { PageAllocStats, PageAllocator, Shrinker, ZoneReport } from '../../src/interfaces/page-allocator.js';
import type { CacheCounters, CacheGeometry, CacheHandle, CacheInfo, CacheSpec, KmemApi, KmemStats, SlabBackend, SlabStats } from '../../src/interfaces/slab.js';
import { CONFIG, KASAN, KMEM, KMEMLEAK, MACHINE, PAGE_ALLOCATOR, PROCESS_MEMORY, SLAB_BACKEND, USER_MALLOC_OPTIONS, VMAP_SPACE } from '../../src/interfaces/tokens.js';
import type { Pfn } from '../../src/interfaces/units.js';
import type { BinRow, ProcessMemory, UserMalloc, UserMallocOptions, UserMallocStats } from '../../src/interfaces/user.js';
import type { VmAreaInfo, VmallocApi, VmallocStats, VmapSpace } from '../../src/interfaces/vmalloc.js';
import { DevKmalloc } from '../../src/policies/devres/dev-kmalloc.js';
import { BuddyAllocator } from '../../src/policies/page/buddy.js';
import { SlabCommon } from '../../src/policies/slab/slab-common.js';
import { SlubBackend } from '../../src/policies/slab/slub.js';
import { Ptmalloc } from '../../src/policies/user/ptmalloc.js';
import { Vmalloc } from '../../src/policies/vmalloc/vmalloc.js';
import { VmapTreeSpace } from '../../src/policies/vmalloc/vmap-tree.js';

/** Calls counted by every delegate class (reset by the test). */
export const delegateCalls: Record<string, number> = {};
const count = (layer: string): void => {
  delegateCalls[layer] = (delegateCalls[layer] ?? 0) + 1;
};

/** PAGE_ALLOCATOR: a wrapper around the buddy allocator. */
@injectable()
export class DelegatingPages implements PageAllocator {
  readonly policy = 'my-pages';
  private readonly inner: PageAllocator;
  constructor(@inject(MACHINE) machine: Machine, @inject(CONFIG) config: SystemConfig, @inject(KASAN) @optional() kasan?: KasanApi) {
    this.inner = new BuddyAllocator(machine, config, kasan);
  }
  allocPages(order: number, gfp: Gfp, nid?: number): Pfn {
    count('page');
    return this.inner.allocPages(order, gfp, nid);
  }
  freePages(pfn: Pfn, order: number): void {
    count('page');
    this.inner.freePages(pfn, order);
  }
  getPage(pfn: Pfn): void {
    this.inner.getPage(pfn);
  }
  drainPcp(cpu?: number): void {
    this.inner.drainPcp(cpu);
  }
  registerShrinker(s: Shrinker): void {
    this.inner.registerShrinker(s);
  }
  stats(): PageAllocStats {
    return this.inner.stats();
  }
  zones(): ZoneReport[] {
    return this.inner.zones();
  }
  pageblockType(pfn: Pfn): MigrateType {
    return this.inner.pageblockType(pfn);
  }
  checkInvariants(): Violation[] {
    return this.inner.checkInvariants();
  }
}

/** SLAB_BACKEND: a wrapper around SLUB. */
@injectable()
export class DelegatingSlab implements SlabBackend {
  readonly policy = 'my-slab';
  private readonly inner: SlabBackend;
  constructor(@inject(MACHINE) machine: Machine, @inject(CONFIG) config: SystemConfig, @inject(PAGE_ALLOCATOR) pages: PageAllocator, @inject(KASAN) @optional() kasan?: KasanApi) {
    this.inner = new SlubBackend(machine, config, pages, kasan);
  }
  get kmallocMinSize(): number {
    return this.inner.kmallocMinSize;
  }
  get kmallocCacheFlags(): number {
    return this.inner.kmallocCacheFlags;
  }
  get kmallocMaxCacheSize(): number {
    return this.inner.kmallocMaxCacheSize;
  }
  get hasSlabinfo(): boolean {
    return this.inner.hasSlabinfo;
  }
  get mergeable(): boolean {
    return this.inner.mergeable;
  }
  get kmallocSizes(): readonly number[] {
    return this.inner.kmallocSizes;
  }
  get kmallocCache(): number {
    return this.inner.kmallocCache;
  }
  createCache(spec: CacheSpec, kmalloc: boolean): number {
    return this.inner.createCache(spec, kmalloc);
  }
  destroyCache(cache: number): number {
    return this.inner.destroyCache(cache);
  }
  alloc(cache: number, gfp: Gfp, reqSize?: number): number {
    count('slab');
    return this.inner.alloc(cache, gfp, reqSize);
  }
  free(cache: number, addr: number): void {
    count('slab');
    this.inner.free(cache, addr);
  }
  shrink(cache: number): number {
    return this.inner.shrink(cache);
  }
  cacheOf(addr: number): number {
    return this.inner.cacheOf(addr);
  }
  objectStart(addr: number): number {
    return this.inner.objectStart(addr);
  }
  geometry(cache: number): CacheGeometry {
    return this.inner.geometry(cache);
  }
  counters(cache: number): CacheCounters {
    return this.inner.counters(cache);
  }
  stats(): SlabStats {
    return this.inner.stats();
  }
  kmallocBytes(cache: number, size: number): number {
    return this.inner.kmallocBytes(cache, size);
  }
  ksize(cache: number, addr: number): number {
    return this.inner.ksize(cache, addr);
  }
  checkInvariants(): Violation[] {
    return this.inner.checkInvariants();
  }
}

/** KMEM: a wrapper around the slab front end. */
@injectable()
export class DelegatingKmem implements KmemApi {
  private readonly inner: KmemApi;
  constructor(
    @inject(SLAB_BACKEND) backend: SlabBackend,
    @inject(PAGE_ALLOCATOR) pages: PageAllocator,
    @inject(MACHINE) machine: Machine,
    @inject(KASAN) @optional() kasan?: KasanApi,
    @inject(KMEMLEAK) @optional() kmemleak?: KmemleakApi,
  ) {
    this.inner = new SlabCommon(backend, pages, machine, kasan, kmemleak);
  }
  get policy(): string {
    return this.inner.policy;
  }
  kmemCacheCreate(name: string, size: number, align?: number, flags?: number, ctor?: (obj: number) => void): CacheHandle {
    return this.inner.kmemCacheCreate(name, size, align, flags, ctor);
  }
  kmemCacheDestroy(cache: CacheHandle): number {
    return this.inner.kmemCacheDestroy(cache);
  }
  kmemCacheAlloc(cache: CacheHandle, gfp: Gfp): number {
    count('kmem');
    return this.inner.kmemCacheAlloc(cache, gfp);
  }
  kmemCacheFree(cache: CacheHandle, addr: number): void {
    count('kmem');
    this.inner.kmemCacheFree(cache, addr);
  }
  kmemCacheAllocBulk(cache: CacheHandle, gfp: Gfp, n: number): number[] {
    return this.inner.kmemCacheAllocBulk(cache, gfp, n);
  }
  kmemCacheFreeBulk(cache: CacheHandle, addrs: readonly number[]): void {
    this.inner.kmemCacheFreeBulk(cache, addrs);
  }
  kmemCacheShrink(cache: CacheHandle): number {
    return this.inner.kmemCacheShrink(cache);
  }
  findCache(name: string): CacheHandle {
    return this.inner.findCache(name);
  }
  kmalloc(size: number, gfp: Gfp): number {
    count('kmem');
    return this.inner.kmalloc(size, gfp);
  }
  kzalloc(size: number, gfp: Gfp): number {
    return this.inner.kzalloc(size, gfp);
  }
  kcalloc(n: number, size: number, gfp: Gfp): number {
    return this.inner.kcalloc(n, size, gfp);
  }
  kmallocArray(n: number, size: number, gfp: Gfp): number {
    return this.inner.kmallocArray(n, size, gfp);
  }
  krealloc(addr: number, size: number, gfp: Gfp): number {
    return this.inner.krealloc(addr, size, gfp);
  }
  kfree(addr: number): void {
    count('kmem');
    this.inner.kfree(addr);
  }
  ksize(addr: number): number {
    return this.inner.ksize(addr);
  }
  kmemCacheValidate(cache: CacheHandle): number {
    return this.inner.kmemCacheValidate(cache);
  }
  kmallocBytesAlloc(size: number): number {
    return this.inner.kmallocBytesAlloc(size);
  }
  caches(): CacheInfo[] {
    return this.inner.caches();
  }
  kmemStats(): KmemStats {
    return this.inner.kmemStats();
  }
  slabPages(): [number, number] {
    return this.inner.slabPages();
  }
  addMisuseExplainer(fn: (addr: number) => string | undefined): void {
    this.inner.addMisuseExplainer(fn);
  }
}

/** DEV_KMALLOC: a wrapper around dev_kmalloc. */
@injectable()
export class DelegatingDev implements DevKmallocApi {
  private readonly inner: DevKmallocApi;
  constructor(@inject(KMEM) kmem: KmemApi, @inject(MACHINE) machine: Machine, @inject(KMEMLEAK) @optional() kmemleak?: KmemleakApi) {
    this.inner = new DevKmalloc(kmem, machine, kmemleak);
  }
  registerDevice(name: string): DeviceHandle {
    return this.inner.registerDevice(name);
  }
  devKmalloc(dev: DeviceHandle, size: number, gfp: Gfp): number {
    count('dev');
    return this.inner.devKmalloc(dev, size, gfp);
  }
  devKzalloc(dev: DeviceHandle, size: number, gfp: Gfp): number {
    count('dev');
    return this.inner.devKzalloc(dev, size, gfp);
  }
  devKrealloc(ptr: number, size: number, gfp: Gfp): number {
    return this.inner.devKrealloc(ptr, size, gfp);
  }
  devKfree(ptr: number): void {
    count('dev');
    this.inner.devKfree(ptr);
  }
  deviceRelease(dev: DeviceHandle): DeviceReleaseReport {
    return this.inner.deviceRelease(dev);
  }
  allocations(dev: DeviceHandle): DevAllocation[] {
    return this.inner.allocations(dev);
  }
  devices(): { handle: DeviceHandle; name: string; live: number }[] {
    return this.inner.devices();
  }
  checkInvariants(): Violation[] {
    return this.inner.checkInvariants();
  }
}

/** VMALLOC: a wrapper around the Linux vmalloc layer. */
@injectable()
export class DelegatingVmalloc implements VmallocApi {
  private readonly inner: VmallocApi;
  constructor(
    @inject(MACHINE) machine: Machine,
    @inject(PAGE_ALLOCATOR) pages: PageAllocator,
    @inject(KMEM) kmem: KmemApi,
    @inject(VMAP_SPACE) space: VmapSpace,
    @inject(KASAN) @optional() kasan?: KasanApi,
  ) {
    this.inner = new Vmalloc(machine, pages, kmem, space, kasan);
  }
  get space(): VmapSpace {
    return this.inner.space;
  }
  vmallocAligned(size: number, align: number): number {
    count('vmalloc');
    return this.inner.vmallocAligned(size, align);
  }
  vmalloc(size: number): number {
    count('vmalloc');
    return this.inner.vmalloc(size);
  }
  vzalloc(size: number): number {
    count('vmalloc');
    return this.inner.vzalloc(size);
  }
  vmallocNode(size: number, nid: number): number {
    count('vmalloc');
    return this.inner.vmallocNode(size, nid);
  }
  vmallocGfp(size: number, gfp: Gfp): number {
    count('vmalloc');
    return this.inner.vmallocGfp(size, gfp);
  }
  vmap(pfns: readonly number[], flags?: number): number {
    return this.inner.vmap(pfns, flags);
  }
  vunmap(addr: number): void {
    this.inner.vunmap(addr);
  }
  vfree(addr: number): void {
    count('vmalloc');
    this.inner.vfree(addr);
  }
  vmallocToPfn(addr: number): number {
    return this.inner.vmallocToPfn(addr);
  }
  isVmallocAddr(addr: number): boolean {
    return this.inner.isVmallocAddr(addr);
  }
  kvmalloc(size: number, gfp: Gfp): number {
    return this.inner.kvmalloc(size, gfp);
  }
  kvfree(addr: number): void {
    this.inner.kvfree(addr);
  }
  purge(): void {
    this.inner.purge();
  }
  write(addr: number, data: Uint8Array): boolean {
    return this.inner.write(addr, data);
  }
  read(addr: number, len: number): Uint8Array | undefined {
    return this.inner.read(addr, len);
  }
  areas(): VmAreaInfo[] {
    return this.inner.areas();
  }
  stats(): VmallocStats {
    return this.inner.stats();
  }
  checkInvariants(): Violation[] {
    return this.inner.checkInvariants();
  }
}

/** VMAP_SPACE: a wrapper around the augmented free tree. */
@injectable()
export class DelegatingVmap implements VmapSpace {
  readonly policy = 'my-vmap';
  private readonly inner: VmapSpace = new VmapTreeSpace();
  get blocks(): number {
    return this.inner.blocks;
  }
  get steps(): number {
    return this.inner.steps;
  }
  reset(start: number, end: number): void {
    this.inner.reset(start, end);
  }
  alloc(size: number, align: number, vstart: number, vend: number): number {
    count('vmap');
    return this.inner.alloc(size, align, vstart, vend);
  }
  free(start: number, size: number): void {
    count('vmap');
    this.inner.free(start, size);
  }
  freeBlocks(): [number, number][] {
    return this.inner.freeBlocks();
  }
  check(): string[] {
    return this.inner.check();
  }
}

/** USER_MALLOC: a wrapper around ptmalloc, one per process. */
@injectable()
export class DelegatingMalloc implements UserMalloc {
  readonly name = 'my-malloc';
  private readonly inner: UserMalloc;
  constructor(@inject(PROCESS_MEMORY) mem: ProcessMemory, @inject(USER_MALLOC_OPTIONS) options: UserMallocOptions) {
    this.inner = new Ptmalloc(mem, options);
  }
  malloc(size: number): number {
    count('malloc');
    return this.inner.malloc(size);
  }
  free(ptr: number): void {
    count('malloc');
    this.inner.free(ptr);
  }
  calloc(nmemb: number, size: number): number {
    return this.inner.calloc(nmemb, size);
  }
  realloc(ptr: number, size: number): number {
    return this.inner.realloc(ptr, size);
  }
  memalign(alignment: number, size: number): number {
    return this.inner.memalign(alignment, size);
  }
  posixMemalign(out: number[], alignment: number, size: number): number {
    return this.inner.posixMemalign(out, alignment, size);
  }
  usableSize(ptr: number): number {
    return this.inner.usableSize(ptr);
  }
  trim(pad: number): number {
    return this.inner.trim(pad);
  }
  stats(): UserMallocStats {
    return this.inner.stats();
  }
  isMmapped(ptr: number): boolean {
    return this.inner.isMmapped(ptr);
  }
  binReport(): BinRow[] {
    return this.inner.binReport();
  }
  checkInvariants(): Violation[] {
    return this.inner.checkInvariants();
  }
}
