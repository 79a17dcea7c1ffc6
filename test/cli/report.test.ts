/** `allocsim report`: bad input, determinism and the coverage curve `fuzz` writes for it (the page itself is checked in a browser by report-browser.test.ts). */
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { parseMapAt } from '../../src/cli/report.js';
import { readCoverageCurve } from '../../fuzz/scale/findings.js';
import { captureStdio } from '../support/stdio.js';

const io = captureStdio();
const run = (...args: string[]) => main(['node', 'allocsim', ...args]);
const tmp = mkdtempSync(join(tmpdir(), 'allocsim-report-'));
const SMALL = ['--mem', '64M', '--kernel-image', '4M', '--cpus', '2'];

describe('allocsim report', () => {
  it.each([
    [['--layer', 'page', '--slab', 'slub'], /^allocsim: --slab applies to --layer slab only/],
    [['--every', '0'], /^allocsim: --every expects an integer in 1\.\./],
    [['--map-at', '10,half'], /^allocsim: --map-at expects operation counts or percentages/],
    [['--map-at', '150%'], /^allocsim: --map-at: 150% is more than 100%/],
    [['--findings', join(tmp, 'none')], /^allocsim: --findings .*: no such directory/],
    [['--findings', tmp], /^allocsim: --findings .*: not a findings directory \(no findings\.json\)/],
    [['--findings', tmp, '--ops', '5'], /^allocsim: --ops does not apply to --findings/],
    [['--out', tmp], /^allocsim: --out .*: is a directory/],
    [['--bogus'], /^allocsim: unknown option '--bogus'/],
  ])('refuses %j with one line, exit 2', async (args, message) => {
    expect(await run('report', ...args)).toBe(2);
    expect(io.err).toMatch(message);
    expect(io.err.trimEnd().split('\n')).toHaveLength(1);
  });

  it('parses --map-at as operation counts and percentages of the run', () => {
    expect(parseMapAt('0, 50%,1200', 10000)).toEqual([0, 5000, 1200]);
  });

  it('writes the same bytes for the same command, and prints the path', async () => {
    const a = join(tmp, 'a.html');
    const b = join(tmp, 'b.html');
    expect(await run('report', ...SMALL, '--slab', 'slub', '--ops', '2000', '--out', a)).toBe(0);
    expect(io.out).toBe(`${a}\n`);
    expect(await run('report', ...SMALL, '--slab', 'slub', '--ops', '2000', '--out', b)).toBe(0);
    const strip = (s: string): string => s.replace(/--out \S+/g, '');
    expect(strip(readFileSync(b, 'utf8'))).toBe(strip(readFileSync(a, 'utf8')));
  }, 30000);

  it('fuzz writes coverage.json beside findings.json, one point per slice', async () => {
    const out = join(tmp, 'findings');
    expect(await run('fuzz', '--mutant', 'B-01', '--keep-going', '--runs', '50', '--workers', '1', '--no-progress', '--out', out)).toBe(0);
    const curve = readCoverageCurve(out)!;
    expect(curve).toMatchObject({ version: 1, layer: 'page', mutant: 'B-01', seed: 1 });
    expect(curve.points.map((p) => p.runs)).toEqual([25, 50]);
    expect(curve.points[1]!.coverage).toBeGreaterThanOrEqual(curve.points[0]!.coverage);
    writeFileSync(join(out, 'coverage.json'), '{"version":2}');
    expect(await run('report', '--findings', out, '--out', join(tmp, 'f.html'))).toBe(2);
    expect(io.err).toMatch(/^allocsim: --findings: .*coverage\.json: not an allocsim coverage curve of version 1\n$/);
  }, 30000);
});
