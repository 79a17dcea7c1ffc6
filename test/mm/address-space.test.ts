import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createSystem } from '../../src/system.js';
import { MMAP_BASE, DEFAULT_START_BRK } from '../../src/mm/address-space.js';
import { EINVAL, MADV_DONTNEED, MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MREMAP_FIXED, MREMAP_MAYMOVE, PROT_READ, PROT_WRITE } from '../../src/interfaces/user.js';
import { isAllocatorError } from '../../src/interfaces/errors.js';
import { maps, smaps } from '../../src/proc/process.js';
import { existsSync, readFileSync } from 'node:fs';

const MACHINE = { machine: { memBytes: 128 << 20, cpus: 2 } };
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

describe('AddressSpace', () => {
  it('brk grows and shrinks the heap VMA, faulting pages on first touch', () => {
    const sys = createSystem(MACHINE);
    const mm = sys.processes.spawn();
    expect(mm.brk(0)).toBe(DEFAULT_START_BRK);
    expect(mm.brk(DEFAULT_START_BRK + 0x21000)).toBe(DEFAULT_START_BRK + 0x21000);
    mm.write64(DEFAULT_START_BRK + 0x20ff8, 42);
    expect(mm.read64(DEFAULT_START_BRK + 0x20ff8)).toBe(42);
    expect(mm.stats().rssPages).toBe(1);
    expect(mm.read8(DEFAULT_START_BRK)).toBe(0);
    expect(mm.brk(DEFAULT_START_BRK + 0x1000)).toBe(DEFAULT_START_BRK + 0x1000);
    expect(mm.stats().rssPages).toBe(1); // the page at +0x20ff8 went back
    expect(() => mm.read8(DEFAULT_START_BRK + 0x2000)).toThrow(/segfault at 55555555b000 .* error 4/);
    expect(sys.checkInvariants()).toEqual([]);
  });

  it('mmap places top-down below mmap_base; munmap splits; bad calls give -EINVAL', () => {
    const sys = createSystem(MACHINE);
    const mm = sys.processes.spawn();
    const a = mm.mmap(0, 4096, RW, ANON);
    expect(a).toBe(MMAP_BASE - 4096);
    const b = mm.mmap(0, 3 * 4096, PROT_READ, ANON);
    expect(b).toBe(a - 3 * 4096);
    expect(mm.munmap(b + 4096, 4096)).toBe(0);
    expect(mm.vmas().filter((v) => v.start >= b && v.end <= a).map((v) => [v.start - b, v.end - b])).toEqual([
      [0, 4096],
      [8192, 12288],
    ]);
    expect(mm.munmap(b + 1, 4096)).toBe(-EINVAL);
    expect(mm.munmap(b, 0)).toBe(-EINVAL);
    expect(mm.mmap(0, 0, RW, ANON)).toBe(-EINVAL);
    expect(() => mm.write8(b, 1)).toThrow(/error 6/);
    expect(sys.checkInvariants()).toEqual([]);
  });

  it('mremap grows in place or moves the pages; mprotect splits and merges back; madvise zeroes', () => {
    const sys = createSystem(MACHINE);
    const mm = sys.processes.spawn();
    const top = mm.mmap(0, 8192, RW, ANON);
    expect(mm.mremap(top, 8192, 4 * 8192, MREMAP_MAYMOVE)).toBe(top); // nothing above: grows in place
    const a = mm.mmap(0, 8192, RW, ANON); // directly below, touching: must move to grow
    mm.write64(a, 0x1234);
    const moved = mm.mremap(a, 8192, 5 * 8192, MREMAP_MAYMOVE);
    expect(moved).not.toBe(a);
    expect(mm.read64(moved)).toBe(0x1234);
    const before = mm.vmas().length;
    expect(mm.mprotect(moved + 4096, 4096, PROT_READ)).toBe(0);
    expect(mm.vmas().length).toBe(before + 2);
    expect(mm.mprotect(moved + 4096, 4096, RW)).toBe(0);
    expect(mm.vmas().length).toBe(before);
    expect(mm.madvise(moved, 4096, MADV_DONTNEED)).toBe(0);
    expect(mm.read64(moved)).toBe(0);
    expect(sys.checkInvariants()).toEqual([]);
  });

  it('mremap MREMAP_FIXED moves to the given address, replacing what was there, and checks its arguments', () => {
    const sys = createSystem(MACHINE);
    const mm = sys.processes.spawn();
    const src = mm.mmap(0, 3 * 4096, RW, ANON);
    mm.write64(src + 4096, 77);
    const dst = 0x600000000000;
    mm.mmap(dst, 4096, RW, ANON | MAP_FIXED);
    mm.write64(dst, 5);
    expect(mm.mremap(src, 3 * 4096, 2 * 4096, MREMAP_FIXED)).toBe(-EINVAL); // needs MREMAP_MAYMOVE
    expect(mm.mremap(src, 3 * 4096, 2 * 4096, MREMAP_MAYMOVE | MREMAP_FIXED, dst + 8)).toBe(-EINVAL);
    expect(mm.mremap(src, 3 * 4096, 2 * 4096, MREMAP_MAYMOVE | MREMAP_FIXED, src + 4096)).toBe(-EINVAL); // overlaps the source
    // Shrinking while moving: the old tail goes, the old mapping at dst is replaced.
    expect(mm.mremap(src, 3 * 4096, 2 * 4096, MREMAP_MAYMOVE | MREMAP_FIXED, dst)).toBe(dst);
    expect(mm.read64(dst + 4096)).toBe(77);
    expect(mm.read64(dst)).toBe(0);
    expect(mm.vmas().some((v) => v.start <= src && src < v.end)).toBe(false);
    expect(sys.checkInvariants()).toEqual([]);
  });

  it('a negative address is a segfault, even with every TLB slot empty', () => {
    const mm = createSystem(MACHINE).processes.spawn();
    for (const va of [-8, -4096, -1]) expect(() => mm.read64(va)).toThrow(/segfault at/);
    expect(() => mm.write8(-8, 1)).toThrow(/segfault at/);
  });

  it('a kernel address from user mode is a segfault', () => {
    const mm = createSystem(MACHINE).processes.spawn();
    try {
      mm.read64(0x888000001000);
      throw new Error('no fault');
    } catch (e) {
      expect(isAllocatorError(e, 'segfault')).toBe(true);
    }
  });

  it('exit gives every page and page table back', () => {
    const sys = createSystem(MACHINE);
    const free0 = sys.pages.stats().freePages;
    const { mm, libc } = sys.spawn();
    for (let i = 0; i < 200; i++) libc.malloc(100 + i * 50);
    libc.malloc(1 << 20);
    sys.processes.exit(mm.pid);
    sys.pages.drainPcp();
    expect(sys.pages.stats().freePages).toBe(free0);
    expect(sys.checkInvariants()).toEqual([]);
  });

  it('random syscalls on two processes keep M1–M5 and the cross-layer invariants', () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant('mmap' as const), pages: fc.integer({ min: 1, max: 16 }) }),
      fc.record({ k: fc.constant('munmap' as const), at: fc.integer({ min: 0, max: 63 }), pages: fc.integer({ min: 1, max: 8 }) }),
      fc.record({ k: fc.constant('touch' as const), at: fc.integer({ min: 0, max: 63 }) }),
      fc.record({ k: fc.constant('brk' as const), pages: fc.integer({ min: 0, max: 40 }) }),
      fc.record({ k: fc.constant('mprotect' as const), at: fc.integer({ min: 0, max: 63 }), ro: fc.boolean() }),
      fc.record({ k: fc.constant('mremap' as const), at: fc.integer({ min: 0, max: 63 }), pages: fc.integer({ min: 1, max: 20 }) }),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 1 }), op), { maxLength: 60 }), (cmds) => {
        const sys = createSystem(MACHINE);
        const procs = [sys.processes.spawn(), sys.processes.spawn()];
        const window = MMAP_BASE - 64 * 4096;
        for (const [who, c] of cmds) {
          const mm = procs[who]!;
          const at = 'at' in c ? window + c.at * 4096 : 0;
          if (c.k === 'mmap') mm.mmap(0, c.pages * 4096, RW, ANON);
          else if (c.k === 'munmap') mm.munmap(at, c.pages * 4096);
          else if (c.k === 'brk') mm.brk(DEFAULT_START_BRK + c.pages * 4096);
          else if (c.k === 'mprotect') mm.mprotect(at, 4096, c.ro ? PROT_READ : RW);
          else if (c.k === 'mremap') mm.mremap(at, 4096, c.pages * 4096, MREMAP_MAYMOVE);
          else {
            try {
              mm.write8(at, 7);
            } catch (e) {
              if (!isAllocatorError(e, 'segfault')) throw e;
            }
          }
        }
        expect(sys.checkInvariants()).toEqual([]);
      }),
      { seed: 7, numRuns: 60 },
    );
  });

  it('/proc/PID/maps prints the Linux format', () => {
    const sys = createSystem(MACHINE);
    const { mm, libc } = sys.spawn();
    libc.malloc(10);
    const text = maps(mm);
    expect(text.split('\n')[0]).toBe('555555554000-555555555000 r--p 00000000 00:00 0'.padEnd(72) + ' /usr/bin/allocsim-client');
    expect(text.split('\n')[0]!.indexOf('/usr')).toBe(73);
    expect(text).toContain('555555559000-55555557a000 rw-p 00000000 00:00 0'.padEnd(72) + ' [heap]');
    expect(text).toContain('7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0'.padEnd(72) + ' [stack]');
    expect(text).toMatch(/^7ffff7ffe000-7ffff7fff000 rw-p 00000000 00:00 0 $/m);
  });
});

