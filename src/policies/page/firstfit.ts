/**
 * How the first-fit baseline works here.
 *
 * A byte per frame says whether it is in use. An allocation of order k scans
 * the eligible zones (highest allowed zone of the local node first, as the
 * buddy's zonelist does) from a per-zone hint — the lowest frame that may be
 * free — for the first naturally aligned run of 2^k free frames. Freeing
 * clears the bytes and lowers the hint. There are no free lists, no
 * coalescing (free runs are implicitly merged), no migrate types, no per-CPU
 * lists and no watermarks: the baseline hands out the last free page to
 * anyone. When a search fails and the mask allows direct reclaim, the
 * registered shrinkers run once and the search is retried.
 *
 * It exists to show what the buddy system buys: order-0 allocation is O(1)
 * amortised thanks to the hint, but higher orders scan, and fragmentation is
 * unmanaged. `/proc/buddyinfo` for it decomposes free runs into the aligned
 * blocks a buddy allocator would hold; every pageblock reports as Movable.
 *
 * Layers it may call: none.
 *
 * Known limitations: O(n) search for orders > 0, watermarks computed for
 * display only, migrate types ignored.
 */

import { inject, injectable, optional } from 'inversify';
import { CONFIG, KASAN, MACHINE } from '../../interfaces/tokens.js';
import type { KasanApi } from '../../interfaces/detectors.js';
import type { SystemConfig } from '../../interfaces/config.js';
import type { Machine, ZoneLayout } from '../../interfaces/machine.js';
import type { PageAllocStats, PageAllocator, Shrinker, ZoneReport } from '../../interfaces/page-allocator.js';
import { AllocatorError } from '../../interfaces/errors.js';
import { MAX_NR_ZONES, MIGRATE_TYPES, MigrateType, __GFP_DIRECT_RECLAIM, gfpMigratetype, gfpZone, type Gfp } from '../../interfaces/gfp.js';
import { MAX_VIOLATIONS, type Violation } from '../../interfaces/invariants.js';
import { MAX_PAGE_ORDER, NO_PFN, NR_PAGE_ORDERS, PAGEBLOCK_ORDER, alignUp, type Pfn } from '../../interfaces/units.js';
import { PG_ALLOCATED, PG_RESERVED } from '../../machine/memmap.js';
import { PAGE_POISON, PageCounters, PageZone, allocFailure, checkFreeTails, checkNewPages, clearFreedBlock, countNuma, prepAllocatedBlock, splitNonCompoundOnPut, touchBlock, validateAlloc, validateFree, validateGetPage } from './page-alloc-common.js';
import { zoneLimits } from './zone-math.js';
import { Cost, CostStruct, type CostMeterApi } from '../../interfaces/cost.js';

/** A zone of the baseline: the shared zone state plus a free count and a search hint. */
class FfZone extends PageZone {
  /** Free frames in the zone. */
  free = 0;
  /** No free frame lies below it. */
  hint: number;

  constructor(z: ZoneLayout) {
    super(z);
    this.hint = z.startPfn;
  }
}

/**
 * First fit over a per-frame in-use map.
 *
 * Invariants:
 * 1. F1 Map coherence — a frame is marked in use exactly when it is
 *    reserved, a hole, or inside an allocated block; free frames carry no
 *    flags.
 * 2. F2 Counters — each zone's free count equals its unmarked frames.
 * 3. F3 Hint — no free frame lies below a zone's hint.
 */
@injectable()
export class FirstFitAllocator implements PageAllocator {
  readonly policy: string = 'firstfit';
  private readonly machine: Machine;
  private readonly cost: CostMeterApi | null;
  private readonly kasan: KasanApi | undefined;
  private readonly checks: boolean;
  private readonly used: Uint8Array;
  private readonly zoneArr: FfZone[];
  private readonly zonelists: number[][][];
  private readonly shrinkers: Shrinker[] = [];
  /** Operation counters (the PageAllocStats every policy reports). */
  private readonly opCounters = new PageCounters();

  constructor(@inject(MACHINE) machine: Machine, @inject(CONFIG) config: SystemConfig, @inject(KASAN) @optional() kasan?: KasanApi) {
    this.machine = machine;
    this.cost = machine.cost;
    this.kasan = kasan;
    this.checks = config.debug.checks;
    const layout = machine.layout;
    this.used = new Uint8Array(layout.nrPages).fill(1);
    this.zoneArr = layout.zones.map((z) => new FfZone(z));
    this.zonelists = layout.nodes.map((n) => Array.from({ length: MAX_NR_ZONES }, (_, highest) => layout.zonelist(n.id, highest)));
    const flags = machine.memmap.flags;
    for (const [pfn, order] of layout.bootBlocks()) {
      const zone = this.zoneArr[layout.zoneOf(pfn)]!;
      for (let p = pfn; p < pfn + (1 << order); p++) {
        flags[p] = 0;
        this.used[p] = 0;
      }
      zone.managed += 1 << order;
      zone.free += 1 << order;
      if (machine.pagePoison) machine.mem.setBackground(pfn as Pfn, 1 << order, PAGE_POISON);
    }
    zoneLimits(this.zoneArr, config.machine).forEach((l, id) => this.zoneArr[id]!.setLimits(l));
  }

