/**
 * `allocsim replay FILE --malloc POLICY`: a user-space trace through a
 * user-space malloc in a simulated process. Prints mdriver's metrics
 * (utilization, throughput), the heap and RSS high-water marks, the process
 * counters and the free lists at the end; `--addresses` prints one line per
 * a/r/c/m op instead (`ID heap OFFSET` / `ID mmap -` / `ID null`), the
 * format the glibc oracle prints.
 */

import { AllocatorError } from '../interfaces/errors.js';
import type { SystemConfigInput } from '../interfaces/config.js';
import { createSystem } from '../system.js';
import { parseUserTrace, USER_TRACE_FORMATS, type UserTraceFormat } from '../harness/user/trace.js';
import { replayUserTrace, type UserReplayResult } from '../harness/user/replayer.js';
import { emptyTrace, parseFile, readInputText } from './files.js';
import { formatCount, formatDecimal } from './format.js';

/** Options of a user replay. */
export interface UserReplayCliOpts {
  readonly format: UserTraceFormat | 'auto';
  readonly lenient: boolean;
  /** Replay a trace without ops (a warning) instead of stopping. @defaultValue false */
  readonly allowEmpty?: boolean;
  readonly addresses: boolean;
  readonly json: boolean;
}

/** Formats the report. */
export function formatUserReplay(file: string, r: UserReplayResult, skipped: Readonly<Record<string, number>>): string {
  const kib = (b: number): string => `${formatDecimal(b / 1024, 1)} KiB`;
  const lines = [
    `trace ${file}: ${formatCount(r.ops)} ops through ${r.policy}${r.policy === 'ptmalloc' ? ` (tcache ${r.tcache ? 'on' : 'off'})` : ''}`,
    `  utilization      ${(r.utilization * 100).toFixed(1)} %  (peak live payload ${kib(r.peakLiveBytes)} / peak heap ${kib(r.peakHeapBytes)})`,
    `  throughput       ${formatCount(r.opsPerSec)} ops/s (${formatDecimal(r.elapsedMs, 1)} ms)`,
    `  RSS high-water   ${formatCount(r.rssHwmPages)} pages (${kib(r.rssHwmPages * 4096)}); ${formatCount(r.faults)} page faults, ${formatCount(r.pageTablePages)} page-table pages, ${formatCount(r.tlbFlushes)} TLB flushes`,
    `  NULL returns     ${formatCount(r.nulls)}`,
  ];
  const sk = Object.entries(skipped);
  if (sk.length) lines.push(`  skipped (--lenient) ${sk.map(([k, v]) => `${k} ${formatCount(v)}`).join(', ')}`);
  lines.push('  free lists at the end:');
  for (const b of r.bins) lines.push(`    ${b.bin.padEnd(14)} ${b.sizes.padStart(13)}  ${formatCount(b.chunks).padStart(7)} chunks ${kib(b.bytes).padStart(12)}`);
  return lines.join('\n') + '\n';
}

/** Runs the replay on a system built from `base` (its policies.malloc and user.tcache choose the malloc) and returns the text to print. */
export function runUserReplay(file: string, base: SystemConfigInput, o: UserReplayCliOpts): string {
  if (o.format !== 'auto' && !USER_TRACE_FORMATS.includes(o.format)) {
    throw new AllocatorError('unknown-name', `unknown user trace format '${o.format}' (known: ${USER_TRACE_FORMATS.join(', ')})`);
  }
  const trace = parseFile(file, readInputText(file), (t) => parseUserTrace(t, o.format, { lenient: o.lenient }));
  emptyTrace(file, trace.n, 'ops', o.allowEmpty === true);
  const sys = createSystem(base);
  const r = replayUserTrace(sys, trace, { addresses: o.addresses });
  if (o.addresses) return r.addresses!.join('\n') + '\n';
  if (o.json) return JSON.stringify({ file, format: trace.format, skipped: trace.skipped, ...r }, null, 2) + '\n';
  return formatUserReplay(file, r, trace.skipped);
}
