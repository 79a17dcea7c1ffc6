import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runUserReplay } from '../../src/cli/replay-user.js';

const dir = mkdtempSync(join(tmpdir(), 'allocsim-replay-'));
const rep = join(dir, 'short.rep');
writeFileSync(rep, '20000\n3\n7\n1\na 0 2040\na 1 2040\nf 1\na 2 48\nr 0 4072\nf 0\nf 2\n');
const base = { machine: { memBytes: 64 << 20, cpus: 2 }, policies: { malloc: 'ptmalloc' }, user: { tcache: true } };
const opts = { format: 'auto' as const, lenient: false, addresses: false, json: false };

describe('allocsim replay with a user trace', () => {
  it('reports mdriver utilization, throughput, RSS and the free lists', () => {
    const text = runUserReplay(rep, base, opts);
    expect(text).toMatch(/^trace .*short\.rep: 7 ops through ptmalloc \(tcache on\)/);
    expect(text).toMatch(/utilization\s+\d+\.\d % {2}\(peak live payload 4\.0 KiB \/ peak heap 132\.0 KiB\)/);
    expect(text).toContain('free lists at the end:');
    expect(text).toMatch(/top\s+\d+\s+1 chunks/);
  });

  it('prints the oracle address lines and JSON', () => {
    expect(runUserReplay(rep, base, { ...opts, addresses: true })).toBe('0 heap 672\n1 heap 2720\n2 heap 2720\n0 heap 2784\n'); // what the real glibc prints for this trace
    const j = JSON.parse(runUserReplay(rep, { ...base, policies: { malloc: 'segregated' } }, { ...opts, json: true })) as { policy: string; ops: number };
    expect(j).toMatchObject({ policy: 'segregated', ops: 7 });
  });

  it('a bad line names the file and the line', () => {
    const bad = join(dir, 'bad.rep');
    writeFileSync(bad, '1\n1\n1\n1\na 0 16\nz 0\n');
    expect(() => runUserReplay(bad, base, opts)).toThrow(/bad\.rep:6: expected an op 'a', 'f', 'r'/);
  });
});
