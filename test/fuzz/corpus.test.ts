/**
 * The corpus of saved reproducers (fuzz/corpus/, see its README): each file
 * validates against its layer's schema and replays as recorded. A mutant's
 * reproducer fails against the mutant with one of its catalogue codes and
 * passes against the real policy; a real finding passes against its (fixed)
 * policy. Every mutant of the catalogue has a reproducer.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { MUTANTS, expectedCatch, findMutant } from '../../fuzz/mutants/catalogue.js';
import { parseReproducer, replayReproducer } from '../../fuzz/reproducer.js';

const DIR = join(import.meta.dirname, '../../fuzz/corpus');
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();
const load = (f: string) => parseReproducer(readFileSync(join(DIR, f), 'utf8'), f);

describe('fuzz corpus', () => {
  it.each(FILES)('%s replays as recorded', (f) => {
    const repro = load(f);
    const r = replayReproducer(repro);
    if (repro.mutant) {
      const m = findMutant(repro.mutant);
      expect(f.startsWith(`${m.id}-`)).toBe(true);
      expect(r.ok).toBe(false);
      if (!expectedCatch(m, r)) throw new Error(`${f}: ${m.id} now fails with ${r.codes?.join(',')} instead of ${m.caughtBy.join(',')}: ${r.failure}`);
      const real = replayReproducer(repro, true);
      if (!real.ok) throw new Error(`${f}: the real ${repro.layer} policy ${repro.policy} fails: ${real.failure}\n${real.commandText}`);
    } else if (!r.ok) throw new Error(`${f}: the ${repro.layer} policy ${repro.policy} fails again: ${r.failure}\n${r.commandText}`);
  });

  it('holds a reproducer for every mutant of the catalogue', () => {
    const covered = new Set(FILES.map((f) => load(f).mutant));
    expect(MUTANTS.map((m) => m.id).filter((id) => !covered.has(id))).toEqual([]);
  });
});
