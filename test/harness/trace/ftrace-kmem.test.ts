import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

import { describe, expect, it } from '@jest/globals';

import { isAllocatorError } from '../../../src/interfaces/errors.js';
import { __GFP_NOWARN, __GFP_ZERO, GFP_ATOMIC, GFP_KERNEL, GFP_KERNEL_ACCOUNT } from '../../../src/interfaces/gfp.js';
import type { KmemEvent } from '../../../src/harness/trace/ftrace-kmem.js';
import { gfpBits, parseFtraceKmem, parseFtraceKmemFile, readTraceText } from '../../../src/harness/trace/ftrace-kmem.js';

/** The real Linux 6.1 boot trace (data/README.md). */
const REAL = fileURLToPath(new URL('../../../data/linux-6.1-qemu-smp4/kmem-trace.txt.gz', import.meta.url));

const countKinds = (events: readonly KmemEvent[]): Record<string, number> => {
  const c: Record<string, number> = {};
  for (const e of events) c[e.kind] = (c[e.kind] ?? 0) + 1;
  return c;
};

/** Parses `text` strictly and returns the AllocatorError it throws. */
function parseError(text: string): { message: string; line: number | undefined } {
  try {
    parseFtraceKmem(text);
  } catch (e) {
    if (isAllocatorError(e, 'parse')) return { message: e.message, line: e.info.line };
    throw e;
  }
  throw new Error('expected a parse error');
}

const LINES = {
  modern: [
    '            bash-2211    [001] .....  8123.441020: kmalloc: call_site=seq_open+0x3c/0xa0 ptr=000000003F1C2B7A bytes_req=120 bytes_alloc=128 gfp_flags=GFP_KERNEL|__GFP_ZERO node=-1 accounted=false',
    '            bash-2211    [001] .....  8123.441031: kmem_cache_alloc: call_site=alloc_empty_file+0x5d/0x120 ptr=00000000a9e04d11 name=filp bytes_req=232 bytes_alloc=256 gfp_flags=GFP_KERNEL node=0 accounted=true',
    '            bash-2211    [001] .....  8123.441090: kmem_cache_free: call_site=__fput+0x1a2/0x2b0 ptr=00000000a9e04d11 name=filp',
    '            bash-2211    [001] .....  8123.441091: kfree: call_site=__fput+0x1a2/0x2b0 ptr=000000003f1c2b7a',
    '',
  ].join('\n'),
};

describe('parseFtraceKmem on the real Linux 6.1 boot trace', () => {
  const r = parseFtraceKmemFile(REAL);

  it('reads every event with the expected counts per kind', () => {
    expect(r.events).toHaveLength(5509);
    expect(countKinds(r.events)).toEqual({ kmalloc: 2370, cache_alloc: 371, kfree: 2392, cache_free: 376 });
    expect(r.ignored).toEqual({});
    expect(r.skipped).toEqual({});
    expect(r.unknownGfp).toEqual({});
    expect(r.lostEvents).toBe(0);
    expect(r.lines).toBe(5521);
    expect(r.events.filter((e) => e.ptr === '')).toHaveLength(46);
  });

  it('reads exact events', () => {
    expect(r.events[0]).toEqual({
      kind: 'kfree', line: 13, task: 'init', pid: 1, cpu: 1, ts: 2.152053, callSite: 'kernel_init_freeable+0x234/0x286',
      ptr: 'ffff8e990383ecc0', bytesReq: 0, bytesAlloc: 0, gfp: 0, node: -1, accounted: false,
    });
    expect(r.events[2]).toEqual({
      kind: 'cache_alloc', line: 15, task: 'init', pid: 1, cpu: 1, ts: 2.152201, callSite: '__alloc_file+0x23/0xd0',
      ptr: 'ffff8e9903b76a00', bytesReq: 256, bytesAlloc: 256, gfp: GFP_KERNEL | __GFP_ZERO, node: -1, accounted: true,
    });
    expect(r.events[4]).toMatchObject({ kind: 'kfree', line: 17, ptr: '', callSite: 'tomoyo_check_open_permission+0x107/0x190' });
    expect(r.events[6]).toMatchObject({ kind: 'kmalloc', ptr: 'ffff8e99041e6400', bytesReq: 720, bytesAlloc: 1024, gfp: GFP_KERNEL_ACCOUNT | __GFP_ZERO, accounted: true });
    const free = r.events.find((e) => e.kind === 'cache_free');
    expect(free).toMatchObject({ line: 29, ptr: 'ffff8e99041a4000', cacheName: 'names_cache', callSite: 'filp_open+0x37/0x60' });
    expect(r.events.filter((e) => e.kind === 'cache_alloc' && e.cacheName !== undefined)).toHaveLength(0);
    expect(r.events.filter((e) => e.kind === 'cache_free' && e.cacheName === undefined)).toHaveLength(0);
    expect(new Set(r.events.map((e) => e.task))).toEqual(new Set(['init', 'mount', '<idle>']));
  });

  it('parses a 100k-line trace in one pass (its speed is measured in bench/, not here)', () => {
    const big = parseFtraceKmem(LINES.modern.repeat(25_000));
    expect(big.events).toHaveLength(100_000);
  });
});

