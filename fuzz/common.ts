/**
 * What every fuzz campaign shares: the layers that have one, the small
 * machine they run on, the failure a check throws, and the system-wide check
 * run after commands (every invariant of every layer, and no detector
 * report, since the fuzz client never misbehaves).
 */

import type { SystemConfigInput } from '../src/interfaces/config.js';
import { formatViolations, type Violation } from '../src/interfaces/invariants.js';
import type { System } from '../src/system.js';

/** The layers with a fuzz campaign, in the order the CLI lists them. */
export const FUZZ_LAYERS = ['page', 'slab', 'vmalloc', 'user'] as const;

/** A layer with a fuzz campaign. */
export type FuzzLayer = (typeof FUZZ_LAYERS)[number];

/** The small machine the page and slab campaigns use unless told otherwise: DMA and DMA32 zones, 2 CPUs. */
export const FUZZ_MACHINE: SystemConfigInput = { machine: { memBytes: 24 << 20, kernelImageBytes: 1 << 20, cpus: 2, thp: false } };

/** Highest CPU number a set_cpu or drain command names (taken modulo the machine's CPUs). */
export const FUZZ_MAX_CPU = 7;

/** Thrown when a check fails; carries the violations (their codes are what a mutant's `caughtBy` names). */
export class FuzzFailure extends Error {
  constructor(readonly violations: readonly Violation[]) {
    super(formatViolations(violations));
    this.name = 'FuzzFailure';
  }
}

/**
 * Time spent in the after-command checks, for the throughput benchmark
 * (`bench/fuzz-throughput.bench.ts`): off by default, when on every
 * {@link checkSystem} (and the user campaign's heap check) adds its
 * milliseconds.
 */
export const CHECK_CLOCK = { on: false, ms: 0 };

/** Runs `f`, adding its time to {@link CHECK_CLOCK} when that is on. */
export function timedCheck(f: () => void): void {
  if (!CHECK_CLOCK.on) return f();
  const t0 = performance.now();
  try {
    f();
  } finally {
    CHECK_CLOCK.ms += performance.now() - t0;
  }
}

/** Every invariant of the system, and no detector report (the fuzz client is correct); throws {@link FuzzFailure} otherwise. */
export function checkSystem(sys: System): void {
  timedCheck(() => {
    const v = sys.checkInvariants();
    for (const r of sys.machine.reports.list()) v.push({ code: 'R0', message: `a detector reported ${r.kind} although the client did nothing wrong` });
    if (v.length) throw new FuzzFailure(v);
  });
}
