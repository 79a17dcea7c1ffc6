/**
 * Reproducer files: every command the generators draw is accepted by its
 * layer's schema and round-trips; a malformed file is a `parse` error naming
 * the command index and field, never a finding; fuzz and replay print the
 * same command list.
 */
import { describe, expect, it } from '@jest/globals';
import { FUZZ_LAYERS, FUZZ_MACHINE } from '../../fuzz/common.js';
import { AllocCommand } from '../../fuzz/page/alloc.js';
import { FreeCommand } from '../../fuzz/page/free.js';
import { createSystem } from '../../src/system.js';
import { findMutant, fuzzMutant, replayMutant } from '../../fuzz/mutants/catalogue.js';
import { FUZZ_CAMPAIGNS } from '../../fuzz/registry.js';
import { formatReproducer, parseReproducer, reproducerOf, type Reproducer } from '../../fuzz/reproducer.js';
import { isAllocatorError } from '../../src/interfaces/errors.js';

const PAGE: Reproducer = {
  version: 1,
  layer: 'page',
  policy: 'buddy',
  commands: [
    { op: 'alloc', order: 1, gfpIndex: 0 },
    { op: 'set_cpu', cpu: 1 },
    { op: 'free', pick: 0 },
    { op: 'alloc', order: 2, gfpIndex: 3 },
  ],
};

const parseError = (o: object): string => {
  try {
    parseReproducer(JSON.stringify(o), 'r.json');
  } catch (e) {
    if (isAllocatorError(e, 'parse')) return e.message;
    throw e;
  }
  throw new Error('accepted');
};

const withCommand = (i: number, c: object): Reproducer => ({ ...PAGE, commands: PAGE.commands.map((x, k) => (k === i ? c : x)) });

describe('reproducer schema', () => {
  it.each(FUZZ_LAYERS)('accepts every command the %s generators draw, and round-trips it', (layer) => {
    const c = FUZZ_CAMPAIGNS[layer];
    for (const seed of [1, 2, 3]) {
      const s = c.sample(400, seed);
      expect(() => c.validate(s.commands, s.params)).not.toThrow();
    }
    const s = c.sample(30, 9);
    const r = c.replay({}, s.commands, s.params);
    expect(r.commands).toEqual(s.commands);
  });

  it.each([
    [withCommand(3, { op: 'alloc', order: 99, gfpIndex: 0 }), 'r.json: command #3 (alloc): order 99 is outside 0..10'],
    [withCommand(0, { op: 'alloc', order: 0, gfpIndex: 999 }), 'r.json: command #0 (alloc): gfpIndex 999 is outside 0..8'],
    [withCommand(1, { op: 'set_cpu', cpu: 8 }), 'r.json: command #1 (set_cpu): cpu 8 is outside 0..7'],
    [withCommand(2, { op: 'free' }), "r.json: command #2 (free): missing field 'pick'"],
    [withCommand(2, { op: 'free', pick: 1.5 }), 'r.json: command #2 (free): pick must be an integer, got 1.5'],
    [withCommand(2, { op: 'free', pick: 0, n: 3 }), "r.json: command #2 (free): unknown field 'n'"],
    [withCommand(2, { op: 'kmalloc', size: 8, gfp: 0 }), 'r.json: command #2: unknown op "kmalloc" (page ops: alloc, free, get_page, set_cpu, drain, exhaust, free_every_other)'],
    [withCommand(2, [1]), 'r.json: command #2: expected an object such as {"op": "alloc", …}, got [1]'],
    [{ ...PAGE, version: 2 }, 'r.json: not an allocsim reproducer of version 1 (version 2)'],
    [{ ...PAGE, layer: 'kernel' }, 'r.json: unknown layer "kernel" (layers: page, slab, vmalloc, user)'],
    [{ ...PAGE, policy: 'slub' }, 'r.json: unknown page policy "slub" (known: buddy, firstfit)'],
    [{ ...PAGE, mutant: 'B-08' }, 'r.json: mutant B-08 is a slab mutant, the file says layer page'],
    [{ ...PAGE, params: { tcache: true } }, 'r.json: params: this campaign has no per-run parameters, got {"tcache":true}'],
    [{ ...PAGE, commands: undefined }, 'r.json: commands must be a list'],
    [{ version: 1, layer: 'user', policy: 'ptmalloc', commands: [] }, `r.json: missing field 'params' ({"tcache": true|false})`],
    [{ version: 1, layer: 'user', policy: 'ptmalloc', params: { tcache: 1 }, commands: [] }, 'r.json: params: tcache must be true or false, got 1'],
    [{ version: 1, layer: 'user', policy: 'ptmalloc', params: { tcache: true }, commands: [{ op: 'memalign', alignLog2: 2, size: 8, posix: false }] }, 'r.json: command #0 (memalign): alignLog2 2 is outside 3..16'],
    [{ version: 1, layer: 'vmalloc', policy: 'tree', commands: [{ op: 'vmalloc', pages: 65, less: 0 }] }, 'r.json: command #0 (vmalloc): pages 65 is outside 1..64'],
    [{ version: 1, layer: 'slab', policy: 'slub', commands: [{ op: 'cache_alloc', pick: 0, n: 0 }] }, 'r.json: command #0 (cache_alloc): n 0 is outside 1..80'],
  ])('rejects a malformed file: %#', (o, msg) => {
    expect(parseError(o)).toBe(msg);
  });

  it('reads what it writes', () => {
    const report = { ok: false, seed: 3, numRuns: 1, runsDone: 1, commandsRun: 2, params: { tcache: false }, commands: [{ op: 'fill', size: 24, count: 9 }, { op: 'free_every_other', odd: true }], failure: 'U3: a\nU3: b', codes: ['U3'] };
    const repro = reproducerOf('user', 'ptmalloc', findMutant('B-23'), report);
    const text = formatReproducer(repro);
    expect(text).toMatch(/^ {4}\{"op":"fill","size":24,"count":9\},$/m);
    expect(parseReproducer(text, 'x.json')).toEqual(repro);
  });
});

describe('command text', () => {
  it('depends on the command only, not on what a run did with it (fast-check reuses command objects across runs)', () => {
    // The page free printed the block it had freed in its last run: a shrink attempt's block, not the failing run's.
    const real = { sys: createSystem(FUZZ_MACHINE) };
    const model = { held: [], stamp: 0 };
    new AllocCommand(1, 0).run(model, real);
    const free = new FreeCommand(0);
    const before = String(free);
    free.run(model, real);
    expect(String(free)).toBe(before);
    real.sys.machine.mem.release();
  });

  it('is the same in the campaign report and in the replay of its reproducer', () => {
    const m = findMutant('B-06');
    const r = fuzzMutant(m, { seed: 1, numRuns: 40, maxCommands: 120 });
    expect(r.commandText).toMatch(/free\(#\d+\)/);
    expect(replayMutant(m, r).commandText).toBe(r.commandText);
  });
});
