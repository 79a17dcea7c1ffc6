/**
 * The page-allocator contract: the same behaviour, the same errors, the
 * same fuzz budget for every policy — a named one or a user's class bound
 * at PAGE_ALLOCATOR.
 */
import { expect } from '../expect.js';
import { GFP_ATOMIC, GFP_DMA, GFP_KERNEL, __GFP_COMP, __GFP_NOWARN, __GFP_ZERO } from '../../interfaces/gfp.js';
import { NO_PFN, pfnToPhys, type Pfn } from '../../interfaces/units.js';
import { createSystem, type System } from '../../system.js';
import { allocPagesBulk } from '../../mm/page-bulk.js';
import { PG_ALLOCATED } from '../../machine/memmap.js';
import { FUZZ_MACHINE } from '../../../fuzz/common.js';
import { fuzzPage } from '../fuzz.js';
import { expectKind, type ContractTarget, defaultRunner, type TestRunner } from '../target.js';

/** Registers the page-allocator contract suite for `target` (on the 24 MiB fuzz machine). */
export function pageContract(target: ContractTarget, runner: TestRunner = defaultRunner()): void {
  const { describe, it } = runner;
  const small = (): System => createSystem({ ...FUZZ_MACHINE, ...target.config }, target.overrides);
  describe(`page allocator contract: ${target.label}`, () => {
    it('boots with every free frame accounted and no violations', () => {
      const sys = small();
      const s = sys.pages.stats();
      expect(s.managedPages).toBeGreaterThan(0);
      expect(s.freePages).toBe(s.managedPages);
      expect(sys.checkInvariants()).toEqual([]);
    });

    it('returns naturally aligned blocks of every order and takes them back', () => {
      const sys = small();
      const got: [Pfn, number][] = [];
      for (let order = 0; order <= 10; order++) {
        const pfn = sys.pages.allocPages(order, GFP_KERNEL | __GFP_NOWARN);
        if (order <= 9) expect(pfn).not.toBe(NO_PFN);
        if (pfn !== NO_PFN) {
          expect(pfn % (1 << order)).toBe(0);
          got.push([pfn, order]);
        }
      }
      expect(sys.checkInvariants()).toEqual([]);
      for (const [pfn, order] of got) sys.pages.freePages(pfn, order);
      sys.pages.drainPcp();
      const s = sys.pages.stats();
      expect(s.freePages).toBe(s.managedPages);
      expect(s.allocatedPages).toBe(0);
      expect(sys.checkInvariants()).toEqual([]);
    });

    it('honours GFP_DMA, __GFP_COMP and __GFP_ZERO', () => {
      const sys = small();
      const dma = sys.pages.allocPages(0, GFP_KERNEL | GFP_DMA);
      expect(dma).toBeLessThan(4096);
      const comp = sys.pages.allocPages(2, GFP_KERNEL | __GFP_COMP);
      expect(sys.machine.memmap.compoundHead(comp + 3)).toBe(comp);
      sys.machine.mem.write64(pfnToPhys((comp + 1) as Pfn), 0xdead);
      sys.pages.freePages(comp, 2);
      const z = sys.pages.allocPages(2, GFP_KERNEL | __GFP_ZERO);
      for (let i = 0; i < 4; i++) expect(sys.machine.mem.findNot(pfnToPhys((z + i) as Pfn), 4096, 0)).toBe(-1);
    });

    it('keeps a referenced block until the last put', () => {
      const sys = small();
      const p = sys.pages.allocPages(0, GFP_KERNEL);
      sys.pages.getPage(p);
      sys.pages.freePages(p, 0);
      expect(sys.pages.stats().allocatedPages).toBe(1);
      sys.pages.freePages(p, 0);
      expect(sys.pages.stats().allocatedPages).toBe(0);
    });

    it('rejects misuse with typed errors and leaves the state unchanged', () => {
      const sys = small();
      const p = sys.pages.allocPages(1, GFP_KERNEL);
      const before = JSON.stringify(sys.pages.stats());
      expectKind(() => sys.pages.allocPages(-1, GFP_KERNEL), 'invalid-order');
      expectKind(() => sys.pages.allocPages(11, GFP_KERNEL), 'invalid-order');
      expectKind(() => sys.pages.allocPages(1.5, GFP_KERNEL), 'invalid-order');
      expectKind(() => sys.pages.allocPages(0, GFP_KERNEL | GFP_DMA | 0x4), 'invalid-gfp');
      expectKind(() => sys.pages.freePages(p, 0), 'invalid-free');
      expectKind(() => sys.pages.freePages((p + 1) as Pfn, 0), 'invalid-free');
      expectKind(() => sys.pages.freePages(5 as Pfn, 0), 'invalid-free');
      expectKind(() => sys.pages.freePages(1e9 as Pfn, 0), 'out-of-range');
      expectKind(() => sys.pages.freePages(p, 12), 'invalid-order');
      expectKind(() => sys.pages.getPage(5 as Pfn), 'misuse');
      expectKind(() => sys.pages.drainPcp(99), 'invalid-cpu');
      expect(JSON.stringify(sys.pages.stats())).toBe(before);
      expect(sys.checkInvariants()).toEqual([]);
      sys.pages.freePages(p, 1);
      expectKind(() => sys.pages.freePages(p, 1), 'double-free');
      expect(sys.checkInvariants()).toEqual([]);
    });

    it('reports a slab-flagged page freed to it as a bad page', () => {
      const sys = small();
      const p = sys.pages.allocPages(0, GFP_KERNEL);
      sys.machine.memmap.flags[p] = sys.machine.memmap.flags[p]! | 1 << 4;
      expect(() => sys.pages.freePages(p, 0)).toThrow(/BUG: Bad page state in process allocsim {2}pfn:.*PAGE_FLAGS_CHECK_AT_FREE/);
    });

    it('catches a corrupted tail frame on free when debug checks are on (free_tail_page_prepare)', () => {
      const sys = small();
      const p = sys.pages.allocPages(2, GFP_KERNEL | __GFP_COMP);
      sys.machine.memmap.next[p + 2] = p + 1;
      expect(() => sys.pages.freePages(p, 2)).toThrow(/pfn:[0-9a-f]+ .*page dumped because: compound_head not consistent/);
      sys.machine.memmap.next[p + 2] = p;
      sys.pages.freePages(p, 2);
      expect(sys.checkInvariants()).toEqual([]);
    });

    it('runs out of memory as a value, logs the failure, and throws only for __GFP_NOFAIL', () => {
      const sys = small();
      let n = 0;
      while (sys.pages.allocPages(0, GFP_ATOMIC | __GFP_NOWARN) !== NO_PFN) n++;
      expect(n).toBeGreaterThan(1000);
      expect(sys.pages.allocPages(0, GFP_KERNEL)).toBe(NO_PFN);
      expect(sys.machine.log.list().some((l) => /page allocation failure: order:0, mode:0xcc0\(GFP_KERNEL\), nodemask=\(null\)/.test(l))).toBe(true);
      expectKind(() => sys.pages.allocPages(0, GFP_KERNEL | 0x8000), 'nofail-exhausted');
      expect(sys.checkInvariants()).toEqual([]);
    });

    it('bulk: places up to nr distinct allocated order-0 frames and takes them back', () => {
      const sys = small();
      const out = new Int32Array(80).fill(NO_PFN);
      expect(allocPagesBulk(sys.pages, 64, GFP_KERNEL, out)).toBe(64);
      const got = Array.from(out.subarray(0, 64));
      expect(new Set(got).size).toBe(64);
      for (const pfn of got) {
        expect(pfn).toBeGreaterThanOrEqual(0);
        expect(sys.machine.memmap.flags[pfn]! & PG_ALLOCATED).toBe(PG_ALLOCATED);
        expect(sys.machine.memmap.order[pfn]).toBe(0);
        expect(sys.machine.memmap.refcount[pfn]).toBe(1);
      }
      expect(Array.from(out.subarray(64))).toEqual(new Array<number>(16).fill(NO_PFN));
      expect(sys.pages.stats().allocatedPages).toBe(64);
      expect(sys.checkInvariants()).toEqual([]);
      for (const pfn of got) sys.pages.freePages(pfn as Pfn, 0);
      sys.pages.drainPcp();
      const s = sys.pages.stats();
      expect(s.allocatedPages).toBe(0);
      expect(s.freePages).toBe(s.managedPages);
      expect(sys.checkInvariants()).toEqual([]);
    });

    it('bulk: keeps entries that already hold a frame and fills only the empty ones', () => {
      const sys = small();
      const a = sys.pages.allocPages(0, GFP_KERNEL);
      const b = sys.pages.allocPages(0, GFP_KERNEL);
      const out: number[] = [a, NO_PFN, NO_PFN, b, NO_PFN, NO_PFN];
      expect(allocPagesBulk(sys.pages, 5, GFP_KERNEL, out)).toBe(5);
      expect(out[0]).toBe(a);
      expect(out[3]).toBe(b);
      expect(out[5]).toBe(NO_PFN);
      expect(new Set(out.slice(0, 5)).size).toBe(5);
      expect(sys.pages.stats().allocatedPages).toBe(5);
      // Nothing to do: a full array and an empty request allocate nothing.
      expect(allocPagesBulk(sys.pages, 5, GFP_KERNEL, out)).toBe(5);
      expect(allocPagesBulk(sys.pages, 0, GFP_KERNEL, new Int32Array(0))).toBe(0);
      expect(sys.pages.stats().allocatedPages).toBe(5);
      // One empty entry: one page.
      const one = new Int32Array([NO_PFN]);
      expect(allocPagesBulk(sys.pages, 1, GFP_KERNEL, one)).toBe(1);
      expect(one[0]).toBeGreaterThanOrEqual(0);
      expect(sys.checkInvariants()).toEqual([]);
    });

    it('bulk: rejects bad arguments with typed errors and leaves the state unchanged', () => {
      const sys = small();
      const before = JSON.stringify(sys.pages.stats());
      const out = new Int32Array(4).fill(NO_PFN);
      expectKind(() => allocPagesBulk(sys.pages, 5, GFP_KERNEL, out), 'misuse');
      expectKind(() => allocPagesBulk(sys.pages, -1, GFP_KERNEL, out), 'misuse');
      expectKind(() => allocPagesBulk(sys.pages, 1.5, GFP_KERNEL, out), 'misuse');
      expectKind(() => allocPagesBulk(sys.pages, 2, GFP_KERNEL, null as unknown as Int32Array), 'misuse');
      expectKind(() => allocPagesBulk(sys.pages, 2, GFP_KERNEL | GFP_DMA | 0x4, out), 'invalid-gfp');
      expectKind(() => allocPagesBulk(sys.pages, 2, GFP_KERNEL, out, 99), 'invalid-cpu');
      expect(JSON.stringify(sys.pages.stats())).toBe(before);
      expect(Array.from(out)).toEqual([NO_PFN, NO_PFN, NO_PFN, NO_PFN]);
    });

    it('bulk: comes up short when memory runs out, reporting exactly the pages it placed', () => {
      const sys = small();
      const held: Pfn[] = [];
      for (let p = sys.pages.allocPages(0, GFP_ATOMIC | __GFP_NOWARN); p !== NO_PFN; p = sys.pages.allocPages(0, GFP_ATOMIC | __GFP_NOWARN)) held.push(p);
      for (const p of held.splice(0, 10)) sys.pages.freePages(p, 0);
      const allocated = sys.pages.stats().allocatedPages;
      const out = new Int32Array(50).fill(NO_PFN);
      const n = allocPagesBulk(sys.pages, 50, GFP_KERNEL | __GFP_NOWARN, out);
      // At most what was freed (a policy with watermarks keeps GFP_KERNEL out of the reserve: none).
      expect(n).toBeLessThan(11);
      expect(sys.pages.stats().allocatedPages).toBe(allocated + n);
      expect(Array.from(out.subarray(n))).toEqual(new Array<number>(50 - n).fill(NO_PFN));
      expect(sys.checkInvariants()).toEqual([]);
    });

    it('survives the model-based fuzz with every invariant intact', () => {
      const r = fuzzPage(target, { seed: 42, numRuns: 40, maxCommands: 100 });
      expect(r.runsDone).toBe(40);
    });
  });
}
