/**
 * How dev_kmalloc works here (device-managed kmalloc, as the seed design
 * describes it; the devres idea of drivers/base/devres.c).
 *
 * `dev_kmalloc(dev, size, gfp)` takes `64 + size` bytes from kmalloc and
 * writes a 64-byte header at the start, in simulated memory, with the
 * x86_64 natural layout: magic u32 0xDEADBEEF @0, size u64 @8, flags (gfp)
 * u32 @16, owner (the `struct device` address) @24, list next @32 and prev
 * @40, timestamp (logical ns) @48, caller address @56. The header is linked
 * at the tail of its device's circular list, whose head lives in the
 * device's own `struct device` (kzalloc'ed at registration). The caller
 * gets `header + 64`.
 *
 * `dev_kfree(ptr)` steps back 64 bytes, checks the header (magic, size
 * against what was allocated, both list links), unlinks it, clears the
 * magic and kfree()s header and data together. `device_release(dev)` walks
 * the device's list (bounded) and frees everything still on it.
 *
 * Misuse it reports, each with its own message: `dev_kfree` of a pointer
 * that has no header (a plain kmalloc pointer, a wild pointer), a second
 * `dev_kfree`, a corrupted header (magic, size or links), and — through the
 * slab front end's misuse explainer — `kfree()` of a dev_kmalloc pointer,
 * which would free from inside the object and leave the header behind.
 *
 * Layers it may call: the slab front end (kmalloc, kfree, ksize).
 *
 * Known limitations: the checks of this file (`dev_kfree` of a pointer
 * without a header, a second `dev_kfree`, a corrupted header) are always
 * on. Only the slab layer's detection can be turned off (`debug.detect`
 * false, SLUB): a `kfree()` of a dev_kmalloc pointer is then carried out and
 * its consequence followed (`allocsim scenario dev-kmalloc-wrong-free
 * --no-detect`).
 */

import { inject, injectable, optional } from 'inversify';
import { AllocatorError } from '../../interfaces/errors.js';
import { __GFP_ZERO, type Gfp } from '../../interfaces/gfp.js';
import { MAX_VIOLATIONS, type Violation } from '../../interfaces/invariants.js';
import { DEVICE_STRUCT_SIZE, DEV_HEADER_SIZE, DEV_MAGIC, DevHeader, type DevAllocation, type DevKmallocApi, type DeviceHandle, type DeviceReleaseReport } from '../../interfaces/devres.js';
import { KMEM, KMEMLEAK, MACHINE } from '../../interfaces/tokens.js';
import type { KmemleakApi } from '../../interfaces/detectors.js';
import type { KmemApi } from '../../interfaces/slab.js';
import { PAGE_OFFSET, kptr } from '../../interfaces/units.js';
import type { Machine } from '../../interfaces/machine.js';
import { GFP_KERNEL } from '../../interfaces/gfp.js';

/** Bound of every list walk. */
const MAX_WALK = 1 << 22;

interface DeviceRec {
  readonly handle: DeviceHandle;
  readonly name: string;
  /** Address of its `struct device` (list head at +0). */
  readonly addr: number;
  alive: boolean;
}

interface LiveRec {
  readonly device: DeviceHandle;
  size: number;
  readonly gfp: Gfp;
  readonly caller: number;
  readonly ts: number;
}

/**
 * dev_kmalloc over the slab front end.
 *
 * Invariants (checked by {@link DevKmalloc.checkInvariants}):
 * 1. D1 Magic — every live header holds 0xDEADBEEF.
 * 2. D2 Fields — size, flags, owner and caller equal what was allocated;
 *    timestamps never decrease along a device's list.
 * 3. D3 List — each device's list is a consistent circular doubly linked
 *    list (both directions, bounded walk) whose members are exactly that
 *    device's live allocations.
 * 4. D5 Alignment — every returned pointer is 8-byte aligned (the header
 *    is a multiple of the kmalloc minimum alignment).
 */
@injectable()
export class DevKmalloc implements DevKmallocApi {
  private readonly devs: DeviceRec[] = [];
  /** Live allocations by header address (the model the in-memory state is checked against). */
  protected readonly live = new Map<number, LiveRec>();
  /** Headers freed by dev_kfree and not reused since: a second dev_kfree is a double free. */
  private readonly freed = new Set<number>();
  /** Bytes of header before the user pointer. Mutants override this. */
  protected headerSize = DEV_HEADER_SIZE;

  constructor(
    @inject(KMEM) protected readonly kmem: KmemApi,
    @inject(MACHINE) protected readonly machine: Machine,
    @inject(KMEMLEAK) @optional() private readonly kmemleak?: KmemleakApi,
  ) {
    kmem.addMisuseExplainer((addr) => this.explain(addr));
  }

