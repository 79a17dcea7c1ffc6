import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { MemMap, flagPairs, nextFlagged } from '../../src/machine/memmap.js';

describe('PfnLists', () => {
  it('behaves like an array of deques under random operations', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ op: fc.constantFrom('head', 'tail', 'del'), list: fc.nat({ max: 2 }), pfn: fc.nat({ max: 63 }) }), { maxLength: 200 }), (ops) => {
        const mm = new MemMap(64);
        const heads = [mm.lists.newHead(), mm.lists.newHead(), mm.lists.newHead()];
        const model: number[][] = [[], [], []];
        const where = new Map<number, number>();
        for (const o of ops) {
          if (o.op === 'del') {
            const l = where.get(o.pfn);
            if (l === undefined) continue;
            mm.lists.del(o.pfn);
            model[l]!.splice(model[l]!.indexOf(o.pfn), 1);
            where.delete(o.pfn);
          } else if (!where.has(o.pfn)) {
            if (o.op === 'head') {
              mm.lists.addHead(heads[o.list]!, o.pfn);
              model[o.list]!.unshift(o.pfn);
            } else {
              mm.lists.addTail(heads[o.list]!, o.pfn);
              model[o.list]!.push(o.pfn);
            }
            where.set(o.pfn, o.list);
          }
        }
        heads.forEach((h, i) => {
          const w = mm.lists.walk(h, 100);
          expect(w.ok).toBe(true);
          expect(w.pfns).toEqual(model[i]);
          const into = mm.lists.walkInto(h, 100);
          expect(into.ok).toBe(true);
          expect([...into.pfns.subarray(0, into.n)]).toEqual(model[i]);
          expect(mm.lists.first(h)).toBe(model[i]![0] ?? -1);
          expect(mm.lists.last(h)).toBe(model[i]![model[i]!.length - 1] ?? -1);
        });
      }),
      { numRuns: 200 },
    );
  });

  it('reports a cycle instead of hanging', () => {
    const mm = new MemMap(8);
    const h = mm.lists.newHead();
    mm.lists.addTail(h, 1);
    mm.lists.addTail(h, 2);
    mm.next[2] = 1; // corrupt: 2 -> 1 -> 2 -> ...
    const w = mm.lists.walk(h, 16);
    expect(w.ok).toBe(false);
    expect(w.problem).toMatch(/back link|cycle/);
    const into = mm.lists.walkInto(h, 16);
    expect({ ok: into.ok, problem: into.problem, pfns: [...into.pfns.subarray(0, into.n)] }).toEqual(w);
  });
});

describe('nextFlagged', () => {
  it('stops at the frame a one-by-one scan stops at', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 0xffff }), { minLength: 1, maxLength: 70 }), fc.nat(), fc.nat(), fc.nat({ max: 15 }), (fs, a, b, bit) => {
        const flags = new Uint16Array(fs.map((f) => (f & 3 ? 0 : f)));
        const end = b % (flags.length + 1);
        const mask = 1 << bit;
        const pairs = flagPairs(flags);
        for (let p = a % (flags.length + 1); ; p++) {
          let want = p;
          while (want < end && !(flags[want]! & mask)) want++;
          expect(nextFlagged(flags, pairs, p, end, mask)).toBe(p >= end ? p : want);
          if (p >= end) break;
        }
      }),
      { numRuns: 300 },
    );
  });
});
