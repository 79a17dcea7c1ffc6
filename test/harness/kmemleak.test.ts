/** The kmemleak model: objects reachable from roots are kept, unreferenced ones reported with their allocation track. */
import { describe, expect, it } from '@jest/globals';
import { GFP_KERNEL } from '../../src/interfaces/gfp.js';
import { PAGE_OFFSET } from '../../src/interfaces/units.js';
import { policyNames } from '../../src/policies/registry.js';
import { createSystem } from '../../src/system.js';

describe.each(policyNames('slab'))('kmemleak over %s', (slab) => {
  it('reports exactly the objects no root reaches', () => {
    const sys = createSystem({ machine: { memBytes: 64 << 20, kernelImageBytes: 4 << 20, cpus: 2 }, policies: { slab }, debug: { kmemleak: true } });
    const leak = sys.kmemleak!;
    const mem = sys.machine.mem;
    // A "global variable": a root holding a pointer to a list head A; A points to C.
    const global = sys.kmem.kzalloc(64, GFP_KERNEL);
    leak.addRoot(global, 64);
    const a = sys.kmem.kzalloc(100, GFP_KERNEL);
    const c = sys.kmem.kzalloc(300, GFP_KERNEL);
    mem.write64(global - PAGE_OFFSET + 8, a);
    mem.write64(a - PAGE_OFFSET + 16, c + 40); // an interior pointer still references C
    sys.machine.ctx.caller = 'forgotten_alloc+0x10/0x80';
    const lost = sys.kmem.kmalloc(48, GFP_KERNEL);
    const dev = sys.dev.registerDevice('eth0');
    sys.dev.devKmalloc(dev, 32, GFP_KERNEL); // reachable through the device's list
    const found = leak.scan();
    expect(found.map((l) => l.addr)).toEqual([lost]);
    const [r] = sys.machine.reports.list();
    expect(r!.text).toMatch(/^unreferenced object 0xffff888[0-9a-f]+ \(size 48\):\n {2}comm "allocsim", pid 1, jiffies \d+ \(age [\d.]+s\)\n {2}hex dump \(first 32 bytes\):/);
    expect(r!.text).toMatch(/backtrace:\n {4}\[<ffffffff81[0-9a-f]+>\] forgotten_alloc\+0x10\/0x80/);
    sys.kmem.kfree(lost);
    sys.machine.reports.clear();
    expect(leak.scan()).toEqual([]);
    // Dropping the only reference leaks the whole chain.
    mem.write64(global - PAGE_OFFSET + 8, 0);
    expect(leak.scan().map((l) => l.addr).sort()).toEqual([a, c].sort());
  });
});
