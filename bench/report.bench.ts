/**
 * `allocsim report` (issue 17): the time and size of the report for the
 * default comparison (kernel-mix, 200 000 operations, SLAB vs SLUB vs SLOB on
 * a 1 GiB, 4-CPU machine), measured as a user sees it — a fresh `node`
 * process, start to file written — and the overhead of sampling: the same
 * run with the cost meter on, without and with a sampler (200 samples, the
 * report's default), median of 31 runs per policy, alternated; and what
 * one memory map (a snapshot the report takes at three moments) costs.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSystem } from '../src/system.js';
import { runSlabWorkload } from '../src/harness/workloads/slab.js';
import { interleaved, median } from './debug.bench.js';
import { Sampler } from '../src/harness/observe/sampler.js';
import { DEFAULT_SAMPLES } from '../src/cli/report.js';

/** What the report benchmark measured. */
export interface ReportBench {
  /** Wall time of `allocsim report` (fresh process), ms, median of three. */
  readonly reportMs: number;
  readonly reportBytes: number;
  /** Per policy: median ms with counters on, with counters and sampling, and the ratio. */
  readonly sampling: readonly { policy: string; costMs: number; sampledMs: number; ratio: number; mapMs: number }[];
}

const OPS = 200000;

/** Runs the benchmark. */
export function runReportBench(): ReportBench {
  const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  const out = join(mkdtempSync(join(tmpdir(), 'allocsim-bench-')), 'report.html');
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    execFileSync(process.execPath, [cli, 'report', '--out', out], { stdio: 'ignore' });
    times.push(performance.now() - t0);
  }
  const sampling = ['slab', 'slub', 'slob'].map((slab) => {
    let mapMs = 0;
    const run = (sample: boolean): number => {
      const sys = createSystem({ policies: { slab }, debug: { checks: false, trace: false, cost: true } });
      const t0 = performance.now();
      const s = sample ? new Sampler(sys, { every: OPS / DEFAULT_SAMPLES, expected: DEFAULT_SAMPLES + 2 }) : undefined;
      runSlabWorkload(sys, 'kernel-mix', OPS, 1, true);
      s?.finish(false);
      const ms = performance.now() - t0;
      if (s) {
        const m0 = performance.now();
        s.map(OPS);
        mapMs = performance.now() - m0;
      }
      return ms;
    };
    const [costMs, sampledMs] = interleaved(() => run(false), () => run(true), 31);
    return { policy: slab, costMs, sampledMs, ratio: sampledMs / costMs, mapMs };
  });
  return { reportMs: median(times), reportBytes: statSync(out).size, sampling };
}

/** The Markdown lines of a result. */
export function formatReportBench(r: ReportBench): string {
  const lines = [
    `| allocsim report (kernel-mix, 200k ops, slab vs slub vs slob, fresh process) | ${(r.reportMs / 1000).toFixed(2)} s | ${(r.reportBytes / 2 ** 20).toFixed(2)} MiB |`,
    '|---|---|---|',
    '',
    `| kernel-mix, 200k ops | cost counters on, median ms | + sampling (${DEFAULT_SAMPLES} samples) | ratio | one memory map (1 GiB), ms |`,
    '|---|---|---|---|---|',
    ...r.sampling.map((s) => `| ${s.policy} | ${s.costMs.toFixed(0)} | ${s.sampledMs.toFixed(0)} | ${s.ratio.toFixed(3)} | ${s.mapMs.toFixed(1)} |`),
  ];
  return lines.join('\n');
}
