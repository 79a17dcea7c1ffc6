/** `allocsim fuzz` and its alias `malloc-fuzz`: outcomes, exit statuses, JSON, reproducers, conflicting options. */
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { verdictOf } from '../../fuzz/outcome.js';
import { findMutant } from '../../fuzz/mutants/catalogue.js';
import { firstReproducer } from '../support/findings.js';
import { captureStdio } from '../support/stdio.js';

const io = captureStdio();
const run = (...args: string[]) => main(['node', 'allocsim', ...args]);
const tmp = (name: string): string => join(mkdtempSync(join(tmpdir(), 'allocsim-fuzz-')), name);
const commandsLine = (s: string): string | undefined => /^ {2}commands: (.*)$/m.exec(s)?.[1];

describe('allocsim fuzz', () => {
  it('fuzzes the user layer: the three policies pass', async () => {
    for (const malloc of ['ptmalloc', 'implicit', 'segregated']) {
      io.out = '';
      expect(await run('fuzz', '--layer', 'user', '--malloc', malloc, '--runs', '4', '--max-commands', '60')).toBe(0);
      expect(io.out).toMatch(new RegExp(`^user policy ${malloc}: 4 runs passed \\(seed 1, [\\d,]+ commands\\)\\n$`));
    }
  });

  it('says a caught mutant is the expected outcome (exit 0), prints one JSON document with --json, the reproducer path inside it', async () => {
    const dir = tmp('b08');
    expect(await run('fuzz', '--mutant', 'B-08', '--json', '--out', dir)).toBe(0);
    const j = JSON.parse(io.out) as { outcome: string; message: string; reproducer: string; mutant: string; codes: string[] };
    const f = firstReproducer(dir);
    expect(j).toMatchObject({ outcome: 'caught', mutant: 'B-08', reproducer: f });
    expect(j.message).toMatch(/^mutant B-08 \(inuse-drift\) caught after \d+ runs? by S2: /);
    expect(io.err).toBe('');
    expect(JSON.parse(readFileSync(f, 'utf8'))).toMatchObject({ version: 1, layer: 'slab', policy: 'slub', mutant: 'B-08' });
  });

  it('prints the same command list when fuzzing and when replaying (user layer, with its tcache parameter)', async () => {
    const dir = tmp('b22');
    expect(await run('fuzz', '--mutant', 'B-22', '--out', dir)).toBe(0);
    const fuzzed = commandsLine(io.out);
    const f = firstReproducer(dir);
    expect(io.out).toMatch(/^ {2}params: \{"tcache":(true|false)\}$/m);
    io.out = '';
    expect(await run('fuzz', '--replay', f)).toBe(0);
    expect(io.out).toMatch(/^mutant B-22 \(no-footer\) caught again by /);
    expect(commandsLine(io.out)).toBe(fuzzed);
    io.out = '';
    expect(await run('fuzz', '--replay', f, '--json')).toBe(0);
    expect(JSON.parse(io.out)).toMatchObject({ outcome: 'caught', file: f, commandText: fuzzed });
  });

  it('exits 1 when a mutant survives, and when a mutant reproducer no longer catches it', async () => {
    expect(await run('fuzz', '--mutant', 'B-11', '--runs', '1', '--max-commands', '1')).toBe(1);
    expect(io.out).toMatch(/^mutant B-11 \(full-slab-lost\) SURVIVED 1 run \(seed 1, \d+ commands?\): the fuzzer did not catch it$/m);
    const f = tmp('b01.json');
    writeFileSync(f, JSON.stringify({ version: 1, layer: 'page', policy: 'buddy', mutant: 'B-01', commands: [{ op: 'alloc', order: 0, gfpIndex: 0 }] }));
    io.out = '';
    expect(await run('fuzz', '--replay', f)).toBe(1);
    expect(io.out).toMatch(/SURVIVED the replay/);
  });

  it('reports a finding in a real policy as unexpected (exit 1), and a real reproducer that now passes as passed', async () => {
    const r = { ok: false, seed: 1, numRuns: 10, runsDone: 3, commandsRun: 40, path: '2:1', failure: 'U3: adjacent free chunks not coalesced at 0x10', codes: ['U3'] };
    expect(verdictOf(r, 'user policy ptmalloc')).toEqual({ outcome: 'finding', expected: false, message: 'user policy ptmalloc: FAILED after 3 runs (seed 1, path 2:1): U3: adjacent free chunks not coalesced at 0x10' });
    expect(verdictOf({ ...r, ok: true }, 'x', findMutant('B-23')).outcome).toBe('survived');
    const f = tmp('real.json');
    writeFileSync(f, JSON.stringify({ version: 1, layer: 'user', policy: 'segregated', params: { tcache: false }, commands: [{ op: 'fill', size: 24, count: 9 }, { op: 'free_every_other', odd: false }] }));
    expect(await run('fuzz', '--replay', f)).toBe(0);
    expect(io.out).toBe(`replay ${f}: user policy segregated: the replay passed (2 commands)\n`);
  });

  it.each([
    [['fuzz', '--layer', 'slab', '--mutant', 'B-01'], /^allocsim: --mutant B-01 is a page mutant; it cannot run with --layer slab$/m],
    [['fuzz', '--layer', 'page', '--slab', 'slob'], /^allocsim: --slab selects a slab policy, which the page campaign does not take \(it takes --page\)$/m],
    [['fuzz', '--malloc', 'implicit'], /^allocsim: --malloc selects a malloc policy, which the page campaign does not take/],
    [['fuzz', '--mutant', 'B-08', '--slab', 'slob'], /^allocsim: --mutant B-08 binds its own class; drop --slab$/m],
    [['fuzz', '--replay', 'x.json', '--mutant', 'B-01'], /^allocsim: --replay takes the layer, policy and mutant from x.json; drop --mutant$/m],
    [['fuzz', '--replay', 'x.json', '--runs', '3', '--max-commands', '9'], /drop --runs, --max-commands$/m],
    [['fuzz', '--mutant', 'B-99'], /^allocsim: unknown mutant 'B-99' \(known: B-01 skip-merge, /],
    [['malloc-fuzz', '--mutant', 'B-01'], /^allocsim: --mutant B-01 is a page mutant; it cannot run with --layer user$/m],
  ])('rejects conflicting options %j: one line, exit 2', async (args, msg) => {
    expect(await run(...args)).toBe(2);
    expect(io.err).toMatch(msg);
    expect(io.err.replace("allocsim: warning: malloc-fuzz is now 'allocsim fuzz --layer user'\n", '').trim().split('\n')).toHaveLength(1);
    expect(io.out).toBe('');
  });

  it('rejects a malformed reproducer naming the command and field: exit 2, never a finding', async () => {
    const f = tmp('bad.json');
    const commands = [{ op: 'alloc', order: 1, gfpIndex: 0 }, { op: 'free', pick: 0 }, { op: 'set_cpu', cpu: 1 }, { op: 'alloc', order: 99, gfpIndex: 0 }];
    writeFileSync(f, JSON.stringify({ version: 1, layer: 'page', policy: 'buddy', commands }));
    expect(await run('fuzz', '--replay', f)).toBe(2);
    expect(io.err).toBe(`allocsim: ${f}: command #3 (alloc): order 99 is outside 0..10\n`);
    expect(io.out).toBe('');
    writeFileSync(f, '{"version": 1, "layer": "page", ');
    expect(await run('fuzz', '--replay', f)).toBe(2);
    expect(io.err).toMatch(new RegExp(`allocsim: ${f}: not valid JSON `));
  });
});
