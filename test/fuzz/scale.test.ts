/** The campaign coordinator in this thread: slices are the seed's runs, findings bucketed and written once, shards and merges, time budgets and interruption. */
import { describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PAGE_CAMPAIGN } from '../../fuzz/page/campaign.js';
import { coordinate } from '../../fuzz/scale/coordinator.js';
import { executeSlice } from '../../fuzz/scale/execute.js';
import { addFindings, FindingsAccumulator, mergeFindingsDirs, readFindingsIndex } from '../../fuzz/scale/findings.js';
import { campaignJob, checkJob, parseShard, SLICE_OFFSET, SLICE_RUNS, sliceSeed } from '../../fuzz/scale/job.js';
import { inThreadExecutor } from '../../fuzz/scale/pool.js';
import { findMutant } from '../../fuzz/mutants/catalogue.js';

// Campaigns of a few hundred runs: seconds each, more on a busy machine.
jest.setTimeout(60_000);

const tmp = (): string => mkdtempSync(join(tmpdir(), 'allocsim-scale-'));
const job = (o: { mutant?: string; seed?: number } = {}) => campaignJob({ layer: 'page', policy: 'buddy', seed: o.seed ?? 4, maxCommands: 40, ...(o.mutant ? { mutant: o.mutant } : {}) });

describe('slices', () => {
  it('are runs 100 … 124 of a fast-check sequence of their own seed, numbered as the campaign’s runs', async () => {
    for (const k of [0, 1, 40_000]) {
      const alone = PAGE_CAMPAIGN.run({}, { seed: sliceSeed(4, k), path: String(SLICE_OFFSET), numRuns: SLICE_RUNS, maxCommands: 40 });
      const s = await executeSlice({ job: job(), k });
      expect([s.commandsRun, s.from, s.to]).toEqual([alone.commandsRun, k * SLICE_RUNS, (k + 1) * SLICE_RUNS]);
    }
    expect(new Set([0, 1, 2, 3].map((k) => sliceSeed(4, k))).size).toBe(4);
    expect(sliceSeed(2 ** 40 + 4, 0)).not.toBe(sliceSeed(4, 0));
    expect((await executeSlice({ job: job(), k: 3, runs: 80 })).to).toBe(80);
  });

  it('go on after a failure, shrink the first run of each key and count the others', async () => {
    const r = await executeSlice({ job: job({ mutant: 'B-01' }), k: 0 });
    expect(r.failures.length).toBeGreaterThan(5);
    const keys = new Set(r.failures.map((f) => f.key));
    expect(r.findings.map((f) => f.key)).toEqual([...keys]);
    // The first failing run is the one a campaign of the slice's seed reports, shrunk the same way.
    const single = PAGE_CAMPAIGN.run({ overrides: findMutant('B-01').overrides }, { seed: sliceSeed(4, 0), path: String(SLICE_OFFSET), numRuns: 25, maxCommands: 40 });
    expect(r.findings[0]).toMatchObject({ run: Number(single.path!.split(':')[0]) - SLICE_OFFSET, seed: sliceSeed(4, 0), commands: single.commands, path: single.path });
  });
});

describe('the coordinator', () => {
  it('gives the same result whether one slice or several are in flight, and stops a mutant at its first catching slice', async () => {
    const narrow = await coordinate({ job: job({ mutant: 'B-04' }), runs: 200, stopAtFirst: true }, inThreadExecutor());
    const wide = await coordinate({ job: job({ mutant: 'B-04' }), runs: 200, stopAtFirst: true }, { ...inThreadExecutor(), width: 4 });
    expect(narrow.stopped).toBe('finding');
    expect(wide.slices).toEqual(narrow.slices);
    expect(wide.distinct.map((d) => d.entry)).toEqual(narrow.distinct.map((d) => d.entry));
    expect(narrow.slices).toEqual(Array.from({ length: narrow.slices.length }, (_, i) => i));
  });

  it('runs a shard’s slices only, and stops on a deadline or a signal with the runs so far', async () => {
    const s = await coordinate({ job: job(), runs: 200, shard: parseShard('2/3') }, inThreadExecutor());
    expect(s.slices).toEqual([1, 4, 7]);
    expect(s.runs).toBe(75);
    const timed = await coordinate({ job: job(), deadline: Date.now() + 300 }, inThreadExecutor());
    expect(timed.stopped).toBe('time');
    expect(timed.runs).toBe(timed.slices.length * SLICE_RUNS);
    const stop = new AbortController();
    const stopped = await coordinate({ job: job() }, inThreadExecutor(), { signal: stop.signal, onProgress: (p) => p.runs >= 50 && stop.abort() });
    expect(stopped).toMatchObject({ stopped: 'interrupted', runs: 50 });
  });

  it('reports progress after every slice with the coverage seen', async () => {
    const seen: number[] = [];
    const r = await coordinate({ job: job(), runs: 75 }, inThreadExecutor(), { onProgress: (p) => seen.push(p.runs) });
    expect(seen).toEqual([25, 50, 75]);
    expect(r.coverage).toEqual(expect.arrayContaining(['AllocCommand:DMA32', 'AllocCommand:fail', 'FreeCommand']));
    expect(r.coverage.length).toBeGreaterThan(5);
  });
});

