/**
 * Cost counters: the meter's arithmetic, and each policy's figures checked
 * against what is known of the Linux code paths (README "Cost counters").
 */
import { describe, expect, it } from '@jest/globals';
import { COST_OPS, Cost, CostStruct, type CostCounterName, type CostRow } from '../../src/interfaces/cost.js';
import { GFP_KERNEL } from '../../src/interfaces/gfp.js';
import { CostMeter } from '../../src/machine/cost.js';
import { createSystem, type System } from '../../src/system.js';
import { runSlabWorkload } from '../../src/harness/workloads/slab.js';

const small = { memBytes: 64 * 2 ** 20, cpus: 2, kernelImageBytes: 4 * 2 ** 20 };
const sysWith = (policies: object = {}, cost = true): System => createSystem({ machine: small, policies, debug: { checks: false, cost } });
const op = (rows: readonly CostRow[], name: string): CostRow => {
  const r = rows.find((x) => x.op === name);
  if (!r) throw new Error(`no ${name} row`);
  return r;
};
/** A fresh meter's view of what `fn` costs: the rows of the operations it ran alone. */
function measure(sys: System, fn: () => void): CostRow[] {
  const before = sys.machine.cost!.rows();
  fn();
  const after = sys.machine.cost!.rows();
  // Subtract counts and totals; distributions of the delta are not needed where this is used.
  return after.map((r) => {
    const b = before.find((x) => x.op === r.op);
    const counters = Object.fromEntries(Object.entries(r.counters).map(([k, d]) => [k, { ...d, total: d.total - (b?.counters[k as CostCounterName].total ?? 0) }])) as CostRow['counters'];
    return { op: r.op, count: r.count - (b?.count ?? 0), counters };
  });
}
const perOp = (r: CostRow, c: CostCounterName): number => r.counters[c].total / r.count;

describe('the meter', () => {
  it('counts a line once per operation, nested calls as page-allocator calls, and exact percentiles', () => {
    const m = new CostMeter();
    const kmalloc = COST_OPS.indexOf('kmalloc');
    const allocPages = COST_OPS.indexOf('alloc_pages');
    for (let i = 0; i < 100; i++) {
      m.enter(kmalloc);
      m.line(0x1000);
      m.line(0x1008); // same line
      m.line(0x1040);
      m.touch(CostStruct.PAGE, 7);
      m.touch(CostStruct.PAGE, 7);
      m.touch(CostStruct.PCP, 7); // another structure, same index
      if (i % 10 === 0) {
        m.enter(allocPages);
        m.count(Cost.ZONE_LOCK, i === 90 ? 3 : 1);
        m.leave();
      }
      m.leave();
    }
    const [row] = m.rows();
    expect(row!.op).toBe('kmalloc');
    expect(row!.count).toBe(100);
    expect(row!.counters.memLines).toMatchObject({ mean: 2, p50: 2, p99: 2, max: 2, total: 200 });
    expect(row!.counters.structLines.mean).toBe(2);
    expect(row!.counters.pageAllocCalls).toMatchObject({ total: 10, p50: 0, p90: 0, p99: 1, max: 1 });
    expect(row!.counters.zoneLock).toMatchObject({ total: 12, max: 3 });
    expect(m.ops).toBe(100);
    expect(m.totals[Cost.MEM_LINES]).toBe(200);
  });

  it('reports the exact maximum beyond the histogram', () => {
    const m = new CostMeter();
    m.enter(0);
    m.count(Cost.MEM_LINES, 100000);
    m.leave();
    expect(m.rows()[0]!.counters.memLines).toMatchObject({ p50: 100000, p99: 100000, max: 100000 });
  });

  it('calls its listener after each top-level operation only', () => {
    const m = new CostMeter();
    const seen: number[] = [];
    m.onOp((n) => seen.push(n));
    m.enter(2);
    m.enter(0);
    m.leave();
    m.leave();
    m.enter(3);
    m.leave();
    expect(seen).toEqual([1, 2]);
  });

  it('calls its listener next at the count it returns', () => {
    const m = new CostMeter();
    const seen: number[] = [];
    m.onOp((n) => {
      seen.push(n);
      return n + 3;
    });
    for (let i = 0; i < 10; i++) {
      m.enter(0);
      m.leave();
    }
    expect(seen).toEqual([1, 4, 7, 10]);
  });
});