  /** {@inheritDoc PageAllocator.allocPages} */
  allocPages(order: number, gfp: Gfp, nid?: number): Pfn {
    validateAlloc(order, gfp, this.policy);
    const node = nid ?? this.machine.layout.cpuNode[this.machine.ctx.cpu]!;
    const lists = this.zonelists[node];
    if (!lists) throw new AllocatorError('invalid-cpu', `node ${String(nid)} does not exist`, { policy: this.policy, op: 'alloc_pages' });
    const zonelist = lists[gfpZone(gfp)]!;
    let pfn = this.search(zonelist, order, node);
    if (pfn < 0 && gfp & __GFP_DIRECT_RECLAIM && this.shrinkers.length) {
      this.opCounters.reclaimRuns++;
      for (const s of this.shrinkers) this.opCounters.reclaimedPages += s.scan(Math.max(32, 1 << order), gfp);
      pfn = this.search(zonelist, order, node);
    }
    if (pfn < 0) {
      allocFailure(this.machine, this.policy, order, gfp);
      this.opCounters.failures++;
      return NO_PFN;
    }
    if (this.checks) checkNewPages(this.machine, pfn, order, this.policy);
    prepAllocatedBlock(this.machine, this.kasan, pfn, order, gfp, gfpMigratetype(gfp));
    if (this.cost) touchBlock(this.cost, this.machine.memmap, pfn, order);
    this.opCounters.allocs++;
    this.opCounters.allocatedPages += 1 << order;
    return pfn as Pfn;
  }

  /** First aligned free run of 2^order frames along the zonelist, marked used; -1 when none. */
  private search(zonelist: readonly number[], order: number, preferredNode: number): number {
    const n = 1 << order;
    const used = this.used;
    const cost = this.cost;
    for (const id of zonelist) {
      const z = this.zoneArr[id]!;
      // As an allocator without per-CPU lists would: the zone's lock around every search.
      if (cost) {
        cost.touch(CostStruct.ZONE, id);
        cost.count(Cost.ZONE_LOCK);
      }
      if (z.free < n) continue;
      while (z.hint < z.endPfn && used[z.hint]) {
        if (cost) cost.touch(CostStruct.MAP, z.hint >>> 6);
        z.hint++;
      }
      let p = alignUp(Math.max(z.hint, z.startPfn), n);
      while (p + n <= z.endPfn) {
        let q = p;
        while (q < p + n && !used[q]) {
          if (cost) cost.touch(CostStruct.MAP, q >>> 6);
          q++;
        }
        if (cost && q < p + n) cost.touch(CostStruct.MAP, q >>> 6);
        if (q === p + n) {
          used.fill(1, p, p + n);
          z.free -= n;
          countNuma(z, preferredNode, this.machine.layout.cpuNode[this.machine.ctx.cpu]!);
          return p;
        }
        p = alignUp(q + 1, n);
      }
    }
    return -1;
  }

  private readonly isFreeFn = (pfn: number): boolean => this.used[pfn] === 0;

  /** {@inheritDoc PageAllocator.freePages} */
  freePages(pfn: Pfn, order: number): void {
    validateFree(this.machine, pfn, order, this.policy, this.isFreeFn);
    if (this.cost) {
      this.cost.count(Cost.ATOMICS); // the refcount drop
      touchBlock(this.cost, this.machine.memmap, pfn, order);
    }
    if (this.checks && order > 0) checkFreeTails(this.machine, pfn, order, this.policy);
    if (--this.machine.memmap.refcount[pfn]! > 0) {
      for (const [p, o] of splitNonCompoundOnPut(this.machine, pfn, order)) this.release(p, o);
      return;
    }
    this.release(pfn, order);
  }

  private release(pfn: number, order: number): void {
    const n = 1 << order;
    clearFreedBlock(this.machine, this.kasan, pfn, order);
    if (this.cost) {
      this.cost.count(Cost.ZONE_LOCK);
      for (let l = pfn >>> 6; l <= (pfn + n - 1) >>> 6; l++) this.cost.touch(CostStruct.MAP, l);
    }
    this.used.fill(0, pfn, pfn + n);
    const z = this.zoneArr[this.machine.layout.zoneOf(pfn)]!;
    z.free += n;
    if (pfn < z.hint) z.hint = pfn;
    this.opCounters.frees++;
    this.opCounters.allocatedPages -= n;
  }

