/**
 * Findings, deduplicated. Every failure of a campaign is shrunk (by the
 * engine) and bucketed by its signature: the layer, what was fuzzed (policy
 * or mutant), the invariant it broke first, the command in which it broke
 * (the one running when the check failed, before shrinking) and, for a
 * thrown error, the top frames of the call that threw — the engine's key. A findings directory holds one reproducer per
 * distinct signature — its first occurrence's; a finding never replaces
 * another's file — and an index,
 * `findings.json`, with every occurrence (`seed:run`, so a campaign run
 * twice into one directory, or a slice run twice by a queue, counts once),
 * and a readable `SUMMARY.md`. `allocsim fuzz --replay DIR` replays all of
 * them, `--replay DIR/FILE` one; `allocsim fuzz merge` joins directories.
 */

import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { AllocatorError } from '../../src/interfaces/errors.js';
import { parseJsonText } from '../../src/harness/json-text.js';
import type { SliceFinding, SliceReport } from '../engine.js';
import { formatReproducer, reproducerOf, type Reproducer } from '../reproducer.js';
import { findMutant } from '../mutants/catalogue.js';
import type { CampaignJob } from './job.js';

/** The findings index format version. */
export const FINDINGS_VERSION = 1;
/** The index file of a findings directory. */
export const FINDINGS_INDEX = 'findings.json';
/** The readable summary beside it. */
export const FINDINGS_SUMMARY = 'SUMMARY.md';

/** One distinct finding, as the index lists it. */
export interface FindingEntry {
  /** 12 hex digits of the signature's hash; the reproducer is `file`. */
  readonly signature: string;
  readonly layer: string;
  readonly policy: string;
  readonly mutant?: string;
  /** Invariant codes (or `error:<kind>`), sorted. */
  readonly codes: readonly string[];
  /** The shrunk list's last command (`op`), after which the check failed. */
  readonly lastCommand: string;
  /** Top frames of a thrown error, innermost first. */
  readonly frames: readonly string[];
  /** The failure's first line. */
  readonly summary: string;
  /** The first occurrence (lowest seed, then run): the campaign's seed and run index. */
  readonly seed: number;
  readonly run: number;
  /** fast-check's seed and path of that run (the slice's seed): `fc.check` with both replays it, shrinking included. */
  readonly fcSeed: number;
  readonly path: string;
  /** Commands in the shrunk list. */
  readonly length: number;
  /** Every occurrence, `seed:run`, sorted. */
  readonly occurrences: readonly string[];
  /** The reproducer, relative to the directory. */
  readonly file: string;
}

/** A findings directory's index. */
export interface FindingsIndex {
  readonly version: 1;
  readonly findings: readonly FindingEntry[];
}

/** A finding with what is needed to write its reproducer. */
export interface DistinctFinding {
  readonly entry: FindingEntry;
  readonly reproducer: Reproducer;
}

const lastOp = (f: SliceFinding): string => {
  const last = f.commands?.[f.commands.length - 1] as { op?: unknown } | undefined;
  return typeof last?.op === 'string' ? last.op : '-';
};

/** The signature of a failure (its engine key: first code, failing command, frames) found by `job`. */
export function signatureOf(job: Pick<CampaignJob, 'layer' | 'policy' | 'mutant'>, key: string): string {
  return createHash('sha1')
    .update([job.layer, job.mutant ?? job.policy, key].join('|'))
    .digest('hex')
    .slice(0, 12);
}

/** A slice's failures, as the coordinator keeps them. */
export type SliceFailures = Pick<SliceReport, 'failures' | 'findings'>;

/** Buckets a campaign's failures by signature, slice after slice (given in slice order). */
export class FindingsAccumulator {
  private readonly byKey = new Map<string, { entry: FindingEntry; reproducer: Reproducer; occ: string[] }>();
  private readonly mutant;

  constructor(private readonly job: CampaignJob) {
    this.mutant = job.mutant !== undefined ? findMutant(job.mutant) : undefined;
  }

