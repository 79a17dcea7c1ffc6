import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createSystem, type System } from '../../../src/system.js';
import { isAllocatorError } from '../../../src/interfaces/errors.js';
import { GFP_KERNEL, GFP_ATOMIC } from '../../../src/interfaces/gfp.js';
import { PAGE_SIZE, VMALLOC_START } from '../../../src/interfaces/units.js';
import { lazyMaxPages } from '../../../src/interfaces/vmalloc.js';
import { vmallocinfo } from '../../../src/proc/vmalloc.js';
import { meminfo } from '../../../src/proc/page.js';
import { policyNames } from '../../../src/policies/registry.js';
import { VMALLOC_FUZZ_MACHINE, runVmallocFuzz } from '../../../fuzz/vmalloc/campaign.js';
import { rescued, runLargeBuffers, runVmallocMix, type LargeBufferResult } from '../../../src/harness/workloads/vmalloc.js';
import { readFileSync } from 'node:fs';
import { formatVmallocCompare } from '../../../src/cli/compare.js';

const MACHINE = { machine: { memBytes: 256 << 20, cpus: 2 } };

const sysWith = (vmap: string, extra: object = {}): System => createSystem({ ...MACHINE, policies: { vmap }, ...extra });

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

describe.each(policyNames('vmap'))('vmalloc over the %s policy', (policy) => {
  it('places areas lowest first with a guard page after each, maps exactly their pages, and frees them all', () => {
    const sys = sysWith(policy);
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
    const sys = sysWith(policy);
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
    const sys = sysWith(policy);
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
    const sys = sysWith(policy, { machine: { memBytes: 512 << 20, cpus: 2 } });
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
    const sys = sysWith(policy);
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
    const sys = sysWith(policy);
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
    const plain = sysWith(policy);
    const a = plain.vmalloc.vmalloc(PAGE_SIZE / 2 - 13);
    expect(plain.vmalloc.write(a + PAGE_SIZE / 2 - 13, new Uint8Array(1))).toBe(true); // same page: unnoticed without KASAN
    expect(plain.vmalloc.write(a + PAGE_SIZE, new Uint8Array(1))).toBe(false);
    expect(plain.machine.reports.list()[0]!.text).toMatch(/^BUG: unable to handle page fault for address: ffffc90000001000\n#PF: supervisor write access in kernel mode\n#PF: error_code\(0x0002\) - not-present page/);
    const k = sysWith(policy, { debug: { kasan: true } });
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
});

describe('vmalloc model-based fuzz', () => {
  const op = fc.oneof(
    fc.record({ k: fc.constant('vmalloc' as const), pages: fc.integer({ min: 1, max: 64 }), extra: fc.integer({ min: -4095, max: 0 }) }),
    fc.record({ k: fc.constant('vfree' as const), pick: fc.nat() }),
    fc.record({ k: fc.constant('vmap' as const), pages: fc.integer({ min: 1, max: 8 }) }),
    fc.record({ k: fc.constant('kvmalloc' as const), bytes: fc.integer({ min: 1, max: 3 << 20 }) }),
    fc.record({ k: fc.constant('purge' as const) }),
  );

  it.each(policyNames('vmap'))('%s: contents survive, areas never overlap, invariants hold, both policies agree on addresses', (policy) => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const sys = sysWith(policy);
        const twin = sysWith(policy === 'tree' ? 'list' : 'tree');
        const v = sys.vmalloc;
        const live: { addr: number; bytes: number; tag: number; kind: 'v' | 'm' | 'k'; pfns?: number[] }[] = [];
        let tag = 1;
        for (const o of ops) {
          if (o.k === 'vmalloc') {
            const bytes = o.pages * PAGE_SIZE + o.extra;
            const addr = v.vmalloc(bytes);
            expect(twin.vmalloc.vmalloc(bytes)).toBe(addr);
            if (addr) {
              const t = tag++ & 0xff;
              expect(v.write(addr, new Uint8Array(bytes).fill(t))).toBe(true);
              live.push({ addr, bytes, tag: t, kind: 'v' });
            }
          } else if (o.k === 'kvmalloc') {
            const addr = v.kvmalloc(o.bytes, GFP_KERNEL);
            twin.vmalloc.kvmalloc(o.bytes, GFP_KERNEL);
            if (addr) live.push({ addr, bytes: 0, tag: 0, kind: 'k' });
          } else if (o.k === 'vmap') {
            const pfns = Array.from({ length: o.pages }, () => sys.pages.allocPages(0, GFP_KERNEL));
            const tp = Array.from({ length: o.pages }, () => twin.pages.allocPages(0, GFP_KERNEL));
            const addr = v.vmap(pfns);
            expect(twin.vmalloc.vmap(tp)).toBe(addr);
            live.push({ addr, bytes: 0, tag: 0, kind: 'm', pfns });
          } else if (o.k === 'vfree' && live.length) {
            const e = live.splice(o.pick % live.length, 1)[0]!;
            if (e.kind === 'v') {
              expect(v.read(e.addr, e.bytes)).toEqual(new Uint8Array(e.bytes).fill(e.tag));
              v.vfree(e.addr);
              twin.vmalloc.vfree(e.addr);
            } else if (e.kind === 'k') {
              v.kvfree(e.addr);
            } else {
              v.vunmap(e.addr);
              twin.vmalloc.vunmap(e.addr);
              for (const p of e.pfns!) sys.pages.freePages(p as never, 0);
            }
          } else if (o.k === 'purge') {
            v.purge();
            twin.vmalloc.purge();
          }
        }
        expect(sys.checkInvariants()).toEqual([]);
        expect(sys.machine.reports.list()).toEqual([]);
      }),
      { numRuns: 25, seed: 3 },
    );
  });
});

