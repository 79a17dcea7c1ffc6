/**
 * The sample traces of data/traces/ (provenance in data/README.md): each
 * parses strictly in the format its extension names, the four user traces
 * written from one run of tools/sample-traces/sample-traces.c describe the
 * same calls, and the kernel excerpt is a contiguous piece of the real boot
 * capture.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

import { describe, expect, it } from '@jest/globals';

import { parseFtraceKmemFile } from '../../../src/harness/trace/ftrace-kmem.js';
import type { UserTrace } from '../../../src/harness/user/trace.js';
import { OP, parseUserTraceFile, userTraceFormatFromPath } from '../../../src/harness/user/trace.js';

const DIR = new URL('../../../data/traces/', import.meta.url);
const path = (name: string): string => fileURLToPath(new URL(name, DIR));
const load = (name: string): UserTrace => {
  const t = parseUserTraceFile(path(name));
  expect(t.format).toBe(userTraceFormatFromPath(name));
  return t;
};

/** One call as every format can see it: `alloc` (malloc, calloc, memalign), `realloc` or `free`, its bytes, and the block it makes or touches, numbered by the allocation that made it. */
type Call = readonly [kind: 'alloc' | 'realloc' | 'free', bytes: number, block: number];

/** The calls of a trace with ids replaced by block numbers (formats number ids differently: mtrace reuses them, rep and jsonl do not). */
function calls(t: UserTrace): Call[] {
  const blockOf = new Map<number, number>();
  let blocks = 0;
  const out: Call[] = [];
  for (let i = 0; i < t.n; i++) {
    const id = t.id[i]!;
    const op = t.op[i]!;
    if (op === OP.FREE) out.push(['free', 0, blockOf.get(id)!]);
    else if (op === OP.REALLOC) out.push(['realloc', t.size[i]!, blockOf.get(id)!]);
    else {
      blockOf.set(id, blocks);
      out.push(['alloc', op === OP.CALLOC ? t.size[i]! * t.arg[i]! : t.size[i]!, blocks++]);
    }
  }
  return out;
}

/** The calls as wee_alloc's converter writes them: a realloc is a free, then an alloc of a new block. */
function splitReallocs(cs: readonly Call[]): Call[] {
  const current = new Map<number, number>();
  let blocks = 0;
  const out: Call[] = [];
  for (const [kind, bytes, block] of cs) {
    if (kind === 'alloc') {
      current.set(block, blocks);
      out.push(['alloc', bytes, blocks++]);
    } else {
      out.push(['free', 0, current.get(block)!]);
      if (kind === 'realloc') {
        current.set(block, blocks);
        out.push(['alloc', bytes, blocks++]);
      }
    }
  }
  return out;
}

describe('data/traces user-space samples', () => {
  const jsonl = load('sample.jsonl');
  const rep = load('sample.rep');
  const mtrace = load('sample.mtrace');
  const wee = load('sample.trace');

  it('exercise every call the program makes: malloc, calloc, memalign, realloc, free', () => {
    for (const op of Object.values(OP)) expect(jsonl.op.includes(op)).toBe(true);
  });

  it('the .rep and glibc’s own mtrace log record the same calls as the jsonl', () => {
    const want = calls(jsonl);
    expect(calls(rep)).toEqual(want);
    expect(calls(mtrace)).toEqual(want);
    expect(rep.meta.headerMismatch).toEqual([]);
  });

  it('the wee_alloc trace is the same calls with every realloc split', () => {
    expect(calls(wee)).toEqual(splitReallocs(calls(jsonl)));
  });
});

describe('data/traces/kmem-boot-excerpt.txt', () => {
  const excerpt = readFileSync(path('kmem-boot-excerpt.txt'), 'utf8');
  const full = gunzipSync(readFileSync(new URL('../../../data/linux-6.1-qemu-smp4/kmem-trace.txt.gz', import.meta.url))).toString('utf8');

  it('is the capture’s header and a contiguous run of its events', () => {
    const header = (text: string): string[] => text.split('\n').filter((l) => l.startsWith('#'));
    expect(header(excerpt)).toEqual(header(full));
    const body = excerpt
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('\n');
    expect(body.length).toBeGreaterThan(0);
    expect(full.includes(body)).toBe(true);
  });

  it('parses strictly, with events of all four kinds', () => {
    const { events } = parseFtraceKmemFile(path('kmem-boot-excerpt.txt'));
    expect(new Set(events.map((e) => e.kind))).toEqual(new Set(['kmalloc', 'kfree', 'cache_alloc', 'cache_free']));
  });
});
