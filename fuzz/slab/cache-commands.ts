/** Fuzz commands on kmem caches: create, destroy, alloc, free, bulk, shrink. */

import type { Command } from 'fast-check';
import { GFP_KERNEL, __GFP_NOWARN } from '../../src/interfaces/gfp.js';
import { SLAB_HWCACHE_ALIGN, SLAB_POISON, SLAB_RECLAIM_ACCOUNT, SLAB_RED_ZONE, SLAB_TYPESAFE_BY_RCU } from '../../src/interfaces/slab.js';
import { PAGE_OFFSET } from '../../src/interfaces/units.js';
import { FuzzFailure } from '../common.js';
import { PICK, int, spec } from '../schema.js';
import { checkAll, checkPattern, freeHeld, hold, type SlabModel, type SlabReal } from './model.js';

/** Sizes, alignments and flags a created cache draws from. */
export const CACHE_SIZES = [8, 13, 24, 40, 64, 100, 192, 256, 500, 1024, 3000, 4096, 6000];
export const CACHE_ALIGNS = [0, 8, 64, 256];
export const CACHE_FLAGS = [0, SLAB_HWCACHE_ALIGN, SLAB_RECLAIM_ACCOUNT, SLAB_POISON, SLAB_RED_ZONE];

/** Flags a cache with a constructor draws from: none, RCU type-safety, poisoning (each moves SLUB's free pointer out of the object). */
export const CTOR_CACHE_FLAGS = [0, SLAB_TYPESAFE_BY_RCU, SLAB_POISON, SLAB_TYPESAFE_BY_RCU | SLAB_HWCACHE_ALIGN];

/**
 * The byte a constructor cache's constructor writes over every byte of an
 * object; a client that frees an object puts it back first (the kernel's
 * contract for constructed caches: objects are freed in their constructed
 * state), so every object the cache hands out holds it.
 */
export function ctorByte(stamp: number): number {
  return 0xc0 | (stamp & 0x3f);
}

/** The words that must hold the constructed state when an object is handed out: the first, the middle (where SLUB puts a free pointer inside an object) and the last. */
export function constructedOffsets(size: number): number[] {
  if (size < 8) return [0];
  return [...new Set([0, Math.floor(size / 2 / 8) * 8, size - 8].filter((o) => o + 8 <= size))];
}

/** Checks an object handed out by a constructor cache still holds its constructed state (S12). */
export function checkConstructed(r: SlabReal, addr: number, size: number, byte: number, how: string): void {
  const mem = r.sys.machine.mem;
  for (const off of constructedOffsets(size)) {
    for (let k = 0; k < Math.min(8, size - off); k++) {
      const b = mem.read8(addr - PAGE_OFFSET + off + k);
      if (b !== byte) {
        throw new FuzzFailure([{ code: 'S12', message: `${how} handed out object 0x${addr.toString(16)} (${size} bytes) without its constructed state: byte ${off + k} is 0x${b.toString(16)}, the constructor wrote 0x${byte.toString(16)}` }]);
      }
    }
  }
}

/** kmem_cache_create with table-chosen parameters. */
export class CreateCacheCommand implements Command<SlabModel, SlabReal> {
  constructor(readonly size: number, readonly align: number, readonly flags: number) {}
  check(m: SlabModel): boolean {
    return m.caches.length < 8;
  }
  run(m: SlabModel, r: SlabReal): void {
    const size = CACHE_SIZES[this.size % CACHE_SIZES.length]!;
    const h = r.sys.kmem.kmemCacheCreate(`fz${m.stamp++}`, size, CACHE_ALIGNS[this.align % CACHE_ALIGNS.length], CACHE_FLAGS[this.flags % CACHE_FLAGS.length]);
    m.caches.push({ handle: h, size });
    checkAll(r);
  }
  toString(): string {
    return `kmem_cache_create(size#${this.size}, align#${this.align}, flags#${this.flags})`;
  }
  toJSON(): object {
    return { op: 'create', size: this.size, align: this.align, flags: this.flags };
  }
}

/**
 * kmem_cache_create of a cache with a constructor (and, by the flags table,
 * SLAB_TYPESAFE_BY_RCU or poisoning): objects must come out constructed.
 */