describe('off', () => {
  it('leaves the system untouched: no meter, no wrapped entry points', () => {
    const sys = sysWith({}, false);
    expect(sys.machine.cost).toBeNull();
    expect(Object.hasOwn(sys.pages, 'allocPages')).toBe(false);
    expect(Object.hasOwn(sys.kmem, 'kmalloc')).toBe(false);
    expect(Object.hasOwn(sys.machine.mem, 'read64')).toBe(false);
  });
});

describe('known fast-path facts', () => {
  it('SLUB: a warm CPU-slab kmalloc takes no lock and no LOCK-prefixed atomic, one this_cpu_cmpxchg', () => {
    const sys = sysWith({ slab: 'slub' });
    sys.machine.ctx.setCpu(0);
    const warm = sys.kmem.kmalloc(64, GFP_KERNEL); // makes the CPU slab
    const rows = measure(sys, () => {
      for (let i = 0; i < 20; i++) sys.kmem.kmalloc(64, GFP_KERNEL);
    });
    const r = op(rows, 'kmalloc');
    expect(r.count).toBe(20);
    for (const c of ['zoneLock', 'pcpLock', 'listLock', 'irqOff', 'slobLock', 'atomics', 'pageAllocCalls'] as const) expect(r.counters[c].total).toBe(0);
    expect(perOp(r, 'cpuCmpxchg')).toBe(1);
    expect(perOp(r, 'memLines')).toBe(1); // the object's free pointer
    expect(perOp(r, 'structLines')).toBe(1); // kmem_cache_cpu
    sys.kmem.kfree(warm);
  });

  it('SLUB: freeing to the CPU slab is the fast path; freeing from another CPU goes through __slab_free', () => {
    const sys = sysWith({ slab: 'slub' });
    sys.machine.ctx.setCpu(0);
    const objs = Array.from({ length: 4 }, () => sys.kmem.kmalloc(64, GFP_KERNEL));
    const local = op(measure(sys, () => sys.kmem.kfree(objs[0]!)), 'kfree');
    expect(local.counters.cpuCmpxchg.total).toBe(1);
    expect(local.counters.remoteFrees.total + local.counters.atomics.total).toBe(0);
    sys.machine.ctx.setCpu(1);
    const remote = op(measure(sys, () => sys.kmem.kfree(objs[1]!)), 'kfree');
    expect(remote.counters.remoteFrees.total).toBe(1);
    expect(remote.counters.atomics.total).toBe(1); // cmpxchg_double_slab
    expect(remote.counters.cpuCmpxchg.total).toBe(0);
  });

  it('SLOB takes its global lock on every small allocation and free', () => {
    const sys = sysWith({ slab: 'slob' });
    const rows = measure(sys, () => runSlabWorkload(sys, 'uniform-small', 2000, 1));
    for (const name of ['kmalloc', 'kfree']) {
      const r = op(rows, name);
      expect(perOp(r, 'slobLock')).toBe(1);
      expect(r.counters.cpuCmpxchg.total + r.counters.irqOff.total).toBe(0);
    }
  });

  it('SLAB turns interrupts off once per allocation and free (the array cache)', () => {
    const sys = sysWith({ slab: 'slab' });
    const rows = measure(sys, () => runSlabWorkload(sys, 'uniform-small', 2000, 1));
    for (const name of ['kmalloc', 'kfree']) expect(perOp(op(rows, name), 'irqOff')).toBe(1);
    expect(op(rows, 'kmalloc').counters.cpuCmpxchg.total).toBe(0);
  });

  it('buddy: an order-0 allocation from a filled per-CPU list takes pcp->lock only; a refill takes zone->lock once', () => {
    // 256 MiB: a 64 MiB zone's per-CPU batch is a single page.
    const sys = createSystem({ machine: { ...small, memBytes: 256 * 2 ** 20 }, debug: { checks: false, cost: true } });
    sys.machine.ctx.setCpu(0);
    sys.pages.drainPcp();
    const refill = op(measure(sys, () => sys.pages.allocPages(0, GFP_KERNEL)), 'alloc_pages');
    expect(refill.counters.zoneLock.total).toBe(1);
    expect(refill.counters.pcpLock.total).toBe(1);
    const hit = op(measure(sys, () => sys.pages.allocPages(0, GFP_KERNEL)), 'alloc_pages');
    expect(hit.counters.zoneLock.total).toBe(0);
    expect(hit.counters.pcpLock.total).toBe(1);
    expect(hit.counters.atomics.total).toBe(0);
    const p = sys.pages.allocPages(0, GFP_KERNEL);
    const free = op(measure(sys, () => sys.pages.freePages(p, 0)), 'free_pages');
    expect(free.counters.atomics.total).toBe(1); // put_page_testzero
    expect(free.counters.pcpLock.total).toBe(1);
  });

  it('buddy: a bulk allocation takes pcp->lock once for the run; vmalloc makes one bulk call per 100 pages', () => {
    const sys = createSystem({ machine: { ...small, memBytes: 256 * 2 ** 20 }, debug: { checks: false, cost: true } });
    sys.machine.ctx.setCpu(0);
    const out = new Int32Array(64).fill(-1);
    const bulk = op(measure(sys, () => sys.pages.allocPagesBulk!(64, GFP_KERNEL, out)), 'alloc_pages_bulk');
    expect(bulk.count).toBe(1);
    expect(bulk.counters.pcpLock.total).toBe(1);
    expect(bulk.counters.zoneLock.total).toBeGreaterThan(0); // the refills
    const v = op(measure(sys, () => sys.vmalloc.vmalloc(250 * 4096)), 'vmalloc');
    // Three bulk calls (100 + 100 + 50) for the pages; the page array and page tables may add a few more.
    expect(v.counters.pageAllocCalls.total).toBeGreaterThanOrEqual(3);
    expect(v.counters.pageAllocCalls.total).toBeLessThan(10);
  });

  it('a large kmalloc is one call into the page allocator', () => {
    const sys = sysWith({ slab: 'slub' });
    const r = op(measure(sys, () => sys.kmem.kfree(sys.kmem.kmalloc(3 * 4096 * 4, GFP_KERNEL))), 'kmalloc');
    expect(r.counters.pageAllocCalls.total).toBe(1);
    expect(sys.machine.cost!.rows().some((x) => x.op === 'alloc_pages')).toBe(false); // nested, not its own operation
  });

  it('vmalloc takes the vmap locks, and a lazy purge sends an IPI to every other CPU', () => {
    const sys = createSystem({ machine: { ...small, memBytes: 128 * 2 ** 20, cpus: 4 }, debug: { checks: false, cost: true } });
    const rows = measure(sys, () => {
      const a = sys.vmalloc.vmalloc(8 * 4096);
      sys.vmalloc.vfree(a);
    });
    expect(perOp(op(rows, 'vmalloc'), 'vmapLock')).toBe(2);
    expect(perOp(op(rows, 'vfree'), 'vmapLock')).toBe(2);
    expect(sys.machine.cost!.totals[Cost.IPIS]).toBe(0); // the range waits for the lazy purge
    // Free areas until vmap_lazy_nr passes lazy_max_pages: that vfree purges, flushing every CPU's TLB.
    let purged: CostRow | undefined;
    for (let i = 0; i < 200 && !purged; i++) {
      const a = sys.vmalloc.vmalloc(256 * 4096);
      const r = op(measure(sys, () => sys.vmalloc.vfree(a)), 'vfree');
      if (r.counters.ipis.total > 0) purged = r;
    }
    expect(purged?.counters.ipis.total).toBe(3); // cpus − 1
  });

  it('is deterministic: the same seed gives the same table', () => {
    const table = (): CostRow[] => {
      const sys = sysWith({ slab: 'slub' });
      runSlabWorkload(sys, 'kernel-mix', 3000, 7);
      return sys.machine.cost!.rows();
    };
    expect(table()).toEqual(table());
  });
});
