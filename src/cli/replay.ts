/**
 * `allocsim replay FILE`: replays a real trace. An ftrace kmem log goes
 * through the chosen slab policy (rules in src/harness/trace/replay.ts;
 * `--emit FILE` writes the events back with the simulator's own pointers
 * and bytes_alloc); a user-space malloc trace (rep, plain, wee, mtrace,
 * jsonl) goes through `--malloc` in a simulated process
 * (./replay-user.ts). Options of the other kind of trace are errors.
 */

import { Command, Option } from 'commander';
import { USER_TRACE_FORMATS, userTraceFormatFromPath, type UserTraceFormat } from '../harness/user/trace.js';
import { runUserReplay } from './replay-user.js';
import { createSystem } from '../system.js';
import { parseFtraceKmem } from '../harness/trace/ftrace-kmem.js';
import { replayKmem, type ReplayStats } from '../harness/trace/replay.js';
import { emitFtrace } from '../harness/trace/emit.js';
import { badInput, printJson } from './errors.js';
import { checkOutputPath, emptyTrace, parseFile, readInputText, writeOutputFile } from './files.js';
import { formatCount, formatDecimal } from './format.js';
import { configFrom, debugOptions, machineOptions, policyOption, rejectOptions, type DebugCliOpts, type MachineCliOpts } from './options.js';

interface ReplayCliOpts extends MachineCliOpts, DebugCliOpts {
  format: string;
  slab?: string;
  page?: string;
  malloc?: string;
  tcache?: string;
  addresses?: boolean;
  lenient?: boolean;
  allowEmpty?: boolean;
  emit?: string;
  keep?: boolean;
  json?: boolean;
}

/** A readable summary of a replay. */
export function formatReplay(file: string, policy: string, s: ReplayStats, wallMs: number, parseInfo: { events: number; skipped: number; ignored: number }): string {
  const n = formatCount;
  const frag = (b: { bytesReq: number; bytesAlloc: number }): string => (b.bytesAlloc ? `${((1 - b.bytesReq / b.bytesAlloc) * 100).toFixed(1)}%` : 'n/a');
  const lines = [
    `replay of ${file} through ${policy}: ${n(parseInfo.events)} kmem events (${n(parseInfo.ignored)} other events ignored, ${n(parseInfo.skipped)} malformed lines skipped) in ${formatDecimal(wallMs, 1)} ms`,
    `  kmalloc          ${n(s.replayed.kmalloc)} calls, ${n(s.kmalloc.bytesReq)} bytes requested, ${n(s.kmalloc.bytesAlloc)} given (internal fragmentation ${frag(s.kmalloc)}; the traced kernel gave ${n(s.kmalloc.tracedBytesAlloc)})`,
    `  kmem_cache_alloc ${n(s.replayed.cache_alloc)} calls, ${n(s.cacheAlloc.bytesReq)} bytes requested, ${n(s.cacheAlloc.bytesAlloc)} given (the traced kernel gave ${n(s.cacheAlloc.tracedBytesAlloc)})`,
    `  kfree            ${n(s.replayed.kfree)}; kmem_cache_free ${n(s.replayed.cache_free)}`,
    `  null frees ${n(s.nullFrees)}, frees of objects allocated before tracing ${n(s.unknownFrees)}, lost frees ${n(s.lostFrees)}, simulated failures ${n(s.failures)}`,
    `  caches: ${n(s.cacheSources.named)} allocations by name, ${n(s.cacheSources.paired)} paired with a named free, ${n(s.cacheSources.synthetic)} synthetic (trace-<bytes_req>)`,
    `  bytes_alloc differs from the trace for ${n(s.bytesAllocMismatchCount)} allocations`,
    `  live at the end: ${n(s.liveAtEnd.objects)} objects, ${n(s.liveAtEnd.bytesReq)} bytes requested; peak ${n(s.peakLiveObjects)} objects, ${n(s.peakLiveBytes)} bytes`,
  ];
  for (const m of s.bytesAllocMismatches.slice(0, 10)) lines.push(`    ${m.kind} bytes_req=${m.bytesReq}: trace ${n(m.traced)}, simulated ${n(m.simulated)} (${n(m.count)}×)`);
  return lines.join('\n') + '\n';
}

/** Options that only an ftrace kmem replay uses, and only a user-space replay. */
const FTRACE_ONLY = ['slab', 'emit', 'keep', 'slub-debug', 'kasan', 'page-poison'] as const;
const USER_ONLY = ['malloc', 'tcache', 'addresses'] as const;

