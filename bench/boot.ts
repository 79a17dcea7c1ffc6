/**
 * Boot of a large machine, measured in a fresh process so the RSS is the
 * boot's own: `node dist-bench/bench/boot.js <GiB> <cpus>` prints JSON.
 */

import { createSystem } from '../src/system.js';

const gib = Number(process.argv[2] ?? 64);
const cpus = Number(process.argv[3] ?? 64);
const rss0 = process.memoryUsage().rss;
const t0 = performance.now();
const sys = createSystem({ machine: { memBytes: gib * 2 ** 30, cpus }, debug: { checks: false, trace: false } });
const ms = performance.now() - t0;
const rss = process.memoryUsage().rss;
process.stdout.write(
  JSON.stringify({ gib, cpus, bootMs: ms, rssMiB: rss / 2 ** 20, rssGrowthMiB: (rss - rss0) / 2 ** 20, managedPages: sys.pages.stats().managedPages }) + '\n',
);
