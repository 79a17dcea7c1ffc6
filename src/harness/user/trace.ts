/**
 * User-space malloc traces: one compact representation ({@link UserTrace})
 * and parsers for the formats people have:
 *
 * - `rep`: CS:APP malloc-lab (mdriver) — a header of four numbers (suggested
 *   heap size, number of ids, number of ops, weight), then `a ID SIZE`,
 *   `f ID`, `r ID SIZE`. Header counts that disagree with the body are
 *   tolerated (many published traces have them wrong); the body decides.
 * - `plain`: the same op lines without the header, plus two extensions the
 *   glibc oracle also reads: `c ID NMEMB SIZE` (calloc) and
 *   `m ID ALIGN SIZE` (memalign).
 * - `wee`: wee_alloc's `Alloc(SIZE),` / `Free(K),` where K is the 0-based
 *   ordinal of the Alloc being freed.
 * - `mtrace`: glibc's `MALLOC_TRACE` output (`= Start`, optional
 *   `@ where ` prefixes, `+ PTR SIZE`, `- PTR`, `< OLD` + `> NEW SIZE`,
 *   `! PTR SIZE` for a failed realloc); pointers become ids.
 * - `jsonl`: one object per line: `{"op":"malloc","id":1,"size":24}`,
 *   `{"op":"free","id":1}`, `{"op":"realloc","id":1,"size":100}`,
 *   `{"op":"calloc","id":2,"nmemb":3,"size":8}`,
 *   `{"op":"memalign","id":3,"align":64,"size":100}`.
 *
 * `realloc` to size 0 is kept as a REALLOC op of size 0: the replayer does
 * what glibc does (free, the id becomes dead). Blank lines and lines
 * starting with `#` are skipped everywhere.
 *
 * Errors: a malformed line is an `AllocatorError('parse')` naming the line
 * and what was expected. A semantic error (an id freed twice, used while
 * dead, allocated while live) is one too, unless `lenient` is set: then the
 * op is dropped and counted in {@link UserTrace.skipped}.
 */

import { AllocatorError } from '../../interfaces/errors.js';

/** Operation codes. */
export const OP = { MALLOC: 0, FREE: 1, REALLOC: 2, CALLOC: 3, MEMALIGN: 4 } as const;
/** A trace format name. */
export type UserTraceFormat = 'rep' | 'plain' | 'wee' | 'mtrace' | 'jsonl';
/** Formats, for `--format`. */
export const USER_TRACE_FORMATS: readonly UserTraceFormat[] = ['rep', 'plain', 'wee', 'mtrace', 'jsonl'];

/** A parsed trace, in typed arrays. */
export interface UserTrace {
  readonly format: UserTraceFormat;
  /** Number of ops. */
  readonly n: number;
  readonly op: Uint8Array;
  readonly id: Int32Array;
  /** Size (bytes; for calloc the element size). */
  readonly size: Float64Array;
  /** calloc nmemb or memalign alignment. */
  readonly arg: Float64Array;
  /** 1-based source line of each op. */
  readonly line: Int32Array;
  /** Ids used (max id + 1). */
  readonly nIds: number;
  /** Ops dropped in lenient mode, by reason. */
  readonly skipped: Readonly<Record<string, number>>;
  /** Weight from a rep header (1 otherwise). */
  readonly weight: number;
}

/** Parse options. */
export interface UserTraceParseOpts {
  /** Drop semantically wrong ops (and count them) instead of failing. */
  readonly lenient?: boolean;
}

const MAX_SIZE = 2 ** 53 - 1;

class Builder {
  op: number[] = [];
  id: number[] = [];
  size: number[] = [];
  arg: number[] = [];
  line: number[] = [];
  live: Uint8Array = new Uint8Array(1024);
  used: Uint8Array = new Uint8Array(1024);
  skipped: Record<string, number> = {};
  constructor(private readonly lenient: boolean) {}

