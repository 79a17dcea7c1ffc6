/**
 * `allocsim report --findings DIR`: a fuzz campaign's findings directory as
 * one self-contained HTML page — the campaign, its coverage curve (distinct
 * command:outcome pairs and failing runs against runs, from `coverage.json`,
 * which `allocsim fuzz` writes beside `findings.json`) and the findings,
 * sortable, each with its replay command.
 */

import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { AllocatorError } from '../interfaces/errors.js';
import { COVERAGE_FILE, FINDINGS_INDEX, readCoverageCurve, readFindingsIndex, type CoverageCurve, type FindingsIndex } from '../../fuzz/scale/findings.js';
import { renderSvg, type Chart } from '../harness/observe/charts.js';
import { chartsSection, page, sortableTable } from '../harness/observe/html.js';
import { badInput } from './errors.js';
import { reportFacts } from './report-facts.js';

/** The campaign's name in charts and the title: the layer and the policy or mutant. */
function campaignLabel(c: Pick<CoverageCurve, 'layer' | 'policy' | 'mutant'>): string {
  return `${c.layer} ${c.mutant ? `mutant ${c.mutant}` : `policy ${c.policy}`}`;
}

async function curveChart(curve: CoverageCurve, field: 'coverage' | 'failures', title: string, caption: string): Promise<Chart> {
  const label = campaignLabel(curve);
  const spec = {
    width: 620,
    height: 170,
    data: { values: [{ runs: 0, coverage: 0, failures: 0, campaign: label }, ...curve.points.map((p) => ({ runs: p.runs, coverage: p.coverage, failures: p.failures, campaign: label }))] },
    mark: { type: 'line', strokeWidth: 1.5 },
    encoding: {
      x: { field: 'runs', type: 'quantitative', title: 'runs' },
      y: { field, type: 'quantitative', title },
      color: { field: 'campaign', type: 'nominal', title: 'campaign', scale: { domain: [label] } },
    },
  } as TopLevelSpec;
  return { id: field, title, caption, svg: await renderSvg(spec), series: [label] };
}

/**
 * Renders the report of findings directory `dir`.
 * @param args - the command line (for the "reproduce" line)
 * @throws AllocatorError `usage` when `dir` is not a findings directory or its files are malformed
 */
export async function fuzzReport(dir: string, args: readonly string[]): Promise<string> {
  if (!existsSync(dir)) throw badInput(`--findings ${dir}: no such directory`);
  if (!statSync(dir).isDirectory()) throw badInput(`--findings ${dir}: not a directory`);
  if (!existsSync(join(dir, FINDINGS_INDEX))) throw badInput(`--findings ${dir}: not a findings directory (no ${FINDINGS_INDEX})`);
  let index: FindingsIndex;
  let curve: CoverageCurve | undefined;
  try {
    index = readFindingsIndex(dir);
    curve = readCoverageCurve(dir);
  } catch (e) {
    if (e instanceof AllocatorError) throw badInput(`--findings: ${e.message}`);
    throw e;
  }
  const first = index.findings[0];
  const who = curve ?? (first ? { layer: first.layer, policy: first.policy, ...(first.mutant ? { mutant: first.mutant } : {}) } : undefined);
  const last = curve?.points.at(-1);
  const facts: [string, string][] = [['findings directory', dir]];
  if (who) facts.push(['campaign', campaignLabel(who)]);
  if (curve) {
    facts.push(['seed', String(curve.seed)], ['runs', String(last?.runs ?? 0)], ['commands per run', `at most ${curve.maxCommands}`]);
    // A mutant campaign's own stop rule (--keep-going or not) is not recorded: its command is not restated.
    if (!curve.mutant) facts.push(['campaign command', `allocsim fuzz --layer ${curve.layer} ${curve.mutant ? `--mutant ${curve.mutant}` : `--${curve.layer === 'user' ? 'malloc' : curve.layer === 'vmalloc' ? 'vmap' : curve.layer} ${curve.policy}`} --seed ${curve.seed} --max-commands ${curve.maxCommands} --runs ${last?.runs ?? 0} --out ${dir}`]);
  }
  facts.push(['distinct findings', String(index.findings.length)], ['failing runs', String(index.findings.reduce((s, f) => s + f.occurrences.length, 0))]);
  let body = '';
  if (curve) {
    const charts = [
      await curveChart(curve, 'coverage', 'Coverage', 'Distinct command:outcome pairs executed so far, after each slice of 25 runs (slice order: the same whatever the number of workers).'),
      await curveChart(curve, 'failures', 'Failing runs', 'Failing runs so far (every occurrence, before bucketing into distinct findings).'),
    ];
    body += chartsSection(charts);
  } else {
    body += `<section id="charts"><h2>Over time</h2><p class="note">No ${COVERAGE_FILE} in this directory (written by allocsim fuzz from version 0.1.0 on, not by fuzz merge): no coverage curve.</p></section>`;
  }
  const rows = index.findings.map((f) => [f.signature, f.codes.join(' '), f.lastCommand, f.summary, f.occurrences.length, `${f.seed}:${f.run}`, f.length, f.file, `allocsim fuzz --replay ${join(dir, f.file)}`]);
  body += `<section id="findings"><h2>Findings</h2>${rows.length ? sortableTable('findings', ['signature', 'codes', 'last command', 'summary', 'occurrences', 'first (seed:run)', 'commands', 'reproducer', 'replay'], rows) : '<p>None: every run passed.</p>'}</section>`;
  return page(`allocsim report: fuzz campaign${who ? `, ${campaignLabel(who)}` : ''}`, reportFacts(facts, args), body);
}
