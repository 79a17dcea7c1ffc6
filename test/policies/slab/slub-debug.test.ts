/** SLUB_DEBUG byte checks: red zones, kmalloc red zone, poison, tracks, reports in the kernel's wording. */
import { describe, expect, it } from '@jest/globals';
import { GFP_KERNEL } from '../../../src/interfaces/gfp.js';
import { isAllocatorError } from '../../../src/interfaces/errors.js';
import { PAGE_OFFSET } from '../../../src/interfaces/units.js';
import { createSystem, resolveConfig } from '../../../src/system.js';
import { parseSlubDebug } from '../../../src/policies/slab/slub-debug.js';
import { FUZZ_MACHINE } from '../../../fuzz/common.js';
import { runSlabFuzz } from '../../../fuzz/slab/campaign.js';

const dbg = (slubDebug: string) => createSystem({ machine: { memBytes: 64 << 20, kernelImageBytes: 4 << 20, cpus: 2 }, debug: { slubDebug } });

describe('SLUB_DEBUG', () => {
  it('parses slub_debug= and rejects unknown letters', () => {
    expect(parseSlubDebug('FZPU').blocks[0]!.caches).toBeNull();
    expect(parseSlubDebug('FZ,kmalloc-64,dentry').blocks[0]!.caches).toEqual(['kmalloc-64', 'dentry']);
    let err: unknown;
    try {
      resolveConfig({ debug: { slubDebug: 'Q' } });
    } catch (e) {
      err = e;
    }
    expect(isAllocatorError(err, 'config')).toBe(true);
    expect(String((err as Error).message)).toMatch(/slub_debug=Q: unknown option 'Q'/);
  });

  it('applies per-cache options and leaves other caches alone', () => {
    const sys = dbg('FZPU,kmalloc-64');
    const geo = (n: string) => sys.kmem.caches().find((c) => c.name === n)!.geometry;
    expect(geo('kmalloc-64').size).toBe(256);
    expect(geo('kmalloc-128').size).toBe(128);
  });

  it('reports an out-of-bounds write into the kmalloc red zone and the right red zone on kfree', () => {
    const sys = dbg('FZPU');
    sys.machine.ctx.caller = 'my_driver_probe+0x42/0x100';
    const p = sys.kmem.kmalloc(100, GFP_KERNEL);
    sys.machine.mem.write8(p - PAGE_OFFSET + 100, 0x41);
    sys.kmem.kfree(p);
    const r = sys.machine.reports.list();
    expect(r.map((x) => x.kind)).toEqual(['kmalloc Redzone overwritten']);
    expect(r[0]!.text).toMatch(/^=+\nBUG kmalloc-128 \(Not tainted\): kmalloc Redzone overwritten\n-+\n\n0xffff888[0-9a-f]+-0xffff888[0-9a-f]+ @offset=\d+\. First byte 0x41 instead of 0xcc\nAllocated in my_driver_probe\+0x42\/0x100 age=\d+ cpu=0 pid=1\n/);
    expect(r[0]!.text).toMatch(/FIX kmalloc-128: Restoring kmalloc Redzone/);
    expect(sys.machine.log.list().join('\n')).toMatch(/Object at 0xffff888[0-9a-f]+ not freed/);
    sys.machine.reports.clear();
    const q = sys.kmem.kmalloc(128, GFP_KERNEL);
    sys.machine.mem.write8(q - PAGE_OFFSET + 128, 0x42);
    sys.kmem.kfree(q);
    expect(sys.machine.reports.list().map((x) => x.kind)).toEqual(['Right Redzone overwritten']);
  });

  it('catches a write after free when the object is allocated again (Poison overwritten)', () => {
    const sys = dbg('FZPU');
    const h = sys.kmem.kmemCacheCreate('uaf_obj', 64);
    sys.machine.ctx.caller = 'alloc_site+0x1/0x2';
    const o = sys.kmem.kmemCacheAlloc(h, GFP_KERNEL);
    sys.machine.ctx.caller = 'free_site+0x3/0x4';
    sys.kmem.kmemCacheFree(h, o);
    sys.machine.mem.write8(o - PAGE_OFFSET + 50, 0x00);
    expect(sys.machine.reports.list()).toHaveLength(0);
    const again = sys.kmem.kmemCacheAlloc(h, GFP_KERNEL);
    expect(again).toBe(o);
    const r = sys.machine.reports.list();
    expect(r.map((x) => x.kind)).toEqual(['Poison overwritten']);
    expect(r[0]!.text).toMatch(/@offset=\d+\. First byte 0x0 instead of 0x6b/);
    expect(r[0]!.text).toMatch(/Allocated in alloc_site\+0x1\/0x2 .*\nFreed in free_site\+0x3\/0x4/);
  });

  it('reports nothing for correct programs, over a seeded fuzz with full debugging', () => {
    const r = runSlabFuzz({ config: { ...FUZZ_MACHINE, debug: { slubDebug: 'FZPU' } }, seed: 9, numRuns: 20, maxCommands: 80 });
    if (!r.ok) throw new Error(`${r.failure}\n${r.commandText}`);
  });
});