describe('/proc/PID/smaps against the host kernel', () => {
  const host = existsSync('/proc/self/smaps') ? readFileSync('/proc/self/smaps', 'utf8') : '';
  const itHost = host ? it : it.skip;
  /** The lines of the first VMA block after its header, with digits blanked (the layout, not the values). */
  const block = (text: string): string[] => {
    const lines = text.split('\n');
    const end = lines.findIndex((l) => l.startsWith('VmFlags:'));
    return lines.slice(1, end).map((l) => l.replace(/\d/g, '9').replace(/ +9+/g, (m) => ' '.repeat(m.length - 1) + '9'));
  };

  itHost('prints the same fields in the same order and columns as the running kernel', () => {
    const sys = createSystem(MACHINE);
    const { mm, libc } = sys.spawn();
    mm.write64(libc.malloc(100), 1);
    const ours = smaps(mm);
    // Labels in order, and each value right-aligned to column 24 (SEQ_PUT_DEC's width 8 after a 16-column label).
    expect(block(ours)).toEqual(block(host).filter((l) => !l.startsWith('ProtectionKey:')));
    const heap = ours.split('\n').findIndex((l) => l.endsWith('[heap]'));
    expect(ours.split('\n').slice(heap, heap + 5)).toEqual([
      `555555559000-55555557a000 rw-p 00000000 00:00 0${' '.repeat(26)}[heap]`,
      'Size:                132 kB',
      'KernelPageSize:        4 kB',
      'MMUPageSize:           4 kB',
      'Rss:                   4 kB',
    ]);
    expect(ours).toMatch(/\[heap\]\n(?:.*\n){22}THPeligible: {11}0\nVmFlags: rd wr mr mw me ac \n/);
  });
});