/** Registers the command. */
export function replayCommand(program: Command): void {
  const cmd = program
    .command('replay')
    .description('replay a real trace: ftrace kmem events through a slab policy, or a user-space malloc trace (rep, plain, wee, mtrace, jsonl) through --malloc')
    .argument('<file>', 'trace file (.gz is read compressed)')
    .addOption(
      new Option('--format <format>', 'trace format (auto: a user trace by extension .rep .trace .mtrace .jsonl .ops or when --malloc is given, its format read from the content; else ftrace)')
        .choices(['auto', 'ftrace', ...USER_TRACE_FORMATS])
        .default('auto'),
    )
    .addOption(policyOption('slab', 'ftrace: slab policy'))
    .addOption(policyOption('page', 'the page allocator under the slab layer or the process'))
    .option('--emit <file>', 'ftrace: write the events back as ftrace text with the simulated ptr and bytes_alloc')
    .option('--keep', 'ftrace: leave objects still live at the end allocated (default: free them)')
    .addOption(policyOption('malloc', 'user trace: user-space malloc policy'))
    .addOption(new Option('--tcache <on|off>', "user trace: glibc's tcache (ptmalloc; default: on, or user.tcache of --config)").choices(['on', 'off']))
    .option('--addresses', "user trace: print 'ID heap OFFSET' / 'ID mmap -' per a/r/c/m op (the glibc oracle's format) instead of the report")
    .option('--lenient', 'skip and count malformed lines (ftrace) or rule-breaking ops (user traces) instead of stopping at the first')
    .option('--allow-empty', 'replay a trace with nothing to replay (0 events) instead of stopping')
    .option('--json', 'print the statistics as JSON');
  debugOptions(machineOptions(cmd), ['slub-debug', 'kasan', 'page-poison']).action((file: string, o: ReplayCliOpts) => {
    const userFormat = o.format !== 'auto' && o.format !== 'ftrace' ? (o.format as UserTraceFormat) : userTraceFormatFromPath(file.replace(/\.gz$/, ''));
    const user = o.format !== 'ftrace' && (o.malloc !== undefined || userFormat !== undefined);
    if (user) {
      rejectOptions(cmd, FTRACE_ONLY, `applies to ftrace kmem logs only (${file} is read as a ${userFormat ?? 'user-space'} trace)`);
      if (o.addresses && o.json) throw badInput("--addresses prints the glibc oracle's text lines and cannot be combined with --json");
      const base = configFrom(o, { policies: { page: o.page, malloc: o.malloc }, user: { tcache: o.tcache === undefined ? undefined : o.tcache === 'on' } });
      process.stdout.write(
        runUserReplay(file, base, {
          format: userFormat ?? 'auto',
          lenient: o.lenient === true,
          allowEmpty: o.allowEmpty === true,
          addresses: o.addresses === true,
          json: o.json === true,
        }),
      );
      return;
    }
    rejectOptions(cmd, USER_ONLY, `applies to user-space traces only (${file} is read as an ftrace kmem log; --format names a user format)`);
    if (o.emit !== undefined) checkOutputPath(o.emit, '--emit');
    const parsed = parseFile(file, readInputText(file), (t) => parseFtraceKmem(t, { lenient: o.lenient === true }));
    emptyTrace(file, parsed.events.length, 'kmem events', o.allowEmpty === true);
    const base = configFrom(o, { policies: { slab: o.slab, page: o.page } });
    // Measure the policy, not the simulator's own precondition checks.
    const sys = createSystem({ ...base, debug: { ...base.debug, checks: false, trace: false } });
    const policy = sys.kmem.policy;
    const t0 = performance.now();
    const res = replayKmem(parsed.events, sys.kmem, { freeAtEnd: o.keep !== true });
    const wallMs = performance.now() - t0;
    if (o.emit !== undefined) writeOutputFile(o.emit, emitFtrace(parsed.events, res), '--emit');
    const skipped = Object.values(parsed.skipped).reduce((a, b) => a + (b ?? 0), 0);
    const ignored = Object.values(parsed.ignored).reduce((a, b) => a + b, 0);
    if (o.json) printJson({ file, policy, wallMs, parse: { events: parsed.events.length, skipped: parsed.skipped, ignored: parsed.ignored, lostEvents: parsed.lostEvents, unknownGfp: parsed.unknownGfp }, stats: res.stats });
    else process.stdout.write(formatReplay(file, policy, res.stats, wallMs, { events: parsed.events.length, skipped, ignored }));
  });
}
