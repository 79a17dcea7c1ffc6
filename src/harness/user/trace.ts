/**
 * User-space malloc traces: one compact representation, {@link UserTrace},
 * and parsers for the formats people already have.
 *
 * How it works here: every parser reads its lines once and hands each
 * operation to a {@link UserTraceBuilder}, which checks it against the life
 * of its id (never used → live → dead → live again …) and appends it to
 * growable typed arrays. One op is one index `i` across the parallel arrays
 * `op[i]`, `id[i]`, `size[i]`, `arg[i]`, `line[i]`; a replayer keeps its own
 * `Float64Array(nIds)` of pointers indexed by id.
 *
 * Formats, each as the program that writes it prints it:
 *
 * - `rep` — CS:APP malloc-lab (`mdriver`). A header of four non-negative
 *   integers: suggested heap size, number of ids, number of ops, weight
 *   (mdriver reads them with `fscanf("%d")`, so one per line or several on
 *   a line are both accepted), then `a ID SIZE`, `f ID`, `r ID SIZE`.
 *   Tolerated, as published traces need: blank lines, `#` comments (whole
 *   line or trailing), CRLF line ends, a UTF-8 BOM, tabs and runs of
 *   spaces, and header counts that disagree with the body — the body
 *   decides and the disagreement is reported in
 *   {@link UserTraceMeta.headerMismatch}. `c`/`m` are not malloc-lab ops and
 *   are rejected here (use `plain`).
 * - `plain` — the same op lines without a header, plus two extensions:
 *   `c ID NMEMB SIZE` (calloc) and `m ID ALIGN SIZE` (memalign). This is the
 *   format {@link formatPlainTrace} writes and the C oracle
 *   (tools/oracle/glibc-replay.c) reads.
 * - `wee` — wee_alloc's `Alloc(SIZE),` / `Free(K),` where K is the 0-based
 *   ordinal of the `Alloc` being freed; the ordinal is the id
 *   (rustwasm/wee_alloc `test/traces/*.trace`, written by its
 *   `trace-malloc-free/src/main.rs` from `valgrind --trace-malloc=yes`
 *   output; a realloc is already a `Free` then an `Alloc`).
 * - `mtrace` — glibc's `MALLOC_TRACE` output (malloc/mtrace-impl.c since
 *   glibc 2.34, malloc/mtrace.c before: `tr_where` and the per-call
 *   printers such as `realloc_mtrace_after`): `= Start` / `= End`, an
 *   optional `@ where[0xaddr] ` prefix, `+ PTR SIZE` (malloc, calloc,
 *   memalign, realloc(NULL, n): all become MALLOC, mtrace cannot tell them
 *   apart), `- PTR` (free, realloc(p, 0)), `< OLD` followed by `> NEW SIZE`
 *   (realloc), `! PTR SIZE` (failed realloc: nothing changes). Sizes are hex
 *   as `%#lx` prints them (`0x30`, and `0` for zero). Pointers map to ids;
 *   the id of a freed pointer is reused by a later allocation (LIFO), so
 *   `nIds` is the peak number of live blocks. `+ (nil) SIZE` (a failed
 *   allocation) and `!` lines add no op and are counted in
 *   {@link UserTraceMeta.failedCalls}. `-` of a pointer that is not live and
 *   `+`/`>` of a pointer that is already live are trace errors (the former
 *   is common when tracing starts after the program has allocated: use
 *   `lenient`). In lenient mode a `<` of a pointer that is not live turns
 *   its `>` into a MALLOC of the new pointer.
 * - `jsonl` — one JSON object per line, the schema of allocsim:
 *   ```
 *   {"op":"malloc","id":3,"size":24}
 *   {"op":"free","id":3}
 *   {"op":"realloc","id":3,"size":100}
 *   {"op":"calloc","id":4,"nmemb":3,"size":8}
 *   {"op":"memalign","id":5,"align":64,"size":100}
 *   ```
 *   The keys shown are required for their op and must be JSON numbers;
 *   other keys are ignored. Blank lines and lines starting with `#` are
 *   skipped.
 *
 * Semantics shared by every format:
 *
 * 1. Ids are integers 0..{@link MAX_TRACE_ID}; sizes, calloc counts and
 *    alignments are integers 0..2^53−1 ({@link MAX_TRACE_SIZE}).
 * 2. MALLOC, CALLOC, MEMALIGN need a dead or never-used id and make it
 *    live; FREE and REALLOC need a live id. `r` of a dead id is an error
 *    (as in mdriver), not realloc(NULL, n).
 * 3. `realloc` to size 0 stays a REALLOC op with size 0, and it kills the
 *    id: the replayer must do what glibc 2.36 does, free the block
 *    (realloc(p, 0) frees and returns NULL). The oracle prints no line for
 *    it.
 * 4. A calloc's `size` is the element size and `arg` the element count
 *    (`calloc(arg, size)`); a memalign's `arg` is the alignment
 *    (`memalign(arg, size)`); `arg` is 0 for the other ops, and `size` is 0
 *    for FREE.
 *
 * Errors: a line that does not fit the grammar is an
 * `AllocatorError('parse')` whose message names the 1-based line and what
 * was expected, with `info.line` set. A line that fits the grammar but
 * breaks the rules above (an id freed twice, freed or reallocated but never
 * allocated, allocated while live, a negative, fractional or absurd size) is
 * the same error — unless `lenient` is set: then the op is dropped and
 * counted by {@link UserTraceIssue} in {@link UserTrace.skipped}. Later ops
 * on the id of a dropped op are judged on their own (and may be dropped in
 * turn). Malformed lines always throw, lenient or not.
 *
 * Known limitations: mtrace loses which call made a block (calloc and
 * memalign replay as malloc); multi-threaded mtrace output (interleaved
 * lines) is not separated; numbers in `rep`/`plain` are decimal only.
 */

