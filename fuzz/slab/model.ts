/**
 * Model and checks of the slab-layer fuzz: which objects the client holds
 * (address, requested size, cache or kmalloc, a pattern it wrote) and which
 * caches it created — never a second allocator. After every command: every
 * invariant of the system, no two held objects overlap, and a freed
 * object's bytes are what its owner wrote (X3).
 */

import type { Violation } from '../../src/interfaces/invariants.js';
import { PAGE_OFFSET } from '../../src/interfaces/units.js';
import type { System } from '../../src/system.js';
import { FuzzFailure, checkSystem } from '../common.js';

/** One object the client holds. */
export interface HeldObject {
  addr: number;
  size: number;
  /** Device of a dev_kmalloc object. */
  device?: number;
  /** Cache handle, -1 for kmalloc, {@link DEV_OBJECT} for dev_kmalloc. */
  readonly cache: number;
  pattern: number;
  /** The constructor's byte, for an object of a constructor cache: restored over the pattern before it is freed. */
  readonly ctorByte?: number;
}

/** A cache the client created. */
export interface ModelCache {
  readonly handle: number;
  readonly size: number;
  /** The byte its constructor writes, when it has one. */
  readonly ctorByte?: number;
}

/** `cache` value of a dev_kmalloc object. */
export const DEV_OBJECT = -2;

/** The fuzz model. */
export interface SlabModel {
  held: HeldObject[];
  caches: ModelCache[];
  /** Registered devices (handles) and the objects each holds are in `held` with cache DEV_OBJECT and `device`. */
  devices: number[];
  stamp: number;
}

/** The system under test. */
export interface SlabReal {
  readonly sys: System;
}

/** Every invariant of the system, and no detector report (the client is correct); throws FuzzFailure otherwise. */
export function checkAll(real: SlabReal): void {
  checkSystem(real.sys);
}

/** Writes the owner's pattern: its first min(size, 4) bytes, and when the object is larger, its last byte. */
export function writePattern(real: SlabReal, o: HeldObject): void {
  const mem = real.sys.machine.mem;
  const p = o.addr - PAGE_OFFSET;
  for (let k = 0; k < Math.min(o.size, 4); k++) mem.write8(p + k, (o.pattern >>> (8 * k)) & 0xff);
  if (o.size > 4) mem.write8(p + o.size - 1, (o.pattern >>> 8) & 0xff);
}

/** Verifies the pattern (X3). */
export function checkPattern(real: SlabReal, o: HeldObject): void {
  const mem = real.sys.machine.mem;
  const p = o.addr - PAGE_OFFSET;
  let ok = true;
  for (let k = 0; k < Math.min(o.size, 4); k++) ok &&= mem.read8(p + k) === ((o.pattern >>> (8 * k)) & 0xff);
  if (o.size > 4) ok &&= mem.read8(p + o.size - 1) === ((o.pattern >>> 8) & 0xff);
  if (!ok) throw new FuzzFailure([{ code: 'X3', message: `object 0x${o.addr.toString(16)} (${o.size} bytes) no longer holds what its owner wrote` }]);
}

/** No held object overlaps `o` (the harness's layer-free check). */
export function checkNoOverlap(model: SlabModel, o: HeldObject): void {
  for (const h of model.held) {
    if (h !== o && o.addr < h.addr + h.size && h.addr < o.addr + o.size) {
      const v: Violation = { code: 'X1', message: `object 0x${o.addr.toString(16)}+${o.size} overlaps live object 0x${h.addr.toString(16)}+${h.size}` };
      throw new FuzzFailure([v]);
    }
  }
}

/** Records a new object: overlap check, pattern. */
export function hold(model: SlabModel, real: SlabReal, addr: number, size: number, cache: number, device?: number, ctorByte?: number): void {
  const o = { addr, size, cache, device, ctorByte, pattern: (++model.stamp * 2654435761) >>> 0 };
  checkNoOverlap(model, o);
  model.held.push(o);
  writePattern(real, o);
}

/** Frees a held object through the API it came from. */
export function freeHeld(real: SlabReal, o: HeldObject): void {
  if (o.ctorByte !== undefined) {
    // Back to its constructed state, as the kernel requires of a constructor cache's objects.
    const mem = real.sys.machine.mem;
    const p = o.addr - PAGE_OFFSET;
    for (let k = 0; k < Math.min(o.size, 4); k++) mem.write8(p + k, o.ctorByte);
    if (o.size > 4) mem.write8(p + o.size - 1, o.ctorByte);
  }
  if (o.cache === DEV_OBJECT) real.sys.dev.devKfree(o.addr);
  else if (o.cache < 0) real.sys.kmem.kfree(o.addr);
  else real.sys.kmem.kmemCacheFree(o.cache, o.addr);
}

/**
 * Reallocates the `pick`-th held object of kind `cache` (-1 kmalloc,
 * DEV_OBJECT dev_kmalloc) with `realloc`, checking that the contents survive
 * (K5) and the new object overlaps nothing; a failed reallocation keeps the old one.
 */
export function reallocHeld(m: SlabModel, r: SlabReal, cache: number, pick: number, size: number, op: string, realloc: (addr: number, size: number) => number): void {
  const mine = m.held.filter((o) => o.cache === cache);
  const o = mine[pick % mine.length]!;
  checkPattern(r, o);
  const first = r.sys.machine.mem.read8(o.addr - PAGE_OFFSET);
  const p = realloc(o.addr, size);
  if (p === 0) return;
  if (r.sys.machine.mem.read8(p - PAGE_OFFSET) !== first) throw new FuzzFailure([{ code: 'K5', message: `${op}(0x${o.addr.toString(16)}, ${size}) lost the object's first byte` }]);
  o.addr = p;
  o.size = size;
  checkNoOverlap(m, o);
  writePattern(r, o);
  checkAll(r);
}