  private grow(id: number): void {
    if (id < this.live.length) return;
    let n = this.live.length;
    while (n <= id) n *= 2;
    const l = new Uint8Array(n);
    l.set(this.live);
    this.live = l;
    const u = new Uint8Array(n);
    u.set(this.used);
    this.used = u;
  }

  private semantic(lineNo: number, reason: string, msg: string): void {
    if (!this.lenient) throw new AllocatorError('parse', `line ${lineNo}: ${msg}`, { line: lineNo });
    this.skipped[reason] = (this.skipped[reason] ?? 0) + 1;
  }

  add(op: number, id: number, size: number, arg: number, lineNo: number): void {
    if (!Number.isSafeInteger(id) || id < 0 || id > 1 << 28) throw new AllocatorError('parse', `line ${lineNo}: id ${id} is not an integer in 0..2^28`, { line: lineNo });
    if (!Number.isSafeInteger(size) || size < 0 || size > MAX_SIZE) throw new AllocatorError('parse', `line ${lineNo}: size ${size} is not a byte count`, { line: lineNo });
    this.grow(id);
    const isNew = op === OP.MALLOC || op === OP.CALLOC || op === OP.MEMALIGN;
    if (isNew && this.live[id]) return this.semantic(lineNo, 'allocated-while-live', `id ${id} allocated while still live`);
    if (!isNew && !this.live[id]) {
      return this.used[id]
        ? this.semantic(lineNo, 'freed-twice', `id ${id} ${op === OP.FREE ? 'freed' : 'reallocated'} after it was freed`)
        : this.semantic(lineNo, 'never-allocated', `id ${id} ${op === OP.FREE ? 'freed' : 'reallocated'} but never allocated`);
    }
    this.live[id] = op === OP.FREE || (op === OP.REALLOC && size === 0) ? 0 : 1;
    this.used[id] = 1;
    this.op.push(op);
    this.id.push(id);
    this.size.push(size);
    this.arg.push(arg);
    this.line.push(lineNo);
  }

  build(format: UserTraceFormat, weight: number): UserTrace {
    let nIds = 0;
    for (const i of this.id) if (i + 1 > nIds) nIds = i + 1;
    return {
      format,
      n: this.op.length,
      op: Uint8Array.from(this.op),
      id: Int32Array.from(this.id),
      size: Float64Array.from(this.size),
      arg: Float64Array.from(this.arg),
      line: Int32Array.from(this.line),
      nIds,
      skipped: this.skipped,
      weight,
    };
  }
}

const INT = /^\d+$/;

function int(tok: string | undefined, lineNo: number, what: string): number {
  if (tok === undefined || !INT.test(tok)) throw new AllocatorError('parse', `line ${lineNo}: expected ${what}, found '${tok ?? 'end of line'}'`, { line: lineNo });
  return Number(tok);
}

function opLines(lines: string[], first: number, b: Builder, extensions: boolean): void {
  for (let i = first; i < lines.length; i++) {
    const text = lines[i]!.trim();
    if (text === '' || text.startsWith('#')) continue;
    const ln = i + 1;
    const t = text.split(/\s+/);
    const want = (n: number, form: string): void => {
      if (t.length !== n) throw new AllocatorError('parse', `line ${ln}: expected '${form}', found '${text}'`, { line: ln });
    };
    switch (t[0]) {
      case 'a':
        want(3, 'a ID SIZE');
        b.add(OP.MALLOC, int(t[1], ln, 'an id'), int(t[2], ln, 'a size'), 0, ln);
        break;
      case 'f':
        want(2, 'f ID');
        b.add(OP.FREE, int(t[1], ln, 'an id'), 0, 0, ln);
        break;
      case 'r':
        want(3, 'r ID SIZE');
        b.add(OP.REALLOC, int(t[1], ln, 'an id'), int(t[2], ln, 'a size'), 0, ln);
        break;
      case 'c':
      case 'm':
        if (!extensions) throw new AllocatorError('parse', `line ${ln}: '${t[0]}' is not a malloc-lab op (a, f, r)`, { line: ln });
        want(4, t[0] === 'c' ? 'c ID NMEMB SIZE' : 'm ID ALIGN SIZE');
        if (t[0] === 'c') b.add(OP.CALLOC, int(t[1], ln, 'an id'), int(t[3], ln, 'a size'), int(t[2], ln, 'a count'), ln);
        else b.add(OP.MEMALIGN, int(t[1], ln, 'an id'), int(t[3], ln, 'a size'), int(t[2], ln, 'an alignment'), ln);
        break;
      default:
        throw new AllocatorError('parse', `line ${ln}: expected an op 'a', 'f', 'r'${extensions ? ", 'c' or 'm'" : ''}, found '${text}'`, { line: ln });
    }
  }
}

