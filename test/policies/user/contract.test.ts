/** One contract for every user-space malloc policy, plus glibc's own abort messages for ptmalloc. */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createSystem } from '../../../src/system.js';
import { policyNames } from '../../../src/policies/registry.js';
import { isAllocatorError } from '../../../src/interfaces/errors.js';

const MACHINE = { machine: { memBytes: 256 << 20, cpus: 2 } };

describe.each(policyNames('malloc'))('user malloc contract: %s', (malloc) => {
  it('model-based: live blocks never overlap, are 16-aligned, keep their bytes, and the heap stays consistent', () => {
    const cmd = fc.oneof(
      fc.record({ k: fc.constant('malloc' as const), size: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 70000 }), fc.integer({ min: 100000, max: 300000 })) }),
      fc.record({ k: fc.constant('free' as const), i: fc.nat() }),
      fc.record({ k: fc.constant('realloc' as const), i: fc.nat(), size: fc.integer({ min: 1, max: 150000 }) }),
      fc.record({ k: fc.constant('calloc' as const), n: fc.integer({ min: 1, max: 8 }), size: fc.integer({ min: 1, max: 600 }) }),
      fc.record({ k: fc.constant('memalign' as const), align: fc.constantFrom(32, 64, 256, 4096), size: fc.integer({ min: 1, max: 5000 }) }),
    );
    fc.assert(
      fc.property(fc.array(cmd, { maxLength: 80 }), (cmds) => {
        const sys = createSystem({ ...MACHINE, policies: { malloc } });
        const { mm, libc } = sys.spawn();
        const live: { p: number; size: number; tag: number }[] = [];
        let tag = 1;
        const add = (p: number, size: number, align = 16): void => {
          if (p === 0) return;
          expect(p % align).toBe(0);
          expect(libc.usableSize(p)).toBeGreaterThanOrEqual(size);
          for (const o of live) expect(p + Math.max(size, 1) <= o.p || o.p + Math.max(o.size, 1) <= p).toBe(true);
          const t = tag++ & 0xff;
          if (size > 0) {
            mm.write8(p, t);
            mm.write8(p + size - 1, t);
          }
          live.push({ p, size, tag: t });
        };
        for (const c of cmds) {
          if (c.k === 'malloc') add(libc.malloc(c.size), c.size);
          else if (c.k === 'calloc') {
            const p = libc.calloc(c.n, c.size);
            for (let i = 0; i < c.n * c.size; i += 97) expect(mm.read8(p + i)).toBe(0);
            add(p, c.n * c.size);
          } else if (c.k === 'memalign') add(libc.memalign(c.align, c.size), c.size, c.align);
          else if (live.length) {
            const j = c.i % live.length;
            const b = live[j]!;
            if (b.size > 0) expect([mm.read8(b.p), mm.read8(b.p + b.size - 1)]).toEqual([b.tag, b.tag]);
            live.splice(j, 1);
            if (c.k === 'free') libc.free(b.p);
            else {
              const q = libc.realloc(b.p, c.size);
              if (b.size > 0) expect(mm.read8(q)).toBe(b.tag);
              add(q, c.size);
            }
          }
          expect(libc.checkInvariants()).toEqual([]);
        }
        expect(sys.checkInvariants()).toEqual([]);
      }),
      { seed: 3, numRuns: 40 },
    );
  });

  it('malloc of an absurd size returns NULL and changes nothing', () => {
    const { libc } = createSystem({ ...MACHINE, policies: { malloc } }).spawn();
    expect(libc.malloc(2 ** 60)).toBe(0);
    expect(libc.malloc(16)).not.toBe(0);
  });
});

describe('ptmalloc misuse aborts with glibc 2.36 messages', () => {
  const abort = (fn: (libc: ReturnType<typeof spawn>) => void, msg: string, tcache = true): void => {
    const libc = spawn(tcache);
    try {
      fn(libc);
      throw new Error('did not abort');
    } catch (e) {
      expect(isAllocatorError(e, 'malloc-abort')).toBe(true);
      expect((e as Error).message).toBe(msg);
    }
  };
  const spawn = (tcache: boolean) => createSystem({ ...MACHINE, user: { tcache } }).spawn().libc;
  it('double free in the tcache', () => abort((l) => { const p = l.malloc(40); l.free(p); l.free(p); }, 'free(): double free detected in tcache 2'));
  it('double free at the top of a fastbin', () => abort((l) => { const p = l.malloc(40); l.malloc(40); l.free(p); l.free(p); }, 'double free or corruption (fasttop)', false));
  it('double free of a small chunk', () => abort((l) => { const p = l.malloc(400); l.malloc(40); l.free(p); l.free(p); }, 'double free or corruption (!prev)', false));
  it('misaligned pointer', () => abort((l) => { const p = l.malloc(400); l.free(p + 8); }, 'free(): invalid pointer'));
  it('overflow into the next chunk header', () => abort((l) => {
    const sys = createSystem(MACHINE);
    const { mm, libc } = sys.spawn();
    const p = libc.malloc(2000);
    libc.malloc(24);
    mm.write64(p + 2000 + 8, 1); // smash the next chunk's size (PREV_INUSE kept)
    libc.free(p);
    void l;
  }, 'free(): invalid next size (normal)'));
});
