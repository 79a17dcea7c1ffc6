/**
 * Campaigns over many processes with real parts: a real `redis-server` on
 * 127.0.0.1 (started here on a free port in a temporary directory, stopped
 * afterwards), a coordinator and two `allocsim worker` processes of the
 * built CLI. One worker is killed (SIGKILL) in the middle of a slice; its
 * slice must be run again by the other (BullMQ's stalled-job recovery), and
 * the campaign must end with every slice counted once and exactly the
 * findings of the same campaign run locally. Also: thread pools give the
 * findings of one thread, shards merged give the whole campaign's, and bad
 * input (an unreachable Redis, a queue of another version, conflicting
 * options) is one line and exit 2.
 *
 * `redis-server` must be installed (`npm test` installs it as root through
 * the pretest script); this file fails, never skips, without it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUE_NAME } from '../../fuzz/scale/queue.js';
import { findingsIndex } from '../support/findings.js';
import { freePort, startRedis, type RedisServer } from '../support/redis.js';
import { ROOT, requireFreshBuild } from '../support/workdir.js';

const CLI = join(ROOT, 'dist/src/cli/main.js');
/** Runs the built CLI to its end. */
function cli(args: readonly string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env, ALLOCSIM_WORKERS: '' }, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the built CLI in the background, collecting its output. */
function background(args: readonly string[]): { child: ChildProcess; out: () => string; err: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ALLOCSIM_WORKERS: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exited };
}

const until = async (what: string, cond: () => boolean, ms = 60_000): Promise<void> => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

let dir = '';
let redis: RedisServer | undefined;
let url = '';

beforeAll(async () => {
  requireFreshBuild(['src/cli/main.ts', 'src/cli/fuzz.ts', 'fuzz/scale/queue.ts', 'fuzz/scale/coordinator.ts', 'fuzz/engine.ts']);
  redis = await startRedis();
  url = redis.url;
  dir = mkdtempSync(join(tmpdir(), 'allocsim-distributed-'));
}, 30_000);