  /** Adds a slice's failures; returns the findings they touched (new ones, and old ones with new occurrences). */
  add(s: SliceFailures): DistinctFinding[] {
    const { job } = this;
    const touched = new Set<string>();
    for (const f of s.findings) {
      if (this.byKey.has(f.key)) continue;
      const signature = signatureOf(job, f.key);
      const codes = [...(f.codes ?? [])].sort();
      const entry: FindingEntry = {
        signature,
        layer: job.layer,
        policy: job.policy,
        ...(job.mutant !== undefined ? { mutant: job.mutant } : {}),
        codes,
        lastCommand: lastOp(f),
        frames: f.frames ?? [],
        summary: (f.failure ?? '').split('\n')[0] ?? '',
        seed: job.seed,
        run: f.run,
        fcSeed: f.seed,
        path: f.path ?? '',
        length: f.commands?.length ?? 0,
        occurrences: [],
        file: `${job.layer}-${(codes[0] ?? 'error').replace(/[^\w.-]+/g, '_')}-${signature}.json`,
      };
      this.byKey.set(f.key, { entry, reproducer: reproducerOf(job.layer, job.policy, this.mutant, f), occ: [] });
    }
    for (const x of s.failures) {
      // A key whose shrinking re-run passed (a failure the list alone does not rebuild) has no entry: counted, not listed.
      const d = this.byKey.get(x.key);
      if (!d) continue;
      d.occ.push(`${job.seed}:${x.run}`);
      touched.add(x.key);
    }
    return this.list([...touched]);
  }

  /** The distinct findings so far (or those of `keys`), in order of first occurrence. */
  list(keys: readonly string[] = [...this.byKey.keys()]): DistinctFinding[] {
    return keys
      .map((k) => this.byKey.get(k)!)
      .sort((a, b) => a.entry.run - b.entry.run)
      .map((d) => ({ entry: { ...d.entry, occurrences: [...d.occ] }, reproducer: d.reproducer }));
  }
}

const byOccurrence = (a: string, b: string): number => {
  const [as, ar] = a.split(':').map(Number) as [number, number];
  const [bs, br] = b.split(':').map(Number) as [number, number];
  return as - bs || ar - br;
};

/** Whether `a`'s first occurrence comes before `b`'s (lower seed, then run). */
function precedes(a: FindingEntry, b: FindingEntry): boolean {
  return byOccurrence(`${a.seed}:${a.run}`, `${b.seed}:${b.run}`) < 0;
}

/** Joins two entries of one signature: every occurrence once, the first occurrence's details. */
function joinEntries(a: FindingEntry, b: FindingEntry): FindingEntry {
  const occurrences = [...new Set([...a.occurrences, ...b.occurrences])].sort(byOccurrence);
  return { ...(precedes(b, a) ? b : a), occurrences };
}

/** Reads a directory's index (an absent one is empty). @throws AllocatorError `parse` naming the file */
export function readFindingsIndex(dir: string): FindingsIndex {
  const file = join(dir, FINDINGS_INDEX);
  if (!existsSync(file)) return { version: FINDINGS_VERSION, findings: [] };
  const o = parseJsonText(readFileSync(file, 'utf8'), file) as Partial<FindingsIndex> | null;
  if (!o || o.version !== FINDINGS_VERSION || !Array.isArray(o.findings)) throw new AllocatorError('parse', `${file}: not an allocsim findings index of version ${FINDINGS_VERSION}`);
  for (const [i, f] of o.findings.entries()) {
    const e = f as Partial<FindingEntry> | null;
    if (!e || typeof e.signature !== 'string' || typeof e.file !== 'string' || !Array.isArray(e.occurrences) || !Number.isInteger(e.seed) || !Number.isInteger(e.run)) {
      throw new AllocatorError('parse', `${file}: findings[${i}] is not a finding entry (signature, file, seed, run, occurrences)`);
    }
    // A file name, never a path: a findings directory is read and written inside itself only.
    if (!/^[\w.-]+\.json$/.test(e.file) || e.file.startsWith('.')) throw new AllocatorError('parse', `${file}: findings[${i}].file must be a file name in the directory, got ${JSON.stringify(e.file)}`);
  }
  return o as FindingsIndex;
}

/** The index's entries and new ones, one per signature, in order of first occurrence. */
function mergeEntries(...lists: (readonly FindingEntry[])[]): FindingEntry[] {
  const m = new Map<string, FindingEntry>();
  for (const list of lists) for (const e of list) m.set(e.signature, m.has(e.signature) ? joinEntries(m.get(e.signature)!, e) : e);
  return [...m.values()].sort((a, b) => byOccurrence(`${a.seed}:${a.run}`, `${b.seed}:${b.run}`) || a.signature.localeCompare(b.signature));
}

