/** Fuzz commands on objects: kmalloc, krealloc, free (kfree or kmem_cache_free, one or many), CPU switch. */

import type { Command } from 'fast-check';
import { GFP_KERNEL, __GFP_NOWARN, __GFP_RECLAIMABLE, __GFP_ACCOUNT, __GFP_DMA } from '../../src/interfaces/gfp.js';
import { ZERO_SIZE_PTR } from '../../src/interfaces/slab.js';
import { FUZZ_MAX_CPU, FuzzFailure } from '../common.js';
import { PICK, int, spec } from '../schema.js';
import { checkAll, checkPattern, freeHeld, hold, reallocHeld, type SlabModel, type SlabReal } from './model.js';

/** Masks kmalloc draws from (normal, reclaimable, accounted, DMA caches). */
export const KMALLOC_GFPS = [GFP_KERNEL, GFP_KERNEL | __GFP_RECLAIMABLE, GFP_KERNEL | __GFP_ACCOUNT, GFP_KERNEL | __GFP_DMA].map((g) => g | __GFP_NOWARN);

/** kmalloc(size) for sizes across every class and the large path. */
export class KmallocCommand implements Command<SlabModel, SlabReal> {
  constructor(readonly size: number, readonly gfp: number) {}
  check(): boolean {
    return true;
  }
  /** @returns `fail` for a NULL (the campaign's coverage) */
  run(m: SlabModel, r: SlabReal): string {
    const p = r.sys.kmem.kmalloc(this.size, KMALLOC_GFPS[this.gfp % KMALLOC_GFPS.length]!);
    if (this.size === 0 && p !== ZERO_SIZE_PTR) throw new FuzzFailure([{ code: 'K4', message: `kmalloc(0) returned 0x${p.toString(16)}, not ZERO_SIZE_PTR` }]);
    if (p !== 0 && this.size > 0) {
      if (r.sys.kmem.ksize(p) < this.size) throw new FuzzFailure([{ code: 'K1', message: `ksize(0x${p.toString(16)}) = ${r.sys.kmem.ksize(p)} < requested ${this.size}` }]);
      hold(m, r, p, this.size, -1);
    }
    checkAll(r);
    return p === 0 ? 'fail' : '';
  }
  toString(): string {
    return `kmalloc(${this.size}, gfp#${this.gfp})`;
  }
  toJSON(): object {
    return { op: 'kmalloc', size: this.size, gfp: this.gfp };
  }
}

/** krealloc of a held kmalloc object: contents up to min(old, new) survive (K5). */
export class KreallocCommand implements Command<SlabModel, SlabReal> {
  constructor(readonly pick: number, readonly size: number) {}
  check(m: SlabModel): boolean {
    return m.held.some((o) => o.cache === -1);
  }
  run(m: SlabModel, r: SlabReal): void {
    reallocHeld(m, r, -1, this.pick, this.size, 'krealloc', (a, n) => r.sys.kmem.krealloc(a, n, GFP_KERNEL | __GFP_NOWARN));
  }
  toString(): string {
    return `krealloc(#${this.pick}, ${this.size})`;
  }
  toJSON(): object {
    return { op: 'krealloc', pick: this.pick, size: this.size };
  }
}

/** Frees `n` held objects starting at index `pick` (kfree or kmem_cache_free as allocated). */
export class FreeCommand implements Command<SlabModel, SlabReal> {
  constructor(readonly pick: number, readonly n: number) {}
  check(m: SlabModel): boolean {
    return m.held.length > 0;
  }
  run(m: SlabModel, r: SlabReal): void {
    for (let k = 0; k < this.n && m.held.length; k++) {
      const i = (this.pick + k * 7) % m.held.length;
      const o = m.held[i]!;
      checkPattern(r, o);
      freeHeld(r, o);
      m.held.splice(i, 1);
    }
    checkAll(r);
  }
  toString(): string {
    return `free(#${this.pick} x${this.n})`;
  }
  toJSON(): object {
    return { op: 'free', pick: this.pick, n: this.n };
  }
}

/** Runs the next commands on another CPU (remote frees follow). */
export class SetCpuCommand implements Command<SlabModel, SlabReal> {
  constructor(readonly cpu: number) {}
  check(): boolean {
    return true;
  }
  run(_m: SlabModel, r: SlabReal): void {
    r.sys.machine.ctx.setCpu(this.cpu % r.sys.machine.ctx.nrCpus);
  }
  toString(): string {
    return `set_cpu(${this.cpu})`;
  }
  toJSON(): object {
    return { op: 'set_cpu', cpu: this.cpu };
  }
}

/** Largest kmalloc request (the large path starts above 8 KiB). */
export const KMALLOC_MAX_FUZZ = 70000;
/** Largest krealloc target. */
export const KREALLOC_MAX_FUZZ = 9000;
/** Most objects one free command frees. */
export const FREE_MAX_N = 60;

/** Stored forms of the object commands. */
export const OBJECT_SPECS = [
  spec('kmalloc', { size: int(0, KMALLOC_MAX_FUZZ), gfp: PICK }, (v) => new KmallocCommand(v.size, v.gfp)),
  spec('krealloc', { pick: PICK, size: int(1, KREALLOC_MAX_FUZZ) }, (v) => new KreallocCommand(v.pick, v.size)),
  spec('free', { pick: PICK, n: int(1, FREE_MAX_N) }, (v) => new FreeCommand(v.pick, v.n)),
  spec('set_cpu', { cpu: int(0, FUZZ_MAX_CPU) }, (v) => new SetCpuCommand(v.cpu)),
];
