/**
 * Model and checks of the user-malloc fuzz. The model is what a correct C
 * program knows — which blocks it holds, how many bytes it asked for, and
 * the tag bytes it wrote into each — never a second allocator. After every
 * command the harness runs the policy's heap invariants (U1–U8 for
 * ptmalloc, F1–F4 for the boundary-tag baselines) and checks every held
 * block's tags; when a block is handed out it checks the malloc contract.
 *
 * Codes the model adds:
 * - U9 the malloc contract: a block is aligned as asked (16 bytes at least
 *   for malloc), `malloc_usable_size` is at least the request, calloc'ed
 *   bytes read zero, realloc keeps the first min(old, new) bytes;
 * - X1 no two held blocks overlap;
 * - X3 the bytes a block's owner wrote are intact until it frees them.
 */

import { hex } from '../../src/interfaces/units.js';
import type { ProcessMemory, UserMalloc } from '../../src/interfaces/user.js';
import type { System } from '../../src/system.js';
import { FuzzFailure, timedCheck } from '../common.js';

/** One block the program holds. */
export interface LiveBlock {
  /** User pointer. */
  readonly p: number;
  /** Bytes requested. */
  readonly size: number;
  /** Stamp its tag bytes are derived from. */
  readonly stamp: number;
}

/** The fuzz model. */
export interface UserModel {
  live: LiveBlock[];
  /** Counter that makes tags unique. */
  stamp: number;
}

/** The system under test: one process and its C library's malloc. */
export interface UserReal {
  readonly sys: System;
  readonly mm: ProcessMemory;
  readonly libc: UserMalloc;
}

/** Alignment every malloc result has on x86_64 (`MALLOC_ALIGNMENT`). */
export const MALLOC_ALIGNMENT = 16;

/** Head bytes tagged at the start of a block (fewer when the block is smaller). */
const HEAD_TAG_BYTES = 8;

/** The tag byte at `k` of a block with `stamp` (head bytes k < 8; the last byte uses k = 8). */
function tagByte(stamp: number, k: number): number {
  const h = Math.imul(stamp + 1, 2654435761) >>> 0;
  return ((h >>> ((k & 3) * 8)) ^ (k * 0x3b) ^ 0xa5) & 0xff;
}

/** Offsets of a block's tag bytes and the value each must hold. */
function tagOffsets(size: number): { at: number; k: number }[] {
  const out: { at: number; k: number }[] = [];
  for (let k = 0; k < Math.min(size, HEAD_TAG_BYTES); k++) out.push({ at: k, k });
  if (size > HEAD_TAG_BYTES) out.push({ at: size - 1, k: HEAD_TAG_BYTES });
  return out;
}

/** Writes the block's tag bytes. */
export function writeTags(real: UserReal, b: LiveBlock): void {
  for (const { at, k } of tagOffsets(b.size)) real.mm.write8(b.p + at, tagByte(b.stamp, k));
}

/** Verifies the block's tag bytes (X3) before `what` (`free`, `realloc`, `end of run`…). */
export function checkTags(real: UserReal, b: LiveBlock, what: string): void {
  for (const { at, k } of tagOffsets(b.size)) {
    const got = real.mm.read8(b.p + at);
    if (got !== tagByte(b.stamp, k)) {
      throw new FuzzFailure([{ code: 'X3', message: `${what}: block ${hex(b.p)} (${b.size} bytes) no longer holds what its owner wrote: byte ${at} is ${hex(got)}, written ${hex(tagByte(b.stamp, k))}` }]);
    }
  }
}

/** U9 after realloc: the first min(old, new) bytes moved with the block (the head tags, and the old last byte when it still fits). */
export function checkKept(real: UserReal, old: LiveBlock, p: number, size: number): void {
  for (const { at, k } of tagOffsets(old.size)) {
    if (at >= size) continue;
    const got = real.mm.read8(p + at);
    if (got !== tagByte(old.stamp, k)) {
      throw new FuzzFailure([{ code: 'U9', message: `realloc(${hex(old.p)}, ${size}) = ${hex(p)} lost byte ${at} of the old block: ${hex(got)}, written ${hex(tagByte(old.stamp, k))}` }]);
    }
  }
}

/** Bytes of a calloc'ed block checked for zero at each end. */
const CALLOC_CHECKED_BYTES = 256;

/** U9 for calloc: the first and last bytes (up to 256 at each end) read zero. */
export function checkZeroed(real: UserReal, p: number, bytes: number, call: string): void {
  const check = (from: number, to: number): void => {
    for (let i = from; i < to; i++) {
      const got = real.mm.read8(p + i);
      if (got !== 0) throw new FuzzFailure([{ code: 'U9', message: `${call} = ${hex(p)}: byte ${i} is ${hex(got)}, not zero` }]);
    }
  };
  check(0, Math.min(bytes, CALLOC_CHECKED_BYTES));
  check(Math.max(CALLOC_CHECKED_BYTES, bytes - CALLOC_CHECKED_BYTES), bytes);
}

/**
 * Records a block just handed out by `call`: the contract (U9 alignment
 * and usable size), no overlap with a held block (X1), then its tags.
 */
export function hold(model: UserModel, real: UserReal, p: number, size: number, align: number, call: string): void {
  const need = Math.max(align, MALLOC_ALIGNMENT);
  if (p % need !== 0) throw new FuzzFailure([{ code: 'U9', message: `${call} = ${hex(p)} is not ${need}-byte aligned` }]);
  const usable = real.libc.usableSize(p);
  if (usable < size) throw new FuzzFailure([{ code: 'U9', message: `${call} = ${hex(p)}: malloc_usable_size is ${usable} < ${size}` }]);
  const end = p + Math.max(size, 1);
  for (const o of model.live) {
    if (p < o.p + Math.max(o.size, 1) && o.p < end) {
      throw new FuzzFailure([{ code: 'X1', message: `${call} = ${hex(p)} (${size} bytes) overlaps the held block ${hex(o.p)} (${o.size} bytes)` }]);
    }
  }
  const b = { p, size, stamp: model.stamp++ };
  model.live.push(b);
  writeTags(real, b);
}

/** Frees the `i`-th held block after checking its tags. */
export function release(model: UserModel, real: UserReal, i: number, what = 'free'): void {
  const b = model.live[i]!;
  checkTags(real, b, what);
  model.live.splice(i, 1);
  real.libc.free(b.p);
}

/** The policy's heap invariants (U1–U8 / F1–F4). */
export function checkHeap(real: UserReal, when = ''): void {
  const v = real.libc.checkInvariants();
  if (v.length) throw new FuzzFailure(when ? v.map((x) => ({ ...x, message: `${when}: ${x.message}` })) : v);
}

/** After every command: the heap invariants, and every held block's tags. */
export function checkAfter(model: UserModel, real: UserReal): void {
  timedCheck(() => {
    checkHeap(real);
    for (const b of model.live) checkTags(real, b, 'after the command');
  });
}