describe('parseFtraceKmem layouts and edge lines', () => {
  it('reads the modern layout with hashed pointers and name= on kmem_cache_alloc', () => {
    const r = parseFtraceKmem(LINES.modern);
    expect(r.events.map((e) => e.kind)).toEqual(['kmalloc', 'cache_alloc', 'cache_free', 'kfree']);
    expect(r.events[0]).toMatchObject({ task: 'bash', pid: 2211, cpu: 1, ts: 8123.44102, ptr: '000000003f1c2b7a', bytesReq: 120, bytesAlloc: 128 });
    expect(r.events[1]).toMatchObject({ cacheName: 'filp', node: 0, accounted: true, bytesReq: 232, bytesAlloc: 256 });
    expect(r.events[3]!.ptr).toBe(r.events[0]!.ptr);
  });

  it('reads the old layout: 4-char flags, raw hex call sites, GFP_ZERO, _node events, no name on free', () => {
    const text = [
      '# tracer: nop',
      '#',
      '          swapper-1     [000] .N..     0.160000: kmalloc: call_site=c10ab123 ptr=c14f2a40 bytes_req=40 bytes_alloc=64 gfp_flags=GFP_KERNEL',
      '          swapper-1     [000] .N..     0.160000: kmem_cache_alloc: call_site=c10b0042 ptr=C1622E10 bytes_req=128 bytes_alloc=128 gfp_flags=GFP_KERNEL|GFP_ZERO',
      '          swapper-1     [000] .N..     0.160000: kfree: call_site=c10ab1f0 ptr=c14f2a40',
      '          swapper-1     [000] .N..     0.170000: kmalloc_node: call_site=c10ab123 ptr=c14f2b00 bytes_req=8 bytes_alloc=8 gfp_flags=GFP_ATOMIC|GFP_NOWARN node=-1',
      '          swapper-1     [000] .N..     0.170001: kmem_cache_alloc_node: call_site=c10ab124 ptr=c14f2c00 bytes_req=8 bytes_alloc=16 gfp_flags=GFP_KERNEL node=0',
      '          swapper-1     [000] .N..     0.170002: kmem_cache_free: call_site=c10ab125 ptr=c14f2c00',
    ].join('\n');
    const r = parseFtraceKmem(text);
    expect(r.events.map((e) => e.kind)).toEqual(['kmalloc', 'cache_alloc', 'kfree', 'kmalloc', 'cache_alloc', 'cache_free']);
    expect(r.events[0]).toMatchObject({ task: 'swapper', pid: 1, cpu: 0, ts: 0.16, callSite: 'c10ab123', gfp: GFP_KERNEL, node: -1, accounted: false, line: 3 });
    expect(r.events[1]).toMatchObject({ ptr: 'c1622e10', gfp: GFP_KERNEL | __GFP_ZERO });
    expect(r.events[3]).toMatchObject({ gfp: GFP_ATOMIC | __GFP_NOWARN, node: -1 });
    expect(r.events[4]).toMatchObject({ node: 0, bytesAlloc: 16 });
    expect(r.events[5]!.cacheName).toBeUndefined();
    expect(r.unknownGfp).toEqual({});
  });

  it('treats (null), "  (null)" and all-zero pointers as null', () => {
    const text = [
      '   a-1 [000] .... 1.000000: kfree: call_site=c1 ptr=(null)',
      '   a-1 [000] .... 1.000001: kfree: call_site=c1 ptr=  (null)',
      '   a-1 [000] ..... 1.000002: kfree: call_site=f+0x1/0x2 ptr=0000000000000000',
      '   a-1 [000] ..... 1.000003: kmem_cache_free: call_site=f+0x1/0x2 ptr=0x0 name=x',
    ].join('\n');
    const r = parseFtraceKmem(text);
    expect(r.events.map((e) => e.ptr)).toEqual(['', '', '', '']);
    expect(r.events[3]!.cacheName).toBe('x');
  });

  it('handles odd task names, tgid columns, trace-cmd lines without flags, module call sites and CRLF', () => {
    const text = [
      ' Web Content-4242  [003] d..1.   12.500000: kfree: call_site=foo+0x10/0x20 [ext4] ptr=ffff888000001000\r',
      '  kworker/u8:0-7   (      7) [002] .....    3.000001: kfree: call_site=bar+0x1/0x2 ptr=ffff888000002000',
      '          <idle>-0     [000]    42.123456789: kfree: call_site=baz+0x1/0x2 ptr=ffff888000003000',
      'my-task-name-99 [010] ...1. 1.5: kfree: call_site=ffffffffc0123456 ptr=ffff888000004000',
    ].join('\n');
    const r = parseFtraceKmem(text);
    expect(r.events.map((e) => [e.task, e.pid, e.cpu, e.ts])).toEqual([
      ['Web Content', 4242, 3, 12.5],
      ['kworker/u8:0', 7, 2, 3.000001],
      ['<idle>', 0, 0, 42.123456789],
      ['my-task-name', 99, 10, 1.5],
    ]);
    expect(r.events[0]!.callSite).toBe('foo+0x10/0x20 [ext4]');
    expect(r.events[0]!.ptr).toBe('ffff888000001000');
  });

  it('ignores other events and headers, counting events by name and lost events', () => {
    const text = [
      '# tracer: nop',
      '##### CPU 2 buffer started ####',
      '  kworker/1:2-97 [001] ..... 8123.450001: mm_page_alloc: page=00000000c0ffee12 pfn=0x1a2b3 order=0 migratetype=1 gfp_flags=GFP_HIGHUSER_MOVABLE|__GFP_ZERO',
      '  kworker/1:2-97 [001] ..... 8123.450120: mm_page_free: page=00000000c0ffee12 pfn=0x1a2b3 order=0',
      '  kworker/1:2-97 [001] ..... 8123.450121: mm_page_free: page=00000000c0ffee13 pfn=0x1a2b4 order=0',
      'CPU:1 [LOST 17 EVENTS]',
      '  kworker/1:2-97 [001] ..... 8123.450122: kfree: call_site=x+0x1/0x2 ptr=ffff888000001000',
    ].join('\n');
    const r = parseFtraceKmem(text);
    expect(r.events).toHaveLength(1);
    expect(r.events[0]!.line).toBe(7);
    expect(r.ignored).toEqual({ mm_page_alloc: 1, mm_page_free: 2 });
    expect(r.lostEvents).toBe(17);
  });

  it('keeps known GFP bits and counts unknown names', () => {
    const unknown: Record<string, number> = {};
    expect(gfpBits('GFP_KERNEL|__GFP_BOGUS|__GFP_ZERO', unknown)).toBe(GFP_KERNEL | __GFP_ZERO);
    expect(gfpBits('__GFP_BOGUS', unknown)).toBe(0);
    expect(gfpBits('none', unknown)).toBe(0);
    expect(gfpBits('GFP_KERNEL|0x200', unknown)).toBe(GFP_KERNEL);
    expect(gfpBits('GFP_KERNEL|0x100', unknown)).toBe(GFP_KERNEL | __GFP_ZERO);
    expect(unknown).toEqual({ __GFP_BOGUS: 2, '0x200': 1 });
    const r = parseFtraceKmem('a-1 [000] ..... 1.0: kmalloc: call_site=x ptr=ffff888000001000 bytes_req=8 bytes_alloc=8 gfp_flags=GFP_KERNEL|__GFP_WEIRD node=-1 accounted=false');
    expect(r.events[0]!.gfp).toBe(GFP_KERNEL);
    expect(r.unknownGfp).toEqual({ __GFP_WEIRD: 1 });
  });
});

