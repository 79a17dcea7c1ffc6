import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { PhysicalMemory } from '../../src/machine/physmem.js';
import { asPfn } from '../../src/interfaces/units.js';

describe('PhysicalMemory', () => {
  it('reads zero where nothing was written and backs only touched pages', () => {
    const m = new PhysicalMemory(1 << 20);
    expect(m.read64(123456789)).toBe(0);
    expect(m.backedPages).toBe(0);
    m.write8(4096 * 5 + 7, 0xab);
    expect(m.backedPages).toBe(1);
    expect(m.read8(4096 * 5 + 7)).toBe(0xab);
  });

  it('agrees with a byte-map model for random little-endian accesses, across page boundaries', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ addr: fc.integer({ min: 0, max: 4 * 4096 - 8 }), width: fc.constantFrom(1, 2, 4, 8), value: fc.integer({ min: 0, max: 2 ** 53 - 1 }) }), { maxLength: 60 }),
        (writes) => {
          const m = new PhysicalMemory(4);
          const model = new Uint8Array(4 * 4096);
          for (const w of writes) {
            const v = w.width === 8 ? w.value : w.value % 2 ** (8 * w.width);
            if (w.width === 1) m.write8(w.addr, v);
            else if (w.width === 2) m.write16(w.addr, v);
            else if (w.width === 4) m.write32(w.addr, v);
            else m.write64(w.addr, v);
            let x = BigInt(v);
            for (let i = 0; i < w.width; i++) {
              model[w.addr + i] = Number(x & 0xffn);
              x >>= 8n;
            }
          }
          for (let a = 0; a < model.length; a += 97) expect(m.read8(a)).toBe(model[a]);
          for (const w of writes) {
            let expected = 0n;
            for (let i = 7; i >= 0; i--) expected = (expected << 8n) | BigInt(model[w.addr + i] ?? 0);
            expect(m.read64n(w.addr)).toBe(expected);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('read64s reads what read64 reads, across pages, backed or not, and creates no backing', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: 4 * 512 - 1 }), fc.integer({ min: 0, max: 2 ** 53 - 1 })), { maxLength: 20 }), fc.nat({ max: 4 * 4096 - 8 }), fc.nat({ max: 600 }), fc.boolean(), (writes, from, n, poison) => {
        const m = new PhysicalMemory(4);
        if (poison) m.setBackground(asPfn(3), 1, 0xaa);
        for (const [slot, v] of writes) if (slot < 3 * 512 || !poison) m.write64(slot * 8, v);
        const count = Math.min(n, Math.floor((4 * 4096 - from) / 8));
        const backed = m.backedPages;
        const out = new Float64Array(count + 2);
        m.read64s(from, count, out, 1);
        expect(m.backedPages).toBe(backed);
        expect([...out.subarray(1, count + 1)]).toEqual(Array.from({ length: count }, (_, i) => m.read64(from + 8 * i)));
      }),
      { numRuns: 200 },
    );
  });

  it('write64s leaves memory as write64 of each value would, across pages, aligned or not', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2 ** 53 - 1 }), { maxLength: 600 }), fc.nat({ max: 4 * 4096 - 8 }), fc.nat({ max: 3 }), (vals, at, skew) => {
        const from = at - (at % 8) + (skew === 3 ? 4 : 0);
        const count = Math.min(vals.length, Math.floor((4 * 4096 - from) / 8));
        const bulk = new PhysicalMemory(4);
        const one = new PhysicalMemory(4);
        bulk.write64s(from, count, Float64Array.from([7, ...vals]), 1);
        for (let i = 0; i < count; i++) one.write64(from + 8 * i, vals[i]!);
        expect([...bulk.readBytes(0, 4 * 4096)]).toEqual([...one.readBytes(0, 4 * 4096)]);
      }),
      { numRuns: 100 },
    );
  });

  it('fills, copies, finds and discards', () => {
    const m = new PhysicalMemory(8);
    m.fill(4000, 200, 0x6b);
    expect(m.findNot(4000, 200, 0x6b)).toBe(-1);
    m.write8(4100, 1);
    expect(m.findNot(4000, 200, 0x6b)).toBe(100);
    m.copy(20000, 4000, 200);
    expect(m.read8(20100)).toBe(1);
    m.discard(0 as never, 8);
    expect(m.backedPages).toBe(0);
    expect(m.read8(20100)).toBe(0);
    expect(m.findNot(0, 4096 * 8, 0)).toBe(-1);
  });

  it('rejects ranges outside the machine', () => {
    const m = new PhysicalMemory(2);
    expect(() => m.checkRange(8000, 500, 'read')).toThrow(/outside the 2-page machine/);
  });
});