describe('vmalloc fuzz campaign', () => {
  it.each(policyNames('vmap'))('the real layer over %s passes the mutants budget (seeds 1-3, 40 runs of 100 commands)', (vmap) => {
    for (const seed of [1, 2, 3]) {
      const r = runVmallocFuzz({ config: { ...VMALLOC_FUZZ_MACHINE, policies: { vmap } }, seed, numRuns: 40, maxCommands: 100 });
      if (!r.ok) throw new Error(`seed ${seed}: ${r.failure}\n${r.commandText}`);
    }
  });
});

describe('kmalloc versus vmalloc under fragmentation', () => {
  it('vmalloc serves the large buffers kmalloc cannot, at a cost in page-table pages and flushes', () => {
    const run = (mode: 'kmalloc' | 'vmalloc' | 'kvmalloc'): LargeBufferResult => runLargeBuffers(createSystem({ machine: { memBytes: 128 << 20, cpus: 2 } }), mode, { ops: 300, seed: 5 });
    const [k, v, kv] = [run('kmalloc'), run('vmalloc'), run('kvmalloc')];
    expect(k.largestFreeOrder).toBeLessThanOrEqual(4);
    expect(k.requests).toBe(v.requests);
    expect(k.failures).toBeGreaterThan(k.requests / 2);
    expect(v.failures).toBe(0);
    expect(rescued(k, v)).toBe(k.failures);
    // kvmalloc tries kmalloc with __GFP_NORETRY: it gives up on the page allocator at least as often as plain kmalloc.
    expect(kv.vmallocBuffers).toBeGreaterThanOrEqual(k.failures);
    expect(kv.failures).toBe(0);
    expect(v.pageTablePages).toBeGreaterThan(k.pageTablePages);
    const text = formatVmallocCompare([k, v, kv]);
    expect(text).toMatch(/^large buffers \(16 KiB-4 MiB\) after fragmenting: [\d,]+ pages free, largest free block order \d; 300 operations\n/);
    expect(text).toMatch(new RegExp(`failed under kmalloc, served here +n\\/a +${k.failures} +${k.failures}\\n`));
  });
});

describe('/proc/vmallocinfo against a real Linux guest', () => {
  const real = readFileSync(new URL('../../../data/linux-6.1-qemu-smp4/vmallocinfo.txt', import.meta.url), 'utf8').trim().split('\n');
  const SHAPE = /^0x[0-9a-f]{16}-0x[0-9a-f]{16} [ \d]{7} (?:\S+\+0x[0-9a-f]+\/0x[0-9a-f]+(?: pages=\d+)? (?:vmalloc|vmap)(?: vpages)?(?: N\d+=\d+)*|unpurged vm_area)$/;
  const shapeOf = (l: string): string => l.replace(/^0x\S+-0x\S+ +/, '').replace(/ N0=\d+$/, '');

  it('prints lines of the same shape, and the same lines for the same users', () => {
    const realOurs = real.filter((l) => / (vmalloc|vmap)( |$)| unpurged vm_area$/.test(l) && !l.includes('pcpu_get_vm_areas'));
    expect(realOurs.length).toBeGreaterThan(80);
    for (const l of realOurs) expect(l).toMatch(SHAPE);
    const sys = createSystem({ machine: { memBytes: 256 << 20, cpus: 4 } });
    runVmallocMix(sys, 400, 1);
    const ours = vmallocinfo(sys.vmalloc.areas()).trim().split('\n');
    for (const l of ours) expect(l).toMatch(SHAPE);
    // A thread stack, a genpool chunk, the crypto buffers, an IRQ stack: the text after the range is Linux's.
    const realShapes = new Set(realOurs.map(shapeOf));
    const users = ['kernel_clone', 'gen_pool_add_owner', 'crypto_scomp_init_tfm+0x75', 'irq_init_percpu_irqstack'];
    for (const u of users) {
      const line = ours.find((l) => l.includes(u));
      expect(line).toBeDefined();
      expect(realShapes.has(shapeOf(line!))).toBe(true);
    }
    // Thread stacks are 16 KiB aligned (THREAD_ALIGN).
    for (const l of ours.filter((x) => x.includes('kernel_clone'))) expect(parseInt(l.slice(2, 18), 16) % 16384).toBe(0);
  });
});

describe('vmalloc tracepoints', () => {
  it('emits alloc_vmap_area, free_vmap_area_noflush and purge_vmap_area_lazy in include/trace/events/vmalloc.h format', () => {
    const sys = createSystem({ ...MACHINE, debug: { trace: true } });
    const v = sys.vmalloc;
    const a = v.vmalloc(2 * PAGE_SIZE);
    v.vfree(a);
    v.purge();
    const lines = sys.machine.tracer.list().filter((e) => e.event.includes('vmap')).map((e) => `${e.event}: ${e.text}`);
    expect(lines).toEqual([
      'alloc_vmap_area: va_start: 18446683600570023936 size=12288 align=4096 vstart=0xffffc90000000000 vend=0xffffe8ffffffffff failed=0',
      'free_vmap_area_noflush: va_start=0xffffc90000000000 nr_lazy=3 nr_lazy_max=16384',
      'purge_vmap_area_lazy: start=0xffffc90000000000 end=0xffffc90000003000 num_purged=1',
    ]);
  });
});
