/**
 * Parser for the ftrace `kmem` events as real kernels print them in
 * `/sys/kernel/tracing/trace` (and as `trace-cmd report` prints them): the
 * line header of kernel/trace/trace_output.c (`trace_print_context`, with
 * the latency flags of `trace_print_lat_fmt`), then the event's `TP_printk`
 * fields from include/trace/events/kmem.h, whose layout changed over the
 * kernel versions listed below.
 *
 * How it works here: one pass over the lines, no per-line regex over the
 * whole text. Each line is split into the standard header
 *
 * `<task>-<pid> [(<tgid>)] [<cpu>] [<flags>] <timestamp>: <event>: <fields>`
 *
 * with `indexOf` scans (the task name may contain spaces, `:` and `-`; the
 * pid is after the last `-` before the `[cpu]` bracket), then the fields
 * are read as space-separated `key=value` tokens. A token without `=` is
 * glued to the previous value, which is how `ptr=  (null)` and module call
 * sites (`foo+0x10/0x20 [ext4]`) come out whole.
 *
 * Accepted layouts:
 *
 * 1. Old kernels: 4-character flags (or none, as trace-cmd prints), raw hex
 *    call sites, no `node=`/`accounted=`, `GFP_ZERO`-style flag names,
 *    `kmalloc_node`/`kmem_cache_alloc_node` events, `kmem_cache_free`
 *    without `name=`.
 * 2. New kernels: 5-character flags, `sym+off/size` call sites, `node=`,
 *    `accounted=`, `name=` on `kmem_cache_free` and (6.10-ish on) on
 *    `kmem_cache_alloc`.
 *
 * Pointers are opaque identities (hashed `%p` or raw with
 * `no_hash_pointers`), lower-cased; `(null)`, `  (null)` and all-zero
 * pointers become `''`.
 *
 * GFP names are read against the 6.8 bit values of `interfaces/gfp.ts`;
 * names of older kernels are mapped to their modern equivalent (see
 * {@link LEGACY_GFP}); names we do not know are counted in
 * `unknownGfp` and contribute no bits. Hex leftovers (`0x...`) keep the bits
 * that are valid 6.8 GFP bits; the rest is counted under `unknownGfp['0x…']`.
 *
 * Known limitations: a task name containing `[<digits>]` followed by a
 * space confuses the header scan; per-CPU `[LOST n EVENTS]` markers are
 * counted, not repaired.
 */

import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

import { AllocatorError } from '../../interfaces/errors.js';
import * as G from '../../interfaces/gfp.js';

/** The four kinds of replayable kmem events (the `_node` variants fold into their base kind). */
export type KmemEventKind = 'kmalloc' | 'cache_alloc' | 'kfree' | 'cache_free';

/** One parsed kmem event. Frees have `bytesReq = bytesAlloc = gfp = 0` and `node = -1`. */
export interface KmemEvent {
  readonly kind: KmemEventKind;
  /** 1-based line number in the input. */
  readonly line: number;
  /** Task name (`comm`). */
  readonly task: string;
  readonly pid: number;
  readonly cpu: number;
  /** Timestamp in seconds, as printed. */
  readonly ts: number;
  /** Call site as printed: raw hex on old kernels, `sym+0xoff/0xsize` on new ones. */
  readonly callSite: string;
  /** Opaque pointer identity, lower-cased; `''` for a null pointer. */
  readonly ptr: string;
  readonly bytesReq: number;
  readonly bytesAlloc: number;
  /** GFP mask with the 6.8 bit values; unknown names contribute nothing. */
  readonly gfp: number;
  /** NUMA node asked for; -1 when none (or not printed). */
  readonly node: number;
  /** `accounted=` (memcg accounting); false when not printed. */
  readonly accounted: boolean;
  /** Cache name when the event prints `name=` (kmem_cache_free; kmem_cache_alloc on recent kernels); undefined otherwise. */
  readonly cacheName?: string | undefined;
}

/** Why a line was rejected. */
export type KmemParseReason = 'garbage' | 'missing-field' | 'bad-number' | 'bad-pointer' | 'bad-value';

