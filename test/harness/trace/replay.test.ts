import { fileURLToPath } from 'node:url';

import { describe, expect, it } from '@jest/globals';

import { emitFtrace, formatKernelPtr } from '../../../src/harness/trace/emit.js';
import { parseFtraceKmem, parseFtraceKmemFile } from '../../../src/harness/trace/ftrace-kmem.js';
import { assignCaches, replayKmem, ReplayOutcome } from '../../../src/harness/trace/replay.js';
import { AllocatorError, isAllocatorError } from '../../../src/interfaces/errors.js';
import { ZERO_SIZE_PTR } from '../../../src/interfaces/slab.js';
import { FAKE_BASE, FakeKmem } from './fake-kmem.js';

/** The real Linux 6.1 boot trace (data/README.md). */
const REAL = fileURLToPath(new URL('../../../data/linux-6.1-qemu-smp4/kmem-trace.txt.gz', import.meta.url));

const ALLOC_TAIL = 'gfp_flags=GFP_KERNEL node=-1 accounted=false';
const kmalloc = (ptr: string, req: number, alloc: number): string => `kmalloc: call_site=f+0x1/0x2 ptr=${ptr} bytes_req=${req} bytes_alloc=${alloc} ${ALLOC_TAIL}`;
const cacheAlloc = (ptr: string, req: number, alloc: number, name?: string): string =>
  `kmem_cache_alloc: call_site=g+0x1/0x2 ptr=${ptr}${name === undefined ? '' : ` name=${name}`} bytes_req=${req} bytes_alloc=${alloc} ${ALLOC_TAIL}`;
const kfree = (ptr: string): string => `kfree: call_site=h+0x1/0x2 ptr=${ptr}`;
const cacheFree = (ptr: string, name: string): string => `kmem_cache_free: call_site=h+0x1/0x2 ptr=${ptr} name=${name}`;
const trace = (...bodies: string[]): string => bodies.map((b, i) => `   t-7 [002] ..... 1.${String(i).padStart(6, '0')}: ${b}`).join('\n');

const P = (n: number): string => `ffff8880000${n.toString(16).padStart(5, '0')}`;

/** One line per replay rule (numbers in comments are 1-based lines). */
const RULES = trace(
  kmalloc(P(1), 40, 64), // 1
  cacheAlloc(P(2), 100, 104), // 2: paired with foo (line 6)
  cacheAlloc(P(3), 50, 56), // 3: unpaired (freed by kfree) -> trace-50
  kfree('(null)'), // 4: null free
  kfree(P(9)), // 5: allocated before tracing
  cacheFree(P(2), 'foo'), // 6
  cacheAlloc(P(4), 120, 120), // 7: paired with foo (line 10): foo gets size 120
  kfree(P(3)), // 8: kfree of a cache object
  kmalloc(P(1), 10, 16), // 9: P1 still live: lost free
  cacheFree(P(4), 'foo'), // 10
  kmalloc(P(5), 0, 0), // 11: ZERO_SIZE_PTR
  kfree(P(5)), // 12: no-op
  kmalloc('0000000000000000', 8, 8), // 13: failed in the traced kernel
  cacheAlloc(P(6), 32, 32, 'bar'), // 14: named
  cacheFree(P(6), 'baz'), // 15: name mismatch, freed to bar
  kmalloc(P(7), 9000, 16384), // 16: page-sized kmalloc
  kmalloc(P(8), 200, 200), // 17: trace disagrees with the size classes
);

