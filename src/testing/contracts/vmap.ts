/**
 * The VmapSpace contract, for every vmap policy and any class bound at
 * VMAP_SPACE: model-based, with a brute-force lowest-address fit over a
 * plain list of free blocks as the model (the search length rule
 * `size + align − 1` above a page included).
 */
import { expect } from '../expect.js';
import fc from 'fast-check';
import { createSystem } from '../../system.js';
import type { VmapSpace } from '../../interfaces/vmalloc.js';
import { fuzzVmalloc } from '../fuzz.js';
import { type ContractTarget, defaultRunner, type TestRunner } from '../target.js';

const P = 4096;
const BASE = 0x100000 * P;

/** The model's answer: the lowest block that holds `size` at an aligned start ≥ vstart, inside vend. */
function modelAlloc(blocks: [number, number][], size: number, align: number, vstart: number, vend: number): number {
  const length = align > P ? size + align - 1 : size;
  for (let i = 0; i < blocks.length; i++) {
    const [s, e] = blocks[i]!;
    if (e - s < length) continue;
    const start = Math.ceil(Math.max(s, vstart) / align) * align;
    if (start + size > e) continue;
    if (start + size > vend) return -1;
    const parts: [number, number][] = [];
    if (s < start) parts.push([s, start]);
    if (start + size < e) parts.push([start + size, e]);
    blocks.splice(i, 1, ...parts);
    return start;
  }
  return -1;
}

function modelFree(blocks: [number, number][], start: number, size: number): void {
  blocks.push([start, start + size]);
  blocks.sort((a, b) => a[0] - b[0]);
  for (let i = blocks.length - 1; i > 0; i--) {
    if (blocks[i - 1]![1] === blocks[i]![0]) {
      blocks[i - 1]![1] = blocks[i]![1];
      blocks.splice(i, 1);
    }
  }
}

/** Registers the VmapSpace contract suite (a brute-force lowest fit as the model) for `target`. */
export function vmapContract(target: ContractTarget, runner: TestRunner = defaultRunner()): void {
  const { describe, it } = runner;
  /** A fresh free-space policy as the system binds it (vmalloc resets it to the whole range; the suite resets it again). */
  const makeSpace = (): VmapSpace => createSystem({ ...target.config, machine: { memBytes: 64 << 20, kernelImageBytes: 1 << 20 } }, target.overrides).vmalloc.space;
  describe(`VmapSpace contract: ${target.label}`, () => {
    it('allocates where a brute-force lowest fit does, merges on free, and stays sound', () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.oneof(
              fc.record({ k: fc.constant('alloc' as const), pages: fc.integer({ min: 1, max: 40 }), alignShift: fc.integer({ min: 0, max: 5 }), vstartPages: fc.integer({ min: 0, max: 300 }) }),
              fc.record({ k: fc.constant('free' as const), pick: fc.nat() }),
            ),
            { maxLength: 120 },
          ),
          (ops) => {
            const space = makeSpace();
            const end = BASE + 512 * P;
            space.reset(BASE, end);
            const model: [number, number][] = [[BASE, end]];
            const held: [number, number][] = [];
            for (const o of ops) {
              if (o.k === 'alloc') {
                const size = o.pages * P;
                const align = P << o.alignShift;
                const vstart = BASE + o.vstartPages * P;
                const got = space.alloc(size, align, vstart, end);
                expect(got).toBe(modelAlloc(model, size, align, vstart, end));
                if (got >= 0) {
                  expect(got % align).toBe(0);
                  held.push([got, size]);
                }
              } else if (held.length) {
                const [s, n] = held.splice(o.pick % held.length, 1)[0]!;
                space.free(s, n);
                modelFree(model, s, n);
              }
              expect(space.freeBlocks()).toEqual(model);
              expect(space.blocks).toBe(model.length);
              expect(space.check()).toEqual([]);
            }
          },
        ),
        { numRuns: 120, seed: 11 },
      );
    });

    it('survives the vmalloc fuzz campaign (seed 1, 10 runs of 100 commands)', () => {
      fuzzVmalloc(target, { seed: 1, numRuns: 10, maxCommands: 100 });
    });
  });
}