function summaryText(index: FindingsIndex): string {
  const lines = [`# allocsim findings`, '', `${index.findings.length} distinct finding${index.findings.length === 1 ? '' : 's'}; replay one with \`allocsim fuzz --replay <dir>/<file>\`, all with \`allocsim fuzz --replay <dir>\`.`, ''];
  if (index.findings.length) lines.push('| file | layer | fuzzed | codes | after | seen | first (seed:run, path) | failure |', '|---|---|---|---|---|---|---|---|');
  for (const e of index.findings) {
    lines.push(`| ${e.file} | ${e.layer} | ${e.mutant ? `mutant ${e.mutant}` : e.policy} | ${e.codes.join(', ') || '-'} | ${e.lastCommand} | ${e.occurrences.length} | ${e.seed}:${e.run} (${e.path}) | ${e.summary.replace(/\|/g, '\\|')} |`);
  }
  return lines.join('\n') + '\n';
}

/** Writes `text` to `file` through a temporary file, so a reader never sees half of it. */
function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** Checks, without creating anything, that the directory could be made and written (the default directory, made only when there is a finding). @throws AllocatorError `config` naming it */
export function checkFindingsDir(dir: string): void {
  let at = resolve(dir);
  for (;;) {
    const st = statSync(at, { throwIfNoEntry: false });
    if (st) {
      if (!st.isDirectory()) throw new AllocatorError('config', `cannot write the findings directory ${dir} (ENOTDIR)`);
      try {
        accessSync(at, constants.W_OK);
      } catch (e) {
        throw new AllocatorError('config', `cannot write the findings directory ${dir} (${(e as NodeJS.ErrnoException).code ?? 'EACCES'})`);
      }
      return;
    }
    const up = dirname(at);
    if (up === at) return;
    at = up;
  }
}

