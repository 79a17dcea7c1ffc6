/**
 * `--emit`: writes replayed kmem events back as ftrace text, with the
 * simulator's own pointers and bytes_alloc, in the kernel's modern field
 * layout (6.10-ish `include/trace/events/kmem.h`):
 *
 * - `kmalloc: call_site=… ptr=… bytes_req=… bytes_alloc=… gfp_flags=… node=… accounted=…`
 *   (`kmalloc_node` events come out as `kmalloc`, as on kernels since 6.1)
 * - `kmem_cache_alloc: call_site=… ptr=… name=… bytes_req=… bytes_alloc=… gfp_flags=… node=… accounted=…`
 *   (name is the cache the replay used, synthetic `trace-<size>` included)
 * - `kfree: call_site=… ptr=…`
 * - `kmem_cache_free: call_site=… ptr=… name=…`
 *
 * Task, pid, CPU, timestamp, call site, node and accounted are the trace's;
 * the irq-flags column is `.....`. Pointers are 16 hex digits with the
 * x86_64 sign extension (`ffff888003a4c000`), a failed allocation and a
 * null free print `0000000000000000`, kmalloc(0) prints ZERO_SIZE_PTR.
 * Events the replay skipped (frees of unknown pointers, frees of failed
 * allocations, allocations that failed in the traced kernel) are left out.
 * The output parses back with {@link parseFtraceKmem}.
 */

import { formatGfp } from '../../interfaces/gfp.js';
import { formatKernelAddr } from '../../interfaces/units.js';
import { formatTraceLine, traceHeader } from '../../machine/tracer.js';
import type { KmemEvent } from './ftrace-kmem.js';
import type { ReplayResult } from './replay.js';
import { ReplayOutcome } from './replay.js';

const NS_PER_US = 1000;
const US_PER_S = 1e6;

/** A simulated address as a raw kernel `%p` (with `no_hash_pointers`). */
export const formatKernelPtr = formatKernelAddr;

/** Options of {@link emitFtrace}. */
export interface EmitFtraceOpts {
  /**
   * Start with the `# tracer: nop` header block.
   * @defaultValue true
   */
  readonly header?: boolean;
}

/**
 * The replayed events as ftrace text (one line per emitted event, newline-terminated).
 *
 * @param events - the events given to `replayKmem`
 * @param results - what `replayKmem` returned for them
 * @param opts - {@link EmitFtraceOpts}
 */
export function emitFtrace(events: readonly KmemEvent[], results: ReplayResult, opts: EmitFtraceOpts = {}): string {
  const lines: string[] = [];
  let cpus = 1;
  const caches = results.stats.caches;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const outcome = results.outcome[i]!;
    if (outcome === ReplayOutcome.SKIPPED) continue;
    const ptr = formatKernelPtr(results.addr[i]!);
    const cacheName = caches[results.cacheIndex[i]!]?.name ?? e.cacheName ?? '';
    let event: string;
    let text: string;
    switch (e.kind) {
      case 'kmalloc':
      case 'cache_alloc': {
        const tail = `bytes_req=${e.bytesReq} bytes_alloc=${results.bytesAlloc[i]!} gfp_flags=${formatGfp(e.gfp)} node=${e.node} accounted=${e.accounted}`;
        if (e.kind === 'kmalloc') {
          event = 'kmalloc';
          text = `call_site=${e.callSite} ptr=${ptr} ${tail}`;
        } else {
          event = 'kmem_cache_alloc';
          text = `call_site=${e.callSite} ptr=${ptr} name=${cacheName} ${tail}`;
        }
        break;
      }
      case 'kfree':
        event = 'kfree';
        text = `call_site=${e.callSite} ptr=${ptr}`;
        break;
      case 'cache_free':
        event = 'kmem_cache_free';
        text = `call_site=${e.callSite} ptr=${ptr} name=${cacheName}`;
        break;
    }
    if (e.cpu + 1 > cpus) cpus = e.cpu + 1;
    lines.push(formatTraceLine({ ns: Math.round(e.ts * US_PER_S) * NS_PER_US, cpu: e.cpu, comm: e.task, pid: e.pid, event, text }));
  }
  if (opts.header ?? true) {
    lines.unshift(...traceHeader(lines.length, lines.length, cpus));
  }
  return lines.length === 0 ? '' : lines.join('\n') + '\n';
}
