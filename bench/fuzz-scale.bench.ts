/**
 * Fuzz campaigns at scale, each figure against its anchor in the same run,
 * through the built CLI (`npm run build` first), in fresh processes:
 *
 * - **flat memory**: peak RSS of a page campaign of 1 k, 10 k and 100 k runs
 *   on every core (the CLI's 150 commands a run at most), against the 1 k
 *   campaign's;
 * - **speed-up**: the same 2,000-run page campaign on 1 thread and on every
 *   core (`--workers N`), wall time ratio;
 * - **Redis**: the same campaign over a real `redis-server` (started here on
 *   127.0.0.1) with two `allocsim worker` processes of one thread each,
 *   against the local pool of two threads.
 *
 * `BENCH_SCALE_RUNS` overrides the run counts of the memory rows
 * (comma-separated; default `1000,10000,100000`), `BENCH_SCALE_PARTS`
 * picks the parts (`memory,speed,redis`, the default).
 */

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis } from '../test/support/redis.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');

/** What one campaign reported (its `--json` document). */
interface CampaignDoc {
  readonly numRuns: number;
  readonly commandsRun: number;
  readonly elapsedMs: number;
  readonly maxRssMiB: number;
  readonly failures: number;
}

/** Runs a campaign of the built CLI and returns its JSON report. */
function campaign(args: readonly string[]): CampaignDoc {
  const out = execFileSync(process.execPath, [CLI, 'fuzz', '--no-progress', '--json', ...args], { encoding: 'utf8', maxBuffer: 1 << 26, env: { ...process.env, ALLOCSIM_WORKERS: '' } });
  return JSON.parse(out) as CampaignDoc;
}

/** A row of the scale table. */
export interface ScaleRow {
  readonly name: string;
  readonly value: string;
  readonly anchor: string;
  readonly ratio: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The Redis campaign against the local pool: elapsed ms of each (same campaign). */
async function redisVsLocal(args: readonly string[]): Promise<{ queueMs: number; localMs: number }> {
  const redis = await startRedis();
  const dir = mkdtempSync(join(tmpdir(), 'allocsim-bench-redis-'));
  const url = redis.url;
  const children: ChildProcess[] = [];
  try {
    for (let i = 0; i < 2; i++) children.push(spawn(process.execPath, [CLI, 'worker', '--queue', url, '--workers', '1', '--quiet'], { stdio: 'ignore' }));
    await sleep(1500); // the workers' threads start
    const queued = campaign([...args, '--queue', url, '--out', join(dir, 'q')]);
    const local = campaign([...args, '--workers', '2', '--out', join(dir, 'l')]);
    return { queueMs: queued.elapsedMs, localMs: local.elapsedMs };
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await sleep(500);
    redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the scale bench. */
export async function runFuzzScaleBench(): Promise<ScaleRow[]> {
  const rows: ScaleRow[] = [];
  const cores = availableParallelism();
  const parts = new Set((process.env['BENCH_SCALE_PARTS'] ?? 'memory,speed,redis').split(','));
  if (parts.has('memory')) {
    const counts = (process.env['BENCH_SCALE_RUNS'] ?? '1000,10000,100000').split(',').map(Number);
    const mem = counts.map((runs) => ({ runs, doc: campaign(['--runs', String(runs), '--seed', '7', '--workers', String(cores)]) }));
    const base = mem[0]!.doc.maxRssMiB;
    for (const m of mem) {
      const rate = `${Math.round(m.doc.numRuns / (m.doc.elapsedMs / 1000)).toLocaleString('en-US')} runs/s`;
      rows.push({ name: `peak RSS, page campaign of ${m.runs.toLocaleString('en-US')} runs (${cores} threads, ${rate})`, value: `${m.doc.maxRssMiB} MiB`, anchor: `${mem[0]!.runs.toLocaleString('en-US')} runs: ${base} MiB`, ratio: m.doc.maxRssMiB / base });
    }
  }
  const speed = ['--runs', '2000', '--seed', '3'];
  if (parts.has('speed')) {
    const one = campaign([...speed, '--workers', '1']);
    const all = campaign([...speed, '--workers', String(cores)]);
    rows.push({ name: `page campaign, 2,000 runs, ${cores} threads`, value: `${(all.elapsedMs / 1000).toFixed(1)} s`, anchor: `1 thread: ${(one.elapsedMs / 1000).toFixed(1)} s`, ratio: one.elapsedMs / all.elapsedMs });
  }
  if (parts.has('redis')) {
    const r = await redisVsLocal(speed);
    rows.push({ name: 'the same over Redis, 2 workers × 1 thread', value: `${(r.queueMs / 1000).toFixed(1)} s`, anchor: `local pool of 2: ${(r.localMs / 1000).toFixed(1)} s`, ratio: r.queueMs / r.localMs });
  }
  return rows;
}

/** The rows as a Markdown table. */
export function formatFuzzScale(rows: readonly ScaleRow[]): string {
  return ['| fuzz at scale | value | anchor | ratio |', '|---|---|---|---|', ...rows.map((r) => `| ${r.name} | ${r.value} | ${r.anchor} | ${r.ratio.toFixed(2)} |`)].join('\n');
}