function parseRep(lines: string[], b: Builder): number {
  const header: number[] = [];
  let i = 0;
  for (; i < lines.length && header.length < 4; i++) {
    const text = lines[i]!.trim();
    if (text === '' || text.startsWith('#')) continue;
    const v = Number(text);
    if (!Number.isFinite(v) || v < 0) throw new AllocatorError('parse', `line ${i + 1}: expected header number ${header.length + 1} of 4 (heap size, ids, ops, weight), found '${text}'`, { line: i + 1 });
    header.push(v);
  }
  if (header.length < 4) throw new AllocatorError('parse', `line ${i}: the rep header needs 4 numbers (heap size, ids, ops, weight)`, { line: i });
  opLines(lines, i, b, false);
  return header[3]!;
}

function parseWee(lines: string[], b: Builder): void {
  let allocs = 0;
  const re = /^(Alloc|Free)\((\d+)\),?$/;
  lines.forEach((raw, i) => {
    const text = raw.trim();
    if (text === '' || text.startsWith('#')) return;
    const m = re.exec(text);
    if (!m) throw new AllocatorError('parse', `line ${i + 1}: expected 'Alloc(SIZE),' or 'Free(K),', found '${text}'`, { line: i + 1 });
    if (m[1] === 'Alloc') b.add(OP.MALLOC, allocs++, Number(m[2]), 0, i + 1);
    else b.add(OP.FREE, Number(m[2]), 0, 0, i + 1);
  });
}

function parseMtrace(lines: string[], b: Builder): void {
  const ids = new Map<string, number>();
  let next = 0;
  let pendingOld: { id: number; line: number } | undefined;
  const re = /^(?:@ \S+ )?([+\-<>!]) (0x[0-9a-fA-F]+|\(nil\))(?: (0x[0-9a-fA-F]+))?$/;
  lines.forEach((raw, i) => {
    const text = raw.trim();
    const ln = i + 1;
    if (text === '' || text.startsWith('=') || text.startsWith('#')) return;
    const m = re.exec(text);
    if (!m) throw new AllocatorError('parse', `line ${ln}: expected '+ PTR SIZE', '- PTR', '< PTR', '> PTR SIZE' or '! PTR SIZE', found '${text}'`, { line: ln });
    const [, kind, ptr, sizeHex] = m;
    const size = sizeHex ? parseInt(sizeHex, 16) : 0;
    const needSize = kind === '+' || kind === '>' || kind === '!';
    if (needSize && !sizeHex) throw new AllocatorError('parse', `line ${ln}: '${kind}' needs a hex size`, { line: ln });
    const known = ids.get(ptr!);
    if (kind !== '>' && pendingOld) throw new AllocatorError('parse', `line ${ln}: '<' on line ${pendingOld.line} is not followed by '>'`, { line: ln });
    switch (kind) {
      case '+':
        if (known !== undefined) return b.add(OP.MALLOC, known, size, 0, ln); // reported as allocated-while-live
        ids.set(ptr!, next);
        return b.add(OP.MALLOC, next++, size, 0, ln);
      case '-':
        if (known === undefined) return b.add(OP.FREE, next++, 0, 0, ln); // never allocated
        ids.delete(ptr!);
        return b.add(OP.FREE, known, 0, 0, ln);
      case '<':
        pendingOld = { id: known ?? next++, line: ln };
        if (known !== undefined) ids.delete(ptr!);
        return;
      case '>': {
        if (!pendingOld) throw new AllocatorError('parse', `line ${ln}: '>' without a preceding '<'`, { line: ln });
        const id = pendingOld.id;
        pendingOld = undefined;
        ids.set(ptr!, id);
        return b.add(OP.REALLOC, id, size, 0, ln);
      }
      default:
        return; // '!': a failed realloc changes nothing
    }
  });
}

