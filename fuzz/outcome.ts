/**
 * What a campaign's or a replay's report means to the person who ran it,
 * in one line: a real policy passed or has a finding; a mutant was caught
 * (the expected outcome) or survived. `expected` says whether the outcome
 * is the one wanted — the CLI's exit status 0 — or not (1).
 */

import type { FuzzReport } from './engine.js';
import { expectedCatch } from './mutants/catalogue.js';
import type { MutantEntry } from './mutants/registry-types.js';

/** The four outcomes. */
export type FuzzOutcome = 'passed' | 'finding' | 'caught' | 'survived';

/** A report's meaning. */
export interface FuzzVerdict {
  readonly outcome: FuzzOutcome;
  /** True for `passed` and `caught`. */
  readonly expected: boolean;
  /** One line a user reads. */
  readonly message: string;
}

const plural = (n: number, w: string): string => `${n.toLocaleString('en-US')} ${w}${n === 1 ? '' : 's'}`;

/** The first line of a violation list. */
function firstLine(s: string | undefined): string {
  return (s ?? '').split('\n')[0] ?? '';
}

/**
 * The verdict of a campaign run against `label` (`page policy buddy`), or
 * against a mutant. `replay` words it for `--replay FILE` (no runs, no seed).
 */
export function verdictOf(r: FuzzReport, label: string, mutant?: MutantEntry, replay = false): FuzzVerdict {
  const commands = plural(r.commandsRun, 'command');
  if (mutant) {
    const who = `mutant ${mutant.id} (${mutant.name})`;
    if (r.ok) {
      return {
        outcome: 'survived',
        expected: false,
        message: replay
          ? `${who} SURVIVED the replay (${commands}): the reproducer no longer catches it`
          : `${who} SURVIVED ${plural(r.runsDone, 'run')} (seed ${r.seed}, ${commands}): the fuzzer did not catch it`,
      };
    }
    const hit = expectedCatch(mutant, r);
    const when = replay ? 'caught again by' : `caught after ${plural(r.runsDone, 'run')} by`;
    const by = hit ? `${hit.code}: ${hit.message}` : `${(r.codes ?? []).join(', ') || 'an exception'} (the catalogue expects ${mutant.caughtBy.join(' or ')}): ${firstLine(r.failure)}`;
    return { outcome: 'caught', expected: true, message: `${who} ${when} ${by}` };
  }
  if (r.ok) {
    const message = replay ? `${label}: the replay passed (${commands})` : `${label}: ${plural(r.runsDone, 'run')} passed (seed ${r.seed}, ${commands})`;
    return { outcome: 'passed', expected: true, message };
  }
  const where = replay ? 'FAILED on replay' : `FAILED after ${plural(r.runsDone, 'run')} (seed ${r.seed}, path ${r.path ?? '-'})`;
  return { outcome: 'finding', expected: false, message: `${label}: ${where}: ${firstLine(r.failure)}` };
}