/** Creates the directory (and parents) and checks a file can be written in it. @throws AllocatorError `config` naming it when it cannot */
export function ensureFindingsDir(dir: string): void {
  const probe = join(dir, `.allocsim-probe-${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (e) {
    throw new AllocatorError('config', `cannot write the findings directory ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/**
 * Adds findings to a directory: each new signature's reproducer written (an
 * existing one only replaced by an earlier occurrence of its signature),
 * the index and summary rewritten with every occurrence. Returns the directory's index after the write.
 */
export function addFindings(dir: string, found: readonly DistinctFinding[]): FindingsIndex {
  ensureFindingsDir(dir);
  const old = readFindingsIndex(dir);
  const known = new Map(old.findings.map((e) => [e.signature, e]));
  for (const d of found) {
    const had = known.get(d.entry.signature);
    // A signature's reproducer is its first occurrence's: written once, replaced only by an earlier occurrence of the same signature.
    if (had && !precedes(d.entry, had)) continue;
    writeFileSync(join(dir, d.entry.file), formatReproducer(d.reproducer), { flag: had ? 'w' : 'wx' });
  }
  return writeIndex(dir, mergeEntries(old.findings, found.map((d) => d.entry)));
}

/** Writes a directory's index and summary (each through a temporary file) and returns the index. */
function writeIndex(dir: string, findings: readonly FindingEntry[]): FindingsIndex {
  const index: FindingsIndex = { version: FINDINGS_VERSION, findings };
  writeAtomic(join(dir, FINDINGS_INDEX), JSON.stringify(index, null, 2) + '\n');
  writeAtomic(join(dir, FINDINGS_SUMMARY), summaryText(index));
  return index;
}

/**
 * Writes a running campaign's findings into a directory as they come (in
 * slice order), at most every `everyMs` — an overnight campaign killed at
 * hour seven keeps what it found — and whatever is left on {@link flush}.
 */
export class FindingsWriter {
  private readonly waiting = new Map<string, DistinctFinding>();
  private last = 0;

  constructor(
    private readonly dir: string,
    private readonly everyMs = 5000,
  ) {}

  /** Takes the findings a slice touched (each with all its occurrences so far). */
  add(touched: readonly DistinctFinding[]): void {
    for (const d of touched) this.waiting.set(d.entry.signature, d);
    if (this.waiting.size && Date.now() - this.last >= this.everyMs) this.flush();
  }

  /** Writes what is waiting. */
  flush(): FindingsIndex {
    const index = addFindings(this.dir, [...this.waiting.values()]);
    this.waiting.clear();
    this.last = Date.now();
    return index;
  }
}

/** Merges findings directories into `out` (which may be one of them): reproducers copied once, occurrences joined. */
export function mergeFindingsDirs(out: string, dirs: readonly string[]): FindingsIndex {
  const indexes = dirs.map((d) => ({ dir: d, index: readFindingsIndex(d) }));
  for (const { dir } of indexes) if (!existsSync(join(dir, FINDINGS_INDEX))) throw new AllocatorError('config', `${dir}: no ${FINDINGS_INDEX} (not a findings directory)`);
  ensureFindingsDir(out);
  const old = readFindingsIndex(out);
  // Each signature's reproducer comes from the directory holding its first occurrence, whatever the order of the arguments.
  const winner = new Map<string, { dir: string; e: FindingEntry }>(old.findings.map((e) => [e.signature, { dir: out, e }]));
  for (const { dir, index } of indexes) {
    for (const e of index.findings) {
      const had = winner.get(e.signature);
      if (!had || precedes(e, had.e)) winner.set(e.signature, { dir, e });
    }
  }
  for (const { dir, e } of winner.values()) {
    if (resolve(dir) === resolve(out)) continue;
    const from = join(dir, e.file);
    if (!existsSync(from)) throw new AllocatorError('config', `${from}: listed in ${join(dir, FINDINGS_INDEX)} but missing`);
    writeFileSync(join(out, e.file), readFileSync(from));
  }
  return writeIndex(out, mergeEntries(old.findings, ...indexes.map((i) => i.index.findings)));
}

/** The coverage curve beside a findings index. */
export const COVERAGE_FILE = 'coverage.json';

/** One point of the coverage curve: the campaign after a slice, in slice order. */
export interface CoveragePoint {
  /** Runs done so far. */
  readonly runs: number;
  /** Commands executed so far. */
  readonly commands: number;
  /** Distinct (command, outcome) pairs seen so far. */
  readonly coverage: number;
  /** Failing runs so far. */
  readonly failures: number;
}

/** `coverage.json`: the campaign that wrote it and its curve (slice order, so the same whatever the number of workers). */
export interface CoverageCurve {
  readonly version: 1;
  readonly layer: string;
  readonly policy: string;
  readonly mutant?: string;
  readonly seed: number;
  readonly maxCommands: number;
  readonly points: readonly CoveragePoint[];
}

/** Folds slices (in slice order) into a coverage curve. */
export class CoverageRecorder {
  private readonly seen = new Set<string>();
  private readonly points: CoveragePoint[] = [];
  private runs = 0;
  private commands = 0;
  private failures = 0;

  constructor(private readonly job: Pick<CampaignJob, 'layer' | 'policy' | 'mutant' | 'seed' | 'maxCommands'>) {}

  /** Adds a slice's report. */
  add(r: Pick<SliceReport, 'from' | 'to' | 'commandsRun' | 'failures' | 'coverage'>): void {
    this.runs += r.to - r.from;
    this.commands += r.commandsRun;
    this.failures += r.failures.length;
    for (const c of r.coverage) this.seen.add(c);
    this.points.push({ runs: this.runs, commands: this.commands, coverage: this.seen.size, failures: this.failures });
  }

  /** The curve so far. */
  curve(): CoverageCurve {
    const j = this.job;
    return { version: 1, layer: j.layer, policy: j.policy, ...(j.mutant ? { mutant: j.mutant } : {}), seed: j.seed, maxCommands: j.maxCommands, points: [...this.points] };
  }

  /** Writes the curve into a findings directory as `coverage.json`. */
  write(dir: string): void {
    writeAtomic(join(dir, COVERAGE_FILE), JSON.stringify(this.curve()) + '\n');
  }
}

/** Reads a findings directory's coverage curve; undefined when it has none (written by an older allocsim, or merged). @throws AllocatorError `parse` for a malformed file */
export function readCoverageCurve(dir: string): CoverageCurve | undefined {
  const file = join(dir, COVERAGE_FILE);
  if (!existsSync(file)) return undefined;
  const o = parseJsonText(readFileSync(file, 'utf8'), file) as Partial<CoverageCurve> | null;
  const pointOk = (p: unknown): boolean => {
    const q = p as Partial<CoveragePoint> | null;
    return !!q && [q.runs, q.commands, q.coverage, q.failures].every((v) => Number.isInteger(v));
  };
  if (!o || o.version !== 1 || typeof o.layer !== 'string' || typeof o.policy !== 'string' || !Array.isArray(o.points) || !o.points.every(pointOk)) {
    throw new AllocatorError('parse', `${file}: not an allocsim coverage curve of version 1`);
  }
  return o as CoverageCurve;
}
