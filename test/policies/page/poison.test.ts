/** Page poisoning (page_poison=1): freed pages read 0xaa and a write after free is reported on the next allocation. */
import { describe, expect, it } from '@jest/globals';
import { GFP_KERNEL, __GFP_ZERO } from '../../../src/interfaces/gfp.js';
import { pfnToPhys } from '../../../src/interfaces/units.js';
import { policyNames } from '../../../src/policies/registry.js';
import { createSystem } from '../../../src/system.js';
import { FUZZ_MACHINE } from '../../../fuzz/common.js';
import { runPageFuzz } from '../../../fuzz/page/campaign.js';

describe.each(policyNames('page'))('page poisoning: %s', (page) => {
  const mk = () => createSystem({ ...FUZZ_MACHINE, policies: { page }, debug: { pagePoison: true } });

  it('fills freed pages with 0xaa without touching memory and hands them out poisoned', () => {
    const sys = mk();
    const p = sys.pages.allocPages(1, GFP_KERNEL);
    expect(sys.machine.mem.findNot(pfnToPhys(p), 8192, 0xaa)).toBe(-1);
    sys.machine.mem.fill(pfnToPhys(p), 8192, 0x11);
    sys.pages.freePages(p, 1);
    expect(sys.machine.mem.read8(pfnToPhys(p) + 100)).toBe(0xaa);
    const z = sys.pages.allocPages(0, GFP_KERNEL | __GFP_ZERO);
    expect(sys.machine.mem.findNot(pfnToPhys(z), 4096, 0)).toBe(-1);
    expect(sys.machine.reports.list()).toEqual([]);
  });

  it('reports a write to a freed page as memory corruption, and a flipped bit as a single bit error', () => {
    const sys = mk();
    sys.machine.ctx.setCpu(0);
    const p = sys.pages.allocPages(0, GFP_KERNEL);
    sys.pages.freePages(p, 0);
    sys.machine.mem.write32(pfnToPhys(p) + 64, 0xdeadbeef);
    expect(sys.pages.allocPages(0, GFP_KERNEL)).toBe(p);
    const [r] = sys.machine.reports.list();
    expect(r!.kind).toBe('memory corruption');
    expect(r!.text).toMatch(/^pagealloc: memory corruption\nffff888[0-9a-f]+: ef be ad de aa/m);
    expect(r!.text).toMatch(/page dumped because: pagealloc: corrupted page details/);
    sys.pages.freePages(p, 0);
    sys.machine.reports.clear();
    sys.machine.mem.write8(pfnToPhys(p) + 7, 0xaa ^ 0x10);
    sys.pages.allocPages(0, GFP_KERNEL);
    expect(sys.machine.reports.list().map((x) => x.kind)).toEqual(['single bit error']);
  });

  it('stays silent over a fuzz campaign of correct clients', () => {
    const r = runPageFuzz({ config: { ...FUZZ_MACHINE, policies: { page }, debug: { pagePoison: true } }, seed: 4, numRuns: 20, maxCommands: 80 });
    if (!r.ok) throw new Error(`${r.failure}\n${r.commandText}`);
  });
});
