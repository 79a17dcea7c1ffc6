/**
 * How the kmemleak model works here (mm/kmemleak.c, simplified to its
 * idea): every kmalloc and kmem_cache object is recorded with its size and
 * caller; a scan starts from the registered roots (the simulator's stand-in
 * for the kernel's data sections and stacks), reads every aligned 8-byte
 * word of the roots and of every object reached, and marks any object a word
 * points into. Objects never reached are reported as suspected leaks, in
 * kmemleak's report shape, with their allocation track.
 *
 * Known limitations: no grey/black colouring by min_count, no scanning of
 * page-allocator pages, no age threshold (every unreferenced object is
 * reported at once).
 */

import { PAGE_OFFSET, formatKernelAddr } from '../interfaces/units.js';
import type { KmemleakApi, Leak } from '../interfaces/detectors.js';
import type { Machine } from '../interfaces/machine.js';

interface Tracked {
  readonly size: number;
  readonly caller: string;
  readonly pid: number;
  readonly comm: string;
  readonly ns: number;
}


/** The kmemleak model. */
export class Kmemleak implements KmemleakApi {
  private readonly objects = new Map<number, Tracked>();
  private readonly roots: [number, number][] = [];

  constructor(private readonly machine: Machine) {}

  /** An object was allocated (`kmemleak_alloc`). */
  onAlloc(addr: number, size: number): void {
    const ctx = this.machine.ctx;
    this.objects.set(addr, { size, caller: ctx.caller, pid: ctx.pid, comm: ctx.comm, ns: ctx.nowNs });
  }

  /** An object was freed (`kmemleak_free`). */
  onFree(addr: number): void {
    this.objects.delete(addr);
  }

  /** Registers memory that is always scanned and never reported (data sections, `kmemleak_not_leak`). */
  addRoot(addr: number, len: number): void {
    this.roots.push([addr, len]);
  }

  /** Removes a root. */
  removeRoot(addr: number): void {
    const i = this.roots.findIndex(([a]) => a === addr);
    if (i >= 0) this.roots.splice(i, 1);
  }

  /** Objects tracked now. */
  get tracked(): number {
    return this.objects.size;
  }

  /** Scans from the roots; reports every unreferenced object and returns them. */
  scan(): Leak[] {
    const starts = [...this.objects.keys()].sort((a, b) => a - b);
    const sizes = starts.map((s) => this.objects.get(s)!.size);
    const reached = new Uint8Array(starts.length);
    const work: [number, number][] = [...this.roots];
    const mem = this.machine.mem;
    const memEnd = PAGE_OFFSET + mem.bytes;
    // A root that is itself an object is not a leak.
    for (const [a] of this.roots) {
      const i = find(a);
      if (i >= 0) reached[i] = 1;
    }
    function find(v: number): number {
      let lo = 0;
      let hi = starts.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (starts[mid]! <= v) lo = mid + 1;
        else hi = mid - 1;
      }
      return hi >= 0 && v < starts[hi]! + Math.max(sizes[hi]!, 1) ? hi : -1;
    }
    while (work.length) {
      const [a, len] = work.pop()!;
      for (let w = Math.ceil(a / 8) * 8; w + 8 <= a + len; w += 8) {
        const v = mem.read64(w - PAGE_OFFSET);
        if (v < PAGE_OFFSET || v >= memEnd) continue;
        const i = find(v);
        if (i >= 0 && !reached[i]) {
          reached[i] = 1;
          work.push([starts[i]!, sizes[i]!]);
        }
      }
    }
    const leaks: Leak[] = [];
    starts.forEach((s, i) => {
      if (reached[i]) return;
      const t = this.objects.get(s)!;
      leaks.push({ addr: s, size: t.size, caller: t.caller });
      const dump = Array.from(mem.readBytes(s - PAGE_OFFSET, Math.min(32, t.size)), (b) => b.toString(16).padStart(2, '0'));
      const rows: string[] = [];
      for (let k = 0; k < dump.length; k += 16) rows.push(`    ${dump.slice(k, k + 16).join(' ')}`);
      const age = (this.machine.ctx.nowNs - t.ns) / 1e9;
      this.machine.reports.add({
        detector: 'kmemleak',
        kind: 'unreferenced object',
        addr: s,
        text: [
          `unreferenced object 0x${formatKernelAddr(s)} (size ${t.size}):`,
          `  comm "${t.comm}", pid ${t.pid}, jiffies ${4294892296 + Math.floor(t.ns / 4e6)} (age ${age.toFixed(3)}s)`,
          `  hex dump (first ${Math.min(32, t.size)} bytes):`,
          ...rows,
          '  backtrace:',
          `    [<${formatKernelAddr(this.machine.ctx.callerAddrOf(t.caller))}>] ${t.caller}`,
        ].join('\n'),
      });
    });
    return leaks;
  }
}
