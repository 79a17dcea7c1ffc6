/**
 * The strategy-free front end every page-allocator policy shares: argument
 * validation, the struct-page state of a block as it is handed out and taken
 * back (`prep_new_page`, `free_pages_prepare`), and the tracepoints.
 */

import { AllocatorError } from '../../interfaces/errors.js';
import type { PageAllocStats, ZoneReport } from '../../interfaces/page-allocator.js';
import type { ZoneLimits } from './zone-math.js';
import { MAX_NR_ZONES, __GFP_COMP, __GFP_NOFAIL, __GFP_NOWARN, __GFP_ZERO, formatGfp, gfpLooksValid, validateGfp, type Gfp, type ZoneType } from '../../interfaces/gfp.js';
import { MAX_PAGE_ORDER, PAGE_OFFSET, STRUCT_PAGE_SIZE, VMEMMAP_START, formatKernelAddr, kptr, type Pfn } from '../../interfaces/units.js';
import type { KasanApi } from '../../interfaces/detectors.js';
import { CostStruct, type CostMeterApi } from '../../interfaces/cost.js';
import type { Machine, StructPageArray, ZoneLayout } from '../../interfaces/machine.js';
import { OWNER_MASK, OWNER_SHIFT, Owner, PAGE_FLAGS_CHECK_AT_FREE, PAGE_FLAGS_CHECK_AT_PREP, PG_ALLOCATED, PG_HEAD, PG_RESERVED, PG_TAIL } from '../../machine/memmap.js';


/** The `struct page *` a tracepoint prints for a frame (vmemmap address, `%p` with no_hash_pointers). */
export function pageStr(pfn: number): string {
  return kptr(VMEMMAP_START + pfn * STRUCT_PAGE_SIZE);
}

/** Throws `invalid-order` unless `order` is an integer in 0..MAX_PAGE_ORDER. */
export function validateOrder(order: number, policy: string, op: string, pfn?: number): void {
  if (!(order >= 0 && order <= MAX_PAGE_ORDER && Number.isInteger(order))) {
    throw new AllocatorError('invalid-order', `order ${String(order)} is not an integer in 0..${MAX_PAGE_ORDER}`, { policy, op, size: order, addr: pfn });
  }
}

/** Validates the arguments of an allocation. */
export function validateAlloc(order: number, gfp: Gfp, policy: string): void {
  // Fast path: an integer order in range and a mask with no contradictory or unknown bits.
  if ((order >>> 0) === order && order <= MAX_PAGE_ORDER && gfpLooksValid(gfp)) return;
  validateOrder(order, policy, 'alloc_pages');
  validateGfp(gfp, policy, 'alloc_pages');
}

/**
 * Validates a free request without touching state: `pfn` must head an
 * allocated block of exactly `order` whose flags allow freeing.
 *
 * @param isFree - whether a frame currently belongs to the allocator's free memory
 * @throws AllocatorError `invalid-order`, `out-of-range`, `double-free`, `invalid-free`, `bad-page`
 */
export function validateFree(machine: Machine, pfn: number, order: number, policy: string, isFree: (pfn: number) => boolean): void {
  const mm = machine.memmap;
  // Fast path: an allocated head of this order with no forbidden flags.
  if (pfn >= 0 && pfn < mm.nrPages && (mm.flags[pfn]! & (PG_ALLOCATED | PAGE_FLAGS_CHECK_AT_FREE)) === PG_ALLOCATED && mm.order[pfn] === order && (pfn | 0) === pfn) return;
  const op = 'free_pages';
  validateOrder(order, policy, op, pfn);
  if (!Number.isInteger(pfn) || pfn < 0 || pfn >= mm.nrPages) {
    throw new AllocatorError('out-of-range', `pfn ${String(pfn)} is outside the machine (0..0x${(mm.nrPages - 1).toString(16)})`, { policy, op, addr: pfn });
  }
  const f = mm.flags[pfn]!;
  const where = `pfn 0x${pfn.toString(16)}`;
  if (!(f & PG_ALLOCATED)) {
    if (isFree(pfn)) throw new AllocatorError('double-free', `${where} (order ${order}) is already free`, { policy, op, addr: pfn, size: order });
    const why = f & PG_RESERVED ? 'is reserved' : f & PG_TAIL ? 'is a tail page of a compound block' : 'is not the head of an allocated block';
    throw new AllocatorError('invalid-free', `${where} ${why}`, { policy, op, addr: pfn, size: order });
  }
  if (mm.order[pfn] !== order) {
    throw new AllocatorError('invalid-free', `${where} heads an order-${mm.order[pfn]} block, not order ${order}`, { policy, op, addr: pfn, size: order });
  }
  if (f & PAGE_FLAGS_CHECK_AT_FREE) throw badPage(machine, pfn, 'PAGE_FLAGS_CHECK_AT_FREE flag(s) set', policy, op);
}

