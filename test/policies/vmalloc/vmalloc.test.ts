import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createSystem, type System } from '../../../src/system.js';
import { GFP_KERNEL } from '../../../src/interfaces/gfp.js';
import { PAGE_SIZE } from '../../../src/interfaces/units.js';
import { vmallocinfo } from '../../../src/proc/vmalloc.js';
import { policyNames } from '../../../src/policies/registry.js';
import { VMALLOC_FUZZ_MACHINE, runVmallocFuzz } from '../../../fuzz/vmalloc/campaign.js';
import { rescued, runLargeBuffers, runVmallocMix, type LargeBufferResult } from '../../../src/harness/workloads/vmalloc.js';
import { readFileSync } from 'node:fs';
import { formatVmallocCompare } from '../../../src/cli/compare.js';
import { vmallocContract } from '../../../src/testing/contracts/vmalloc.js';

const MACHINE = { machine: { memBytes: 256 << 20, cpus: 2 } };

const sysWith = (vmap: string, extra: object = {}): System => createSystem({ ...MACHINE, policies: { vmap }, ...extra });

describe('vmalloc policies', () => {
  for (const vmap of policyNames('vmap')) vmallocContract({ label: `linux over ${vmap}`, config: { policies: { vmap } } }, { describe, it });
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
