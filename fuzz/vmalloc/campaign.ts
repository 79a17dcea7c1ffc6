/**
 * The vmalloc fuzz campaign: vmalloc/vzalloc of 1–64 pages (odd sizes too),
 * vfree in any order, vmap of caller frames and vunmap, kvmalloc/kvfree
 * across the kmalloc/vmalloc boundary, and explicit purges, on a small
 * machine. After every command: every invariant (V1 areas and guards, V2
 * backing, V5 partition of the range, the cross-layer X1/X2, the slab and
 * page layers), no detector report, and the bytes of the area touched are
 * still the ones written (vzalloc'ed areas start zeroed).
 */

import fc from 'fast-check';
import type { Command } from 'fast-check';
import type { SystemConfigInput } from '../../src/interfaces/config.js';
import { GFP_KERNEL } from '../../src/interfaces/gfp.js';
import { PAGE_SIZE, asPfn } from '../../src/interfaces/units.js';
import { createSystem, type System, type SystemOverrides } from '../../src/system.js';
import { FuzzFailure, checkSystem } from '../common.js';
import { defineCampaign, type CampaignDef, type FuzzReport, type StoredCommand } from '../engine.js';
import { PICK, commandParser, int, spec } from '../schema.js';
import { Owner } from '../../src/machine/memmap.js';

/** The machine the campaign runs on: small, two CPUs, so lazy purges and page exhaustion both happen. */
export const VMALLOC_FUZZ_MACHINE: SystemConfigInput = { machine: { memBytes: 32 << 20, kernelImageBytes: 1 << 20, cpus: 2, thp: false } };

/** One held allocation. */
interface Held {
  readonly addr: number;
  readonly bytes: number;
  readonly tag: number;
  readonly kind: 'vmalloc' | 'vmap' | 'kvmalloc';
  readonly pfns: readonly number[];
}

/** The model: what the client holds. */
export interface VmallocModel {
  held: Held[];
  stamp: number;
}

/** The system under test. */
export interface VmallocReal {
  readonly sys: System;
}

type VmCommand = StoredCommand<VmallocModel, VmallocReal>;

function checkAll(r: VmallocReal): void {
  checkSystem(r.sys);
}

/** The bytes a command writes, reused from command to command (a fresh array per write was a tenth of the campaign). */
let pattern = new Uint8Array(0);

function fill(r: VmallocReal, addr: number, bytes: number, tag: number): void {
  if (bytes === 0) return;
  if (pattern.length < bytes) pattern = new Uint8Array(Math.max(bytes, 2 * pattern.length));
  if (!r.sys.vmalloc.write(addr, pattern.subarray(0, bytes).fill(tag))) throw new FuzzFailure([{ code: 'V4', message: `writing the ${bytes} bytes of area 0x${addr.toString(16)} faulted` }]);
}

/** Index of the first byte of `a` that is not `byte`, or -1. */
function firstNot(a: Uint8Array, byte: number): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== byte) return i;
  return -1;
}

function verify(r: VmallocReal, h: Held): void {
  if (h.bytes === 0) return;
  const got = r.sys.vmalloc.read(h.addr, h.bytes);
  if (got === undefined) throw new FuzzFailure([{ code: 'V4', message: `reading area 0x${h.addr.toString(16)} faulted` }]);
  const bad = firstNot(got, h.tag);
  if (bad >= 0) throw new FuzzFailure([{ code: 'V4', message: `byte ${bad} of area 0x${h.addr.toString(16)} is 0x${got[bad]!.toString(16)}, written 0x${h.tag.toString(16)}: another area overwrote it` }]);
}

/** The first and last 8 bytes of every held area (what an overlapping neighbour would overwrite first). */
function verifyEdges(r: VmallocReal, h: Held): void {
  if (h.bytes < 16) return verify(r, h);
  for (const at of [h.addr, h.addr + h.bytes - 8]) {
    const got = r.sys.vmalloc.read(at, 8);
    if (got === undefined || firstNot(got, h.tag) >= 0) {
      throw new FuzzFailure([{ code: 'V4', message: `area 0x${h.addr.toString(16)} (${h.bytes} bytes) lost its contents at 0x${at.toString(16)}: another area overwrote it` }]);
    }
  }
}