/** Throws `misuse` unless `pfn` heads an allocated block (`get_page`). */
export function validateGetPage(machine: Machine, pfn: number, policy: string): void {
  const mm = machine.memmap;
  if (!Number.isInteger(pfn) || pfn < 0 || pfn >= mm.nrPages || !(mm.flags[pfn]! & PG_ALLOCATED)) {
    throw new AllocatorError('misuse', `get_page on pfn ${String(pfn)}, which is not an allocated block head`, { policy, op: 'get_page', addr: pfn });
  }
}

/**
 * `prep_new_page` / `post_alloc_hook`: the head gets `PG_ALLOCATED`, the
 * order, the migrate type and refcount 1; every frame gets the PAGE_CLIENT
 * owner; `__GFP_COMP` makes a compound page; `__GFP_ZERO` zeroes the bytes;
 * `mm_page_alloc` is traced unless `trace` is false (`__alloc_pages`
 * traces it, the bulk allocator's `prep_new_page` does not).
 */
export function prepAllocatedBlock(machine: Machine, kasan: KasanApi | undefined, pfn: number, order: number, gfp: Gfp, mt: number, trace = true): void {
  const mm = machine.memmap;
  const n = 1 << order;
  const owner = Owner.PAGE_CLIENT << OWNER_SHIFT;
  mm.flags[pfn] = PG_ALLOCATED | owner | (n > 1 && gfp & __GFP_COMP ? PG_HEAD : 0);
  mm.order[pfn] = order;
  mm.mt[pfn] = mt;
  mm.refcount[pfn] = 1;
  if (n > 1) {
    if (gfp & __GFP_COMP) {
      mm.flags.fill(PG_TAIL | owner, pfn + 1, pfn + n);
      mm.next.fill(pfn, pfn + 1, pfn + n);
    } else {
      mm.flags.fill(owner, pfn + 1, pfn + n);
    }
  }
  if (machine.pagePoison) checkPoison(machine, pfn, n);
  kasan?.onPagesAlloc(pfn, n);
  if (gfp & __GFP_ZERO) machine.mem.discard(pfn as Pfn, n);
  if (trace && machine.tracer.enabled) {
    machine.tracer.emit('mm_page_alloc', `page=${pageStr(pfn)} pfn=0x${pfn.toString(16)} order=${order} migratetype=${mt} gfp_flags=${formatGfp(gfp)}`);
  }
}

/** Traces `mm_page_free` and clears every frame's flags and owner (`free_pages_prepare`). */
export function clearFreedBlock(machine: Machine, kasan: KasanApi | undefined, pfn: number, order: number): void {
  if (machine.tracer.enabled) machine.tracer.emit('mm_page_free', `page=${pageStr(pfn)} pfn=0x${pfn.toString(16)} order=${order}`);
  if (order === 0) machine.memmap.flags[pfn] = 0;
  else machine.memmap.flags.fill(0, pfn, pfn + (1 << order));
  machine.memmap.refcount[pfn] = 0;
  if (machine.pagePoison) machine.mem.setBackground(pfn as Pfn, 1 << order, PAGE_POISON);
  kasan?.onPagesFree(pfn, 1 << order);
}

/**
 * The part of `__free_pages` that runs when other references remain on a
 * non-compound block: the caller keeps the first page, the rest is freed.
 * Returns the (pfn, order) pieces to free; rewrites their heads as allocated.
 */
export function splitNonCompoundOnPut(machine: Machine, pfn: number, order: number): [number, number][] {
  const mm = machine.memmap;
  if (mm.flags[pfn]! & PG_HEAD || order === 0) return [];
  mm.order[pfn] = 0;
  const pieces: [number, number][] = [];
  for (let o = order - 1; o >= 0; o--) {
    const p = pfn + (1 << o);
    mm.flags[p] = PG_ALLOCATED | (mm.flags[p]! & OWNER_MASK);
    mm.order[p] = o;
    mm.refcount[p] = 1;
    mm.mt[p] = mm.mt[pfn]!;
    pieces.push([p, o]);
  }
  return pieces;
}

/** `zone_statistics` for `n` pages: hit when the zone is on the preferred node, local when on the running CPU's. */
export function countNuma(z: PageZone, preferred: number, local: number, n = 1): void {
  if (z.node === preferred) z.numaHit += n;
  else z.numaMiss += n;
  if (z.node === local) z.numaLocal += n;
  else z.numaOther += n;
}