export class CreateCtorCacheCommand implements Command<SlabModel, SlabReal> {
  constructor(readonly size: number, readonly flags: number) {}
  check(m: SlabModel): boolean {
    return m.caches.length < 8;
  }
  run(m: SlabModel, r: SlabReal): void {
    const size = CACHE_SIZES[this.size % CACHE_SIZES.length]!;
    const byte = ctorByte(m.stamp);
    const mem = r.sys.machine.mem;
    const h = r.sys.kmem.kmemCacheCreate(`fzc${m.stamp++}`, size, 0, CTOR_CACHE_FLAGS[this.flags % CTOR_CACHE_FLAGS.length], (obj) => mem.fill(obj - PAGE_OFFSET, size, byte));
    m.caches.push({ handle: h, size, ctorByte: byte });
    checkAll(r);
  }
  toString(): string {
    return `kmem_cache_create(size#${this.size}, ctor, flags#${this.flags})`;
  }
  toJSON(): object {
    return { op: 'create_ctor', size: this.size, flags: this.flags };
  }
}

/** kmem_cache_destroy of a cache with no live objects (frees them first, as a well-behaved client). */
export class DestroyCacheCommand implements Command<SlabModel, SlabReal> {
  constructor(readonly pick: number) {}
  check(m: SlabModel): boolean {
    return m.caches.length > 0;
  }
  run(m: SlabModel, r: SlabReal): void {
    const c = m.caches[this.pick % m.caches.length]!;
    const mine = m.held.filter((o) => o.cache === c.handle);
    for (const o of mine) {
      checkPattern(r, o);
      freeHeld(r, o);
    }
    m.held = m.held.filter((o) => o.cache !== c.handle);
    if (r.sys.kmem.kmemCacheDestroy(c.handle) !== 0) throw new FuzzFailure([{ code: 'S9', message: `kmem_cache_destroy reported live objects after all were freed` }]);
    m.caches = m.caches.filter((x) => x !== c);
    checkAll(r);
  }
  toString(): string {
    return `kmem_cache_destroy(#${this.pick})`;
  }
  toJSON(): object {
    return { op: 'destroy', pick: this.pick };
  }
}

/** kmem_cache_alloc, n times (n > 1 through the bulk API). */
export class CacheAllocCommand implements Command<SlabModel, SlabReal> {
  constructor(readonly pick: number, readonly n: number) {}
  check(m: SlabModel): boolean {
    return m.caches.length > 0;
  }
  run(m: SlabModel, r: SlabReal): void {
    const c = m.caches[this.pick % m.caches.length]!;
    const objs = this.n > 1 ? r.sys.kmem.kmemCacheAllocBulk(c.handle, GFP_KERNEL | __GFP_NOWARN, this.n) : [r.sys.kmem.kmemCacheAlloc(c.handle, GFP_KERNEL | __GFP_NOWARN)];
    for (const o of objs) {
      if (o === 0) continue;
      if (c.ctorByte !== undefined) checkConstructed(r, o, c.size, c.ctorByte, `kmem_cache_alloc${this.n > 1 ? '_bulk' : ''}`);
      hold(m, r, o, c.size, c.handle, undefined, c.ctorByte);
    }
    checkAll(r);
  }
  toString(): string {
    return `kmem_cache_alloc${this.n > 1 ? '_bulk' : ''}(#${this.pick}, ${this.n})`;
  }
  toJSON(): object {
    return { op: 'cache_alloc', pick: this.pick, n: this.n };
  }
}

/** kmem_cache_shrink. */
export class ShrinkCommand implements Command<SlabModel, SlabReal> {
  constructor(readonly pick: number) {}
  check(m: SlabModel): boolean {
    return m.caches.length > 0;
  }
  run(m: SlabModel, r: SlabReal): void {
    r.sys.kmem.kmemCacheShrink(m.caches[this.pick % m.caches.length]!.handle);
    checkAll(r);
  }
  toString(): string {
    return `kmem_cache_shrink(#${this.pick})`;
  }
  toJSON(): object {
    return { op: 'shrink', pick: this.pick };
  }
}

/** Most objects one cache_alloc takes (bulk above 1). */
export const CACHE_ALLOC_MAX = 80;

/** Stored forms of the cache commands. */
export const CACHE_SPECS = [
  spec('create', { size: PICK, align: PICK, flags: PICK }, (v) => new CreateCacheCommand(v.size, v.align, v.flags)),
  spec('create_ctor', { size: PICK, flags: PICK }, (v) => new CreateCtorCacheCommand(v.size, v.flags)),
  spec('destroy', { pick: PICK }, (v) => new DestroyCacheCommand(v.pick)),
  spec('cache_alloc', { pick: PICK, n: int(1, CACHE_ALLOC_MAX) }, (v) => new CacheAllocCommand(v.pick, v.n)),
  spec('shrink', { pick: PICK }, (v) => new ShrinkCommand(v.pick)),
];