afterAll(() => {
  redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a campaign over a Redis queue', () => {
  it('survives a worker killed mid-slice: every slice counted once, the same findings as a local run', async () => {
    const runs = '150';
    const campaign = ['--mutant', 'B-20', '--keep-going', '--runs', runs, '--seed', '5', '--no-progress'];
    const workers = [0, 1].map(() => background(['worker', '--queue', url, '--workers', '1', '--stall-timeout', '2s']));
    const coord = background(['fuzz', ...campaign, '--queue', url, '--out', join(dir, 'queued'), '--json']);
    // The first worker is killed once it has finished a slice and taken the next one.
    await until('a worker to finish a slice', () => /slice \d+/.test(workers[0]!.err()));
    workers[0]!.child.kill('SIGKILL');
    const status = await coord.exited;
    const survivor = workers[1]!;
    survivor.child.kill('SIGTERM');
    await survivor.exited;
    expect({ status, err: coord.err() }).toMatchObject({ status: 0 });
    const j = JSON.parse(coord.out()) as { outcome: string; slices: number; numRuns: number; failures: number };
    expect(j).toMatchObject({ outcome: 'caught', slices: 6, numRuns: 150 });
    // Each slice was completed once across both workers' logs (the killed one's last slice never completed).
    const done = [...(workers[0]!.err() + survivor.err()).matchAll(/slice (\d+) /g)].map((m) => Number(m[1])).sort((a, b) => a - b);
    expect(done).toEqual([0, 1, 2, 3, 4, 5]);
    const local = cli(['fuzz', ...campaign, '--workers', '1', '--out', join(dir, 'local')]);
    expect(local.status).toBe(0);
    expect(findingsIndex(join(dir, 'queued'))).toEqual(findingsIndex(join(dir, 'local')));
    expect(findingsIndex(join(dir, 'local')).findings.reduce((n, e) => n + e.occurrences.length, 0)).toBe(j.failures);
  }, 120_000);

  it('stops on Ctrl-C at once when no worker takes the slices, and leaves none of its jobs behind', async () => {
    const c = background(['fuzz', '--runs', '500', '--queue', url, '--no-progress']);
    await new Promise((r) => setTimeout(r, 2000));
    c.child.kill('SIGINT');
    const t0 = Date.now();
    expect(await c.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(c.out()).toMatch(/^page policy buddy: 0 runs passed \(seed 1, 0 commands\), when interrupted/m);
    const conn = new Redis({ host: '127.0.0.1', port: redis!.port, maxRetriesPerRequest: null });
    const queue = new Queue(QUEUE_NAME, { connection: conn });
    try {
      expect(await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized')).toEqual({ waiting: 0, active: 0, delayed: 0, prioritized: 0 });
    } finally {
      await queue.close();
      await conn.quit();
    }
  }, 30_000);

  it('refuses a queue holding another version’s jobs, naming both versions', async () => {
    const conn = new Redis({ host: '127.0.0.1', port: redis!.port, maxRetriesPerRequest: null });
    const queue = new Queue(QUEUE_NAME, { connection: conn });
    await queue.add('slice', { job: { version: '0.0.1-old', layer: 'page', policy: 'buddy', seed: 1, maxCommands: 5 }, k: 0 });
    try {
      const r = cli(['fuzz', '--runs', '25', '--queue', url, '--no-progress']);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^allocsim: the queue at redis:\/\/127\.0\.0\.1:\d+ holds jobs of allocsim 0\.0\.1-old, this is allocsim 0\.1\.0: /m);
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
      await conn.quit();
    }
  }, 30_000);

  it('says an unreachable Redis in one line, exit 2, without hanging', async () => {
    const port = await freePort();
    const t0 = Date.now();
    const r = cli(['fuzz', '--runs', '25', '--queue', `redis://127.0.0.1:${port}`]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(`allocsim: cannot reach Redis at redis://127.0.0.1:${port}: ECONNREFUSED`);
    expect(Date.now() - t0).toBeLessThan(15_000);
    const w = cli(['worker', '--queue', `redis://127.0.0.1:${port}`, '--quiet']);
    expect(w.status).toBe(2);
    expect(w.stderr).toMatch(/cannot reach Redis/);
  }, 40_000);
});

describe('a campaign on local threads and shards', () => {
  it('finds the same with 1 and 2 threads, and shards merged give the whole campaign', () => {
    const campaign = ['fuzz', '--mutant', 'B-03', '--keep-going', '--runs', '100', '--seed', '9', '--no-progress'];
    expect(cli([...campaign, '--workers', '1', '--out', join(dir, 't1')]).status).toBe(0);
    expect(cli([...campaign, '--workers', '2', '--out', join(dir, 't2')]).status).toBe(0);
    expect(findingsIndex(join(dir, 't2'))).toEqual(findingsIndex(join(dir, 't1')));
    for (const s of ['1/3', '2/3', '3/3']) expect(cli([...campaign, '--workers', '1', '--shard', s, '--out', join(dir, `s${s[0]}`)]).status).toBe(0);
    const m = cli(['fuzz', 'merge', join(dir, 's1'), join(dir, 's2'), join(dir, 's3'), '--out', join(dir, 'merged')]);
    expect(m.status).toBe(0);
    expect(findingsIndex(join(dir, 'merged'))).toEqual(findingsIndex(join(dir, 't1')));
    // Merging again adds nothing: an occurrence counts once.
    expect(cli(['fuzz', 'merge', join(dir, 'merged'), join(dir, 's2')]).status).toBe(0);
    expect(findingsIndex(join(dir, 'merged'))).toEqual(findingsIndex(join(dir, 't1')));
  }, 120_000);

  it('stops at the end of a time budget, and on Ctrl-C with the summary of the runs so far', async () => {
    const timed = cli(['fuzz', '--layer', 'user', '--time', '2s', '--no-progress', '--json']);
    expect(timed.status).toBe(0);
    const doc = JSON.parse(timed.stdout) as { stopped: string; numRuns: number; message: string; maxRssMiB: number };
    expect(doc).toMatchObject({ stopped: 'time' });
    expect(doc.message).toMatch(/^user policy ptmalloc: [\d,]+ runs passed \(seed 1, [\d,]+ commands\), when the time budget ran out$/);
    const c = background(['fuzz', '--layer', 'slab', '--time', '10m', '--no-progress']);
    await new Promise((r) => setTimeout(r, 2500));
    c.child.kill('SIGINT');
    expect(await c.exited).toBe(0);
    expect(c.out()).toMatch(/^slab policy slub: [\d,]+ runs passed \(seed 1, [\d,]+ commands\), when interrupted \(the runs so far\)$/m);
    expect(c.err()).toMatch(/^allocsim: warning: interrupted: finishing the slices under way/m);
  }, 60_000);

  it.each([
    [['fuzz', '--time', '1m', '--runs', '5'], /^allocsim: --time and --runs are both budgets; give one$/],
    [['fuzz', '--shard', '3/2'], /^allocsim: --shard 3\/2: the index must be between 1 and 2$/],
    [['fuzz', '--mutant', 'B-01', '--shard', '1/2'], /^allocsim: --shard with --mutant needs --keep-going \(each shard would stop at its own first catch\)$/],
    [['fuzz', '--time', 'soon'], /^allocsim: --time expects a duration such as 90s, 10m, 2h or 1h30m, got 'soon'$/],
    [['fuzz', '--workers', '0'], /^allocsim: --workers expects an integer in 1\.\.256, got '0'$/],
    [['fuzz', '--out', '/dev/null/findings'], /^allocsim: --out \/dev\/null\/findings: cannot write there \(ENOTDIR\)$/],
    [['fuzz', '--queue', 'http://x:1'], /^allocsim: --queue expects redis:\/\/HOST:PORT, got 'http:\/\/x:1'$/],
  ])('rejects %j in one line, exit 2', (args, message) => {
    const r = cli(args);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(message);
  });
});