/** The commands, one class: `op` says which call. */
class VmallocCommand implements Command<VmallocModel, VmallocReal> {
  constructor(
    readonly op: 'vmalloc' | 'vzalloc' | 'vfree' | 'vmap' | 'kvmalloc' | 'purge',
    readonly a = 0,
    readonly b = 0,
  ) {}

  check(m: VmallocModel): boolean {
    return this.op !== 'vfree' || m.held.length > 0;
  }

  /** @returns `fail` when an allocation or mapping returned NULL (the campaign's coverage) */
  run(m: VmallocModel, r: VmallocReal): string {
    const v = r.sys.vmalloc;
    const tag = (m.stamp++ % 255) + 1;
    let outcome = '';
    switch (this.op) {
      case 'vmalloc':
      case 'vzalloc': {
        const bytes = this.a * PAGE_SIZE - this.b;
        const addr = this.op === 'vmalloc' ? v.vmalloc(bytes) : v.vzalloc(bytes);
        if (addr !== 0) {
          if (this.op === 'vzalloc') {
            const z = v.read(addr, bytes);
            if (z === undefined || firstNot(z, 0) >= 0) throw new FuzzFailure([{ code: 'V4', message: `vzalloc(${bytes}) at 0x${addr.toString(16)} is not zeroed` }]);
          }
          fill(r, addr, bytes, tag);
          m.held.push({ addr, bytes, tag, kind: 'vmalloc', pfns: [] });
        } else outcome = 'fail';
        break;
      }
      case 'kvmalloc': {
        const addr = v.kvmalloc(this.a, GFP_KERNEL);
        if (addr !== 0) {
          // kmalloc'ed memory is the slab layer's to check; of a vmalloc'ed one the first 64 KiB are written
          // (the whole of it would cost the host a segment per MiB touched, run after run).
          const bytes = v.isVmallocAddr(addr) ? Math.min(this.a, 64 << 10) : 0;
          fill(r, addr, bytes, tag);
          m.held.push({ addr, bytes, tag, kind: 'kvmalloc', pfns: [] });
        } else outcome = 'fail';
        break;
      }
      case 'vmap': {
        const pfns: number[] = [];
        for (let i = 0; i < this.a; i++) {
          const p = r.sys.pages.allocPages(0, GFP_KERNEL);
          if (p < 0) break;
          r.sys.machine.memmap.setOwner(p, 1, Owner.PAGE_CLIENT);
          pfns.push(p);
        }
        const addr = pfns.length ? v.vmap(pfns) : 0;
        if (addr !== 0) {
          fill(r, addr, pfns.length * PAGE_SIZE, tag);
          m.held.push({ addr, bytes: pfns.length * PAGE_SIZE, tag, kind: 'vmap', pfns });
        } else {
          for (const p of pfns) r.sys.pages.freePages(asPfn(p), 0);
          outcome = 'fail';
        }
        break;
      }
      case 'vfree': {
        const h = m.held.splice(this.a % m.held.length, 1)[0]!;
        verify(r, h);
        if (h.kind === 'vmalloc') v.vfree(h.addr);
        else if (h.kind === 'kvmalloc') v.kvfree(h.addr);
        else {
          v.vunmap(h.addr);
          for (const p of h.pfns) r.sys.pages.freePages(asPfn(p), 0);
        }
        break;
      }
      case 'purge':
        v.purge();
        break;
    }
    for (const h of m.held) verifyEdges(r, h);
    checkAll(r);
    return outcome;
  }

  toString(): string {
    switch (this.op) {
      case 'vmalloc':
      case 'vzalloc':
        return `${this.op}(${this.a * PAGE_SIZE - this.b})`;
      case 'vmap':
        return `vmap(${this.a} pages)`;
      case 'kvmalloc':
        return `kvmalloc(${this.a})`;
      case 'vfree':
        return `free(#${this.a})`;
      default:
        return 'purge()';
    }
  }

  toJSON(): object {
    switch (this.op) {
      case 'vmalloc':
      case 'vzalloc':
        return { op: this.op, pages: this.a, less: this.b };
      case 'vmap':
        return { op: this.op, pages: this.a };
      case 'kvmalloc':
        return { op: this.op, bytes: this.a };
      case 'vfree':
        return { op: this.op, pick: this.a };
      default:
        return { op: this.op };
    }
  }
}

/** Most pages a vmalloc or vzalloc command asks for. */
export const VMALLOC_MAX_PAGES = 64;
/** Most caller frames a vmap command maps. */
export const VMAP_MAX_PAGES = 8;
/** Largest kvmalloc request. */
export const KVMALLOC_MAX_BYTES = 6 << 20;