import { extname } from 'node:path';

import { AllocatorError } from '../../interfaces/errors.js';
import { grownTo } from '../../machine/grow.js';
import { jsonErrorPosition } from '../json-text.js';
import { readTraceText } from '../trace/ftrace-kmem.js';

/** Operation codes of {@link UserTrace.op}. */
export const OP = {
  /** `malloc(size)`. */
  MALLOC: 0,
  /** `free(p)`. */
  FREE: 1,
  /** `realloc(p, size)`; size 0 frees. */
  REALLOC: 2,
  /** `calloc(arg, size)`: `arg` elements of `size` bytes. */
  CALLOC: 3,
  /** `memalign(arg, size)`: `arg` is the alignment. */
  MEMALIGN: 4,
} as const;

/** One operation code. */
export type UserOp = (typeof OP)[keyof typeof OP];

/** The jsonl spelling of each op, indexed by its code. */
export const OP_NAMES: readonly ['malloc', 'free', 'realloc', 'calloc', 'memalign'] = ['malloc', 'free', 'realloc', 'calloc', 'memalign'];

/** A trace format name. */
export type UserTraceFormat = 'rep' | 'plain' | 'wee' | 'mtrace' | 'jsonl';

/** Every format, in the order `--format` lists them. */
export const USER_TRACE_FORMATS: readonly UserTraceFormat[] = ['rep', 'plain', 'wee', 'mtrace', 'jsonl'];

/** File extensions that name a user-space trace format (lower case, with the dot). */
export const USER_TRACE_EXTENSIONS: Readonly<Record<string, UserTraceFormat>> = {
  '.rep': 'rep',
  '.trace': 'wee',
  '.mtrace': 'mtrace',
  '.jsonl': 'jsonl',
  '.ops': 'plain',
};

/**
 * Why a lenient parse dropped an op. Stable strings: the CLI prints them.
 *
 * - `double-free` — a free of an id that was already freed;
 * - `use-after-free` — a realloc of an id that was already freed;
 * - `never-allocated` — a free or realloc of an id (or mtrace pointer) never allocated;
 * - `allocated-while-live` — an allocation to an id (or mtrace pointer) that is live;
 * - `bad-size` — a size, count or alignment that is negative, fractional or above {@link MAX_TRACE_SIZE};
 * - `bad-id` — an id that is negative, fractional or above {@link MAX_TRACE_ID}.
 */
export type UserTraceIssue = 'double-free' | 'use-after-free' | 'never-allocated' | 'allocated-while-live' | 'bad-size' | 'bad-id';

/** Largest id a trace may use (ids index typed arrays of `nIds` entries). */
export const MAX_TRACE_ID = 2 ** 24 - 1;

/** Largest size, calloc count or alignment: 2^53 − 1, the largest exact JS integer. */
export const MAX_TRACE_SIZE = Number.MAX_SAFE_INTEGER;

/** How many line numbers of dropped ops a lenient parse remembers. */
export const MAX_SKIPPED_LINES = 100;

/** Facts about a trace besides its ops. */
export interface UserTraceMeta {
  /** `rep` header: suggested heap size in bytes (mdriver ignores it). */
  readonly heapSize?: number;
  /** `rep` header: number of ids it declares. */
  readonly declaredIds?: number;
  /** `rep` header: number of ops it declares. */
  readonly declaredOps?: number;
  /**
   * `rep` header: weight of the trace in mdriver's score (1 without a header).
   * @defaultValue 1
   */
  readonly weight: number;
  /** Where a `rep` header disagrees with its body, one sentence each (empty when it agrees). */
  readonly headerMismatch: readonly string[];
  /** `mtrace`: failed calls (`+ (nil) SIZE`, `! PTR SIZE`), which add no op. */
  readonly failedCalls: number;
  /** Lines read, blank and comment lines included. */
  readonly lines: number;
}