  // ------------------------------------------------------------- memory

  private r64(addr: number): number {
    return this.machine.mem.read64(addr - PAGE_OFFSET);
  }
  private w64(addr: number, v: number): void {
    this.machine.mem.write64(addr - PAGE_OFFSET, v);
  }
  private r32(addr: number): number {
    return this.machine.mem.read32(addr - PAGE_OFFSET);
  }
  private w32(addr: number, v: number): void {
    this.machine.mem.write32(addr - PAGE_OFFSET, v);
  }
  private inKernel(addr: number): boolean {
    return Number.isInteger(addr) && addr >= PAGE_OFFSET && addr + DEV_HEADER_SIZE <= PAGE_OFFSET + this.machine.mem.bytes;
  }

  /** The pseudo text address of the current caller (`_RET_IP_`). */
  private callerAddr(): number {
    return this.machine.ctx.callerAddr();
  }

  // ------------------------------------------------------------ devices

  /** {@inheritDoc DevKmallocApi.registerDevice} */
  registerDevice(name: string): DeviceHandle {
    if (typeof name !== 'string' || !name || this.devs.some((d) => d.alive && d.name === name)) {
      throw new AllocatorError('config', `device name ${JSON.stringify(name)} is empty or already registered`, { policy: 'devres', op: 'device_register' });
    }
    const addr = this.kmem.kzalloc(DEVICE_STRUCT_SIZE, GFP_KERNEL);
    if (addr === 0) throw new AllocatorError('nofail-exhausted', `no memory for struct device ${name}`, { policy: 'devres', op: 'device_register' });
    const handle = this.devs.length;
    // An empty circular list: the head points to itself.
    this.w64(addr, addr);
    this.w64(addr + 8, addr);
    this.w64(addr + 16, handle);
    this.devs.push({ handle, name, addr, alive: true });
    // The device lives in the driver model: its struct is a root, not a leak.
    this.kmemleak?.addRoot(addr, DEVICE_STRUCT_SIZE);
    return handle;
  }

  private device(dev: DeviceHandle, op: string): DeviceRec {
    const d = this.devs[dev];
    if (!d || !d.alive) throw new AllocatorError('unknown-name', `device ${String(dev)} is not registered`, { policy: 'devres', op });
    return d;
  }

  /** {@inheritDoc DevKmallocApi.devices} */
  devices(): { handle: DeviceHandle; name: string; live: number }[] {
    return this.devs.filter((d) => d.alive).map((d) => ({ handle: d.handle, name: d.name, live: [...this.live.values()].filter((r) => r.device === d.handle).length }));
  }

  // --------------------------------------------------------------- alloc

  /** {@inheritDoc DevKmallocApi.devKmalloc} */
  devKmalloc(dev: DeviceHandle, size: number, gfp: Gfp): number {
    const d = this.device(dev, 'dev_kmalloc');
    if (!Number.isSafeInteger(size) || size < 0) throw new AllocatorError('misuse', `dev_kmalloc size ${String(size)} is not a byte count`, { policy: 'devres', op: 'dev_kmalloc', size });
    const h = this.kmem.kmalloc(this.headerSize + size, gfp);
    if (h === 0) return 0;
    const caller = this.callerAddr();
    const ts = this.machine.ctx.tick();
    this.w32(h + DevHeader.MAGIC, DEV_MAGIC);
    this.w32(h + DevHeader.MAGIC + 4, 0);
    this.w64(h + DevHeader.SIZE, size);
    this.w32(h + DevHeader.FLAGS, gfp >>> 0);
    this.w32(h + DevHeader.FLAGS + 4, 0);
    this.w64(h + DevHeader.OWNER, d.addr);
    this.w64(h + DevHeader.TIMESTAMP, ts);
    this.w64(h + DevHeader.CALLER, caller);
    this.linkTail(d.addr, h + DevHeader.NEXT);
    this.live.set(h, { device: dev, size, gfp, caller, ts });
    this.freed.delete(h);
    return h + this.headerSize;
  }

  /** {@inheritDoc DevKmallocApi.devKzalloc} */
  devKzalloc(dev: DeviceHandle, size: number, gfp: Gfp): number {
    const p = this.devKmalloc(dev, size, gfp & ~__GFP_ZERO);
    if (p !== 0) this.machine.mem.fill(p - PAGE_OFFSET, size, 0);
    return p;
  }

  /** `list_add_tail(node, head)` in simulated memory. */
  private linkTail(head: number, node: number): void {
    const last = this.r64(head + 8);
    this.w64(node, head);
    this.w64(node + 8, last);
    this.w64(last, node);
    this.w64(head + 8, node);
  }