describe('assignCaches', () => {
  it('pairs unnamed kmem_cache_alloc with the later kmem_cache_free, else trace-<bytes_req>, largest size per name', () => {
    const { events } = parseFtraceKmem(RULES);
    const a = assignCaches(events);
    expect(a.names.slice(0, 17)).toEqual([undefined, 'foo', 'trace-50', undefined, undefined, undefined, 'foo', undefined, undefined, undefined, undefined, undefined, undefined, 'bar', undefined, undefined, undefined]);
    expect(a.sources[1]).toBe('paired');
    expect(a.sources[2]).toBe('synthetic');
    expect(a.sources[13]).toBe('named');
    expect([...a.sizes]).toEqual([['foo', 120], ['trace-50', 50], ['bar', 32]]);
  });

  it('breaks a pair when the pointer is reused before its cache free', () => {
    const { events } = parseFtraceKmem(trace(cacheAlloc(P(1), 24, 24), kfree(P(1)), kmalloc(P(1), 8, 8), cacheFree(P(1), 'x'), cacheAlloc(P(1), 16, 16), cacheFree(P(1), 'y')));
    const a = assignCaches(events);
    expect(a.names[0]).toBe('trace-24');
    expect(a.names[4]).toBe('y');
  });
});

describe('replayKmem rules on hand-written events', () => {
  const { events } = parseFtraceKmem(RULES);
  const api = new FakeKmem();
  const r = replayKmem(events, api);
  const s = r.stats;

  it('counts every case', () => {
    expect(s.replayed).toEqual({ kmalloc: 5, cache_alloc: 4, kfree: 1, cache_free: 3 });
    expect(s).toMatchObject({
      failures: 0, tracedFailures: 1, zeroSizeAllocs: 1, nullFrees: 1, unknownFrees: 1, freesOfFailed: 0,
      zeroSizeFrees: 1, lostFrees: 1, crossFrees: 1, cacheNameMismatches: 1, freedAtEnd: 0,
    });
    expect(s.cacheSources).toEqual({ named: 1, paired: 2, synthetic: 1 });
  });

  it('creates caches on first use with the documented sizes, and frees objects the way they were allocated', () => {
    expect(api.calls).toEqual(['create foo 120', 'create trace-50 50', 'create bar 32']);
    expect(s.caches.map((c) => [c.name, c.objectSize, c.bytesAlloc, c.source, c.existed])).toEqual([
      ['foo', 120, 120, 'paired', false],
      ['trace-50', 50, 56, 'synthetic', false],
      ['bar', 32, 32, 'named', false],
    ]);
    // Line 8 (kfree of a trace-50 object) went through kmem_cache_free, or the fake would have thrown on a cache mismatch;
    // line 15 freed to bar although the trace said baz.
    expect(r.cacheIndex[7]).toBe(1);
    expect(r.cacheIndex[14]).toBe(2);
  });

  it('records per-event outcomes, addresses and sizes', () => {
    expect([...r.outcome]).toEqual([
      ReplayOutcome.ALLOCATED, ReplayOutcome.ALLOCATED, ReplayOutcome.ALLOCATED, ReplayOutcome.NULL_FREE, ReplayOutcome.SKIPPED,
      ReplayOutcome.FREED, ReplayOutcome.ALLOCATED, ReplayOutcome.FREED, ReplayOutcome.ALLOCATED, ReplayOutcome.FREED,
      ReplayOutcome.ZERO_SIZE, ReplayOutcome.ZERO_SIZE, ReplayOutcome.SKIPPED, ReplayOutcome.ALLOCATED, ReplayOutcome.FREED,
      ReplayOutcome.ALLOCATED, ReplayOutcome.ALLOCATED,
    ]);
    expect(r.addr[0]).toBe(FAKE_BASE);
    expect(r.addr[5]).toBe(r.addr[1]);
    expect(r.addr[10]).toBe(ZERO_SIZE_PTR);
    expect(r.bytesAlloc[0]).toBe(64);
    expect(r.bytesAlloc[15]).toBe(16384);
  });

  it('compares bytes given with the trace and reports what is live at the end', () => {
    expect(s.kmalloc).toEqual({ objects: 4, bytesReq: 40 + 10 + 9000 + 200, bytesAlloc: 64 + 16 + 16384 + 256, tracedBytesAlloc: 64 + 16 + 16384 + 200 });
    expect(s.cacheAlloc).toEqual({ objects: 4, bytesReq: 100 + 50 + 120 + 32, bytesAlloc: 120 + 56 + 120 + 32, tracedBytesAlloc: 104 + 56 + 120 + 32 });
    expect(s.bytesAllocMismatches).toEqual([
      { kind: 'cache_alloc', bytesReq: 100, traced: 104, simulated: 120, count: 1 },
      { kind: 'kmalloc', bytesReq: 200, traced: 200, simulated: 256, count: 1 },
    ]);
    expect(s.bytesAllocMismatchCount).toBe(2);
    expect(s.liveAtEnd).toEqual({ objects: 3, bytesReq: 10 + 9000 + 200, bytesAlloc: 16 + 16384 + 256 });
    expect(api.objects.size).toBe(3);
    expect(s.peakLiveBytes).toBe(16 + 16384 + 256);
    expect(s.peakLiveObjects).toBe(3);
  });

  it('frees what is live at the end when asked', () => {
    const api2 = new FakeKmem();
    const r2 = replayKmem(events, api2, { freeAtEnd: true });
    expect(r2.stats.liveAtEnd.objects).toBe(3);
    expect(r2.stats.freedAtEnd).toBe(3);
    expect(api2.objects.size).toBe(0);
  });
});

