/** The vmalloc-layer contract, for the built-in layer over every vmap policy and any class bound at VMALLOC or VMAP_SPACE. */
import { expect } from '../expect.js';
import type { SystemConfigInput } from '../../interfaces/config.js';
import { isAllocatorError } from '../../interfaces/errors.js';
import { GFP_KERNEL, GFP_ATOMIC } from '../../interfaces/gfp.js';
import { PAGE_SIZE, VMALLOC_START } from '../../interfaces/units.js';
import { lazyMaxPages } from '../../interfaces/vmalloc.js';
import { vmallocinfo } from '../../proc/vmalloc.js';
import { meminfo } from '../../proc/page.js';
import { createSystem, type System } from '../../system.js';
import { fuzzVmalloc } from '../fuzz.js';
import { type ContractTarget, defaultRunner, type TestRunner } from '../target.js';

const MACHINE = { machine: { memBytes: 256 << 20, cpus: 2 } };

/** The error a call throws, as {kind, message}. */
function thrown(fn: () => unknown): { kind: string; message: string } | undefined {
  try {
    fn();
  } catch (e) {
    if (isAllocatorError(e)) return { kind: e.kind, message: e.message };
    throw e;
  }
  return undefined;
}

/**
 * Registers the vmalloc-layer contract suite (placement with guard pages, vmallocinfo, bad frees, lazy purge,
 * kvmalloc, vmap, faults and KASAN reports) and a short fuzz campaign for `target`.
 */
