import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { AugTree, NIL } from '../../src/mm/augtree.js';
import { VmaTree } from '../../src/mm/vma-tree.js';
import { isAllocatorError } from '../../src/interfaces/errors.js';

/** A model entry: [start, value]. */
type Entry = [number, number];

const op = fc.oneof(
  fc.record({ k: fc.constant('ins' as const), key: fc.integer({ min: 0, max: 200 }), value: fc.integer({ min: 0, max: 50 }) }),
  fc.record({ k: fc.constant('del' as const), pick: fc.nat() }),
  fc.record({ k: fc.constant('set' as const), pick: fc.nat(), value: fc.integer({ min: 0, max: 50 }) }),
  fc.record({ k: fc.constant('q' as const), key: fc.integer({ min: -5, max: 205 }), min: fc.integer({ min: 0, max: 55 }), span: fc.integer({ min: 0, max: 210 }) }),
);

describe('AugTree', () => {
  it('stays balanced with exact maxima and answers every query like a sorted-array model', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const t = new AugTree({ initialCapacity: 2 });
        const model = new Map<number, { node: number; value: number }>();
        const sorted = (): Entry[] => [...model.entries()].map(([s, e]): Entry => [s, e.value]).sort((a, b) => a[0] - b[0]);
        for (const o of ops) {
          const keys = [...model.keys()];
          if (o.k === 'ins') {
            if (model.has(o.key)) {
              expect(() => t.insert(o.key, o.key + 1, o.value)).toThrow(/already exists/);
            } else {
              model.set(o.key, { node: t.insert(o.key, o.key + 1, o.value), value: o.value });
            }
          } else if (o.k === 'del' && keys.length > 0) {
            const key = keys[o.pick % keys.length]!;
            t.remove(model.get(key)!.node);
            model.delete(key);
          } else if (o.k === 'set' && keys.length > 0) {
            const e = model.get(keys[o.pick % keys.length]!)!;
            t.setValue(e.node, o.value);
            e.value = o.value;
          } else if (o.k === 'q') {
            const s = sorted();
            const lo = o.key;
            const hi = o.key + o.span;
            const inRange = s.filter(([k, v]) => k >= lo && k <= hi && v >= o.min);
            const low = t.findLowest(o.min, lo, hi);
            const high = t.findHighest(o.min, lo, hi);
            expect(low === NIL ? undefined : t.start(low)).toBe(inRange[0]?.[0]);
            expect(high === NIL ? undefined : t.start(high)).toBe(inRange.at(-1)?.[0]);
            const fl = t.floor(o.key);
            expect(fl === NIL ? undefined : t.start(fl)).toBe(s.filter(([k]) => k <= o.key).at(-1)?.[0]);
            const lb = t.lowerBound(o.key);
            expect(lb === NIL ? undefined : t.start(lb)).toBe(s.find(([k]) => k >= o.key)?.[0]);
            const ub = t.upperBound(o.key);
            expect(ub === NIL ? undefined : t.start(ub)).toBe(s.find(([k]) => k > o.key)?.[0]);
          }
          expect(t.check()).toEqual([]);
        }
        // In-order walk both ways equals the model; node numbers stayed stable.
        const s = sorted();
        const fwd: number[] = [];
        for (let n = t.first(); n !== NIL; n = t.next(n)) fwd.push(t.start(n));
        const back: number[] = [];
        for (let n = t.last(); n !== NIL; n = t.prev(n)) back.push(t.start(n));
        expect(fwd).toEqual(s.map((e) => e[0]));
        expect(back).toEqual(fwd.slice().reverse());
        for (const [key, e] of model) expect(t.start(e.node)).toBe(key);
        expect(t.size).toBe(model.size);
        // Height stays within the AVL bound 1.44·log2(n + 2).
        const height = (n: number): number => (n === NIL ? 0 : 1 + Math.max(height(t.leftOf(n)), height(t.rightOf(n))));
        expect(height(t.root)).toBeLessThanOrEqual(Math.ceil(1.45 * Math.log2(model.size + 2)));
      }),
      { numRuns: 150, seed: 42 },
    );
  });

  it('check() reports a corrupted maximum', () => {
    const t = new AugTree();
    const a = t.insert(10, 20, 5);
    t.insert(30, 40, 7);
    expect(t.check()).toEqual([]);
    (t as unknown as { maxA: Float64Array }).maxA[a] = 99;
    expect(t.check().join('\n')).toMatch(/subtree max 99, expected/);
  });

  it('rejects a dead node and a reordering start move as misuse', () => {
    const t = new AugTree({ name: 'demo' });
    const a = t.insert(10, 20, 0);
    const b = t.insert(30, 40, 0);
    t.remove(a);
    let err: unknown;
    try {
      t.remove(a);
    } catch (e) {
      err = e;
    }
    expect(isAllocatorError(err) && err.kind === 'misuse').toBe(true);
    expect(() => t.setStart(b, 5)).not.toThrow();
    const c = t.insert(50, 60, 0);
    expect(() => t.setStart(c, 1)).toThrow(/would reorder/);
  });
});