/**
 * A parsed trace in parallel typed arrays: op `i` is
 * `(op[i], id[i], size[i], arg[i])` from source line `line[i]`.
 *
 * Invariants: every array has length `n`; `0 <= id[i] < nIds`; the ops obey
 * rules 1–4 of the module comment (dropped ops are not in the arrays).
 */
export interface UserTrace {
  /** Format it was parsed from (`plain` for generated traces). */
  readonly format: UserTraceFormat;
  /** Number of ops. */
  readonly n: number;
  /** Op codes ({@link OP}). */
  readonly op: Uint8Array;
  /** Block ids. */
  readonly id: Int32Array;
  /** Bytes asked for; the element size for CALLOC; 0 for FREE. */
  readonly size: Float64Array;
  /** CALLOC: element count; MEMALIGN: alignment; 0 otherwise. */
  readonly arg: Float64Array;
  /** 1-based source line of each op. */
  readonly line: Int32Array;
  /** One more than the largest id (0 for an empty trace). */
  readonly nIds: number;
  /** Ops a lenient parse dropped, by issue (always empty when strict). */
  readonly skipped: Readonly<Partial<Record<UserTraceIssue, number>>>;
  /** 1-based lines of the first dropped ops (at most {@link MAX_SKIPPED_LINES}). */
  readonly skippedLines: readonly number[];
  /** Header facts and counters. */
  readonly meta: UserTraceMeta;
}

/** Options of {@link parseUserTrace}. */
export interface UserTraceParseOpts {
  /**
   * Drop ops that break the id rules (and count them in `skipped`) instead
   * of throwing. Malformed lines throw either way.
   * @defaultValue false
   */
  readonly lenient?: boolean;
}

/** Life of an id in {@link UserTraceBuilder}. */
const ID_UNUSED = 0;
const ID_LIVE = 1;
const ID_DEAD = 2;

const INITIAL_CAPACITY = 1024;

function parseError(line: number, message: string): AllocatorError {
  return new AllocatorError('parse', `line ${line}: ${message}`, { line });
}

/**
 * Appends checked ops to growable typed arrays and builds a
 * {@link UserTrace}. Every parser and the generator go through it, so the
 * rules of the module comment are enforced in one place.
 *
 * @remarks Amortised O(1) per op.
 */
export class UserTraceBuilder {
  private n = 0;
  private op = new Uint8Array(INITIAL_CAPACITY);
  private id = new Int32Array(INITIAL_CAPACITY);
  private size = new Float64Array(INITIAL_CAPACITY);
  private arg = new Float64Array(INITIAL_CAPACITY);
  private line = new Int32Array(INITIAL_CAPACITY);
  /** Per id: ID_UNUSED, ID_LIVE or ID_DEAD. */
  private state = new Uint8Array(INITIAL_CAPACITY);
  /** Per id: line of its last allocation or free, for messages. */
  private lastLine = new Int32Array(INITIAL_CAPACITY);
  private nIds = 0;
  private readonly skipped: Partial<Record<UserTraceIssue, number>> = {};
  private readonly skippedLines: number[] = [];

  /** @param lenient - drop and count rule-breaking ops instead of throwing */
  constructor(private readonly lenient: boolean) {}

  /** Ops appended so far. */
  get length(): number {
    return this.n;
  }

  /** One more than the largest id allocated so far. */
  get idCount(): number {
    return this.nIds;
  }

  /** Ops dropped so far (lenient mode). */
  get dropped(): number {
    let s = 0;
    for (const v of Object.values(this.skipped)) s += v;
    return s;
  }

  /**
   * Reports a rule-breaking op: throws a `parse` error, or when lenient
   * counts it under `kind`.
   * @returns false (so callers can `return b.issue(…)` to mean "dropped")
   */
  issue(kind: UserTraceIssue, line: number, message: string): false {
    if (!this.lenient) throw parseError(line, message);
    this.skipped[kind] = (this.skipped[kind] ?? 0) + 1;
    if (this.skippedLines.length < MAX_SKIPPED_LINES) this.skippedLines.push(line);
    return false;
  }

  /**
   * Checks that `v` is a usable id.
   * @returns true when it is; otherwise reports `bad-id` (throws unless lenient)
   */
  checkId(v: number, line: number): boolean {
    if (Number.isInteger(v) && v >= 0 && v <= MAX_TRACE_ID) return true;
    return this.issue('bad-id', line, `id ${v} is not an integer in 0..${MAX_TRACE_ID}`);
  }

