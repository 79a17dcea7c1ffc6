/**
 * The kmalloc-versus-vmalloc workload behind `allocsim compare --layer
 * vmalloc`: large buffers (16 KiB – 4 MiB, log-uniform) requested on a
 * machine whose free memory has first been fragmented, the way a
 * long-running kernel's is. The same seeded request stream runs three ways
 * on identical machines:
 *
 * - `kmalloc`: physically contiguous — each buffer needs a free block of
 *   order get_order(size) (> 8 KiB goes to the page allocator);
 * - `vmalloc`: virtually contiguous — any order-0 pages will do, at the cost
 *   of kernel page-table pages, PTE writes and (lazily) TLB flushes;
 * - `kvmalloc`: kmalloc first, vmalloc when that fails (mm/util.c).
 *
 * Fragmentation: memory is filled with order-0 unmovable allocations (as
 * slab and page-table pages are; `__GFP_MEMALLOC` so the watermark reserves
 * go too) until `fill` of it is used, then a seeded random half of them is
 * freed, scattering free pages so that almost no high-order block
 * survives; unmovable pages cannot be compacted away, so the picture holds. Then `ops` requests, each an
 * allocation (while fewer than `maxLive` buffers are held) or the free of a
 * random held buffer.
 */

import { GFP_ATOMIC, GFP_KERNEL, __GFP_MEMALLOC, __GFP_NOWARN } from '../../interfaces/gfp.js';
import { asPfn, NO_PFN } from '../../interfaces/units.js';
import { Owner } from '../../machine/memmap.js';
import type { System } from '../../system.js';
import { Rng } from '../../machine/rng.js';

/** How the buffers are allocated. */
export type LargeBufferMode = 'kmalloc' | 'vmalloc' | 'kvmalloc';

/** Every mode, in the order `compare` prints them. */
export const LARGE_BUFFER_MODES: readonly LargeBufferMode[] = ['kmalloc', 'vmalloc', 'kvmalloc'];

/** Parameters of the workload. */
export interface LargeBufferOpts {
  readonly ops: number;
  readonly seed: number;
  /** Fraction of memory filled before half of it is freed. @defaultValue 1 */
  readonly fill?: number;
  /** Most buffers held at once. @defaultValue 32 */
  readonly maxLive?: number;
  /** Called once memory is fragmented, before the first large-buffer request (an observer starts here). */
  readonly onStart?: () => void;
}

/** What one run measured. */
export interface LargeBufferResult {
  readonly mode: LargeBufferMode;
  readonly ops: number;
  readonly requests: number;
  readonly failures: number;
  readonly bytesRequested: number;
  readonly wallMs: number;
  readonly nsPerOp: number;
  /** Buffers served from vmalloc space (kvmalloc: the fallbacks). */
  readonly vmallocBuffers: number;
  /** Kernel page-table pages the vmalloc space uses at the end (never freed). */
  readonly pageTablePages: number;
  /** Kernel TLB flushes (lazy purges) and the IPIs they sent. */
  readonly tlbFlushes: number;
  readonly tlbShootdowns: number;
  /** Free pages after fragmentation, and the largest free order then. */
  readonly freePagesAfterFragmenting: number;
  readonly largestFreeOrder: number;
  /** Indexes of the requests that failed (for the cross-mode comparison). */
  readonly failedRequests: readonly number[];
}

/** Fragments free memory: fills `fill` of it with order-0 unmovable pages, frees a random half. */
export function fragmentMemory(sys: System, fill: number, rng: Rng): void {
  const pages = sys.pages;
  const target = Math.floor(pages.stats().managedPages * fill);
  const held: number[] = [];
  while (held.length < target) {
    // __GFP_MEMALLOC: past the watermarks too, so that no reserve survives as high-order blocks.
    const pfn = pages.allocPages(0, GFP_ATOMIC | __GFP_MEMALLOC | __GFP_NOWARN);
    if (pfn === NO_PFN) break;
    sys.machine.memmap.setOwner(pfn, 1, Owner.PAGE_CLIENT);
    held.push(pfn);
  }
  for (let i = 0; i < held.length; i++) {
    if (rng.chance(0.5)) pages.freePages(asPfn(held[i]!), 0);
  }
  pages.drainPcp();
}

function largestFreeOrder(sys: System): number {
  let best = -1;
  for (const z of sys.pages.zones()) z.nrFree.forEach((n, order) => (best = n > 0 && order > best ? order : best));
  return best;
}

