/** The real Linux 6.1 boot trace (data/linux-6.1-qemu-smp4, see data/README.md) replayed through every real slab policy. */
import { describe, expect, it } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { parseFtraceKmemFile } from '../../../src/harness/trace/ftrace-kmem.js';
import { replayKmem } from '../../../src/harness/trace/replay.js';
import { emitFtrace } from '../../../src/harness/trace/emit.js';
import { parseFtraceKmem } from '../../../src/harness/trace/ftrace-kmem.js';
import { policyNames } from '../../../src/policies/registry.js';
import { createSystem } from '../../../src/system.js';

const TRACE = fileURLToPath(new URL('../../../data/linux-6.1-qemu-smp4/kmem-trace.txt.gz', import.meta.url));

describe('real trace replay', () => {
  const parsed = parseFtraceKmemFile(TRACE);

  it.each(policyNames('slab'))('replays under %s with every invariant intact and no failure', (slab) => {
    const sys = createSystem({ machine: { memBytes: 2 * 2 ** 30, cpus: 4 }, policies: { slab } });
    const r = replayKmem(parsed.events, sys.kmem, { freeAtEnd: true });
    expect(r.stats.failures).toBe(0);
    expect(r.stats.replayed.kmalloc).toBe(2370);
    expect(r.stats.freedAtEnd).toBe(r.stats.liveAtEnd.objects);
    expect(sys.checkInvariants()).toEqual([]);
  });

  it('gives, under SLUB at 4 CPUs, exactly the bytes_alloc the real SLUB gave for every allocation', () => {
    const sys = createSystem({ machine: { memBytes: 2 * 2 ** 30, cpus: 4 }, policies: { slab: 'slub' } });
    const r = replayKmem(parsed.events, sys.kmem);
    expect(r.stats.bytesAllocMismatchCount).toBe(0);
    expect(r.stats.kmalloc.bytesAlloc).toBe(r.stats.kmalloc.tracedBytesAlloc);
  });

  it('emits the events back with simulated pointers, and the emitted trace parses and replays again', () => {
    const sys = createSystem({ machine: { memBytes: 2 * 2 ** 30, cpus: 4 } });
    const r = replayKmem(parsed.events, sys.kmem);
    const text = emitFtrace(parsed.events, r);
    const again = parseFtraceKmem(text);
    expect(again.events.length).toBeGreaterThan(5000);
    expect(again.events.find((e) => e.kind === 'kmalloc')!.ptr).toMatch(/^ffff888/);
    const sys2 = createSystem({ machine: { memBytes: 2 * 2 ** 30, cpus: 4 } });
    expect(replayKmem(again.events, sys2.kmem).stats.unknownFrees).toBe(0);
  });
});