describe('findings directories', () => {
  it('write each signature once, never overwrite a reproducer, and count an occurrence once', async () => {
    const r = await coordinate({ job: job({ mutant: 'B-01' }), runs: 50 }, inThreadExecutor());
    const dir = tmp();
    addFindings(dir, r.distinct);
    const files = readdirSync(dir).sort();
    expect(files).toEqual(['SUMMARY.md', 'findings.json', ...r.distinct.map((d) => d.entry.file)].sort());
    const first = join(dir, r.distinct[0]!.entry.file);
    writeFileSync(first, 'kept');
    addFindings(dir, r.distinct);
    expect(readFileSync(first, 'utf8')).toBe('kept');
    const index = readFindingsIndex(dir);
    expect(index.findings.reduce((n, e) => n + e.occurrences.length, 0)).toBe(r.failures);
    expect(readFileSync(join(dir, 'SUMMARY.md'), 'utf8')).toMatch(/^\| page-B3-[0-9a-f]{12}\.json \| page \| mutant B-01 \| B3 \|/m);
  });

  it('merge shards into the whole campaign', async () => {
    const whole = tmp();
    addFindings(whole, (await coordinate({ job: job({ mutant: 'B-01' }), runs: 100 }, inThreadExecutor())).distinct);
    const shards = [];
    for (const s of ['1/2', '2/2']) {
      const d = tmp();
      addFindings(d, (await coordinate({ job: job({ mutant: 'B-01' }), runs: 100, shard: parseShard(s) }, inThreadExecutor())).distinct);
      shards.push(d);
    }
    const merged = tmp();
    expect(mergeFindingsDirs(merged, shards)).toEqual(readFindingsIndex(whole));
    // The order of the directories does not matter: each signature's reproducer is its first occurrence's.
    const reversed = tmp();
    expect(mergeFindingsDirs(reversed, [...shards].reverse())).toEqual(readFindingsIndex(whole));
    for (const e of readFindingsIndex(whole).findings) expect(readFileSync(join(reversed, e.file), 'utf8')).toBe(readFileSync(join(whole, e.file), 'utf8'));
  });

  it('count a failure whose shrinking re-run passed, without listing it', () => {
    const acc = new FindingsAccumulator(job());
    expect(acc.add({ failures: [{ run: 3, key: 'P1|X|' }], findings: [] })).toEqual([]);
    expect(acc.list()).toEqual([]);
  });

  it('reject a malformed index naming the file', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'findings.json'), '{"version": 1, "findings": [{}]}');
    expect(() => readFindingsIndex(dir)).toThrow(/findings\.json: findings\[0\] is not a finding entry/);
    writeFileSync(join(dir, 'findings.json'), '{"version": 1, "findings": [{"signature": "x", "file": "../../etc/passwd", "seed": 1, "run": 0, "occurrences": []}]}');
    expect(() => readFindingsIndex(dir)).toThrow(/findings\[0\]\.file must be a file name in the directory, got "\.\.\/\.\.\/etc\/passwd"/);
  });
});

describe('jobs', () => {
  it('parse shards and refuse a job of another version', () => {
    expect(parseShard(' 3/4 ')).toEqual({ index: 3, count: 4 });
    expect(() => parseShard('0/4')).toThrow(/between 1 and 4/);
    expect(() => parseShard('x')).toThrow(/expects I\/N/);
    expect(() => checkJob({ ...job(), version: '9.9.9' })).toThrow(/written by allocsim "9\.9\.9"; this is allocsim 0\.1\.0/);
    expect(checkJob(job())).toEqual(job());
  });
});