describe('replayKmem failures and errors', () => {
  it('counts simulated failures and skips frees of failed allocations', () => {
    const { events } = parseFtraceKmem(trace(kmalloc(P(1), 64, 64), kmalloc(P(2), 64, 64), kfree(P(2)), kfree(P(1)), kmalloc(P(2), 64, 64)));
    const api = new FakeKmem({ capacity: 100 });
    const r = replayKmem(events, api);
    expect(r.stats).toMatchObject({ failures: 1, freesOfFailed: 1, unknownFrees: 0, replayed: { kmalloc: 3, cache_alloc: 0, kfree: 1, cache_free: 0 } });
    expect([...r.outcome]).toEqual([ReplayOutcome.ALLOCATED, ReplayOutcome.FAILED, ReplayOutcome.SKIPPED, ReplayOutcome.FREED, ReplayOutcome.ALLOCATED]);
    expect(r.addr[1]).toBe(0);
    expect(r.bytesAlloc[1]).toBe(64);
  });

  it('rethrows front-end errors with the trace line', () => {
    class Broken extends FakeKmem {
      override kmalloc(): number {
        throw new AllocatorError('invalid-gfp', 'gfp mask asks for two zones at once', { policy: 'fake', op: 'kmalloc' });
      }
    }
    const { events } = parseFtraceKmem(['# h', trace(kmalloc(P(1), 8, 8))].join('\n'));
    let caught: unknown;
    try {
      replayKmem(events, new Broken());
    } catch (e) {
      caught = e;
    }
    expect(isAllocatorError(caught, 'invalid-gfp')).toBe(true);
    const err = caught as AllocatorError;
    expect(err.message).toBe('replay line 2 (kmalloc): fake.kmalloc: gfp mask asks for two zones at once');
    expect(err.info).toEqual({ line: 2 });
  });
});

