/**
 * `allocsim replay FILE --format ftrace --slab X`: replays a real kernel's
 * ftrace kmem log through the chosen slab policy and reports what happened
 * (rules in src/harness/trace/replay.ts); `--emit FILE` writes the events
 * back with the simulator's own pointers and bytes_alloc.
 */

import { writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { USER_TRACE_FORMATS, type UserTraceFormat } from '../harness/user/trace.js';
import { runUserReplay } from './replay-user.js';
import { userTraceFormatFromPath } from '../harness/user/trace.js';
import { policyNames } from '../policies/registry.js';
import { createSystem } from '../system.js';
import { parseFtraceKmemFile } from '../harness/trace/ftrace-kmem.js';
import { replayKmem, type ReplayStats } from '../harness/trace/replay.js';
import { emitFtrace } from '../harness/trace/emit.js';
import { configFrom, machineOptions, type MachineCliOpts } from './options.js';

interface ReplayCliOpts extends MachineCliOpts {
  format: string;
  slab: string;
  malloc?: string;
  tcache?: string;
  addresses?: boolean;
  lenient?: boolean;
  emit?: string;
  keep?: boolean;
  json?: boolean;
}

/** A readable summary of a replay. */
export function formatReplay(file: string, policy: string, s: ReplayStats, wallMs: number, parseInfo: { events: number; skipped: number; ignored: number }): string {
  const n = (x: number): string => x.toLocaleString('en-US');
  const frag = (b: { bytesReq: number; bytesAlloc: number }): string => (b.bytesAlloc ? `${((1 - b.bytesReq / b.bytesAlloc) * 100).toFixed(1)}%` : '-');
  const lines = [
    `replay of ${file} through ${policy}: ${n(parseInfo.events)} kmem events (${n(parseInfo.ignored)} other events ignored, ${n(parseInfo.skipped)} malformed lines skipped) in ${wallMs.toFixed(1)} ms`,
    `  kmalloc          ${n(s.replayed.kmalloc)} calls, ${n(s.kmalloc.bytesReq)} bytes requested, ${n(s.kmalloc.bytesAlloc)} given (internal fragmentation ${frag(s.kmalloc)}; the traced kernel gave ${n(s.kmalloc.tracedBytesAlloc)})`,
    `  kmem_cache_alloc ${n(s.replayed.cache_alloc)} calls, ${n(s.cacheAlloc.bytesReq)} bytes requested, ${n(s.cacheAlloc.bytesAlloc)} given (the traced kernel gave ${n(s.cacheAlloc.tracedBytesAlloc)})`,
    `  kfree            ${n(s.replayed.kfree)}; kmem_cache_free ${n(s.replayed.cache_free)}`,
    `  null frees ${n(s.nullFrees)}, frees of objects allocated before tracing ${n(s.unknownFrees)}, lost frees ${n(s.lostFrees)}, simulated failures ${n(s.failures)}`,
    `  caches: ${n(s.cacheSources.named)} allocations by name, ${n(s.cacheSources.paired)} paired with a named free, ${n(s.cacheSources.synthetic)} synthetic (trace-<bytes_req>)`,
    `  bytes_alloc differs from the trace for ${n(s.bytesAllocMismatchCount)} allocations`,
    `  live at the end: ${n(s.liveAtEnd.objects)} objects, ${n(s.liveAtEnd.bytesReq)} bytes requested; peak ${n(s.peakLiveObjects)} objects, ${n(s.peakLiveBytes)} bytes`,
  ];
  for (const m of s.bytesAllocMismatches.slice(0, 10)) lines.push(`    ${m.kind} bytes_req=${m.bytesReq}: trace ${m.traced}, simulated ${m.simulated} (${m.count}×)`);
  return lines.join('\n') + '\n';
}

/** Registers the command. */
export function replayCommand(program: Command): void {
  const cmd = program
    .command('replay')
    .description('replay a real trace: ftrace kmem events through a slab policy, or a user-space malloc trace (rep, plain, wee, mtrace, jsonl) through --malloc')
    .argument('<file>', 'trace file (.gz is read compressed)')
    .addOption(new Option('--format <format>', 'trace format (auto: by extension .rep .trace .mtrace .jsonl .ops, or --malloc given → user trace; else ftrace)').choices(['auto', 'ftrace', ...USER_TRACE_FORMATS]).default('auto'))
    .addOption(new Option('--malloc <policy>', 'user-space malloc policy (replays a user trace)').choices(policyNames('malloc')))
    .addOption(new Option('--tcache <on|off>', "glibc's tcache (ptmalloc)").choices(['on', 'off']).default('on'))
    .option('--addresses', "user traces: print 'ID heap OFFSET' / 'ID mmap -' per a/r/c/m op (the glibc oracle's format)")
    .addOption(new Option('--slab <policy>', 'slab policy').choices(policyNames('slab')).default('slub'))
    .option('--lenient', 'skip and count malformed lines instead of stopping at the first')
    .option('--emit <file>', 'write the events back as ftrace text with the simulated ptr and bytes_alloc')
    .option('--keep', 'leave objects still live at the end allocated (default: free them)')
    .option('--json', 'print the statistics as JSON');
  machineOptions(cmd).action((file: string, o: ReplayCliOpts) => {
    const userFormat = o.format !== 'auto' && o.format !== 'ftrace' ? o.format : userTraceFormatFromPath(file.replace(/\.gz$/, ''));
    if (o.format !== 'ftrace' && (o.malloc !== undefined || userFormat !== undefined)) {
      process.stdout.write(
        runUserReplay(file, configFrom(o), {
          format: (userFormat ?? 'auto') as UserTraceFormat | 'auto',
          malloc: o.malloc ?? 'ptmalloc',
          tcache: o.tcache !== 'off',
          lenient: o.lenient === true,
          addresses: o.addresses === true,
          json: o.json === true,
        }),
      );
      return;
    }
    const parsed = parseFtraceKmemFile(file, { lenient: o.lenient === true });
    const base = configFrom(o);
    const sys = createSystem({ ...base, policies: { ...base.policies, slab: o.slab }, debug: { checks: false, trace: false } });
    const t0 = performance.now();
    const res = replayKmem(parsed.events, sys.kmem, { freeAtEnd: o.keep !== true });
    const wallMs = performance.now() - t0;
    if (o.emit) writeFileSync(o.emit, emitFtrace(parsed.events, res));
    const skipped = Object.values(parsed.skipped).reduce((a, b) => a + (b ?? 0), 0);
    const ignored = Object.values(parsed.ignored).reduce((a, b) => a + b, 0);
    if (o.json) process.stdout.write(JSON.stringify({ file, policy: o.slab, wallMs, parse: { events: parsed.events.length, skipped: parsed.skipped, ignored: parsed.ignored, lostEvents: parsed.lostEvents, unknownGfp: parsed.unknownGfp }, stats: res.stats }, null, 2) + '\n');
    else process.stdout.write(formatReplay(file, o.slab, res.stats, wallMs, { events: parsed.events.length, skipped, ignored }));
  });
}