  /** {@inheritDoc PageAllocator.getPage} */
  getPage(pfn: Pfn): void {
    validateGetPage(this.machine, pfn, this.policy);
    this.machine.memmap.refcount[pfn]!++;
  }

  /** No per-CPU lists: nothing to drain (the CPU number is still validated). */
  drainPcp(cpu?: number): void {
    if (cpu !== undefined && !(Number.isInteger(cpu) && cpu >= 0 && cpu < this.machine.opts.cpus)) {
      throw new AllocatorError('invalid-cpu', `cpu ${String(cpu)} does not exist`, { policy: this.policy, op: 'drain_pages' });
    }
  }

  /** {@inheritDoc PageAllocator.registerShrinker} */
  registerShrinker(s: Shrinker): void {
    this.shrinkers.push(s);
  }

  /** Every pageblock reports Movable: the baseline has no migrate types. */
  pageblockType(_pfn: Pfn): MigrateType {
    return MigrateType.MOVABLE;
  }

  /** {@inheritDoc PageAllocator.stats} */
  stats(): PageAllocStats {
    const free = this.zoneArr.reduce((s, z) => s + z.free, 0);
    return this.opCounters.snapshot(this.zoneArr.reduce((s, z) => s + z.managed, 0), free, 0);
  }

  /** {@inheritDoc PageAllocator.zones} */
  zones(): ZoneReport[] {
    return this.zoneArr.map((z) => {
      const nrFree = new Array<number>(NR_PAGE_ORDERS).fill(0);
      let p = z.startPfn;
      while (p < z.endPfn) {
        if (this.used[p]) {
          p++;
          continue;
        }
        let o = MAX_PAGE_ORDER;
        while (o > 0 && (p % (1 << o) !== 0 || p + (1 << o) > z.endPfn || this.used.subarray(p, p + (1 << o)).some((u) => u !== 0))) o--;
        nrFree[o]!++;
        p += 1 << o;
      }
      const byType = Array.from({ length: MIGRATE_TYPES }, (_, mt) => (mt === MigrateType.MOVABLE ? [...nrFree] : new Array<number>(NR_PAGE_ORDERS).fill(0)));
      const blocks = new Array<number>(MIGRATE_TYPES).fill(0);
      if (z.spanned) blocks[MigrateType.MOVABLE] = ((z.endPfn - 1) >>> PAGEBLOCK_ORDER) - (z.startPfn >>> PAGEBLOCK_ORDER) + 1;
      return z.report({
        freePages: z.free,
        nrFree,
        nrFreeByType: byType,
        pageblocksByType: blocks,
        pcp: [],
      });
    });
  }

  /** {@inheritDoc InvariantChecked.checkInvariants} */
  checkInvariants(): Violation[] {
    const out: Violation[] = [];
    const mm = this.machine.memmap;
    for (const z of this.zoneArr) {
      let free = 0;
      let p = z.startPfn;
      while (p < z.endPfn && out.length < MAX_VIOLATIONS) {
        const f = mm.flags[p]!;
        if (f & PG_ALLOCATED) {
          const n = 1 << mm.order[p]!;
          for (let q = p; q < p + n; q++) {
            if (!this.used[q]) out.push({ code: 'F1', message: `pfn 0x${q.toString(16)} inside the allocated block at 0x${p.toString(16)} is marked free`, details: { pfn: q } });
          }
          p += n;
          continue;
        }
        if (!this.used[p]) {
          free++;
          if (p < z.hint) out.push({ code: 'F3', message: `free pfn 0x${p.toString(16)} lies below zone ${z.name}'s hint 0x${z.hint.toString(16)}`, details: { pfn: p } });
          if (f !== 0) out.push({ code: 'F1', message: `free pfn 0x${p.toString(16)} carries flags ${mm.describeFlags(p)}`, details: { pfn: p } });
        } else if (!(f & PG_RESERVED) && this.machine.layout.isRam(p)) {
          out.push({ code: 'F1', message: `pfn 0x${p.toString(16)} is marked in use but belongs to no allocated block`, details: { pfn: p } });
        }
        p++;
      }
      if (free !== z.free) out.push({ code: 'F2', message: `zone ${z.name} counts ${z.free} free pages but ${free} frames are free`, details: { zone: z.id } });
    }
    return out.slice(0, MAX_VIOLATIONS);
  }
}