/** Options of {@link parseFtraceKmem}. */
export interface FtraceKmemParseOpts {
  /**
   * Skip and count malformed lines instead of throwing.
   * @defaultValue false
   */
  readonly lenient?: boolean;
}

/** What {@link parseFtraceKmem} returns. */
export interface FtraceKmemParseResult {
  readonly events: KmemEvent[];
  /** Events of other kinds (mm_page_alloc, …), by event name. */
  readonly ignored: Record<string, number>;
  /** Malformed lines skipped in lenient mode, by reason (always empty when strict). */
  readonly skipped: Partial<Record<KmemParseReason, number>>;
  /** 1-based numbers of the first skipped lines (at most {@link MAX_SKIPPED_LINES}). */
  readonly skippedLines: number[];
  /** Unknown GFP flag names (and unusable hex bits), with how often they appeared. */
  readonly unknownGfp: Record<string, number>;
  /** Events the ring buffer reported lost (`CPU:n [LOST m EVENTS]` lines). */
  readonly lostEvents: number;
  /** Lines read, headers and blanks included. */
  readonly lines: number;
}

/** How many skipped line numbers a lenient parse remembers. */
export const MAX_SKIPPED_LINES = 100;

const EVENT_KINDS: Readonly<Record<string, KmemEventKind>> = {
  kmalloc: 'kmalloc',
  kmalloc_node: 'kmalloc',
  kmem_cache_alloc: 'cache_alloc',
  kmem_cache_alloc_node: 'cache_alloc',
  kfree: 'kfree',
  kmem_cache_free: 'cache_free',
};

/** Modern GFP names (the 6.8 `__def_gfpflag_names` table and the single bits). */
const MODERN_GFP: Readonly<Record<string, number>> = {
  ...Object.fromEntries(G.GFP_NAMES.map(([mask, name]) => [name, mask])),
  __GFP_DMA: G.__GFP_DMA,
  __GFP_DMA32: G.__GFP_DMA32,
  __GFP_SKIP_ZERO: G.__GFP_SKIP_ZERO,
  __GFP_SKIP_KASAN: G.__GFP_SKIP_KASAN,
  __GFP_SKIP_KASAN_POISON: G.__GFP_SKIP_KASAN,
  __GFP_SKIP_KASAN_UNPOISON: G.__GFP_SKIP_KASAN,
  __GFP_NOLOCKDEP: G.__GFP_NOLOCKDEP,
};

/**
 * Names of older kernels, mapped to the closest 6.8 meaning: `__GFP_WAIT`
 * (before 4.4) became `__GFP_RECLAIM`, `__GFP_REPEAT` became
 * `__GFP_RETRY_MAYFAIL`; flags that no longer exist (`__GFP_COLD`,
 * `__GFP_NOTRACK`, `__GFP_ATOMIC`, …) map to no bits. Old kernels also
 * printed every single-bit name without the leading `__` (`GFP_ZERO`);
 * {@link gfpBits} tries `__` + name when a `GFP_` name is unknown.
 */
const LEGACY_GFP: Readonly<Record<string, number>> = {
  __GFP_WAIT: G.__GFP_RECLAIM,
  __GFP_REPEAT: G.__GFP_RETRY_MAYFAIL,
  __GFP_COLD: 0,
  __GFP_NOTRACK: 0,
  __GFP_NOTRACK_FALSE_POSITIVE: 0,
  __GFP_NO_KSWAPD: 0,
  __GFP_OTHER_NODE: 0,
  __GFP_NOACCOUNT: 0,
  __GFP_ATOMIC: 0,
  __GFP_KMEMCG: G.__GFP_ACCOUNT,
  GFP_TEMPORARY: G.GFP_KERNEL | G.__GFP_RECLAIMABLE,
  GFP_IOFS: G.__GFP_IO | G.__GFP_FS,
};

/** Bits a hex leftover may contribute: valid 6.8 GFP bits (0x200 is unused). */
const USABLE_GFP_BITS = G.__GFP_BITS_MASK & ~0x200;

function lookupGfpName(name: string): number | undefined {
  const m = MODERN_GFP[name] ?? LEGACY_GFP[name];
  if (m !== undefined) return m;
  if (name.startsWith('GFP_')) {
    const u = '__' + name;
    return MODERN_GFP[u] ?? LEGACY_GFP[u];
  }
  return undefined;
}