function parseJsonl(lines: string[], b: Builder): void {
  lines.forEach((raw, i) => {
    const text = raw.trim();
    const ln = i + 1;
    if (text === '' || text.startsWith('#')) return;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new AllocatorError('parse', `line ${ln}: not a JSON object`, { line: ln });
    }
    const num = (k: string): number => {
      const v = o[k];
      if (typeof v !== 'number') throw new AllocatorError('parse', `line ${ln}: "${k}" must be a number`, { line: ln });
      return v;
    };
    switch (o.op) {
      case 'malloc':
        return b.add(OP.MALLOC, num('id'), num('size'), 0, ln);
      case 'free':
        return b.add(OP.FREE, num('id'), 0, 0, ln);
      case 'realloc':
        return b.add(OP.REALLOC, num('id'), num('size'), 0, ln);
      case 'calloc':
        return b.add(OP.CALLOC, num('id'), num('size'), num('nmemb'), ln);
      case 'memalign':
        return b.add(OP.MEMALIGN, num('id'), num('size'), num('align'), ln);
      default:
        throw new AllocatorError('parse', `line ${ln}: "op" must be malloc, free, realloc, calloc or memalign`, { line: ln });
    }
  });
}

/** Guesses the format from the content. */
export function detectUserTraceFormat(text: string): UserTraceFormat {
  const first = text.split('\n').map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#')) ?? '';
  if (first.startsWith('{')) return 'jsonl';
  if (/^(Alloc|Free)\(/.test(first)) return 'wee';
  if (first.startsWith('= Start') || /^(@ \S+ )?[+\-<>] 0x/.test(first)) return 'mtrace';
  if (/^\d+(\.\d+)?$/.test(first)) return 'rep';
  return 'plain';
}

/** Parses a trace (`auto` detects the format). */
export function parseUserTrace(text: string, format: UserTraceFormat | 'auto' = 'auto', opts: UserTraceParseOpts = {}): UserTrace {
  const fmt = format === 'auto' ? detectUserTraceFormat(text) : format;
  const lines = text.split('\n');
  const b = new Builder(opts.lenient === true);
  let weight = 1;
  switch (fmt) {
    case 'rep':
      weight = parseRep(lines, b);
      break;
    case 'plain':
      opLines(lines, 0, b, true);
      break;
    case 'wee':
      parseWee(lines, b);
      break;
    case 'mtrace':
      parseMtrace(lines, b);
      break;
    case 'jsonl':
      parseJsonl(lines, b);
      break;
    default:
      throw new AllocatorError('unknown-name', `unknown trace format '${String(fmt)}' (known: ${USER_TRACE_FORMATS.join(', ')})`);
  }
  return b.build(fmt, weight);
}

/** Serializes to the plain format the C oracle reads. */
export function formatPlainTrace(t: UserTrace): string {
  const out: string[] = [];
  for (let i = 0; i < t.n; i++) {
    const id = t.id[i]!;
    switch (t.op[i]) {
      case OP.MALLOC:
        out.push(`a ${id} ${t.size[i]}`);
        break;
      case OP.FREE:
        out.push(`f ${id}`);
        break;
      case OP.REALLOC:
        out.push(`r ${id} ${t.size[i]}`);
        break;
      case OP.CALLOC:
        out.push(`c ${id} ${t.arg[i]} ${t.size[i]}`);
        break;
      default:
        out.push(`m ${id} ${t.arg[i]} ${t.size[i]}`);
    }
  }
  return out.join('\n') + '\n';
}
