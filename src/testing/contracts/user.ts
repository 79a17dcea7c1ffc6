/** The user-space malloc contract, for every malloc policy and any class bound at USER_MALLOC. */
import { expect } from '../expect.js';
import fc from 'fast-check';
import { createSystem, type System } from '../../system.js';
import { fuzzUser } from '../fuzz.js';
import { type ContractTarget, defaultRunner, type TestRunner } from '../target.js';

const MACHINE = { machine: { memBytes: 256 << 20, cpus: 2 } };

/** Registers the user-space malloc contract suite (model-based, NULL on absurd sizes) for `target`. */
export function userMallocContract(target: ContractTarget, runner: TestRunner = defaultRunner()): void {
  const { describe, it } = runner;
  const mk = (): System => createSystem({ ...target.config, ...MACHINE }, target.overrides);
  describe(`user malloc contract: ${target.label}`, () => {
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
          const sys = mk();
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
      const { libc } = mk().spawn();
      expect(libc.malloc(2 ** 60)).toBe(0);
      expect(libc.malloc(16)).not.toBe(0);
    });

    it('survives the user fuzz campaign (seed 1, 20 runs of 100 commands)', () => {
      fuzzUser(target, { seed: 1, numRuns: 20, maxCommands: 100 });
    });
  });
}
