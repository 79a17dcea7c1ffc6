/**
 * Cost of the detectors (issue 4 targets): the kernel-mix slab workload with
 * debugging off, with slub_debug=FZPU, and with KASAN; and KASAN-checked
 * client bytes per second. Plain timing of whole runs (median of 3), printed
 * by run.ts.
 */

import { GFP_KERNEL } from '../src/interfaces/gfp.js';
import { createSystem } from '../src/system.js';
import { runSlabWorkload } from '../src/harness/workloads/slab.js';

/** One measured configuration. */
export interface DebugCost {
  readonly name: string;
  readonly ms: number;
  readonly factor: number;
}

/** Median of a few timings. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * Medians of `rounds` interleaved runs of two timed runners (ms each), after
 * one warm-up run of each. Which goes first alternates: the second run of a
 * pair pays for the first's garbage.
 */
export function interleaved(a: () => number, b: () => number, rounds: number): [number, number] {
  const ta: number[] = [];
  const tb: number[] = [];
  a();
  b();
  for (let i = 0; i < rounds; i++) {
    if (i % 2) tb.push(b());
    ta.push(a());
    if (!(i % 2)) tb.push(b());
  }
  return [median(ta), median(tb)];
}

/** Times kernel-mix (100k ops) under each debug setting; returns ms and the factor against off. */
export function runDebugBench(): { costs: DebugCost[]; kasanBytesPerSec: number } {
  const configs: [string, object][] = [
    ['debug off', {}],
    ['slub_debug=FZPU', { slubDebug: 'FZPU' }],
    ['KASAN', { kasan: true }],
  ];
  const costs: DebugCost[] = [];
  for (const [name, debug] of configs) {
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const sys = createSystem({ machine: { memBytes: 2 ** 30, cpus: 4 }, debug: { checks: false, trace: false, ...debug } });
      times.push(runSlabWorkload(sys, 'kernel-mix', 100_000, 1).wallMs);
    }
    costs.push({ name, ms: median(times), factor: 0 });
  }
  const base = costs[0]!.ms;
  const withFactor = costs.map((c) => ({ ...c, factor: c.ms / base }));
  // Checked client bytes: 64-byte reads over a set of live objects.
  const sys = createSystem({ machine: { memBytes: 2 ** 30, cpus: 4 }, debug: { checks: false, kasan: true } });
  const objs = Array.from({ length: 1000 }, () => sys.kmem.kmalloc(256, GFP_KERNEL));
  const k = sys.kasan!;
  const t0 = performance.now();
  let bytes = 0;
  for (let r = 0; r < 200; r++) {
    for (const o of objs) {
      k.check(o, 256, false, 'bench');
      bytes += 256;
    }
  }
  const kasanBytesPerSec = bytes / ((performance.now() - t0) / 1000);
  return { costs: withFactor, kasanBytesPerSec };
}