/**
 * The part of `struct zone` every page-allocator policy keeps: the layout it
 * was built from, managed pages, watermarks, lowmem reserve and the NUMA
 * counters. A policy extends it with its own free-space state.
 */
export class PageZone {
  /** Global zone id (node × MAX_NR_ZONES + type). */
  readonly id: number;
  readonly node: number;
  readonly type: ZoneType;
  readonly name: string;
  readonly startPfn: number;
  readonly endPfn: number;
  readonly spanned: number;
  readonly present: number;
  /** `managed_pages`: pages handed to the allocator at boot. */
  managed = 0;
  /** min, low, high watermarks. */
  readonly wmark = new Int32Array(3);
  /** `lowmem_reserve[]` against each higher zone type. */
  lowmemReserve: number[] = new Array<number>(MAX_NR_ZONES).fill(0);
  numaHit = 0;
  numaMiss = 0;
  numaLocal = 0;
  numaOther = 0;

  /** @param z - the zone as the machine's layout describes it */
  constructor(z: ZoneLayout) {
    this.id = z.id;
    this.node = z.node;
    this.type = z.type;
    this.name = z.name;
    this.startPfn = z.startPfn;
    this.endPfn = z.endPfn;
    this.spanned = z.spanned;
    this.present = z.present;
  }

  /** Sets watermarks and lowmem reserve from {@link zoneLimits} (`init_per_zone_wmark_min`). */
  setLimits(l: ZoneLimits): void {
    this.wmark.set(l.wmark);
    this.lowmemReserve = l.lowmemReserve;
  }

  /** The zone's report: the fields every policy fills alike, and the policy's own. */
  report(own: Pick<ZoneReport, 'freePages' | 'nrFree' | 'nrFreeByType' | 'pageblocksByType' | 'pcp'>): ZoneReport {
    // One literal (not a spread of a shared part): zones() runs on every time-series sample.
    return {
      node: this.node,
      type: this.type,
      name: this.name,
      startPfn: this.startPfn,
      spanned: this.spanned,
      present: this.present,
      managed: this.managed,
      freePages: own.freePages,
      wmarkMin: this.wmark[0]!,
      wmarkLow: this.wmark[1]!,
      wmarkHigh: this.wmark[2]!,
      boost: 0,
      lowmemReserve: [...this.lowmemReserve],
      nrFree: own.nrFree,
      nrFreeByType: own.nrFreeByType,
      pageblocksByType: own.pageblocksByType,
      pcp: own.pcp,
      numa: { hit: this.numaHit, miss: this.numaMiss, local: this.numaLocal, other: this.numaOther },
    };
  }
}

/**
 * The operation counters of {@link PageAllocStats}, kept once for every
 * policy (a policy without per-CPU lists or migrate types leaves those at 0).
 */
export class PageCounters {
  allocs = 0;
  frees = 0;
  failures = 0;
  pcpHits = 0;
  pcpRefills = 0;
  splits = 0;
  merges = 0;
  fallbacks = 0;
  steals = 0;
  reclaimRuns = 0;
  reclaimedPages = 0;
  /** Pages held by clients now. */
  allocatedPages = 0;

  /** The statistics, with the page totals the policy counts. */
  snapshot(managedPages: number, freePages: number, pcpPages: number): PageAllocStats {
    return {
      managedPages,
      freePages,
      pcpPages,
      allocatedPages: this.allocatedPages,
      allocs: this.allocs,
      frees: this.frees,
      failures: this.failures,
      pcpHits: this.pcpHits,
      pcpRefills: this.pcpRefills,
      splits: this.splits,
      merges: this.merges,
      fallbacks: this.fallbacks,
      steals: this.steals,
      reclaimRuns: this.reclaimRuns,
      reclaimedPages: this.reclaimedPages,
    };
  }
}

/**
 * The end of a failed allocation: `__GFP_NOFAIL` throws (the simulation has
 * no OOM killer to loop on); otherwise `warn_alloc` logs the kernel's line
 * unless `__GFP_NOWARN`.
 *
 * @throws AllocatorError `nofail-exhausted`
 */
export function allocFailure(machine: Machine, policy: string, order: number, gfp: Gfp): void {
  if (gfp & __GFP_NOFAIL) {
    throw new AllocatorError('nofail-exhausted', `__GFP_NOFAIL order-${order} allocation cannot be satisfied: memory is exhausted and the OOM killer is not modelled`, {
      policy,
      op: 'alloc_pages',
      size: order,
    });
  }
  if (!(gfp & __GFP_NOWARN)) {
    machine.log.printk(`${machine.ctx.comm}: page allocation failure: order:${order}, mode:0x${gfp.toString(16)}(${formatGfp(gfp)}), nodemask=(null)`);
  }
}