const OK_KMALLOC = 'a-1 [000] ..... 1.0: kmalloc: call_site=x+0x1/0x2 ptr=ffff888000001000 bytes_req=8 bytes_alloc=8 gfp_flags=GFP_KERNEL node=-1 accounted=false';

/** Malformed lines, each placed at line 3 after two good lines, with the message expected. */
const MALFORMED: readonly [string, string, RegExp][] = [
  ['garbage', 'this is not a trace line', /^line 3: expected `<task>-<pid> \[<cpu>\]/],
  ['no pid', 'task [000] ..... 1.0: kfree: call_site=x ptr=1', /^line 3: .*no <task>-<pid>/],
  ['no timestamp', 'a-1 [000] ..... kfree: call_site=x ptr=1', /^line 3: .*no '<timestamp>:'/],
  ['bad timestamp', 'a-1 [000] ..... 1.x: kfree: call_site=x ptr=1', /^line 3: timestamp '1\.x' is not/],
  ['no event', 'a-1 [000] ..... 1.0:', /^line 3: .*no '<event>:'/],
  ['kfree without ptr', 'a-1 [000] ..... 1.0: kfree: call_site=x', /^line 3: kfree: expected ptr=<pointer>, found none$/],
  ['kfree without call_site', 'a-1 [000] ..... 1.0: kfree: ptr=ffff888000001000', /^line 3: kfree: expected call_site=<call site>, found none$/],
  ['empty call_site', 'a-1 [000] ..... 1.0: kfree: call_site= ptr=ffff888000001000', /^line 3: kfree: expected call_site=<call site>, found an empty value$/],
  ['bad ptr', 'a-1 [000] ..... 1.0: kmem_cache_free: call_site=x ptr=zz12 name=a', /^line 3: kmem_cache_free: expected ptr=<hex pointer> or ptr=\(null\), found 'zz12'$/],
  ['kmalloc without bytes_req', 'a-1 [000] ..... 1.0: kmalloc: call_site=x ptr=1 bytes_alloc=8 gfp_flags=GFP_KERNEL', /^line 3: kmalloc: expected bytes_req=<decimal>, found none$/],
  ['kmalloc with bad bytes_req', 'a-1 [000] ..... 1.0: kmalloc: call_site=x ptr=1 bytes_req=-8 bytes_alloc=8 gfp_flags=GFP_KERNEL', /^line 3: kmalloc: expected bytes_req=<decimal>, found '-8'$/],
  ['kmalloc with bad bytes_alloc', 'a-1 [000] ..... 1.0: kmalloc: call_site=x ptr=1 bytes_req=8 bytes_alloc=8k gfp_flags=GFP_KERNEL', /^line 3: kmalloc: expected bytes_alloc=<decimal>, found '8k'$/],
  ['kmem_cache_alloc without gfp_flags', 'a-1 [000] ..... 1.0: kmem_cache_alloc: call_site=x ptr=1 bytes_req=8 bytes_alloc=8', /^line 3: kmem_cache_alloc: expected gfp_flags=<GFP flags>, found none$/],
  ['kmalloc_node without node', 'a-1 [000] .... 1.0: kmalloc_node: call_site=x ptr=1 bytes_req=8 bytes_alloc=8 gfp_flags=GFP_KERNEL', /^line 3: kmalloc_node: expected node=<node>, found none$/],
  ['bad node', 'a-1 [000] ..... 1.0: kmalloc: call_site=x ptr=1 bytes_req=8 bytes_alloc=8 gfp_flags=GFP_KERNEL node=x accounted=false', /^line 3: kmalloc: expected node=<integer>, found 'x'$/],
  ['bad accounted', 'a-1 [000] ..... 1.0: kmalloc: call_site=x ptr=1 bytes_req=8 bytes_alloc=8 gfp_flags=GFP_KERNEL node=-1 accounted=yes', /^line 3: kmalloc: expected accounted=true or accounted=false, found 'yes'$/],
];

describe('parseFtraceKmem malformed lines', () => {
  it.each(MALFORMED)('%s: throws parse with the line number', (_name, bad, message) => {
    const err = parseError(['# header', OK_KMALLOC, bad, OK_KMALLOC].join('\n'));
    expect(err.line).toBe(3);
    expect(err.message).toMatch(message);
  });

  it('lenient mode skips and counts every malformed line by reason', () => {
    const text = ['# header', OK_KMALLOC, ...MALFORMED.map(([, bad]) => bad), OK_KMALLOC].join('\n');
    const r = parseFtraceKmem(text, { lenient: true });
    expect(r.events.map((e) => e.line)).toEqual([2, 3 + MALFORMED.length]);
    expect(r.skipped).toEqual({ garbage: 4, 'bad-number': 4, 'missing-field': 6, 'bad-pointer': 1, 'bad-value': 1 });
    expect(r.skippedLines).toEqual(MALFORMED.map((_m, i) => i + 3));
  });

  it('does not validate the fields of ignored events', () => {
    const r = parseFtraceKmem('a-1 [000] ..... 1.0: mm_page_alloc: whatever');
    expect(r.ignored).toEqual({ mm_page_alloc: 1 });
  });
});

describe('readTraceText', () => {
  it('reads plain files as they are and gunzips .gz files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'allocsim-trace-'));
    writeFileSync(join(dir, 't.txt'), LINES.modern);
    writeFileSync(join(dir, 't.txt.gz'), gzipSync(LINES.modern));
    expect(readTraceText(join(dir, 't.txt'))).toBe(LINES.modern);
    expect(readTraceText(join(dir, 't.txt.gz'))).toBe(LINES.modern);
    expect(parseFtraceKmemFile(join(dir, 't.txt.gz')).events).toHaveLength(4);
  });
});