export function vmallocContract(target: ContractTarget, runner: TestRunner = defaultRunner()): void {
  const { describe, it } = runner;
  const sysWith = (extra: SystemConfigInput = {}): System =>
    createSystem({ ...MACHINE, ...target.config, ...extra, policies: { ...target.config?.policies, ...extra.policies }, debug: { ...target.config?.debug, ...extra.debug } }, target.overrides);
  describe(`vmalloc contract: ${target.label}`, () => {
    it('places areas lowest first with a guard page after each, maps exactly their pages, and frees them all', () => {
      const sys = sysWith();
      const v = sys.vmalloc;
      const allocated0 = sys.pages.stats().allocatedPages;
      const a = v.vmalloc(3 * PAGE_SIZE);
      const b = v.vmalloc(1);
      expect(a).toBe(VMALLOC_START);
      expect(b).toBe(VMALLOC_START + 4 * PAGE_SIZE);
      expect(v.vmallocToPfn(a)).toBeGreaterThanOrEqual(0);
      expect(v.vmallocToPfn(a + 3 * PAGE_SIZE)).toBe(-1); // the guard page
      expect(v.stats().pages).toBe(4);
      expect(sys.checkInvariants()).toEqual([]);
      v.vfree(a);
      v.vfree(b);
      expect(v.stats().pages).toBe(0);
      expect(v.stats().lazyPages).toBe(6);
      // The freed range is not reused until a purge.
      const c = v.vmalloc(PAGE_SIZE);
      expect(c).toBe(VMALLOC_START + 6 * PAGE_SIZE);
      v.purge();
      const d = v.vmalloc(PAGE_SIZE);
      expect(d).toBe(VMALLOC_START);
      expect(sys.checkInvariants()).toEqual([]);
      v.vfree(c);
      v.vfree(d);
      // Every backing frame went back; what stays are the kernel page-table pages (never freed) and slab pages.
      const owners = sys.machine.memmap;
      let vmallocFrames = 0;
      for (let pfn = 0; pfn < owners.nrPages; pfn++) if (owners.owner(pfn) === 5) vmallocFrames++;
      expect(vmallocFrames).toBe(0);
      expect(v.stats().pages).toBe(0);
      expect(sys.pages.stats().allocatedPages - allocated0).toBeGreaterThanOrEqual(v.stats().pageTablePages - 1);
    });

    it('prints /proc/vmallocinfo lines like Linux, unpurged ranges last', () => {
      const sys = sysWith();
      const v = sys.vmalloc;
      sys.machine.ctx.caller = 'test_init+0x10/0x40';
      const a = v.vmalloc(2 * PAGE_SIZE);
      const b = v.vzalloc(600 * PAGE_SIZE); // page array of 4800 bytes: itself vmalloc'ed
      v.vfree(a);
      const text = vmallocinfo(v.areas());
      expect(text.split('\n')).toEqual([
        // The big area first, then its page array's own area (same caller), as __vmalloc_area_node nests them.
        '0xffffc90000003000-0xffffc9000025c000 2461696 test_init+0x10/0x40 pages=600 vmalloc vpages N0=600',
        '0xffffc9000025c000-0xffffc9000025f000   12288 test_init+0x10/0x40 pages=2 vmalloc N0=2',
        '0xffffc90000000000-0xffffc90000003000   12288 unpurged vm_area',
        '',
      ]);
      expect(b).toBe(0xc90000003000);
      expect(meminfo(sys.pages, { vmallocUsed: v.stats().pages })).toMatch(/VmallocUsed:\s+2408 kB/);
    });

    it('rejects bad frees with Linux text and leaves the state unchanged', () => {
      const sys = sysWith();
      const v = sys.vmalloc;
      const a = v.vmalloc(2 * PAGE_SIZE);
      const before = vmallocinfo(v.areas());
      expect(thrown(() => v.vfree(a + 8))).toEqual({ kind: 'invalid-free', message: 'vmalloc.vfree: Trying to vfree() bad address (ffffc90000000008)' });
      expect(thrown(() => v.vfree(a + PAGE_SIZE))?.message).toMatch(/4096 bytes inside the area \[ffffc90000000000, ffffc90000003000\), not its start/);
      expect(thrown(() => v.vfree(0xc90100000000))).toEqual({ kind: 'invalid-free', message: 'vmalloc.vfree: Trying to vfree() nonexistent vm area (ffffc90100000000)' });
      const k = sys.kmem.kmalloc(8192, GFP_KERNEL); // a large kmalloc: page aligned
      expect(thrown(() => v.vfree(k))?.message).toMatch(/^vmalloc.vfree: Trying to vfree\(\) nonexistent vm area \(ffff888/);
      expect(vmallocinfo(v.areas())).toBe(before);
      v.vfree(a);
      expect(thrown(() => v.vfree(a))).toEqual({ kind: 'double-free', message: 'vmalloc.vfree: Trying to vfree() nonexistent vm area (ffffc90000000000): the area there was already freed' });
      expect(thrown(() => v.vmalloc(-1))?.kind).toBe('misuse');
      expect(v.vmalloc(0)).toBe(0);
      expect(v.vmalloc(1024 * 2 ** 30)).toBe(0);
      expect(sys.machine.log.list().join('\n')).toMatch(/vmalloc error: size 1099511627776, exceeds total pages/);
      expect(sys.checkInvariants()).toEqual([]);
    });

    it('purges lazily freed ranges when vmap_lazy_nr passes lazy_max_pages, with one kernel TLB flush', () => {
      const sys = sysWith({ machine: { memBytes: 512 << 20, cpus: 2 } });
      const v = sys.vmalloc;
      const max = lazyMaxPages(2);
      expect(max).toBe(16384);
      const size = 255 * PAGE_SIZE; // 256 pages with the guard
      let freed = 0;
      while (v.stats().purges === 0) {
        v.vfree(v.vmalloc(size));
        freed++;
      }
      expect(freed).toBe(max / 256 + 1);
      expect(v.stats().tlbFlushes).toBe(1);
      expect(v.stats().lazyPages).toBe(0);
      expect(v.stats().tlbShootdowns).toBe(1);
      expect(sys.checkInvariants()).toEqual([]);
    });

    it('kvmalloc takes kmalloc when it can and vmalloc above a page when kmalloc fails; kvfree routes by address', () => {
      const sys = sysWith();
      const v = sys.vmalloc;
      const small = v.kvmalloc(100, GFP_KERNEL);
      expect(v.isVmallocAddr(small)).toBe(false);
      const big = v.kvmalloc(8 << 20, GFP_KERNEL); // above KMALLOC_MAX_SIZE (4 MiB): kmalloc fails
      expect(v.isVmallocAddr(big)).toBe(true);
      expect(v.kvmalloc(8 << 20, GFP_ATOMIC)).toBe(0); // may not sleep: no vmalloc fallback
      v.kvfree(small);
      v.kvfree(big);
      expect(v.stats().pages).toBe(0);
      expect(sys.checkInvariants()).toEqual([]);
    });

    it('vmap maps caller frames without owning them; vunmap gives the range back lazily', () => {
      const sys = sysWith();
      const v = sys.vmalloc;
      const p0 = sys.pages.allocPages(0, GFP_KERNEL);
      const p1 = sys.pages.allocPages(0, GFP_KERNEL);
      const a = v.vmap([p0, p1]);
      expect(v.vmallocToPfn(a + PAGE_SIZE + 5)).toBe(p1);
      expect(vmallocinfo(v.areas())).toMatch(/^0xffffc90000000000-0xffffc90000003000 {3}12288 \S+ vmap\n$/);
      expect(v.write(a + PAGE_SIZE - 2, new Uint8Array([1, 2, 3, 4]))).toBe(true);
      expect(sys.machine.mem.readBytes(p1 * PAGE_SIZE, 2)).toEqual(new Uint8Array([3, 4]));
      expect(thrown(() => v.vunmap(v.vmalloc(10)))?.kind).toBe('misuse');
      v.vunmap(a);
      expect(v.vmallocToPfn(a)).toBe(-1);
      expect(sys.checkInvariants().filter((x) => x.code.startsWith('V'))).toEqual([]);
    });

    it('a write past the size faults at the guard page, and KASAN reports it inside the last page', () => {
      const plain = sysWith();
      const a = plain.vmalloc.vmalloc(PAGE_SIZE / 2 - 13);
      expect(plain.vmalloc.write(a + PAGE_SIZE / 2 - 13, new Uint8Array(1))).toBe(true); // same page: unnoticed without KASAN
      expect(plain.vmalloc.write(a + PAGE_SIZE, new Uint8Array(1))).toBe(false);
      expect(plain.machine.reports.list()[0]!.text).toMatch(/^BUG: unable to handle page fault for address: ffffc90000001000\n#PF: supervisor write access in kernel mode\n#PF: error_code\(0x0002\) - not-present page/);
      const k = sysWith({ debug: { kasan: true } });
      const b = k.vmalloc.vmalloc(PAGE_SIZE / 2 - 13);
      expect(k.vmalloc.read(b, PAGE_SIZE / 2 - 13)).toBeDefined();
      expect(k.vmalloc.read(b + PAGE_SIZE / 2 - 13, 1)).toBeUndefined();
      const r = k.machine.reports.list()[0]!;
      expect(r.kind).toBe('vmalloc-out-of-bounds');
      // After vfree, the range's shadow stays poisoned until the purge: KASAN reports the use after free;
      // once purged, the shadow is gone and the access faults.
      k.vmalloc.vfree(b);
      expect(k.vmalloc.read(b, 1)).toBeUndefined();
      expect(k.machine.reports.list()[1]!.text).toMatch(/BUG: KASAN: vmalloc-out-of-bounds in vmalloc_read\nRead of size 1 at addr ffffc90000000000 by task .*\n\nThe buggy address belongs to a vmalloc range already freed/);
      k.vmalloc.purge();
      expect(k.vmalloc.read(b, 1)).toBeUndefined();
      expect(k.machine.reports.list()[2]!.kind).toBe('page fault');
      expect(r.text).toMatch(/BUG: KASAN: vmalloc-out-of-bounds in vmalloc_read\nRead of size 1 at addr ffffc900000007f3 by task .*\n\nThe buggy address belongs to the virtual mapping at\n \[ffffc90000000000, ffffc90000002000\) created by:\n /);
    });

    it('survives the vmalloc fuzz campaign (seed 1, 10 runs of 100 commands)', () => {
      fuzzVmalloc(target, { seed: 1, numRuns: 10, maxCommands: 100 });
    });
  });
}