  /**
   * Checks that `v` is a usable byte count (or calloc count, or alignment).
   * @param what - what the number is, for the message (`size`, `nmemb`, `alignment`)
   * @returns true when it is; otherwise reports `bad-size` (throws unless lenient)
   */
  checkSize(v: number, what: string, line: number): boolean {
    if (Number.isInteger(v) && v >= 0 && v <= MAX_TRACE_SIZE) return true;
    return this.issue('bad-size', line, `${what} ${v} is not an integer in 0..2^53-1`);
  }

  /**
   * Appends a MALLOC, CALLOC or MEMALIGN of `id` (which must not be live).
   * @returns whether the op was appended (false: dropped in lenient mode)
   */
  alloc(op: typeof OP.MALLOC | typeof OP.CALLOC | typeof OP.MEMALIGN, id: number, size: number, arg: number, line: number): boolean {
    if (!this.checkId(id, line)) return false;
    if (!this.checkSize(size, 'size', line)) return false;
    if (op !== OP.MALLOC && !this.checkSize(arg, op === OP.CALLOC ? 'nmemb' : 'alignment', line)) return false;
    this.reserveId(id);
    if (this.state[id] === ID_LIVE) {
      return this.issue('allocated-while-live', line, `id ${id} is allocated while live (allocated on line ${this.lastLine[id]}, not freed since)`);
    }
    this.state[id] = ID_LIVE;
    this.lastLine[id] = line;
    this.append(op, id, size, arg, line);
    return true;
  }

  /**
   * Appends a FREE of `id` (which must be live).
   * @returns whether the op was appended
   */
  free(id: number, line: number): boolean {
    if (!this.checkId(id, line) || !this.needLive(id, 'freed', line)) return false;
    this.state[id] = ID_DEAD;
    this.lastLine[id] = line;
    this.append(OP.FREE, id, 0, 0, line);
    return true;
  }

  /**
   * Appends a REALLOC of `id` (which must be live) to `size`; size 0 kills the id.
   * @returns whether the op was appended
   */
  realloc(id: number, size: number, line: number): boolean {
    if (!this.checkId(id, line) || !this.checkSize(size, 'size', line) || !this.needLive(id, 'reallocated', line)) return false;
    if (size === 0) this.state[id] = ID_DEAD;
    this.lastLine[id] = line;
    this.append(OP.REALLOC, id, size, 0, line);
    return true;
  }

  /** True when `id` is live now. */
  isLive(id: number): boolean {
    return id < this.state.length && this.state[id] === ID_LIVE;
  }

  /** The trace built so far (the builder may go on). */
  build(format: UserTraceFormat, meta: Partial<UserTraceMeta> = {}): UserTrace {
    const n = this.n;
    return {
      format,
      n,
      op: this.op.slice(0, n),
      id: this.id.slice(0, n),
      size: this.size.slice(0, n),
      arg: this.arg.slice(0, n),
      line: this.line.slice(0, n),
      nIds: this.nIds,
      skipped: { ...this.skipped },
      skippedLines: [...this.skippedLines],
      meta: { weight: 1, headerMismatch: [], failedCalls: 0, lines: 0, ...meta },
    };
  }

  private needLive(id: number, verb: 'freed' | 'reallocated', line: number): boolean {
    const s = id < this.state.length ? this.state[id] : ID_UNUSED;
    if (s === ID_LIVE) return true;
    if (s === ID_DEAD) {
      const when = `it was freed on line ${this.lastLine[id]}`;
      return verb === 'freed'
        ? this.issue('double-free', line, `id ${id} is freed twice (${when})`)
        : this.issue('use-after-free', line, `id ${id} is reallocated after it was freed (${when})`);
    }
    return this.issue('never-allocated', line, `id ${id} is ${verb} but was never allocated`);
  }

  private reserveId(id: number): void {
    if (id >= this.nIds) this.nIds = id + 1;
    if (id < this.state.length) return;
    let cap = this.state.length;
    while (cap <= id) cap *= 2;
    this.state = grownTo(this.state, cap);
    this.lastLine = grownTo(this.lastLine, cap);
  }

  private append(op: UserOp, id: number, size: number, arg: number, line: number): void {
    if (this.n === this.op.length) {
      const cap = this.n * 2;
      this.op = grownTo(this.op, cap);
      this.id = grownTo(this.id, cap);
      this.size = grownTo(this.size, cap);
      this.arg = grownTo(this.arg, cap);
      this.line = grownTo(this.line, cap);
    }
    const i = this.n++;
    this.op[i] = op;
    this.id[i] = id;
    this.size[i] = size;
    this.arg[i] = arg;
    this.line[i] = line;
  }
}

// ---------------------------------------------------------------- lines