const HEX_RE = /^0x[0-9a-f]+$/i;
const DEC_RE = /^\d+$/;
const INT_RE = /^-?\d+$/;
const TS_RE = /^\d+\.\d+$/;
const PTR_RE = /^(?:0x)?[0-9a-f]+$/i;
const ZERO_PTR_RE = /^(?:0x)?0+$/i;
const LOST_RE = /^CPU:\d+ \[LOST (\d+) EVENTS\]/;

/**
 * The GFP mask a `gfp_flags=` value stands for (6.8 bit values). Unknown
 * names are added to `unknown` and contribute no bits; `none` and `''` are 0.
 */
export function gfpBits(text: string, unknown: Record<string, number>): number {
  if (text === '' || text === 'none') return 0;
  let gfp = 0;
  for (const part of text.split('|')) {
    const known = lookupGfpName(part);
    if (known !== undefined) {
      gfp |= known;
    } else if (HEX_RE.test(part) || DEC_RE.test(part)) {
      const v = Number(part);
      const usable = v & USABLE_GFP_BITS;
      gfp |= usable;
      if (usable !== v) {
        const key = '0x' + (v & ~usable).toString(16);
        unknown[key] = (unknown[key] ?? 0) + 1;
      }
    } else {
      unknown[part] = (unknown[part] ?? 0) + 1;
    }
  }
  return gfp;
}

/** Normalises a printed pointer: `''` for null, lower-cased otherwise; undefined when it is not a pointer. */
function normalisePtr(v: string): string | undefined {
  if (v === '(null)') return '';
  if (!PTR_RE.test(v)) return undefined;
  if (ZERO_PTR_RE.test(v)) return '';
  return v.toLowerCase();
}

/** A line we cannot use; carries the reason for lenient counting. */
class LineError extends Error {
  constructor(
    readonly reason: KmemParseReason,
    message: string,
  ) {
    super(message);
  }
}

/** The standard header of a trace line, or undefined when the line is not one. */
interface Header {
  task: string;
  pid: number;
  cpu: number;
  ts: number;
  event: string;
  /** Index of the fields text. */
  fieldsAt: number;
}

const CH_0 = 48;
const CH_9 = 57;
const isDigit = (c: number): boolean => c >= CH_0 && c <= CH_9;

/** Finds the `[<digits>]` CPU bracket that follows a `-<pid>` (and optional `(tgid)`). */
function findCpuBracket(line: string): number {
  let i = line.indexOf('[');
  while (i > 0) {
    let j = i + 1;
    while (j < line.length && isDigit(line.charCodeAt(j))) j++;
    if (j > i + 1 && line.charCodeAt(j) === 93 /* ] */) return i;
    i = line.indexOf('[', i + 1);
  }
  return -1;
}

const GARBAGE = 'expected `<task>-<pid> [<cpu>] <flags> <timestamp>: <event>: <fields>`';

function parseHeader(line: string): Header {
  const br = findCpuBracket(line);
  if (br < 0) throw new LineError('garbage', GARBAGE);
  let head = line.slice(0, br).trim();
  // trace option record-tgid: `bash-1977  (  1977) [000]`.
  if (head.endsWith(')')) {
    const open = head.lastIndexOf('(');
    if (open > 0) head = head.slice(0, open).trimEnd();
  }
  const dash = head.lastIndexOf('-');
  const pidText = head.slice(dash + 1);
  if (dash <= 0 || !DEC_RE.test(pidText)) throw new LineError('garbage', `${GARBAGE}: no <task>-<pid> before the [cpu] bracket`);
  const close = line.indexOf(']', br);
  const cpu = Number(line.slice(br + 1, close));
  // After the bracket: optional flags token, then `<timestamp>:`.
  let p = close + 1;
  const n = line.length;
  const nextToken = (): string => {
    while (p < n && line.charCodeAt(p) === 32) p++;
    const s = p;
    while (p < n && line.charCodeAt(p) !== 32) p++;
    return line.slice(s, p);
  };
  let tok = nextToken();
  // The irq/preempt flags column (4 or 5 characters) is absent in `trace-cmd report` without -l.
  if (!(tok.endsWith(':') && isDigit(tok.charCodeAt(0)))) tok = nextToken();
  if (!(tok.endsWith(':') && isDigit(tok.charCodeAt(0)))) throw new LineError('garbage', `${GARBAGE}: no '<timestamp>:' after the [cpu] bracket`);
  const tsText = tok.slice(0, -1);
  if (!TS_RE.test(tsText)) throw new LineError('bad-number', `timestamp '${tsText}' is not <seconds>.<fraction>`);
  const ev = nextToken();
  if (ev.length < 2 || !ev.endsWith(':')) throw new LineError('garbage', `${GARBAGE}: no '<event>:' after the timestamp`);
  return { task: head.slice(0, dash), pid: Number(pidText), cpu, ts: Number(tsText), event: ev.slice(0, -1), fieldsAt: p + 1 };
}

