/**
 * S12, the differential rule: every slab policy gives the same observable
 * results for the same kmem_cache_* / kmalloc program — which calls succeed,
 * the contents each object keeps, and ksize never below the request.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { GFP_KERNEL } from '../../src/interfaces/gfp.js';
import { PAGE_OFFSET } from '../../src/interfaces/units.js';
import { policyNames } from '../../src/policies/registry.js';
import { createSystem } from '../../src/system.js';

type Op = { k: 'kmalloc'; size: number } | { k: 'cache'; size: number } | { k: 'free'; pick: number } | { k: 'krealloc'; pick: number; size: number } | { k: 'cpu'; cpu: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('kmalloc' as const), size: fc.integer({ min: 1, max: 9000 }) }),
  fc.record({ k: fc.constant('cache' as const), size: fc.constantFrom(24, 100, 333, 1500) }),
  fc.record({ k: fc.constant('free' as const), pick: fc.nat() }),
  fc.record({ k: fc.constant('krealloc' as const), pick: fc.nat(), size: fc.integer({ min: 1, max: 5000 }) }),
  fc.record({ k: fc.constant('cpu' as const), cpu: fc.nat({ max: 3 }) }),
);

/** Runs a program and returns what a client can observe. */
function observe(slab: string, ops: readonly Op[]): string[] {
  const sys = createSystem({ machine: { memBytes: 256 << 20, kernelImageBytes: 4 << 20, cpus: 4 }, policies: { slab } });
  const k = sys.kmem;
  const caches = new Map<number, number>();
  const held: { addr: number; size: number; cache: number; tag: number }[] = [];
  const out: string[] = [];
  let tag = 1;
  const stamp = (o: { addr: number; size: number; tag: number }) => {
    sys.machine.mem.write8(o.addr - PAGE_OFFSET, o.tag & 0xff);
    if (o.size > 1) sys.machine.mem.write8(o.addr - PAGE_OFFSET + o.size - 1, (o.tag * 7) & 0xff);
  };
  const intact = (o: { addr: number; size: number; tag: number }) =>
    sys.machine.mem.read8(o.addr - PAGE_OFFSET) === (o.tag & 0xff) && (o.size === 1 || sys.machine.mem.read8(o.addr - PAGE_OFFSET + o.size - 1) === ((o.tag * 7) & 0xff));
  for (const o of ops) {
    if (o.k === 'cpu') sys.machine.ctx.setCpu(o.cpu);
    else if (o.k === 'kmalloc' || o.k === 'cache') {
      let cache = -1;
      if (o.k === 'cache') {
        cache = caches.get(o.size) ?? k.kmemCacheCreate(`diff${o.size}`, o.size);
        caches.set(o.size, cache);
      }
      const addr = cache < 0 ? k.kmalloc(o.size, GFP_KERNEL) : k.kmemCacheAlloc(cache, GFP_KERNEL);
      out.push(`${o.k} ${o.size} ${addr !== 0} ${addr !== 0 && k.ksize(addr) >= o.size}`);
      if (addr) {
        const h = { addr, size: o.size, cache, tag: tag++ };
        stamp(h);
        held.push(h);
      }
    } else if (held.length) {
      const i = o.pick % held.length;
      const h = held[i]!;
      out.push(`intact ${intact(h)}`);
      if (o.k === 'free') {
        if (h.cache < 0) k.kfree(h.addr);
        else k.kmemCacheFree(h.cache, h.addr);
        held.splice(i, 1);
      } else if (h.cache < 0) {
        const first = sys.machine.mem.read8(h.addr - PAGE_OFFSET);
        const n = k.krealloc(h.addr, o.size, GFP_KERNEL);
        out.push(`krealloc ${n !== 0} keeps ${n !== 0 && sys.machine.mem.read8(n - PAGE_OFFSET) === first}`);
        if (n) {
          h.addr = n;
          h.size = o.size;
          h.tag = tag++;
          stamp(h);
        }
      }
    }
  }
  for (const h of held) out.push(`end intact ${intact(h)}`);
  return out;
}

describe('S12 differential rule', () => {
  it('SLAB, SLUB and SLOB agree on every observable result', () => {
    const policies = policyNames('slab');
    expect(policies.length).toBeGreaterThanOrEqual(2);
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 120 }), (ops) => {
        const ref = observe(policies[0]!, ops);
        for (const line of ref) expect(line).not.toMatch(/false/);
        for (const p of policies.slice(1)) expect(observe(p, ops)).toEqual(ref);
      }),
      { numRuns: 40, seed: 12 },
    );
  });
});
