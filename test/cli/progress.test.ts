/** The fuzz progress line: redrawn in place on a terminal, a plain line every 10 s otherwise, nothing with --no-progress. */
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { formatElapsed, PLAIN_EVERY_MS, progressLine, progressReporter } from '../../src/cli/progress.js';

const fakeStream = (isTTY: boolean): NodeJS.WriteStream & { text: string } => {
  const s = { isTTY, text: '', write: (t: string) => ((s.text += t), true) };
  return s as unknown as NodeJS.WriteStream & { text: string };
};
const p = { elapsedMs: 2000, runs: 400, commands: 30_000, findings: 3, distinct: 2, coverage: 17 };

afterEach(() => {
  jest.useRealTimers();
});

describe('progress', () => {
  it('says elapsed time, runs and commands with their rates, findings, distinct findings and coverage', () => {
    expect(progressLine(p)).toBe('2.0s  runs 400 (200/s)  commands 30,000 (15,000/s)  findings 3 (2 distinct)  coverage 17');
    expect([formatElapsed(6_700), formatElapsed(245_000), formatElapsed(3_723_000)]).toEqual(['6.7s', '4m05s', '1h02m03s']);
  });

  it('redraws one line on a terminal and clears it at the end', () => {
    const s = fakeStream(true);
    const r = progressReporter(s, false);
    r.update(p);
    expect(s.text.startsWith('\r\x1b[K')).toBe(true);
    expect(s.text.slice(4)).toMatch(/^0\.\ds {2}runs 400 /);
    r.end();
    expect(s.text.endsWith('\r\x1b[K')).toBe(true);
  });

  it('writes a plain line every 10 s when not a terminal, and nothing when quiet', () => {
    jest.useFakeTimers();
    const s = fakeStream(false);
    const r = progressReporter(s, false);
    r.update(p);
    expect(s.text).toBe('');
    jest.advanceTimersByTime(PLAIN_EVERY_MS);
    expect(s.text).toMatch(/^10\.0s {2}runs 400 \(40\/s\) .*\n$/);
    r.end();
    const q = fakeStream(false);
    const quiet = progressReporter(q, true);
    quiet.update(p);
    jest.advanceTimersByTime(3 * PLAIN_EVERY_MS);
    expect(q.text).toBe('');
  });
});