/** Splits into lines without their `\r`, dropping a leading UTF-8 BOM. */
function splitLines(text: string): string[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = body.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.endsWith('\r')) lines[i] = l.slice(0, -1);
  }
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** The line without a trailing `# comment` and surrounding blanks. */
function stripComment(line: string): string {
  const hash = line.indexOf('#');
  return (hash < 0 ? line : line.slice(0, hash)).trim();
}

/** A decimal or JSON-style number token (sign, fraction, exponent allowed: range is checked later). */
const NUMBER_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const BLANKS_RE = /\s+/;

/** The value of a number token, or a parse error saying what was expected. */
function numberToken(tok: string | undefined, line: number, what: string, text: string): number {
  if (tok === undefined || !NUMBER_RE.test(tok)) {
    throw parseError(line, `expected ${what}, found ${tok === undefined ? 'end of line' : `'${tok}'`} in '${text}'`);
  }
  return Number(tok);
}

// ---------------------------------------------------------------- rep and plain

const OP_FORMS: Readonly<Record<string, string>> = {
  a: 'a ID SIZE',
  f: 'f ID',
  r: 'r ID SIZE',
  c: 'c ID NMEMB SIZE',
  m: 'm ID ALIGN SIZE',
};

/** Parses `a/f/r` (and with `extensions` `c/m`) lines from index `first`. */
function parseOpLines(lines: readonly string[], first: number, b: UserTraceBuilder, extensions: boolean): void {
  for (let i = first; i < lines.length; i++) {
    const text = stripComment(lines[i]!);
    if (text === '') continue;
    const ln = i + 1;
    const t = text.split(BLANKS_RE);
    const kind = t[0]!;
    const form = OP_FORMS[kind];
    if (form === undefined || (!extensions && (kind === 'c' || kind === 'm'))) {
      const ops = extensions ? "'a', 'f', 'r', 'c' or 'm'" : "'a', 'f', 'r' (malloc-lab has no 'c' or 'm': use the plain format)";
      throw parseError(ln, `expected an op ${ops}, found '${text}'`);
    }
    const want = form.split(' ').length;
    if (t.length !== want) throw parseError(ln, `expected '${form}' (${want - 1} number${want > 2 ? 's' : ''} after '${kind}'), found '${text}'`);
    const id = numberToken(t[1], ln, 'an id', text);
    switch (kind) {
      case 'a':
        b.alloc(OP.MALLOC, id, numberToken(t[2], ln, 'a size', text), 0, ln);
        break;
      case 'f':
        b.free(id, ln);
        break;
      case 'r':
        b.realloc(id, numberToken(t[2], ln, 'a size', text), ln);
        break;
      case 'c':
        b.alloc(OP.CALLOC, id, numberToken(t[3], ln, 'an element size', text), numberToken(t[2], ln, 'an element count', text), ln);
        break;
      default:
        b.alloc(OP.MEMALIGN, id, numberToken(t[3], ln, 'a size', text), numberToken(t[2], ln, 'an alignment', text), ln);
    }
  }
}

const REP_HEADER = ['suggested heap size', 'number of ids', 'number of ops', 'weight'] as const;

function parseRep(lines: readonly string[], b: UserTraceBuilder): Partial<UserTraceMeta> {
  const header: number[] = [];
  let i = 0;
  for (; i < lines.length && header.length < REP_HEADER.length; i++) {
    const text = stripComment(lines[i]!);
    if (text === '') continue;
    for (const tok of text.split(BLANKS_RE)) {
      const k = header.length;
      if (k === REP_HEADER.length || !/^\d+$/.test(tok)) {
        const what = k === REP_HEADER.length ? 'the first op on a line of its own after the 4 header numbers' : `header number ${k + 1} of 4 (${REP_HEADER[k]}), a non-negative integer`;
        throw parseError(i + 1, `expected ${what}, found '${tok}' in '${text}'`);
      }
      header.push(Number(tok));
    }
  }
  if (header.length < REP_HEADER.length) {
    throw parseError(Math.max(1, i), `the rep header needs 4 numbers (${REP_HEADER.join(', ')}); the input ends after ${header.length}`);
  }
  parseOpLines(lines, i, b, false);
  const [heapSize, declaredIds, declaredOps, weight] = header as [number, number, number, number];
  const bodyOps = b.length + b.dropped;
  const headerMismatch: string[] = [];
  if (declaredOps !== bodyOps) headerMismatch.push(`the header declares ${declaredOps} ops, the body has ${bodyOps}`);
  if (declaredIds !== b.idCount) headerMismatch.push(`the header declares ${declaredIds} ids, the body uses ${b.idCount}`);
  return { heapSize, declaredIds, declaredOps, weight, headerMismatch };
}

// ---------------------------------------------------------------- wee_alloc

const WEE_RE = /^(Alloc|Free)\(\s*([^)\s]*)\s*\),?$/;