function arbs(): fc.Arbitrary<VmCommand>[] {
  return [
    fc.tuple(fc.integer({ min: 1, max: VMALLOC_MAX_PAGES }), fc.oneof(fc.constant(0), fc.integer({ min: 0, max: PAGE_SIZE - 1 }))).map(([p, x]) => new VmallocCommand('vmalloc', p, x)),
    fc.tuple(fc.integer({ min: 1, max: VMALLOC_MAX_PAGES }), fc.oneof(fc.constant(0), fc.integer({ min: 0, max: PAGE_SIZE - 1 }))).map(([p, x]) => new VmallocCommand('vmalloc', p, x)),
    fc.integer({ min: 1, max: 8 }).map((p) => new VmallocCommand('vzalloc', p, 0)),
    fc.nat().map((i) => new VmallocCommand('vfree', i)),
    fc.nat().map((i) => new VmallocCommand('vfree', i)),
    fc.integer({ min: 1, max: VMAP_MAX_PAGES }).map((p) => new VmallocCommand('vmap', p)),
    fc.oneof(fc.integer({ min: 1, max: 8192 }), fc.integer({ min: 4 << 20, max: 6 << 20 })).map((n) => new VmallocCommand('kvmalloc', n)),
    fc.constant(new VmallocCommand('purge')),
  ];
}

const fromJSON = commandParser<VmCommand>('vmalloc', [
  spec('vmalloc', { pages: int(1, VMALLOC_MAX_PAGES), less: int(0, PAGE_SIZE - 1) }, (v) => new VmallocCommand('vmalloc', v.pages, v.less)),
  spec('vzalloc', { pages: int(1, VMALLOC_MAX_PAGES), less: int(0, PAGE_SIZE - 1) }, (v) => new VmallocCommand('vzalloc', v.pages, v.less)),
  spec('vfree', { pick: PICK }, (v) => new VmallocCommand('vfree', v.pick)),
  spec('vmap', { pages: int(1, VMAP_MAX_PAGES) }, (v) => new VmallocCommand('vmap', v.pages)),
  spec('kvmalloc', { bytes: int(1, KVMALLOC_MAX_BYTES) }, (v) => new VmallocCommand('kvmalloc', v.bytes)),
  spec('purge', {}, () => new VmallocCommand('purge')),
]);

/** What to fuzz. */
export interface VmallocFuzzOpts {
  /** Machine and policies (`policies.vmap`). @defaultValue VMALLOC_FUZZ_MACHINE */
  readonly config?: SystemConfigInput;
  /** Mutant classes bound in place of the vmalloc layer or its vmap space. */
  readonly overrides?: SystemOverrides;
  readonly seed: number;
  readonly numRuns: number;
  /** @defaultValue 60 */
  readonly maxCommands?: number;
}

/** The vmalloc layer's campaign (registry entry). */
export const VMALLOC_CAMPAIGN = defineCampaign({
  layer: 'vmalloc',
  summary: 'vmalloc/vzalloc of 1-64 pages, vfree in any order, vmap/vunmap of caller frames, kvmalloc/kvfree across the kmalloc/vmalloc boundary, purges',
  policyKind: 'vmap',
  defaultPolicy: 'tree',
  machine: VMALLOC_FUZZ_MACHINE,
  defaultMaxCommands: 60,
  def: (cfg, overrides): CampaignDef<VmallocModel, VmallocReal> => ({
    setup: () => ({ model: { held: [], stamp: 0 }, real: { sys: createSystem(cfg, overrides) } }),
    initialCheck: (r) => checkAll(r),
    teardown: (r) => r.sys.machine.mem.release(),
    arbs,
    fromJSON,
  }),
});

/** Runs the campaign. */
export function runVmallocFuzz(o: VmallocFuzzOpts): FuzzReport {
  return VMALLOC_CAMPAIGN.run({ config: o.config, overrides: o.overrides }, o);
}

/** Replays a stored command list. */
export function replayVmallocCommands(commands: readonly unknown[], o: Omit<VmallocFuzzOpts, 'seed' | 'numRuns'> = {}): FuzzReport {
  return VMALLOC_CAMPAIGN.replay({ config: o.config, overrides: o.overrides }, commands);
}