/** Runs the workload in one mode on a fresh system. */
export function runLargeBuffers(sys: System, mode: LargeBufferMode, o: LargeBufferOpts): LargeBufferResult {
  const rng = new Rng(o.seed);
  fragmentMemory(sys, o.fill ?? 1, rng);
  o.onStart?.();
  const freeAfter = sys.pages.stats().freePages;
  const largest = largestFreeOrder(sys);
  const maxLive = o.maxLive ?? 32;
  const v = sys.vmalloc;
  // The request stream depends on the seed only, never on the mode's outcomes: `held` lists request
  // numbers, and a request that failed in this mode simply has no pointer to free.
  const held: number[] = [];
  const ptr: number[] = [];
  const failed: number[] = [];
  let bytes = 0;
  let vmallocBuffers = 0;
  const release = (p: number): void => {
    if (p === 0) return;
    if (mode === 'kmalloc') sys.kmem.kfree(p);
    else v.kvfree(p);
  };
  const t0 = performance.now();
  for (let i = 0; i < o.ops; i++) {
    const alloc = held.length < maxLive && (held.length === 0 || rng.chance(0.6));
    const size = Math.round(2 ** (14 + rng.float() * 8)); // 16 KiB … 4 MiB, log-uniform
    const pick = rng.int(Math.max(1, held.length));
    if (alloc) {
      const req = ptr.length;
      bytes += size;
      const gfp = GFP_KERNEL | __GFP_NOWARN;
      const p = mode === 'kmalloc' ? sys.kmem.kmalloc(size, gfp) : mode === 'vmalloc' ? v.vmalloc(size) : v.kvmalloc(size, gfp);
      ptr.push(p);
      held.push(req);
      if (p === 0) failed.push(req);
      else if (v.isVmallocAddr(p)) vmallocBuffers++;
    } else if (held.length) {
      release(ptr[held.splice(pick, 1)[0]!]!);
    }
  }
  const wallMs = performance.now() - t0;
  for (const req of held) release(ptr[req]!);
  const requests = ptr.length;
  const s = v.stats();
  return {
    mode,
    ops: o.ops,
    requests,
    failures: failed.length,
    bytesRequested: bytes,
    wallMs,
    nsPerOp: (wallMs * 1e6) / o.ops,
    vmallocBuffers,
    pageTablePages: s.pageTablePages,
    tlbFlushes: s.tlbFlushes,
    tlbShootdowns: s.tlbShootdowns,
    freePagesAfterFragmenting: freeAfter,
    largestFreeOrder: largest,
    failedRequests: failed,
  };
}

/** Requests that failed under kmalloc but succeeded under `other`. */
export function rescued(kmalloc: LargeBufferResult, other: LargeBufferResult): number {
  const bad = new Set(other.failedRequests);
  return kmalloc.failedRequests.filter((i) => !bad.has(i)).length;
}

/** One kind of vmalloc user in {@link runVmallocMix}: a caller as `%pS`, its size, alignment and weight. */
interface VmallocUser {
  readonly caller: string;
  readonly bytes: number;
  readonly align: number;
  readonly weight: number;
  /** vmap() of caller-owned pages instead of vmalloc. */
  readonly vmap?: boolean;
}

/**
 * The vmalloc users of a freshly booted Linux 6.1 guest
 * (data/linux-6.1-qemu-smp4/vmallocinfo.txt): 16 KiB thread stacks
 * (`kernel_clone`, THREAD_ALIGN 16 KiB) by far the most, the zswap/zram
 * crypto buffers (128 KiB), genpool chunks, a tty buffer, BPF programs, the
 * per-CPU IRQ stacks (vmap of 4 pages) — with their callers' offsets.
 */
const BOOT_USERS: readonly VmallocUser[] = [
  { caller: 'kernel_clone+0xbf/0x430', bytes: 16384, align: 16384, weight: 72 },
  { caller: 'crypto_scomp_init_tfm+0x75/0xe0', bytes: 131072, align: 1, weight: 8 },
  { caller: 'gen_pool_add_owner+0x3a/0xc0', bytes: 4096, align: 1, weight: 4 },
  { caller: 'fork_idle+0x4e/0x120', bytes: 16384, align: 16384, weight: 3 },
  { caller: 'n_tty_open+0x14/0xa0', bytes: 8768, align: 1, weight: 1 },
  { caller: 'bpf_prog_alloc_no_stats+0x31/0x1f0', bytes: 4096, align: 1, weight: 1 },
  { caller: 'irq_init_percpu_irqstack+0xf0/0x120', bytes: 16384, align: 1, weight: 4, vmap: true },
];

/**
 * A seeded mix of the boot-time vmalloc users: `ops` operations, each an
 * allocation (60 %) or the free of a random live one; leaves the survivors
 * allocated so that /proc/vmallocinfo has something to show.
 */
export function runVmallocMix(sys: System, ops: number, seed: number): void {
  const rng = new Rng(seed);
  const v = sys.vmalloc;
  const weights = BOOT_USERS.map((u) => u.weight);
  const live: { addr: number; pfns: number[] }[] = [];
  for (let i = 0; i < ops; i++) {
    if (live.length === 0 || rng.chance(0.6)) {
      const u = BOOT_USERS[rng.weighted(weights)]!;
      sys.machine.ctx.caller = u.caller;
      if (u.vmap) {
        const pfns: number[] = [];
        for (let k = 0; k < u.bytes / 4096; k++) {
          const pfn = sys.pages.allocPages(0, GFP_KERNEL);
          if (pfn === NO_PFN) break;
          sys.machine.memmap.setOwner(pfn, 1, Owner.PAGE_CLIENT);
          pfns.push(pfn);
        }
        const addr = v.vmap(pfns);
        if (addr) live.push({ addr, pfns });
        else for (const p of pfns) sys.pages.freePages(asPfn(p), 0);
      } else {
        const addr = v.vmallocAligned(u.bytes, u.align);
        if (addr) live.push({ addr, pfns: [] });
      }
    } else {
      const e = live.splice(rng.int(live.length), 1)[0]!;
      if (e.pfns.length) {
        v.vunmap(e.addr);
        for (const p of e.pfns) sys.pages.freePages(asPfn(p), 0);
      } else v.vfree(e.addr);
    }
  }
}
