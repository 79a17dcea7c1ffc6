/** X4: every present user PTE maps an allocated USER frame, once; every USER frame is mapped; vmalloc areas map allocated, non-user frames. */
import { describe, expect, it } from '@jest/globals';
import { createSystem } from '../../src/system.js';
import { PAGE_SIZE } from '../../src/interfaces/units.js';
import { Owner } from '../../src/machine/memmap.js';
import { PAGE_KERNEL } from '../../src/mm/pagetable.js';
import type { AddressSpace } from '../../src/mm/address-space.js';
import type { Vmalloc } from '../../src/policies/vmalloc/vmalloc.js';
import { VMALLOC_FUZZ_MACHINE } from '../../fuzz/vmalloc/campaign.js';

const MAP_PRIVATE_ANON = 0x22;
const x4 = (s: ReturnType<typeof createSystem>) => s.checkInvariants().filter((v) => v.code === 'X4');

function withPage() {
  const s = createSystem(VMALLOC_FUZZ_MACHINE);
  const mm = s.spawn('t').mm as AddressSpace;
  const a = mm.mmap(0, 2 * PAGE_SIZE, 3, MAP_PRIVATE_ANON);
  mm.write8(a, 1);
  const pfn = Math.floor(mm.pt.pte(a) / PAGE_SIZE);
  return { s, mm, a, pfn };
}

describe('X4 mappings', () => {
  it('a healthy system with a process and vmalloc areas passes', () => {
    const { s } = withPage();
    s.vmalloc.vmalloc(3 * PAGE_SIZE);
    expect(s.checkInvariants()).toEqual([]);
  });

  it('a user PTE on a frame owned by another layer', () => {
    const { s, mm, a, pfn } = withPage();
    s.machine.memmap.setOwner(pfn, 1, Owner.SLAB);
    expect(x4(s)[0]?.message).toMatch(new RegExp(`^pid ${mm.pid}: PTE of 0x${a.toString(16)} maps frame 0x${pfn.toString(16)} \\(.*owner=slab\\), owned by slab; expected user$`));
  });

  it('one frame mapped by two user PTEs, and a user frame mapped by none', () => {
    const { s, mm, a, pfn } = withPage();
    mm.pt.map(a + PAGE_SIZE, pfn, 0x67);
    expect(x4(s).map((v) => v.message)).toContainEqual(expect.stringMatching(/which another PTE maps too/));
    mm.pt.map(a + PAGE_SIZE, 0, 0);
    mm.pt.map(a, 0, 0);
    expect(x4(s).map((v) => v.message)).toContainEqual(expect.stringMatching(new RegExp(`^(\\d+) frames are owned by user memory but (?!\\1)\\d+ user PTEs are present; frame 0x${pfn.toString(16)} .* is mapped by none \\(leaked\\)$`)));
  });

  it('a vmalloc area mapping a user frame', () => {
    const { s, pfn } = withPage();
    const v = s.vmalloc as Vmalloc;
    const addr = v.vmalloc(PAGE_SIZE);
    v.pt.map(addr, pfn, PAGE_KERNEL);
    expect(x4(s).map((x) => x.message)).toContainEqual(expect.stringMatching(/^kernel PTE of ffffc9\w+ maps frame .*, owned by user; expected vmalloc \(or the owner of vmap'ed frames\)$/));
  });
});
