/** The dev_kmalloc contract, for dev_kmalloc over every slab policy and any class bound at DEV_KMALLOC. */
import { expect } from '../expect.js';
import { GFP_KERNEL } from '../../interfaces/gfp.js';
import { DEV_MAGIC, DevHeader } from '../../interfaces/devres.js';
import { isAllocatorError } from '../../interfaces/errors.js';
import { PAGE_OFFSET } from '../../interfaces/units.js';
import { createSystem, type System } from '../../system.js';
import { fuzzSlab } from '../fuzz.js';
import { type ContractTarget, defaultRunner, type TestRunner } from '../target.js';

const errOf = (fn: () => unknown): { kind: string; message: string } => {
  try {
    fn();
  } catch (e) {
    if (isAllocatorError(e)) return { kind: e.kind, message: e.message };
    throw e;
  }
  return { kind: 'none', message: '' };
};

/** Registers the dev_kmalloc contract suite (header layout, devres lists and release, each misuse with its report) for `target`. */
export function devContract(target: ContractTarget, runner: TestRunner = defaultRunner()): void {
  const { describe, it } = runner;
  const mk = (): System => createSystem({ ...target.config, machine: { memBytes: 64 << 20, kernelImageBytes: 4 << 20, cpus: 2 } }, target.overrides);
  describe(`dev_kmalloc contract: ${target.label}`, () => {
    it('writes the header in the x86_64 layout 64 bytes before the returned pointer', () => {
      const sys = mk();
      const dev = sys.dev.registerDevice('eth0');
      sys.machine.ctx.caller = 'e1000_probe+0x1c/0x200';
      const p = sys.dev.devKmalloc(dev, 100, GFP_KERNEL);
      const h = p - 64 - PAGE_OFFSET;
      const mem = sys.machine.mem;
      expect(mem.read32(h + DevHeader.MAGIC)).toBe(DEV_MAGIC);
      expect(mem.read64(h + DevHeader.SIZE)).toBe(100);
      expect(mem.read32(h + DevHeader.FLAGS)).toBe(GFP_KERNEL);
      expect(sys.kmem.ksize(p - 64)).toBeGreaterThanOrEqual(164);
      const list = sys.dev.allocations(dev);
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({ ptr: p, size: 100, caller: 'e1000_probe+0x1c/0x200' });
      expect(sys.checkInvariants()).toEqual([]);
    });

    it('keeps each device\'s allocations on its own list, frees them on release, and dev_kfree unlinks', () => {
      const sys = mk();
      const a = sys.dev.registerDevice('a');
      const b = sys.dev.registerDevice('b');
      const pa = [10, 20, 30].map((n) => sys.dev.devKzalloc(a, n, GFP_KERNEL));
      const pb = sys.dev.devKmalloc(b, 5000, GFP_KERNEL);
      sys.dev.devKfree(pa[1]!);
      expect(sys.dev.allocations(a).map((x) => x.size)).toEqual([10, 30]);
      const grown = sys.dev.devKrealloc(pa[0]!, 400, GFP_KERNEL);
      expect(sys.dev.allocations(a).map((x) => x.size)).toEqual([30, 400]);
      expect(grown).not.toBe(0);
      const rep = sys.dev.deviceRelease(a);
      expect(rep).toMatchObject({ device: 'a', bytes: 430 });
      expect(() => sys.dev.devKmalloc(a, 1, GFP_KERNEL)).toThrow(/not registered/);
      expect(sys.dev.allocations(b).map((x) => x.ptr)).toEqual([pb]);
      expect(sys.checkInvariants()).toEqual([]);
    });

    it('reports kfree() of a dev_kmalloc pointer (the header would be left behind)', () => {
      const sys = mk();
      const dev = sys.dev.registerDevice('sda');
      const p = sys.dev.devKmalloc(dev, 48, GFP_KERNEL);
      const e = errOf(() => sys.kmem.kfree(p));
      expect(e.kind).toBe('invalid-free');
      expect(e.message).toMatch(/kfree\(\) of a dev_kmalloc pointer: .* the header at 0x[0-9a-f]+ \(device sda, 48 bytes, caller \S+\) would be left behind — use dev_kfree\(\)/);
      expect(sys.checkInvariants()).toEqual([]);
    });

    it('reports dev_kfree of a plain kmalloc pointer, of a wild pointer, and a double dev_kfree', () => {
      const sys = mk();
      const dev = sys.dev.registerDevice('sdb');
      const k = sys.kmem.kmalloc(200, GFP_KERNEL);
      expect(errOf(() => sys.dev.devKfree(k + 64))).toMatchObject({ kind: 'invalid-free' });
      expect(errOf(() => sys.dev.devKfree(k + 64)).message).toMatch(/not a dev_kmalloc pointer: no header/);
      expect(errOf(() => sys.dev.devKfree(0x1234)).message).toMatch(/wild pointer/);
      const p = sys.dev.devKmalloc(dev, 16, GFP_KERNEL);
      sys.dev.devKfree(p);
      expect(errOf(() => sys.dev.devKfree(p))).toMatchObject({ kind: 'double-free' });
      expect(errOf(() => sys.dev.devKfree(p)).message).toMatch(/double dev_kfree/);
      expect(sys.checkInvariants()).toEqual([]);
    });

    it('finds a corrupted header on free and on a walk (magic, size, links)', () => {
      const sys = mk();
      const dev = sys.dev.registerDevice('nvme0');
      const p = sys.dev.devKmalloc(dev, 64, GFP_KERNEL);
      const q = sys.dev.devKmalloc(dev, 64, GFP_KERNEL);
      const mem = sys.machine.mem;
      const hp = p - 64 - PAGE_OFFSET;
      // An underflow from the user pointer smashes the magic.
      mem.write8(hp + 1, 0x41);
      expect(sys.checkInvariants().map((v) => v.code)).toContain('D1');
      expect(errOf(() => sys.dev.devKfree(p)).message).toMatch(/header corrupted: magic 0xdead41ef/);
      mem.write8(hp + 1, 0xbe);
      mem.write64(hp + DevHeader.SIZE, 9999);
      expect(errOf(() => sys.dev.devKfree(p)).message).toMatch(/header corrupted: size 9999 but 64/);
      mem.write64(hp + DevHeader.SIZE, 64);
      const hq = q - 64 - PAGE_OFFSET;
      const savedPrev = mem.read64(hq + DevHeader.PREV);
      mem.write64(hq + DevHeader.PREV, 0x888000000040);
      expect(errOf(() => sys.dev.devKfree(q)).message).toMatch(/list links .* do not point back to it \(corrupted double-linked list\)/);
      expect(sys.checkInvariants().map((v) => v.code)).toContain('D3');
      mem.write64(hq + DevHeader.PREV, savedPrev);
      sys.dev.devKfree(q);
      sys.dev.devKfree(p);
      expect(sys.checkInvariants()).toEqual([]);
    });

    it('validates device names and sizes', () => {
      const sys = mk();
      sys.dev.registerDevice('x');
      expect(errOf(() => sys.dev.registerDevice('x')).kind).toBe('config');
      expect(errOf(() => sys.dev.registerDevice('')).kind).toBe('config');
      expect(errOf(() => sys.dev.devKmalloc(42, 8, GFP_KERNEL)).kind).toBe('unknown-name');
      expect(errOf(() => sys.dev.devKmalloc(0, -1, GFP_KERNEL)).kind).toBe('misuse');
    });

    it('survives the slab fuzz campaign (seed 1, 10 runs of 100 commands)', () => {
      fuzzSlab(target, { seed: 1, numRuns: 10, maxCommands: 100 });
    });
  });
}
