/** `allocsim mutants`: the table, the score line, `--json`, `--layer` filtering, bad input, the exit status of a gap. */
import { describe, expect, it } from '@jest/globals';
import { main } from '../../src/cli/main.js';
import { formatMutantScore, scoreLine } from '../../src/cli/mutants.js';
import { MUTANTS, MUTANT_BUDGET } from '../../fuzz/mutants/catalogue.js';
import type { MutantScore } from '../../fuzz/mutants/score.js';
import { captureStdio } from '../support/stdio.js';

const io = captureStdio();
const run = (...args: string[]) => main(['node', 'allocsim', ...args]);
const vmallocMutants = MUTANTS.filter((m) => m.layer === 'vmalloc');

describe('allocsim mutants', () => {
  it('prints one row per mutant of the layer and the score, exit 0 when all are caught', async () => {
    expect(await run('mutants', '--layer', 'vmalloc')).toBe(0);
    const lines = io.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^id +name +layer +expected +caught by +caught after$/);
    const rows = lines.slice(1, -1);
    expect(rows.map((l) => l.split(/ +/)[0])).toEqual(vmallocMutants.map((m) => m.id));
    for (const l of rows) expect(l).toMatch(/^B-\d+\w* +[\w-]+ +vmalloc +[\w:,-]+ +[\w:-]+ +\d+ runs?$/);
    const n = vmallocMutants.length;
    expect(lines.at(-1)).toBe(`mutation score: ${n} / ${n} (100.0%) caught by the fuzz alone (seed ${MUTANT_BUDGET.seed}, ${MUTANT_BUDGET.numRuns} runs of at most ${MUTANT_BUDGET.maxCommands} commands per mutant)`);
    expect(io.err).toBe('');
  });

  it('--json: one document with the budget, a row per mutant of the chosen layers and the score; deterministic', async () => {
    expect(await run('mutants', '--layer', 'vmalloc,page', '--json')).toBe(0);
    const j = JSON.parse(io.out) as { budget: unknown; rows: Record<string, unknown>[]; caught: number; total: number; score: number; scoreText: string };
    expect(j.budget).toEqual(MUTANT_BUDGET);
    expect(j.rows.map((r) => r['id'])).toEqual(MUTANTS.filter((m) => m.layer === 'page' || m.layer === 'vmalloc').map((m) => m.id));
    for (const r of j.rows) {
      expect(Object.keys(r).sort()).toEqual(['caughtBy', 'commandsRun', 'expected', 'id', 'layer', 'message', 'name', 'runsToCatch', 'status', 'summary']);
      expect(r['status']).toBe('caught');
      expect(r['expected']).toEqual(expect.arrayContaining(r['caughtBy'] as string[]));
      expect(r['runsToCatch']).toBeGreaterThanOrEqual(1);
    }
    expect(j).toMatchObject({ caught: j.rows.length, total: j.rows.length, score: 1, scoreText: `${j.rows.length} / ${j.rows.length} (100.0%)` });
    const first = io.out;
    io.out = '';
    expect(await run('mutants', '--layer', 'vmalloc,page', '--json')).toBe(0);
    expect(io.out).toBe(first);
  });

  it('bad input: an unknown layer is one line on stderr, exit 2', async () => {
    expect(await run('mutants', '--layer', 'heap')).toBe(2);
    expect(io.err).toBe("allocsim: --layer expects one of page, slab, vmalloc, user (or a comma list), got 'heap'\n");
    expect(io.out).toBe('');
    io.err = '';
    expect(await run('mutants', '--runs', '3')).toBe(2);
    expect(io.err.trimEnd().split('\n')).toHaveLength(1);
  });

  it('a missed or wrongly caught mutant shows in the table and lowers the score', () => {
    const row = { layer: 'page' as const, summary: 's', commandsRun: 10 };
    const s: MutantScore = {
      budget: MUTANT_BUDGET,
      rows: [
        { ...row, id: 'B-01', name: 'a', expected: ['B3'], status: 'caught', caughtBy: ['B3'], runsToCatch: 2, message: 'm' },
        { ...row, id: 'B-02', name: 'b', expected: ['B1'], status: 'missed', caughtBy: [], runsToCatch: null, message: '' },
        { ...row, id: 'B-03', name: 'c', expected: ['B1'], status: 'unexpected', caughtBy: ['X2'], runsToCatch: 1, message: 'X2: drift' },
      ],
      caught: 1,
      total: 3,
    };
    const text = formatMutantScore(s);
    expect(text).toMatch(/^B-02 +b +page +B1 +- +missed$/m);
    expect(text).toMatch(/^B-03 +c +page +B1 +X2 \(unexpected\) +1 run$/m);
    expect(text).toMatch(/^mutation score: 1 \/ 3 \(33\.3%\)/m);
    expect(text).toMatch(/^ {2}B-02 missed: every run passed$/m);
    expect(scoreLine({ caught: 0, total: 0 })).toBe('0 / 0 (100.0%)');
  });
});