/**
 * `free_tail_page_prepare` (debug checks): every tail frame of a block being
 * freed must belong to it — compound tails carry PG_tail and point at the
 * head, other tails carry no page-allocator state.
 *
 * @throws AllocatorError `bad-page` with the kernel's reason
 */
export function checkFreeTails(machine: Machine, pfn: number, order: number, policy: string): void {
  const mm = machine.memmap;
  const compound = (mm.flags[pfn]! & PG_HEAD) !== 0;
  for (let p = pfn + 1; p < pfn + (1 << order); p++) {
    const f = mm.flags[p]!;
    let reason = '';
    if (compound && !(f & PG_TAIL)) reason = 'PageTail not set';
    else if (compound && mm.next[p] !== pfn) reason = 'compound_head not consistent';
    else if (f & (PAGE_FLAGS_CHECK_AT_FREE | PG_ALLOCATED | PG_HEAD) || (!compound && f & PG_TAIL)) reason = 'PAGE_FLAGS_CHECK_AT_FREE flag(s) set';
    if (reason) throw badPage(machine, p, reason, policy, 'free_pages');
  }
}

/**
 * `check_new_pages` (debug checks): no frame of a block about to be handed
 * out may carry state (`PAGE_FLAGS_CHECK_AT_PREP`) or a reference.
 *
 * @throws AllocatorError `bad-page`
 */
export function checkNewPages(machine: Machine, pfn: number, order: number, policy: string): void {
  const mm = machine.memmap;
  for (let p = pfn; p < pfn + (1 << order); p++) {
    if (mm.flags[p]! & (PAGE_FLAGS_CHECK_AT_PREP | PG_ALLOCATED)) throw badPage(machine, p, 'PAGE_FLAGS_CHECK_AT_PREP flag(s) set', policy, 'alloc_pages');
    if (mm.refcount[p] !== 0) throw badPage(machine, p, 'nonzero _refcount', policy, 'alloc_pages');
  }
}

/** A `bad_page` report as an error: header line, then `page dumped because: <reason>`. */
export function badPage(machine: Machine, pfn: number, reason: string, policy: string, op: string): AllocatorError {
  const mm = machine.memmap;
  return new AllocatorError(
    'bad-page',
    `BUG: Bad page state in process ${machine.ctx.comm}  pfn:${pfn.toString(16).padStart(5, '0')} (refcount:${mm.refcount[pfn]} flags: ${mm.describeFlags(pfn)}) page dumped because: ${reason}`,
    { policy, op, addr: pfn },
  );
}

/** `PAGE_POISON`: what freed pages hold when page poisoning is on. */
export const PAGE_POISON = 0xaa;

/**
 * `check_poison_mem` (mm/page_poison.c): every byte of the pages being
 * handed out must still be 0xaa; a single flipped bit is reported as
 * `pagealloc: single bit error`, anything else as `pagealloc: memory
 * corruption`, with a hex dump and the page, and the allocation goes on.
 */
export function checkPoison(machine: Machine, pfn: number, n: number): void {
  const mem = machine.mem;
  for (let p = pfn; p < pfn + n; p++) {
    const base = p * 4096;
    const first = mem.findNot(base, 4096, PAGE_POISON);
    if (first < 0) continue;
    let last = 4095;
    while (last > first && mem.read8(base + last) === PAGE_POISON) last--;
    const bad = mem.read8(base + first);
    const x = bad ^ PAGE_POISON;
    const single = first === last && (x & (x - 1)) === 0;
    const dumpStart = first & ~15;
    const dump = Array.from(mem.readBytes(base + dumpStart, 16), (b) => b.toString(16).padStart(2, '0')).join(' ');
    const lines = [
      single ? 'pagealloc: single bit error' : 'pagealloc: memory corruption',
      `${formatKernelAddr(PAGE_OFFSET + base + dumpStart)}: ${dump}`,
      `page:${pageStr(p)} refcount:0 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x${p.toString(16)}`,
      'page dumped because: pagealloc: corrupted page details',
    ];
    machine.reports.add({ detector: 'pagealloc', kind: single ? 'single bit error' : 'memory corruption', addr: PAGE_OFFSET + base + first, text: lines.join('\n') });
  }
}

/**
 * Counts the `struct page` lines of a block being handed out or freed: the
 * head, and every tail of a compound page (`prep_compound_page` and
 * `free_tail_page_prepare` visit each).
 */
export function touchBlock(cost: CostMeterApi, mm: StructPageArray, pfn: number, order: number): void {
  cost.touch(CostStruct.PAGE, pfn);
  if (order > 0 && mm.flags[pfn]! & PG_HEAD) for (let p = pfn + 1; p < pfn + (1 << order); p++) cost.touch(CostStruct.PAGE, p);
}