function parseWee(lines: readonly string[], b: UserTraceBuilder): void {
  let allocs = 0;
  for (let i = 0; i < lines.length; i++) {
    const text = stripComment(lines[i]!);
    if (text === '') continue;
    const ln = i + 1;
    const m = WEE_RE.exec(text);
    if (!m) throw parseError(ln, `expected 'Alloc(SIZE),' or 'Free(K),', found '${text}'`);
    const v = numberToken(m[2], ln, m[1] === 'Alloc' ? 'a size' : 'the ordinal of an Alloc', text);
    if (m[1] === 'Alloc') {
      b.alloc(OP.MALLOC, allocs++, v, 0, ln);
    } else if (Number.isInteger(v) && v >= allocs) {
      b.issue('never-allocated', ln, `Free(${v}) names Alloc number ${v}, but only ${allocs} Alloc${allocs === 1 ? '' : 's'} (0..${allocs - 1}) came before`);
    } else {
      b.free(v, ln);
    }
  }
}

// ---------------------------------------------------------------- mtrace

const MT_PTR_RE = /^(?:0x[0-9a-f]+|\(nil\))$/i;
const MT_SIZE_RE = /^(?:0x[0-9a-f]+|0)$/i;
const MT_NIL = '(nil)';
const MT_EXPECTED = "'= Start', '= End', '+ PTR SIZE', '- PTR', '< PTR' then '> PTR SIZE', or '! PTR SIZE' (after an optional '@ where[0xaddr] ')";

interface MtLine {
  readonly kind: string;
  readonly ptr: string;
  readonly size: number;
}

/** Splits an mtrace line (after its `@` prefix) into kind, pointer and size. */
function mtLine(raw: string, ln: number): MtLine | undefined {
  let text = raw.trim();
  if (text.startsWith('@ ')) {
    const end = text.lastIndexOf('] ');
    if (end < 0) throw parseError(ln, `expected a location '@ where[0xaddr] ' before the op, found '${text}'`);
    text = text.slice(end + 2).trim();
  }
  if (text === '= Start' || text === '= End') return undefined;
  const t = text.split(BLANKS_RE);
  const kind = t[0]!;
  const withSize = kind === '+' || kind === '>' || kind === '!';
  if (!'+-<>!'.includes(kind) || kind.length !== 1 || t.length !== (withSize ? 3 : 2) || !MT_PTR_RE.test(t[1]!)) {
    throw parseError(ln, `expected ${MT_EXPECTED}, found '${raw.trim()}'`);
  }
  if (withSize && !MT_SIZE_RE.test(t[2]!)) throw parseError(ln, `expected a hex size ('0x30', or '0') after '${kind} ${t[1]}', found '${t[2]}'`);
  return { kind, ptr: t[1]!.toLowerCase(), size: withSize ? Number.parseInt(t[2]!, 16) : 0 };
}

