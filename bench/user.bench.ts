/**
 * User space (issue 5 target): replaying a 200k-operation random trace of
 * small sizes (1–256 bytes) through the simulated ptmalloc, against the real
 * glibc replaying the same trace in the same run (the C oracle times its own
 * replay loop). Median of 3 each, after one untimed warm-up replay per
 * policy so that the median compares JIT-compiled steady states (the C
 * oracle has no JIT to warm); the simulator's time includes page faults and
 * page-table walks of its process model. The baselines are timed too.
 */

import { createSystem } from '../src/system.js';
import { generateUserTrace, generateUserTraceText } from '../src/harness/user/trace-gen.js';
import { replayUserTrace } from '../src/harness/user/replayer.js';
import { glibcOracle, oracleTimeNs } from '../src/harness/user/oracle.js';
import { median } from './debug.bench.js';

/** One timed replay. */
export interface UserBenchRow {
  readonly name: string;
  readonly nsPerOp: number;
}

/** Times the replays; `ratio` is sim ptmalloc ns/op over glibc ns/op (NaN without gcc). */
export function runUserBench(): { rows: UserBenchRow[]; ratio: number } {
  const ops = 200_000;
  const opts = { seed: 42, ops, mix: 'small' as const };
  const trace = generateUserTrace(opts);
  const rows: UserBenchRow[] = [];
  for (const malloc of ['ptmalloc', 'segregated', 'implicit']) {
    const runs = malloc === 'implicit' ? 1 : 3;
    const warmups = malloc === 'implicit' ? 0 : 1;
    const times: number[] = [];
    for (let i = 0; i < warmups + runs; i++) {
      const sys = createSystem({ machine: { memBytes: 2 ** 30, cpus: 4 }, policies: { malloc }, debug: { checks: false, trace: false } });
      const ms = replayUserTrace(sys, trace).elapsedMs;
      if (i >= warmups) times.push(ms);
    }
    rows.push({ name: `sim ${malloc}`, nsPerOp: (median(times) * 1e6) / ops });
  }
  let ratio = NaN;
  if (glibcOracle().ok) {
    const text = generateUserTraceText(opts);
    const ns = median([0, 1, 2].map(() => oracleTimeNs(text, { tcache: true })));
    rows.push({ name: 'real glibc 2.36 (C oracle)', nsPerOp: ns / ops });
    ratio = rows[0]!.nsPerOp / (ns / ops);
  }
  return { rows, ratio };
}