describe('VmaTree', () => {
  /** Brute-force unmapped_area_topdown over a sorted list of [start, end). */
  const bruteTopDown = (vmas: [number, number][], len: number, low: number, high: number): number => {
    const bounds = [[-Infinity, 0] as [number, number], ...vmas, [Infinity, Infinity] as [number, number]];
    for (let i = bounds.length - 1; i > 0; i--) {
      const gs = Math.max(bounds[i - 1]![1], low);
      const ge = Math.min(bounds[i]![0], high);
      if (ge - gs >= len) return ge - len;
    }
    return -1;
  };

  it('finds the same top-down hole as a linear scan, with gaps kept exact through inserts, removals and end moves', () => {
    const P = 0x1000;
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ k: fc.constant('map' as const), at: fc.integer({ min: 1, max: 500 }), pages: fc.integer({ min: 1, max: 20 }) }),
            fc.record({ k: fc.constant('unmap' as const), pick: fc.nat() }),
            fc.record({ k: fc.constant('grow' as const), pick: fc.nat(), pages: fc.integer({ min: -5, max: 5 }) }),
            fc.record({ k: fc.constant('find' as const), len: fc.integer({ min: 1, max: 60 }), low: fc.integer({ min: 0, max: 300 }), high: fc.integer({ min: 0, max: 600 }) }),
          ),
          { maxLength: 200 },
        ),
        (ops) => {
          const t = new VmaTree();
          for (const o of ops) {
            const list = t.toArray();
            if (o.k === 'map') {
              if (t.isFree(o.at * P, (o.at + o.pages) * P)) t.insert(o.at * P, (o.at + o.pages) * P, 3, false, '');
            } else if (o.k === 'unmap' && list.length > 0) {
              t.remove(list[o.pick % list.length]!);
            } else if (o.k === 'grow' && list.length > 0) {
              const v = list[o.pick % list.length]!;
              const nx = t.next(v);
              const end = v.end + o.pages * P;
              if (end > v.start && (nx === undefined || end <= nx.start)) t.setEnd(v, end);
            } else if (o.k === 'find') {
              const want = bruteTopDown(
                list.map((v): [number, number] => [v.start, v.end]),
                o.len * P,
                o.low * P,
                o.high * P,
              );
              expect(t.topDown(o.len * P, o.low * P, o.high * P)).toBe(want);
            }
            expect(t.check()).toEqual([]);
          }
          // find_vma: the first VMA ending above the address.
          const list = t.toArray();
          for (let a = 0; a < 530 * P; a += 7 * P) expect(t.find(a)).toBe(list.find((v) => v.end > a));
        },
      ),
      { numRuns: 120, seed: 7 },
    );
  });
});
