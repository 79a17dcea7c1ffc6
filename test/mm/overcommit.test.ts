import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createSystem, resolveConfig } from '../../src/system.js';
import { type AddressSpace, ProcessTable, DEFAULT_START_BRK, MMAP_BASE } from '../../src/mm/address-space.js';
import { OVERCOMMIT_ALWAYS, OVERCOMMIT_GUESS, OVERCOMMIT_NEVER } from '../../src/mm/overcommit.js';
import {
  ENOMEM,
  MADV_DONTNEED,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_NORESERVE,
  MAP_PRIVATE,
  MAP_SHARED,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from '../../src/interfaces/user.js';
import { meminfo } from '../../src/proc/page.js';
import { smaps } from '../../src/proc/process.js';
import { isAllocatorError } from '../../src/interfaces/errors.js';

const GIB = 2 ** 30;
const TIB = 2 ** 40;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const PAGES = (bytes: number): number => bytes / 4096;

/** A 1 GiB machine with one process and its glibc, whose first malloc has run (tcache, the first brk). */
function oneGib(overcommitMemory?: 0 | 1 | 2) {
  const sys = createSystem({ machine: { memBytes: GIB } });
  if (overcommitMemory !== undefined) sys.processes.vm.set({ overcommitMemory });
  const proc = sys.spawn();
  proc.libc.free(proc.libc.malloc(1));
  // The concrete address space: the tests read its page table's walk counter.
  return { sys, vm: sys.processes.vm, libc: proc.libc, mm: proc.mm as AddressSpace };
}

/** A 1 GiB machine with one bare process (no C library mapped). */
function bare() {
  const sys = createSystem({ machine: { memBytes: GIB } });
  return { sys, vm: sys.processes.vm, mm: sys.processes.spawn() };
}

describe('overcommit accounting (mm/util.c __vm_enough_memory)', () => {
  it('mode 0: glibc malloc(1 TiB) returns NULL on a 1 GiB machine, malloc(512 MiB) succeeds, and the kernel says why', () => {
    const { sys, vm, mm, libc } = oneGib();
    expect(vm.overcommitMemory).toBe(OVERCOMMIT_GUESS);
    const base = vm.committed;
    const brk0 = mm.brk(0);
    expect(libc.malloc(TIB)).toBe(0);
    expect(vm.committed).toBe(base);
    // mmap (sysmalloc), brk (MORECORE) and the mmap fallback each asked and were refused.
    const warnings = sys.machine.log.list().filter((l) => l.includes(`__vm_enough_memory: pid: ${mm.pid}, comm: allocsim-client, not enough memory for the allocation`));
    expect(warnings).toHaveLength(3);
    expect(mm.brk(0)).toBe(brk0);

    const p = libc.malloc(512 * 2 ** 20);
    expect(p).not.toBe(0);
    expect(libc.isMmapped(p)).toBe(true);
    mm.write64(p + 512 * 2 ** 20 - 8, 7);
    expect(vm.committed).toBe(base + PAGES(512 * 2 ** 20) + 1); // the chunk header's page
    libc.free(p);
    expect(vm.committed).toBe(base);
    expect(sys.checkInvariants()).toEqual([]);
  });

  it('mode 0 refuses only a single request above total RAM; brk keeps the old break', () => {
    const { vm, mm } = bare();
    const total = vm.totalramPages;
    expect(mm.mmap(0, (total + 1) * 4096, RW, ANON)).toBe(-ENOMEM);
    const a = mm.mmap(0, total * 4096, RW, ANON);
    expect(a).toBeGreaterThan(0);
    const b = mm.mmap(0, total * 4096, RW, ANON); // the guess is per request: twice RAM in two calls is fine
    expect(b).toBeGreaterThan(0);
    expect(mm.brk(DEFAULT_START_BRK + (total + 1) * 4096)).toBe(DEFAULT_START_BRK);
    expect(mm.brk(DEFAULT_START_BRK + total * 4096)).toBe(DEFAULT_START_BRK + total * 4096);
  });

  it('charges only private writable mappings without MAP_NORESERVE; mprotect charges and uncharges as mprotect_fixup does', () => {
    const { vm, mm } = bare();
    const base = vm.committed;
    const ro = mm.mmap(0, 16 * 4096, PROT_READ, ANON);
    const nr = mm.mmap(0, 16 * 4096, RW, ANON | MAP_NORESERVE);
    const none = mm.mmap(0, 16 * 4096, PROT_NONE, ANON | MAP_NORESERVE);
    expect(vm.committed).toBe(base);
    expect(mm.vmas().find((v) => v.start === nr)).toMatchObject({ account: false, noreserve: true });
    expect(smaps(mm)).toMatch(/VmFlags: rd wr mr mw me nr \n/);

    expect(mm.mprotect(ro, 4 * 4096, RW)).toBe(0); // becomes data: charged
    expect(vm.committed).toBe(base + 4);
    expect(mm.mprotect(none, 4 * 4096, RW)).toBe(0); // VM_NORESERVE: never charged
    expect(vm.committed).toBe(base + 4);
    expect(mm.mprotect(ro, 2 * 4096, PROT_READ)).toBe(0); // never written (no anon_vma): uncharged again
    expect(vm.committed).toBe(base + 2);
    mm.write8(ro + 2 * 4096, 1);
    expect(mm.mprotect(ro + 2 * 4096, 2 * 4096, PROT_READ)).toBe(0); // written: the charge stays
    expect(vm.committed).toBe(base + 2);
    expect(mm.vmas().find((v) => v.start === ro + 2 * 4096)).toMatchObject({ prot: PROT_READ, account: true });
    mm.munmap(ro, 16 * 4096);
    expect(vm.committed).toBe(base);
  });

  it('mremap charges growth of an accounted mapping and keeps the charge when it moves', () => {
    const { sys, vm, mm } = bare();
    const base = vm.committed;
    const top = mm.mmap(0, 4 * 4096, RW, ANON);
    expect(mm.mremap(top, 4 * 4096, 8 * 4096, MREMAP_MAYMOVE)).toBe(top); // in place
    expect(vm.committed).toBe(base + 8);
    const below = mm.mmap(0, 4 * 4096, RW, ANON);
    mm.write64(below, 99);
    const moved = mm.mremap(below, 4 * 4096, 6 * 4096, MREMAP_MAYMOVE);
    expect(moved).not.toBe(below);
    expect(mm.read64(moved)).toBe(99);
    expect(vm.committed).toBe(base + 14);
    expect(mm.mremap(moved, 6 * 4096, 2 * 4096, 0)).toBe(moved);
    expect(vm.committed).toBe(base + 10);
    // Growth past total RAM is refused in place, and not attempted as a move.
    expect(mm.mremap(top, 8 * 4096, (vm.totalramPages + 9) * 4096, MREMAP_MAYMOVE)).toBe(-ENOMEM);
    expect(vm.committed).toBe(base + 10);
    expect(sys.checkInvariants()).toEqual([]);
  });

  it('charges a shared anonymous mapping once, until its last piece goes', () => {
    const { vm, mm } = bare();
    const base = vm.committed;
    const a = mm.mmap(0, 8 * 4096, RW, MAP_SHARED | MAP_ANONYMOUS);
    expect(vm.committed).toBe(base + 8);
    expect(mm.munmap(a + 2 * 4096, 2 * 4096)).toBe(0);
    expect(vm.committed).toBe(base + 8); // shmem keeps its size
    expect(mm.munmap(a, 2 * 4096)).toBe(0);
    expect(vm.committed).toBe(base + 8);
    expect(mm.munmap(a + 4 * 4096, 4 * 4096)).toBe(0);
    expect(vm.committed).toBe(base);
    expect(mm.mmap(0, 8 * 4096, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE)).toBeGreaterThan(0);
    expect(vm.committed).toBe(base);
  });

  it('mode 2: strict against CommitLimit less the admin reserve and the user reserve, MAP_NORESERVE ignored', () => {
    const { sys, vm, mm } = bare();
    vm.set({ overcommitMemory: OVERCOMMIT_NEVER });
    expect(vm.commitLimit()).toBe(Math.floor((vm.totalramPages * 50) / 100));
    const allowed = (): number => vm.commitLimit() - vm.adminReserveKbytes / 4 - Math.min(Math.floor(mm.stats().totalVmPages / 32), vm.userReserveKbytes / 4);
    // The largest request that passes leaves the committed total one page below `allowed`.
    const most = allowed() - vm.committed - 1;
    expect(mm.mmap(0, (most + 1) * 4096, RW, ANON | MAP_NORESERVE)).toBe(-ENOMEM);
    const a = mm.mmap(0, most * 4096, RW, ANON | MAP_NORESERVE);
    expect(a).toBeGreaterThan(0);
    expect(mm.vmas().find((v) => v.start === a)).toMatchObject({ account: true, noreserve: false });
    expect(mm.brk(DEFAULT_START_BRK + 4096)).toBe(DEFAULT_START_BRK);
    expect(mm.mmap(0, 4096, PROT_READ, ANON)).toBeGreaterThan(0); // read-only: not charged
    expect(mm.munmap(a, most * 4096)).toBe(0);
    expect(mm.brk(DEFAULT_START_BRK + 4096)).toBe(DEFAULT_START_BRK + 4096);
    expect(sys.checkInvariants()).toEqual([]);
  });

  it('mode 2 with overcommit_kbytes, and the reserves at their boot defaults', () => {
    const sys = createSystem({ machine: { memBytes: GIB } });
    const vm = sys.processes.vm;
    // init_user_reserve / init_admin_reserve: min(free / 32, 128 MiB) and min(free / 32, 8 MiB).
    const freeKb = sys.pages.stats().freePages * 4;
    expect(vm.userReserveKbytes).toBe(Math.min(Math.floor(freeKb / 32), 131072));
    expect(vm.adminReserveKbytes).toBe(8192);
    vm.set({ overcommitMemory: OVERCOMMIT_NEVER, overcommitKbytes: 64 * 1024, adminReserveKbytes: 0, userReserveKbytes: 0 });
    expect(vm.overcommitRatio).toBe(0);
    expect(vm.commitLimit()).toBe(16384);
    const { mm } = sys.spawn();
    const most = 16384 - vm.committed - 1;
    expect(mm.mmap(0, (most + 1) * 4096, RW, ANON)).toBe(-ENOMEM);
    expect(mm.mmap(0, most * 4096, RW, ANON)).toBeGreaterThan(0);
    vm.set({ overcommitRatio: 50 });
    expect(vm.overcommitKbytes).toBe(0);
  });

  it('mode 1 maps and unmaps 1 TiB visiting only the page tables that exist', () => {
    const { sys, vm, mm, libc } = oneGib(OVERCOMMIT_ALWAYS);
    const base = vm.committed;
    const p = libc.malloc(TIB);
    expect(p).not.toBe(0);
    expect(vm.committed).toBe(base + PAGES(TIB) + 1);
    mm.write8(p + TIB / 2, 1);
    mm.write8(p + TIB - 1, 2);
    expect(mm.stats().rssPages).toBeGreaterThanOrEqual(3);
    const steps = mm.pt.walkSteps;
    libc.free(p);
    // Three touched pages: a handful of PGD entries plus at most a PUD, PMD and PTE table (512 entries each) per touched
    // page for the zap, and as many for free_pgd_range — never the 2^28 pages of the mapping.
    expect(mm.pt.walkSteps - steps).toBeLessThan(2 * 3 * 3 * 512 + 16);
    expect(vm.committed).toBe(base);
    const moved = mm.mmap(0, TIB, RW, ANON);
    mm.write64(moved + TIB - 8, 5);
    const grown = mm.mremap(moved, TIB, 2 * TIB, MREMAP_MAYMOVE);
    expect(mm.read64(grown + TIB - 8)).toBe(5);
    expect(mm.mprotect(grown, 2 * TIB, PROT_READ)).toBe(0);
    expect(mm.munmap(grown, 2 * TIB)).toBe(0);
    expect(vm.committed).toBe(base);
    expect(sys.checkInvariants()).toEqual([]);
  });

  it('exit uncharges everything; meminfo prints CommitLimit and Committed_AS from the accounting', () => {
    const sys = createSystem({ machine: { memBytes: GIB } });
    const vm = sys.processes.vm;
    const { mm, libc } = sys.spawn();
    libc.malloc(1 << 20);
    mm.mmap(0, 1 << 20, RW, ANON);
    const text = meminfo(sys.pages, { commitLimit: vm.commitLimit(), committedAs: vm.committed });
    expect(text).toContain(`CommitLimit:    ${String(vm.commitLimit() * 4).padStart(8)} kB\n`);
    expect(text).toContain(`Committed_AS:   ${String(vm.committed * 4).padStart(8)} kB\n`);
    expect(vm.committed).toBeGreaterThan(512);
    sys.processes.exit(mm.pid);
    expect(vm.committed).toBe(0);
    // Without the accounting meminfo keeps Linux's defaults: half of MemTotal, nothing committed.
    const total = Number(/MemTotal: +(\d+)/.exec(meminfo(sys.pages))![1]);
    expect(meminfo(sys.pages)).toContain(`CommitLimit:    ${String(Math.floor(total / 4 / 2) * 4).padStart(8)} kB\nCommitted_AS:          0 kB\n`);
  });

  it('rate-limits the warning to 10 lines per 5 s as pr_warn_ratelimited does', () => {
    const { sys, mm } = bare();
    for (let i = 0; i < 25; i++) expect(mm.mmap(0, TIB, RW, ANON)).toBe(-ENOMEM);
    expect(sys.processes.vm.refusals).toBe(25);
    expect(sys.machine.log.list().filter((l) => l.includes('not enough memory'))).toHaveLength(10);
  });

  it('takes the sysctls from a ProcessTable built with the user config', () => {
    const sys = createSystem({ machine: { memBytes: GIB } });
    const config = resolveConfig({ user: { overcommitMemory: 2, overcommitRatio: 10 } });
    const table = new ProcessTable(sys.machine, sys.pages, config);
    expect(table.vm.overcommitMemory).toBe(OVERCOMMIT_NEVER);
    expect(table.vm.commitLimit()).toBe(Math.floor(table.vm.totalramPages / 10));
    const mm = table.spawn();
    expect(mm.mmap(0, 200 << 20, RW, ANON)).toBe(-ENOMEM);
    table.exit(mm.pid);
    expect(table.vm.committed).toBe(0);
  });

  it('validates the sysctls, collecting every problem', () => {
    expect(resolveConfig().user).toMatchObject({ overcommitMemory: 0, overcommitRatio: 50, overcommitKbytes: 0 });
    let err: unknown;
    try {
      resolveConfig({ user: { overcommitRatio: -1, overcommitKbytes: 2 ** 60, userReserveKbytes: -2 } });
    } catch (e) {
      err = e;
    }
    expect(isAllocatorError(err, 'config')).toBe(true);
    expect((err as { info: { problems: string[] } }).info.problems).toEqual([
      'user.overcommitRatio -1 is not a percentage (a non-negative integer)',
      `user.overcommitKbytes ${2 ** 60} is not a KiB count`,
      'user.userReserveKbytes -2 is not a KiB count',
    ]);
    // A value of the wrong shape is refused by the schema pass first, naming the values allowed.
    expect(() => resolveConfig({ user: { overcommitMemory: 3 as 0, overcommitKbytes: 1.5 } })).toThrow("'user.overcommitMemory' must be one of 0, 1, 2, not 3; 'user.overcommitKbytes' must be an integer, not 1.5");
    expect(() => resolveConfig({ user: { overcommitRatio: 80, overcommitKbytes: 1024 } })).toThrow(/set user.overcommitRatio or user.overcommitKbytes, not both/);
  });

  it('random system calls in every mode keep Committed_AS equal to what the processes hold (M6) and give everything back at exit', () => {
    const P = 4096;
    const prot = fc.constantFrom(PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE);
    const op = fc.oneof(
      fc.record({ k: fc.constant('mmap' as const), pages: fc.integer({ min: 1, max: 600 }), prot, noreserve: fc.boolean(), shared: fc.boolean(), fixed: fc.option(fc.integer({ min: 0, max: 63 })) }),
      fc.record({ k: fc.constant('munmap' as const), at: fc.integer({ min: 0, max: 63 }), pages: fc.integer({ min: 1, max: 600 }) }),
      fc.record({ k: fc.constant('touch' as const), at: fc.integer({ min: 0, max: 63 }) }),
      fc.record({ k: fc.constant('brk' as const), pages: fc.integer({ min: 0, max: 900 }) }),
      fc.record({ k: fc.constant('mprotect' as const), at: fc.integer({ min: 0, max: 63 }), pages: fc.integer({ min: 1, max: 8 }), prot }),
      fc.record({ k: fc.constant('mremap' as const), at: fc.integer({ min: 0, max: 63 }), pages: fc.integer({ min: 1, max: 600 }), to: fc.option(fc.integer({ min: 0, max: 63 })) }),
      fc.record({ k: fc.constant('dontneed' as const), at: fc.integer({ min: 0, max: 63 }), pages: fc.integer({ min: 1, max: 8 }) }),
    );
    fc.assert(
      fc.property(fc.constantFrom<0 | 1 | 2>(0, 1, 2), fc.array(fc.tuple(fc.integer({ min: 0, max: 1 }), op), { maxLength: 50 }), (mode, cmds) => {
        const sys = createSystem({ machine: { memBytes: 64 << 20, kernelImageBytes: 4 << 20 } });
        // Mode 2 with a 4 MiB limit and no reserves: refusals happen within the window.
        sys.processes.vm.set(mode === 2 ? { overcommitMemory: 2, overcommitKbytes: 4096, adminReserveKbytes: 0, userReserveKbytes: 0 } : { overcommitMemory: mode });
        const free0 = sys.pages.stats().freePages;
        const procs = [sys.processes.spawn(), sys.processes.spawn()];
        const window = MMAP_BASE - 1024 * P;
        const at = (i: number): number => window + i * 16 * P;
        for (const [who, c] of cmds) {
          const mm = procs[who]!;
          if (c.k === 'mmap') {
            const flags = (c.shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS | (c.noreserve ? MAP_NORESERVE : 0) | (c.fixed !== null ? MAP_FIXED : 0);
            mm.mmap(c.fixed !== null ? at(c.fixed) : 0, c.pages * P, c.prot, flags);
          } else if (c.k === 'munmap') mm.munmap(at(c.at), c.pages * P);
          else if (c.k === 'brk') mm.brk(DEFAULT_START_BRK + c.pages * P);
          else if (c.k === 'mprotect') mm.mprotect(at(c.at), c.pages * P, c.prot);
          else if (c.k === 'mremap') mm.mremap(at(c.at), P, c.pages * P, MREMAP_MAYMOVE | (c.to !== null ? MREMAP_FIXED : 0), c.to !== null ? at(c.to) : 0);
          else if (c.k === 'dontneed') mm.madvise(at(c.at), c.pages * P, MADV_DONTNEED);
          else {
            try {
              mm.write8(at(c.at), 7);
            } catch (e) {
              if (!isAllocatorError(e, 'segfault')) throw e;
            }
          }
          expect(sys.checkInvariants()).toEqual([]);
        }
        for (const mm of procs) sys.processes.exit(mm.pid);
        expect(sys.processes.vm.committed).toBe(0);
        sys.pages.drainPcp();
        expect(sys.pages.stats().freePages).toBe(free0);
      }),
      { seed: 11, numRuns: 80 },
    );
  });
});
