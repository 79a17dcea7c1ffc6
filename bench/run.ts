/**
 * `npm run bench`: every benchmark suite, then a Markdown summary with the
 * machine and date, ready to paste into bench/RESULTS.md.
 * Set BENCH_MAXTIME (seconds per case, default 2).
 */

import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runPageBench } from './page.bench.js';
import { runSlabBench } from './slab.bench.js';
import { runDebugBench } from './debug.bench.js';
import { runUserBench } from './user.bench.js';
import { runVmallocBench } from './vmalloc.bench.js';
import { runEdgesBench } from './edges.bench.js';
import { formatFuzzThroughput, runFuzzThroughputBench } from './fuzz-throughput.bench.js';
import { formatFuzzScale, runFuzzScaleBench } from './fuzz-scale.bench.js';
import { formatCostBench, runCostOffBench, runCostOnBench } from './cost.bench.js';
import { formatReportBench, runReportBench } from './report.bench.js';

const maxTime = Number(process.env['BENCH_MAXTIME'] ?? 2);
const only = process.env['BENCH_ONLY'];
const kernelOnly = only === 'user' || only === 'vmalloc' || only === 'edges' || only === 'fuzz' || only === 'fuzz-scale' || only === 'cost' || only === 'report' ? [] : undefined;
const results = kernelOnly ?? [...(only === 'slab' || only === 'debug' ? [] : runPageBench(maxTime)), ...(only === 'page' || only === 'debug' ? [] : runSlabBench(maxTime))];
const bootScript = fileURLToPath(new URL('./boot.js', import.meta.url));
const boot = JSON.parse(execFileSync(process.execPath, [bootScript, '64', '64'], { encoding: 'utf8' })) as { bootMs: number; rssMiB: number; managedPages: number };

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const lines = [
  `Date: ${new Date().toISOString().slice(0, 10)} · Node ${process.version} · ${cpus()[0]?.model ?? '?'} × ${cpus().length} · ${(totalmem() / 2 ** 30).toFixed(0)} GiB · maxTime ${maxTime} s`,
  '',
  '| case | policy | rate | ± |',
  '|---|---|---|---|',
  ...results.map((r) => `| ${r.name} | ${r.policy} | ${fmt(r.hz)} ${r.unit} | ${r.rme.toFixed(1)} % |`),
  '',
  `| boot 64 GiB, 64 CPUs (fresh process) | ${boot.bootMs.toFixed(0)} ms | RSS ${boot.rssMiB.toFixed(0)} MiB | ${fmt(boot.managedPages)} managed pages |`,
  '|---|---|---|---|',
];
if (only === undefined || only === 'user') {
  const u = runUserBench();
  lines.push('', '| 200k small-size ops (1–256 B), user trace replay | ns/op |', '|---|---|');
  for (const r of u.rows) lines.push(`| ${r.name} | ${r.nsPerOp.toFixed(0)} |`);
  lines.push('', `simulated ptmalloc / real glibc: ${u.ratio.toFixed(1)}× per operation`);
}
if (only === undefined || only === 'vmalloc') {
  const v = runVmallocBench();
  lines.push('', '| vmalloc+vfree, 10 k areas live | policy | pairs/s | pairs/s of CPU time | backing pages/s |', '|---|---|---|---|---|');
  for (const r of v.pairs) lines.push(`| 1–${r.maxPages} pages | ${r.policy} | ${fmt(r.pairsPerSec)} | ${fmt(r.cpuPairsPerSec)} | ${fmt(r.pagesPerSec)} |`);
  lines.push('', '| vmap space alone: live ranges | policy | µs per alloc+free | fit tests per search |', '|---|---|---|---|');
  for (const r of v.curve) lines.push(`| ${fmt(r.live)} | ${r.policy} | ${r.usPerPair.toFixed(2)} | ${r.stepsPerSearch.toFixed(1)} |`);
}
if (only === undefined || only === 'edges') {
  lines.push('', '| front door and plug-in loader | ms | anchor | anchor ms | ratio |', '|---|---|---|---|---|');
  for (const r of runEdgesBench()) lines.push(`| ${r.name} | ${r.ms.toFixed(2)} | ${r.anchor} | ${r.anchorMs.toFixed(2)} | ${(r.ms / r.anchorMs).toFixed(2)} |`);
}
if (only === undefined || only === 'fuzz') lines.push('', formatFuzzThroughput(runFuzzThroughputBench()));
if (only === undefined || only === 'fuzz-scale') lines.push('', formatFuzzScale(await runFuzzScaleBench()));
if (only === undefined || only === 'cost') {
  lines.push('', formatCostBench(runCostOnBench(), runCostOffBench()));
}
if (only === undefined || only === 'report') lines.push('', formatReportBench(runReportBench()));
if (only !== 'page' && only !== 'slab' && only !== 'user' && only !== 'vmalloc' && only !== 'edges' && only !== 'fuzz' && only !== 'fuzz-scale' && only !== 'cost' && only !== 'report') {
  const d = runDebugBench();
  lines.push('', '| kernel-mix, 100k ops (SLUB) | median ms | × debug off |', '|---|---|---|');
  for (const c of d.costs) lines.push(`| ${c.name} | ${c.ms.toFixed(1)} | ${c.factor.toFixed(2)} |`);
  lines.push('', `KASAN-checked client bytes: ${fmt(d.kasanBytesPerSec)} bytes/s (256-byte reads of live objects)`);
}
process.stdout.write(lines.join('\n') + '\n');