/** Field slots of the kmem events. */
interface Fields {
  call_site: string | undefined;
  ptr: string | undefined;
  bytes_req: string | undefined;
  bytes_alloc: string | undefined;
  gfp_flags: string | undefined;
  node: string | undefined;
  accounted: string | undefined;
  name: string | undefined;
}

/** Sets one known field; other keys are ignored. */
function setField(f: Fields, key: string, value: string): keyof Fields | '' {
  switch (key) {
    case 'call_site':
    case 'ptr':
    case 'bytes_req':
    case 'bytes_alloc':
    case 'gfp_flags':
    case 'node':
    case 'accounted':
    case 'name':
      f[key] = value;
      return key;
    default:
      return '';
  }
}

function parseFields(text: string): Fields {
  // Every slot declared up front: one hidden class for all lines.
  const f: Fields = { call_site: undefined, ptr: undefined, bytes_req: undefined, bytes_alloc: undefined, gfp_flags: undefined, node: undefined, accounted: undefined, name: undefined };
  let last: keyof Fields | '' = '';
  let p = 0;
  const n = text.length;
  while (p < n) {
    while (p < n && text.charCodeAt(p) === 32) p++;
    const s = p;
    while (p < n && text.charCodeAt(p) !== 32) p++;
    if (s === p) break;
    const tok = text.slice(s, p);
    const eq = tok.indexOf('=');
    if (eq > 0) {
      last = setField(f, tok.slice(0, eq), tok.slice(eq + 1));
    } else if (last !== '') {
      // A value with spaces: `ptr=  (null)`, `foo+0x1/0x2 [module]`.
      const prev = f[last]!;
      f[last] = prev === '' ? tok : `${prev} ${tok}`;
    }
  }
  return f;
}

function need(f: Fields, key: keyof Fields, event: string, what: string): string {
  const v = f[key];
  if (v === undefined) throw new LineError('missing-field', `${event}: expected ${key}=<${what}>, found none`);
  return v;
}

function decimal(f: Fields, key: 'bytes_req' | 'bytes_alloc', event: string): number {
  const v = need(f, key, event, 'decimal');
  if (!DEC_RE.test(v)) throw new LineError('bad-number', `${event}: expected ${key}=<decimal>, found '${v}'`);
  return Number(v);
}

function parseEvent(line: string, lineNo: number, h: Header, kind: KmemEventKind, unknownGfp: Record<string, number>): KmemEvent {
  const f = parseFields(line.slice(h.fieldsAt));
  const ev = h.event;
  const callSite = need(f, 'call_site', ev, 'call site');
  if (callSite === '') throw new LineError('missing-field', `${ev}: expected call_site=<call site>, found an empty value`);
  const ptrText = need(f, 'ptr', ev, 'pointer');
  const ptr = normalisePtr(ptrText);
  if (ptr === undefined) throw new LineError('bad-pointer', `${ev}: expected ptr=<hex pointer> or ptr=(null), found '${ptrText}'`);
  const name = f.name;
  if (kind === 'kfree' || kind === 'cache_free') {
    return event(kind, lineNo, h, callSite, ptr, 0, 0, 0, -1, false, kind === 'cache_free' ? name : undefined);
  }
  const bytesReq = decimal(f, 'bytes_req', ev);
  const bytesAlloc = decimal(f, 'bytes_alloc', ev);
  const gfp = gfpBits(need(f, 'gfp_flags', ev, 'GFP flags'), unknownGfp);
  let node = -1;
  const nodeText = ev.endsWith('_node') ? need(f, 'node', ev, 'node') : f.node;
  if (nodeText !== undefined) {
    if (!INT_RE.test(nodeText)) throw new LineError('bad-number', `${ev}: expected node=<integer>, found '${nodeText}'`);
    node = Number(nodeText);
  }
  let accounted = false;
  if (f.accounted !== undefined) {
    if (f.accounted !== 'true' && f.accounted !== 'false') throw new LineError('bad-value', `${ev}: expected accounted=true or accounted=false, found '${f.accounted}'`);
    accounted = f.accounted === 'true';
  }
  return event(kind, lineNo, h, callSite, ptr, bytesReq, bytesAlloc, gfp, node, accounted, kind === 'cache_alloc' ? name : undefined);
}