describe('replayKmem on the real Linux 6.1 boot trace', () => {
  const { events } = parseFtraceKmemFile(REAL);
  const api = new FakeKmem();
  const r = replayKmem(events, api);
  const s = r.stats;

  it('replays every event with the documented rules', () => {
    expect(s.replayed).toEqual({ kmalloc: 2370, cache_alloc: 371, kfree: 2333, cache_free: 279 });
    expect(s).toMatchObject({ failures: 0, tracedFailures: 0, nullFrees: 46, unknownFrees: 110, lostFrees: 0, crossFrees: 0, cacheNameMismatches: 0, zeroSizeAllocs: 0 });
    expect(s.cacheSources).toEqual({ named: 0, paired: 279, synthetic: 92 });
    // Every event is accounted for exactly once.
    const frees = s.replayed.kfree + s.replayed.cache_free + s.nullFrees + s.unknownFrees;
    expect(frees).toBe(2392 + 376);
    const allocs = s.replayed.kmalloc + s.replayed.cache_alloc;
    expect(allocs - s.replayed.kfree - s.replayed.cache_free - s.lostFrees).toBe(s.liveAtEnd.objects);
    expect(s.liveAtEnd.objects).toBe(129);
    expect(api.objects.size).toBe(129);
  });

  it('agrees with the real SLUB bytes_alloc for every kmalloc (SLUB size classes in the fake)', () => {
    expect(s.kmalloc).toEqual({ objects: 2370, bytesReq: 108996, bytesAlloc: 132808, tracedBytesAlloc: 132808 });
    expect(s.bytesAllocMismatches.filter((m) => m.kind === 'kmalloc')).toEqual([]);
    // The fake does not align cache objects the way SLUB does: 96 -> 104 (anon_vma) etc.
    expect(s.bytesAllocMismatches.find((m) => m.bytesReq === 96)).toEqual({ kind: 'cache_alloc', bytesReq: 96, traced: 104, simulated: 96, count: 35 });
    const names = s.caches.map((c) => c.name);
    expect(names).toContain('names_cache');
    expect(names).toContain('maple_node');
    expect(s.caches.find((c) => c.name === 'task_struct')?.objectSize).toBe(6208);
  });

  it('emits ftrace text that parses back with the simulated pointers and sizes', () => {
    const text = emitFtrace(events, r);
    const lines = text.split('\n');
    expect(lines[0]).toBe('# tracer: nop');
    expect(lines[2]).toBe('# entries-in-buffer/entries-written: 5399/5399   #P:4');
    expect(lines[12]).toBe(
      '                init-1 [001] .....     2.152162: kmem_cache_alloc: call_site=getname_kernel+0x25/0x110 ptr=ffff888000000000 name=names_cache bytes_req=4096 bytes_alloc=4096 gfp_flags=GFP_KERNEL node=-1 accounted=false',
    );
    expect(lines).toContain('                init-1 [001] .....     2.152423: kfree: call_site=tomoyo_check_open_permission+0x107/0x190 ptr=0000000000000000');
    const back = parseFtraceKmem(text);
    expect(back.events).toHaveLength(5399);
    const kept = events.map((e, i) => ({ e, i })).filter(({ i }) => r.outcome[i] !== ReplayOutcome.SKIPPED);
    kept.forEach(({ e, i }, k) => {
      const b = back.events[k]!;
      expect([b.kind, b.task, b.pid, b.cpu, b.ts, b.callSite, b.bytesReq, b.gfp, b.node, b.accounted]).toEqual([e.kind, e.task, e.pid, e.cpu, e.ts, e.callSite, e.bytesReq, e.gfp, e.node, e.accounted]);
      expect(b.ptr).toBe(r.addr[i] === 0 ? '' : formatKernelPtr(r.addr[i]!));
      if (b.kind === 'kmalloc' || b.kind === 'cache_alloc') expect(b.bytesAlloc).toBe(r.bytesAlloc[i]);
      if (b.kind === 'cache_free') expect(b.cacheName).toBe(s.caches[r.cacheIndex[i]!]!.name);
    });
    // Replaying the emitted trace gives the same addresses (fresh fake, same call sequence).
    const again = replayKmem(back.events, new FakeKmem());
    expect(again.stats.unknownFrees).toBe(0);
    expect(again.stats.liveAtEnd).toEqual(s.liveAtEnd);
  });

  it('frees everything at the end when asked', () => {
    const api2 = new FakeKmem();
    const r2 = replayKmem(events, api2, { freeAtEnd: true });
    expect(r2.stats.freedAtEnd).toBe(129);
    expect(api2.objects.size).toBe(0);
  });
});

describe('formatKernelPtr', () => {
  it('sign-extends upper-half direct-map addresses to 16 hex digits', () => {
    expect(formatKernelPtr(0x888003a4c000)).toBe('ffff888003a4c000');
    expect(formatKernelPtr(0)).toBe('0000000000000000');
    expect(formatKernelPtr(ZERO_SIZE_PTR)).toBe('0000000000000010');
    expect(formatKernelPtr(0x1234)).toBe('0000000000001234');
  });
});
