/**
 * `allocsim mutants`: the mutation score of the fuzzer. Every mutant of the
 * catalogue (or of the layers `--layer` names) is fuzzed by its layer's
 * campaign with the fixed budget the mutants test uses
 * ({@link MUTANT_BUDGET}), in this thread; the table says, for each, the
 * invariant expected to catch it, the one that did and after how many runs,
 * or `missed`; the last line is the score, caught / total.
 *
 * Exit status: 0 when every mutant is caught by an expected invariant, 1
 * when one is missed or caught only by another invariant (a finding: the
 * fuzzer has a gap), 2 for bad input. Deterministic (the seed is fixed).
 */

import type { Command } from 'commander';
import { FUZZ_LAYERS, type FuzzLayer } from '../../fuzz/common.js';
import { scoreMutants, type MutantScore, type MutantScoreRow } from '../../fuzz/mutants/score.js';
import { isFuzzLayer } from '../../fuzz/registry.js';
import { EXIT, badInput, printJson } from './errors.js';
import { formatPercent } from './format.js';

interface MutantsCliOpts {
  layer?: string;
  json?: boolean;
}

/** `--layer page,vmalloc` as a list of layers; bad input names the unknown one. */
function layersOpt(text: string | undefined): FuzzLayer[] | undefined {
  if (text === undefined) return undefined;
  const names = text.split(',').map((s) => s.trim());
  for (const n of names) if (!isFuzzLayer(n)) throw badInput(`--layer expects one of ${FUZZ_LAYERS.join(', ')} (or a comma list), got '${n}'`);
  return names as FuzzLayer[];
}

/** What the table prints in the "caught after" column. */
function runsText(r: MutantScoreRow): string {
  if (r.status === 'missed') return 'missed';
  return `${r.runsToCatch} run${r.runsToCatch === 1 ? '' : 's'}`;
}

/** The score line: `caught / total (percent)`. */
export function scoreLine(s: Pick<MutantScore, 'caught' | 'total'>): string {
  return `${s.caught} / ${s.total} (${formatPercent(s.total === 0 ? 1 : s.caught / s.total)})`;
}

/** The text report: one row per mutant, then the score and the budget. */
export function formatMutantScore(s: MutantScore): string {
  const heads = ['id', 'name', 'layer', 'expected', 'caught by', 'caught after'];
  const cells = s.rows.map((r) => [r.id, r.name, r.layer, r.expected.join(','), r.status === 'unexpected' ? `${r.caughtBy.join(',')} (unexpected)` : r.caughtBy.join(',') || '-', runsText(r)]);
  const widths = heads.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c]!.length)));
  const line = (row: readonly string[]): string => row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd();
  const b = s.budget;
  let text = [line(heads), ...cells.map(line)].join('\n') + '\n';
  text += `mutation score: ${scoreLine(s)} caught by the fuzz alone (seed ${b.seed}, ${b.numRuns} runs of at most ${b.maxCommands} commands per mutant)\n`;
  for (const r of s.rows) if (r.status !== 'caught') text += `  ${r.id} ${r.status === 'missed' ? 'missed: every run passed' : `caught by ${r.caughtBy.join(',')}, not by ${r.expected.join(' or ')}: ${r.message}`}\n`;
  return text;
}

/** Registers the command. */
export function mutantsCommand(program: Command): void {
  program
    .command('mutants')
    .description('run every mutant of the catalogue through the fuzz with the fixed budget of the mutants test and print the mutation score')
    .option('--layer <layers>', `only the mutants of these layers (${FUZZ_LAYERS.join(', ')}; a comma list)`)
    .option('--json', 'print the score as one JSON document')
    .action((o: MutantsCliOpts) => {
      const layers = layersOpt(o.layer);
      const s = scoreMutants(layers);
      if (o.json) printJson({ ...s, score: s.total === 0 ? 1 : s.caught / s.total, scoreText: scoreLine(s) });
      else process.stdout.write(formatMutantScore(s));
      if (s.caught < s.total) process.exitCode = EXIT.FINDING;
    });
}