/** Builds an event; every event has the same shape (`cacheName` present, possibly undefined). */
function event(
  kind: KmemEventKind,
  line: number,
  h: Header,
  callSite: string,
  ptr: string,
  bytesReq: number,
  bytesAlloc: number,
  gfp: number,
  node: number,
  accounted: boolean,
  cacheName: string | undefined,
): KmemEvent {
  return { kind, line, task: h.task, pid: h.pid, cpu: h.cpu, ts: h.ts, callSite, ptr, bytesReq, bytesAlloc, gfp, node, accounted, cacheName };
}

/**
 * Parses ftrace kmem text (a `trace` file or `trace-cmd report` output).
 *
 * @param text - the whole file
 * @param opts - {@link FtraceKmemParseOpts}
 * @returns the kmem events in file order, with counts of what was ignored or skipped
 * @throws AllocatorError `parse` (`line N: …`, `info.line` = N) on the first malformed line, unless `lenient`
 * @remarks O(length of text); one pass.
 */
export function parseFtraceKmem(text: string, opts: FtraceKmemParseOpts = {}): FtraceKmemParseResult {
  const lenient = opts.lenient ?? false;
  const events: KmemEvent[] = [];
  const ignored: Record<string, number> = {};
  const skipped: Partial<Record<KmemParseReason, number>> = {};
  const skippedLines: number[] = [];
  const unknownGfp: Record<string, number> = {};
  let lostEvents = 0;
  let lineNo = 0;
  let start = 0;
  const n = text.length;
  while (start < n) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = n;
    let line = text.slice(start, end);
    start = end + 1;
    lineNo++;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const first = line.trimStart();
    if (first === '' || first.startsWith('#')) continue;
    const lost = LOST_RE.exec(first);
    if (lost) {
      lostEvents += Number(lost[1]);
      continue;
    }
    try {
      const h = parseHeader(line);
      const kind = EVENT_KINDS[h.event];
      if (kind === undefined) {
        ignored[h.event] = (ignored[h.event] ?? 0) + 1;
        continue;
      }
      events.push(parseEvent(line, lineNo, h, kind, unknownGfp));
    } catch (e) {
      if (!(e instanceof LineError)) throw e;
      if (!lenient) throw new AllocatorError('parse', `line ${lineNo}: ${e.message}`, { line: lineNo });
      skipped[e.reason] = (skipped[e.reason] ?? 0) + 1;
      if (skippedLines.length < MAX_SKIPPED_LINES) skippedLines.push(lineNo);
    }
  }
  return { events, ignored, skipped, skippedLines, unknownGfp, lostEvents, lines: lineNo };
}

/**
 * Reads a trace file as text, gunzipping it when the name ends in `.gz`.
 *
 * @param path - file path
 * @returns the text (UTF-8)
 */
export function readTraceText(path: string): string {
  const buf = readFileSync(path);
  return (path.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8');
}

/**
 * Reads and parses a kmem trace file ({@link readTraceText} then {@link parseFtraceKmem}).
 *
 * @param path - file path (`.gz` is gunzipped)
 * @param opts - {@link FtraceKmemParseOpts}
 */
export function parseFtraceKmemFile(path: string, opts: FtraceKmemParseOpts = {}): FtraceKmemParseResult {
  return parseFtraceKmem(readTraceText(path), opts);
}