function parseMtrace(lines: readonly string[], b: UserTraceBuilder): Partial<UserTraceMeta> {
  /** Live pointer → id. */
  const live = new Map<string, number>();
  /** Freed pointer → line it was freed on (for messages). */
  const freedAt = new Map<string, number>();
  const spareIds: number[] = [];
  let nextId = 0;
  let failedCalls = 0;
  let pending: { readonly ptr: string; readonly id: number | undefined; readonly line: number } | undefined;

  const newId = (): number => spareIds.pop() ?? nextId++;
  const allocate = (ptr: string, size: number, ln: number): void => {
    const owner = live.get(ptr);
    if (owner !== undefined) {
      b.issue('allocated-while-live', ln, `pointer ${ptr} is returned again while live (id ${owner}, not freed since)`);
      return;
    }
    const id = newId();
    if (b.alloc(OP.MALLOC, id, size, 0, ln)) {
      live.set(ptr, id);
      freedAt.delete(ptr);
    } else {
      spareIds.push(id);
    }
  };
  const notLive = (ptr: string, verb: string, ln: number): false => {
    const at = freedAt.get(ptr);
    return at === undefined
      ? b.issue('never-allocated', ln, `pointer ${ptr} is ${verb} but is not live (never allocated since tracing started)`)
      : b.issue(verb === 'freed' ? 'double-free' : 'use-after-free', ln, `pointer ${ptr} is ${verb} after it was freed on line ${at}`);
  };

  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const ln = i + 1;
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) continue;
    const m = mtLine(raw, ln);
    if (m === undefined) continue;
    if (pending !== undefined && m.kind !== '>') throw parseError(ln, `expected '> PTR SIZE' completing the realloc '<' of line ${pending.line}, found '${raw.trim()}'`);
    switch (m.kind) {
      case '+':
        if (m.ptr === MT_NIL) failedCalls++;
        else allocate(m.ptr, m.size, ln);
        break;
      case '-': {
        if (m.ptr === MT_NIL) break; // free(NULL)
        const id = live.get(m.ptr);
        if (id === undefined) {
          notLive(m.ptr, 'freed', ln);
        } else if (b.free(id, ln)) {
          live.delete(m.ptr);
          freedAt.set(m.ptr, ln);
          spareIds.push(id);
        }
        break;
      }
      case '<':
        if (m.ptr === MT_NIL) throw parseError(ln, `expected a non-null pointer after '<' (realloc(NULL, n) prints '+'), found '${raw.trim()}'`);
        pending = { ptr: m.ptr, id: live.get(m.ptr), line: ln };
        if (pending.id === undefined) notLive(m.ptr, 'reallocated', ln);
        break;
      case '>': {
        if (pending === undefined) throw parseError(ln, `'>' must follow a '< PTR' line, found '${raw.trim()}'`);
        if (m.ptr === MT_NIL) throw parseError(ln, `expected a non-null pointer after '>' (a failed realloc prints '!'), found '${raw.trim()}'`);
        const { ptr: old, id } = pending;
        pending = undefined;
        if (id === undefined) {
          allocate(m.ptr, m.size, ln); // lenient: the program holds the new block
          break;
        }
        if (m.size === 0) {
          b.issue('bad-size', ln, `a realloc of ${old} to 0 bytes returned ${m.ptr} (glibc frees and prints '-')`);
          break;
        }
        const owner = live.get(m.ptr);
        if (m.ptr !== old && owner !== undefined) {
          b.issue('allocated-while-live', ln, `realloc returned ${m.ptr}, which is live (id ${owner}, not freed since)`);
          break;
        }
        if (b.realloc(id, m.size, ln)) {
          live.delete(old);
          if (m.ptr !== old) freedAt.set(old, ln);
          live.set(m.ptr, id);
          freedAt.delete(m.ptr);
        }
        break;
      }
      default: // '!': a failed realloc, the block stays
        failedCalls++;
    }
  }
  if (pending !== undefined) throw parseError(pending.line, "a realloc '<' is not followed by its '> PTR SIZE' line (the input ends)");
  return { failedCalls };
}

// ---------------------------------------------------------------- jsonl

/**
 * Where `JSON.parse` failed, in words that do not depend on the Node version
 * (V8 rewords its messages): `not valid JSON at column 16`, or `not valid
 * JSON: it ends early`.
 */
function jsonSyntaxWhere(e: unknown): string {
  const pos = jsonErrorPosition(e);
  return pos !== undefined ? `not valid JSON at column ${pos + 1}` : 'not valid JSON: it ends early';
}

function parseJsonl(lines: readonly string[], b: UserTraceBuilder): void {
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!.trim();
    if (text === '' || text.startsWith('#')) continue;
    const ln = i + 1;
    let o: unknown;
    try {
      o = JSON.parse(text);
    } catch (e) {
      throw parseError(ln, `expected a JSON object, found '${text}' (${jsonSyntaxWhere(e)})`);
    }
    if (typeof o !== 'object' || o === null || Array.isArray(o)) throw parseError(ln, `expected a JSON object, found '${text}'`);
    const rec = o as Record<string, unknown>;
    const num = (key: string): number => {
      const v = rec[key];
      if (typeof v !== 'number') throw parseError(ln, `expected "${key}" to be a number for op "${String(rec.op)}", found ${v === undefined ? 'no "' + key + '"' : JSON.stringify(v)}`);
      return v;
    };
    switch (rec.op) {
      case 'malloc':
        b.alloc(OP.MALLOC, num('id'), num('size'), 0, ln);
        break;
      case 'free':
        b.free(num('id'), ln);
        break;
      case 'realloc':
        b.realloc(num('id'), num('size'), ln);
        break;
      case 'calloc':
        b.alloc(OP.CALLOC, num('id'), num('size'), num('nmemb'), ln);
        break;
      case 'memalign':
        b.alloc(OP.MEMALIGN, num('id'), num('size'), num('align'), ln);
        break;
      default:
        throw parseError(ln, `expected "op" to be one of ${OP_NAMES.map((s) => `"${s}"`).join(', ')}, found ${JSON.stringify(rec.op) ?? 'none'}`);
    }
  }
}

// ---------------------------------------------------------------- detection and entry points

/**
 * Guesses the format from the first line that is not blank or a `#`
 * comment: `{` → jsonl; `Alloc(`/`Free(` → wee; `= `, `@ ` or an mtrace op
 * (`+ 0x…`) → mtrace; only integers → rep (its header); `a`, `f`, `r`, `c`
 * or `m` and a blank → plain. An empty input is `plain` (no ops).
 *
 * @throws AllocatorError `parse`, naming the line, when nothing fits
 */