  /** `list_del` in simulated memory. Mutants override this. */
  protected unlink(node: number): void {
    const next = this.r64(node);
    const prev = this.r64(node + 8);
    this.w64(prev, next);
    this.w64(next + 8, prev);
    this.w64(node, 0x100);
    this.w64(node + 8, 0x122);
  }

  // ---------------------------------------------------------------- free

  /** Checks the header behind `ptr`; returns it. @throws AllocatorError naming the problem */
  private checkHeader(ptr: number, op: string): number {
    const h = ptr - this.headerSize;
    const where = kptr(ptr);
    const fail = (kind: 'invalid-free' | 'double-free' | 'misuse', msg: string): never => {
      throw new AllocatorError(kind, msg, { policy: 'devres', op, addr: ptr });
    };
    if (!this.inKernel(h)) fail('invalid-free', `${where} is not a dev_kmalloc pointer (wild pointer: its header would lie outside kernel memory)`);
    const rec = this.live.get(h);
    if (!rec) {
      if (this.freed.has(h)) fail('double-free', `${where}: double dev_kfree (the header at ${kptr(h)} was already freed)`);
      fail('invalid-free', `${where} is not a dev_kmalloc pointer: no header at ${kptr(h)} (magic 0x${this.r32(h).toString(16)}) — was it allocated with plain kmalloc?`);
    }
    const magic = this.r32(h + DevHeader.MAGIC);
    if (magic !== DEV_MAGIC) fail('misuse', `${where}: dev_kmalloc header corrupted: magic 0x${magic.toString(16)} instead of 0xdeadbeef (an underflow into the header?)`);
    const size = this.r64(h + DevHeader.SIZE);
    if (size !== rec!.size) fail('misuse', `${where}: dev_kmalloc header corrupted: size ${size} but ${rec!.size} bytes were allocated`);
    const node = h + DevHeader.NEXT;
    const next = this.r64(node);
    const prev = this.r64(node + 8);
    if (!this.inKernel(next) || !this.inKernel(prev) || this.r64(next + 8) !== node || this.r64(prev) !== node) {
      fail('misuse', `${where}: dev_kmalloc header corrupted: list links next ${kptr(next)} prev ${kptr(prev)} do not point back to it (corrupted double-linked list)`);
    }
    return h;
  }

  /** {@inheritDoc DevKmallocApi.devKfree} */
  devKfree(ptr: number): void {
    const h = this.checkHeader(ptr, 'dev_kfree');
    this.release(h);
  }

  /** Unlinks, clears the magic and frees a checked header. */
  private release(h: number): void {
    this.unlink(h + DevHeader.NEXT);
    this.w32(h + DevHeader.MAGIC, 0);
    this.live.delete(h);
    this.freed.add(h);
    this.kfreeHeader(h);
  }

  /** kfree of header and data together. Mutants override this. */
  protected kfreeHeader(h: number): void {
    this.kmem.kfree(h);
  }

  /** {@inheritDoc DevKmallocApi.devKrealloc} */
  devKrealloc(ptr: number, size: number, gfp: Gfp): number {
    const h = this.checkHeader(ptr, 'dev_krealloc');
    const rec = this.live.get(h)!;
    if (size <= rec.size) {
      rec.size = size;
      this.w64(h + DevHeader.SIZE, size);
      return ptr;
    }
    const p = this.devKmalloc(rec.device, size, gfp);
    if (p === 0) return 0;
    this.machine.mem.copy(p - PAGE_OFFSET, ptr - PAGE_OFFSET, rec.size);
    this.release(h);
    return p;
  }

  // ------------------------------------------------------------ devices

  /** Walks a device's list from its head (bounded); returns the header addresses. */
  private walk(d: DeviceRec): { headers: number[]; problem?: string } {
    const headers: number[] = [];
    let prev = d.addr;
    let node = this.r64(d.addr);
    while (node !== d.addr) {
      if (!this.inKernel(node)) return { headers, problem: `link to 0x${node.toString(16)} outside kernel memory` };
      if (this.r64(node + 8) !== prev) return { headers, problem: `0x${node.toString(16)}'s prev is 0x${this.r64(node + 8).toString(16)}, not 0x${prev.toString(16)}` };
      headers.push(node - DevHeader.NEXT);
      if (headers.length > Math.min(MAX_WALK, this.live.size + 1)) return { headers, problem: 'more entries than live allocations (cycle?)' };
      prev = node;
      node = this.r64(node);
    }
    if (this.r64(d.addr + 8) !== prev) return { headers, problem: `the head's prev is not the last entry` };
    return { headers };
  }

