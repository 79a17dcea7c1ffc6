/**
 * The page-allocator contract: the same behaviour, the same errors, the
 * same fuzz budget for every policy — a named one or a user's class bound
 * at PAGE_ALLOCATOR.
 */
import { expect } from '../expect.js';
import { GFP_ATOMIC, GFP_DMA, GFP_KERNEL, __GFP_COMP, __GFP_NOWARN, __GFP_ZERO } from '../../interfaces/gfp.js';
import { NO_PFN, pfnToPhys, type Pfn } from '../../interfaces/units.js';
import { createSystem, type System } from '../../system.js';
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

    it('survives the model-based fuzz with every invariant intact', () => {
      const r = fuzzPage(target, { seed: 42, numRuns: 40, maxCommands: 100 });
      expect(r.runsDone).toBe(40);
    });
  });
}
