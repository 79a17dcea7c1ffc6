/** V6 (no PTE outside the busy areas' mapped pages) and V7 (every mapped frame allocated), on hand-made corruption. */
import { describe, expect, it } from '@jest/globals';
import { createSystem } from '../../../src/system.js';
import { GFP_KERNEL } from '../../../src/interfaces/gfp.js';
import { PAGE_SIZE, asPfn, formatKernelAddr } from '../../../src/interfaces/units.js';
import { PAGE_KERNEL } from '../../../src/mm/pagetable.js';
import { Owner } from '../../../src/machine/memmap.js';
import { Vmalloc } from '../../../src/policies/vmalloc/vmalloc.js';
import { VMALLOC_FUZZ_MACHINE } from '../../../fuzz/vmalloc/campaign.js';

const sys = () => {
  const s = createSystem(VMALLOC_FUZZ_MACHINE);
  return { s, v: s.vmalloc as Vmalloc };
};
const codes = (s: ReturnType<typeof createSystem>, c: string) => s.vmalloc.checkInvariants().filter((x) => x.code === c);

describe('vmalloc page-table invariants', () => {
  it('V6: a PTE left in a range waiting for the lazy purge, then in free space, names the address and frame', () => {
    const { s, v } = sys();
    const a = v.vmalloc(3 * PAGE_SIZE);
    v.vfree(a);
    expect(v.checkInvariants()).toEqual([]);
    const p = s.pages.allocPages(0, GFP_KERNEL);
    s.machine.memmap.setOwner(p, 1, Owner.PAGE_CLIENT);
    v.pt.map(a + 2 * PAGE_SIZE, p, PAGE_KERNEL);
    const [lazy] = codes(s, 'V6');
    expect(lazy?.message).toMatch(new RegExp(`^stale PTE: ffffc900000\\w+ lies in a range freed and waiting for the lazy purge but still maps frame 0x${p.toString(16)} \\(allocated.*\\); expected no present PTE there$`));
    v.purge();
    expect(codes(s, 'V6')[0]?.message).toMatch(/lies in free vmalloc space but still maps/);
  });

  it('V7: a mapped frame the page allocator no longer holds', () => {
    const { s, v } = sys();
    const a = v.vmalloc(2 * PAGE_SIZE);
    const pfn = v.vmallocToPfn(a + PAGE_SIZE);
    s.machine.memmap.setOwner(pfn, 1, Owner.PAGE_CLIENT);
    s.pages.freePages(asPfn(pfn), 0);
    const [v7] = codes(s, 'V7');
    expect(v7?.message).toBe(`PTE of ${formatKernelAddr(a + PAGE_SIZE)} (area ${formatKernelAddr(a)}) maps frame 0x${pfn.toString(16)} (${s.machine.memmap.describeFlags(pfn)}), which the page allocator does not hold as allocated`);
  });
});