export function detectUserTraceFormat(text: string): UserTraceFormat {
  const lines = splitLines(text);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '' || raw.startsWith('#')) continue;
    if (raw.startsWith('{')) return 'jsonl';
    if (/^(?:Alloc|Free)\(/.test(raw)) return 'wee';
    if (raw.startsWith('= ') || raw.startsWith('@ ') || /^[-+<>!]\s+(?:0x[0-9a-f]|\(nil\))/i.test(raw)) return 'mtrace';
    const text0 = stripComment(raw);
    if (/^\d+(?:\s+\d+)*$/.test(text0)) return 'rep';
    if (/^[afrcm]\s/.test(text0)) return 'plain';
    throw parseError(
      i + 1,
      `cannot tell the trace format from '${raw}' (expected a rep header number, an a/f/r/c/m op, Alloc(…)/Free(…), an mtrace line or a JSON object)`,
    );
  }
  return 'plain';
}

/**
 * The format a file name's extension stands for ({@link USER_TRACE_EXTENSIONS}),
 * or undefined when the extension names none.
 */
export function userTraceFormatFromPath(path: string): UserTraceFormat | undefined {
  return USER_TRACE_EXTENSIONS[extname(path).toLowerCase()];
}

/**
 * Parses a user-space trace.
 *
 * @param text - the whole trace
 * @param format - its format, or `auto` to {@link detectUserTraceFormat | detect it from the content}
 * @param opts - {@link UserTraceParseOpts}
 * @returns the ops in typed arrays
 * @throws AllocatorError `parse` (message and `info.line` name the 1-based
 *   line) for a malformed line, and for a rule-breaking op unless lenient;
 *   `unknown-name` for an unknown format
 * @remarks O(lines).
 */
export function parseUserTrace(text: string, format: UserTraceFormat | 'auto' = 'auto', opts: UserTraceParseOpts = {}): UserTrace {
  const fmt = format === 'auto' ? detectUserTraceFormat(text) : format;
  const lines = splitLines(text);
  const b = new UserTraceBuilder(opts.lenient === true);
  let meta: Partial<UserTraceMeta> = {};
  switch (fmt) {
    case 'rep':
      meta = parseRep(lines, b);
      break;
    case 'plain':
      parseOpLines(lines, 0, b, true);
      break;
    case 'wee':
      parseWee(lines, b);
      break;
    case 'mtrace':
      meta = parseMtrace(lines, b);
      break;
    case 'jsonl':
      parseJsonl(lines, b);
      break;
    default:
      throw new AllocatorError('unknown-name', `unknown user trace format '${String(fmt)}' (known: ${USER_TRACE_FORMATS.join(', ')})`);
  }
  return b.build(fmt, { ...meta, lines: lines.length });
}

/**
 * Reads and parses a trace file (UTF-8; gunzipped first when the name ends
 * in `.gz`, as the CLI reads it). With `auto` the content decides the
 * format; {@link userTraceFormatFromPath} is there for callers that must
 * decide from the name alone (strip the `.gz` first).
 *
 * @throws AllocatorError as {@link parseUserTrace}; Node's error when the file cannot be read or gunzipped
 */
export function parseUserTraceFile(path: string, format: UserTraceFormat | 'auto' = 'auto', opts: UserTraceParseOpts = {}): UserTrace {
  return parseUserTrace(readTraceText(path), format, opts);
}

/**
 * Serializes a trace to the plain format: one op per line, `a ID SIZE`,
 * `f ID`, `r ID SIZE`, `c ID NMEMB SIZE`, `m ID ALIGN SIZE`, decimal, `\n`
 * after every line. This is the input of tools/oracle/glibc-replay.c, and
 * `parseUserTrace(formatPlainTrace(t), 'plain')` has the same ops as `t`
 * (op `i` on line `i + 1`).
 *
 * @remarks O(n).
 */
export function formatPlainTrace(t: UserTrace): string {
  const out: string[] = new Array<string>(t.n);
  for (let i = 0; i < t.n; i++) {
    const id = t.id[i]!;
    const size = t.size[i]!;
    switch (t.op[i]) {
      case OP.MALLOC:
        out[i] = `a ${id} ${size}`;
        break;
      case OP.FREE:
        out[i] = `f ${id}`;
        break;
      case OP.REALLOC:
        out[i] = `r ${id} ${size}`;
        break;
      case OP.CALLOC:
        out[i] = `c ${id} ${t.arg[i]} ${size}`;
        break;
      case OP.MEMALIGN:
        out[i] = `m ${id} ${t.arg[i]} ${size}`;
        break;
      default:
        throw new AllocatorError('misuse', `formatPlainTrace: op ${i} has unknown code ${t.op[i]}`);
    }
  }
  return t.n === 0 ? '' : out.join('\n') + '\n';
}
