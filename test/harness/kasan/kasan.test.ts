/** The KASAN model: shadow, checked client accesses, quarantine, report shapes — under every slab policy. */
import { describe, expect, it } from '@jest/globals';
import { GFP_KERNEL } from '../../../src/interfaces/gfp.js';
import { pfnToVirt } from '../../../src/interfaces/units.js';
import { createSystem } from '../../../src/system.js';
import { FUZZ_MACHINE } from '../../../fuzz/common.js';
import { runSlabFuzz } from '../../../fuzz/slab/campaign.js';

describe.each(['slub', 'slab'])('KASAN over %s (Linux has no KASAN for SLOB)', (slab) => {
  const mk = () => createSystem({ machine: { memBytes: 64 << 20, kernelImageBytes: 4 << 20, cpus: 2 }, policies: { slab }, debug: { kasan: true } });
  const kinds = (sys: ReturnType<typeof mk>) => sys.machine.reports.list().map((r) => r.kind);

  it('lets a client use exactly what it asked for, and reports one byte past it as slab-out-of-bounds', () => {
    const sys = mk();
    const k = sys.kasan!;
    const p = sys.kmem.kmalloc(115, GFP_KERNEL);
    expect(k.memset(p, 0x11, 115)).toBe(true);
    expect(kinds(sys)).toEqual([]);
    expect(k.read(p + 115, 1)).toBeUndefined();
    const [r] = sys.machine.reports.list();
    expect(r!.kind).toBe('slab-out-of-bounds');
    expect(r!.text).toMatch(/^BUG: KASAN: slab-out-of-bounds in kasan_read\nRead of size 1 at addr ffff888[0-9a-f]+ by task allocsim\/1$/m);
    expect(r!.text).toMatch(/The buggy address is located 0 bytes to the right of\n allocated 115-byte region \[ffff888[0-9a-f]+, ffff888[0-9a-f]+\)/);
  });

  it('reports a read after kfree as slab-use-after-free while the object sits in quarantine', () => {
    const sys = mk();
    const k = sys.kasan!;
    const p = sys.kmem.kmalloc(64, GFP_KERNEL);
    sys.kmem.kfree(p);
    const q = sys.kmem.kmalloc(64, GFP_KERNEL);
    expect(q).not.toBe(p);
    k.read(p + 8, 8);
    expect(kinds(sys)).toEqual(['slab-use-after-free']);
    expect(sys.machine.reports.list()[0]!.text).toMatch(/located 8 bytes inside of\n freed 64-byte region/);
  });

  it('reports double and invalid frees without freeing', () => {
    const sys = mk();
    const p = sys.kmem.kmalloc(40, GFP_KERNEL);
    sys.kmem.kfree(p);
    sys.kmem.kfree(p);
    const q = sys.kmem.kmalloc(40, GFP_KERNEL);
    sys.kmem.kfree(q + 1);
    expect(kinds(sys)).toEqual(['double-free', 'invalid-free']);
    expect(sys.checkInvariants()).toEqual([]);
  });

  it('covers large kmallocs, pages, null and wild pointers', () => {
    const sys = mk();
    const k = sys.kasan!;
    const big = sys.kmem.kmalloc(10000, GFP_KERNEL);
    expect(k.write(big + 9999, new Uint8Array([1]))).toBe(true);
    k.write(big + 10000, new Uint8Array([1]));
    const pfn = sys.pages.allocPages(0, GFP_KERNEL);
    sys.pages.freePages(pfn, 0);
    k.read(pfnToVirt(pfn), 4);
    k.read(0x10, 8);
    k.read(0xdead00000000, 8);
    k.read(0x400000, 8);
    expect(kinds(sys)).toEqual(['slab-out-of-bounds', 'use-after-free', 'null-ptr-deref', 'wild-memory-access', 'user-memory-access']);
  });

  it('stays silent under the slab fuzz of correct clients', () => {
    const r = runSlabFuzz({ config: { ...FUZZ_MACHINE, policies: { slab }, debug: { kasan: true, kasanQuarantine: 64 << 10 } }, seed: 21, numRuns: 15, maxCommands: 80 });
    if (!r.ok) throw new Error(`${r.failure}\n${r.commandText}`);
  });
});