  /** {@inheritDoc DevKmallocApi.allocations} */
  allocations(dev: DeviceHandle): DevAllocation[] {
    const d = this.device(dev, 'allocations');
    const w = this.walk(d);
    if (w.problem) throw new AllocatorError('misuse', `device ${d.name}: dev_kmalloc list corrupted: ${w.problem}`, { policy: 'devres', op: 'allocations' });
    const now = this.machine.ctx.nowNs;
    return w.headers.map((h) => {
      const caller = this.r64(h + DevHeader.CALLER);
      return {
        ptr: h + this.headerSize,
        size: this.r64(h + DevHeader.SIZE),
        gfp: this.r32(h + DevHeader.FLAGS),
        caller: this.machine.ctx.symbolOf(caller),
        ageNs: now - this.r64(h + DevHeader.TIMESTAMP),
      };
    });
  }

  /** {@inheritDoc DevKmallocApi.deviceRelease} */
  deviceRelease(dev: DeviceHandle): DeviceReleaseReport {
    const d = this.device(dev, 'device_release');
    const list = this.allocations(dev);
    for (const a of list) this.release(a.ptr - this.headerSize);
    this.kmemleak?.removeRoot(d.addr);
    this.kmem.kfree(d.addr);
    d.alive = false;
    if (list.length) this.machine.log.printk(`devres ${d.name}: released ${list.length} managed allocations (${list.reduce((s, a) => s + a.size, 0)} bytes)`);
    return { device: d.name, allocations: list, bytes: list.reduce((s, a) => s + a.size, 0) };
  }

  /** Explains an invalid kfree of a dev_kmalloc pointer (called by the slab front end). */
  private explain(addr: number): string | undefined {
    const h = addr - this.headerSize;
    const rec = this.live.get(h);
    if (!rec) return undefined;
    const d = this.devs[rec.device]!;
    return `kfree() of a dev_kmalloc pointer: 0x${addr.toString(16)} is 64 bytes into its allocation; the header at ${kptr(h)} (device ${d.name}, ${rec.size} bytes, caller ${this.machine.ctx.symbolOf(rec.caller)}) would be left behind — use dev_kfree()`;
  }

  // ---------------------------------------------------------- invariants

  /** {@inheritDoc InvariantChecked.checkInvariants} */
  checkInvariants(): Violation[] {
    const out: Violation[] = [];
    const add = (v: Violation): void => {
      if (out.length < MAX_VIOLATIONS) out.push(v);
    };
    const seen = new Set<number>();
    for (const d of this.devs) {
      if (!d.alive) continue;
      const w = this.walk(d);
      if (w.problem) add({ code: 'D3', message: `device ${d.name}: list corrupted: ${w.problem}` });
      let lastTs = -1;
      for (const h of w.headers) {
        seen.add(h);
        const rec = this.live.get(h);
        if (!rec || rec.device !== d.handle) {
          add({ code: 'D3', message: `device ${d.name}: list holds 0x${h.toString(16)}, which is not one of its live allocations`, details: { header: h } });
          continue;
        }
        if (this.r32(h + DevHeader.MAGIC) !== DEV_MAGIC) add({ code: 'D1', message: `header 0x${h.toString(16)} (device ${d.name}): magic 0x${this.r32(h).toString(16)}`, details: { header: h } });
        if (this.r64(h + DevHeader.SIZE) !== rec.size || this.r32(h + DevHeader.FLAGS) !== rec.gfp >>> 0 || this.r64(h + DevHeader.OWNER) !== d.addr || this.r64(h + DevHeader.CALLER) !== rec.caller) {
          add({ code: 'D2', message: `header 0x${h.toString(16)} (device ${d.name}): size/flags/owner/caller differ from the allocation`, details: { header: h } });
        }
        const ts = this.r64(h + DevHeader.TIMESTAMP);
        if (ts < lastTs) add({ code: 'D2', message: `header 0x${h.toString(16)}: timestamp ${ts} is older than its predecessor's ${lastTs}` });
        lastTs = ts;
        if ((h + this.headerSize) % 8 !== 0) add({ code: 'D5', message: `dev_kmalloc pointer 0x${(h + this.headerSize).toString(16)} is not 8-byte aligned` });
      }
    }
    for (const [h, rec] of this.live) {
      if (!seen.has(h)) add({ code: 'D3', message: `live allocation 0x${(h + this.headerSize).toString(16)} (device ${this.devs[rec.device]!.name}) is on no list (missing link)`, details: { header: h } });
    }
    return out;
  }
}
