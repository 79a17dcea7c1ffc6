/**
 * The repository never reads outside itself: no file of src/, test/, examples/,
 * bench/, fuzz/, tools/, docs/, nor the README, DESIGN-NOTES.md,
 * data/README.md or package.json names a path outside the repository.
 *
 * What counts (each finding is reported as `file:line: rule: text`):
 *
 * 1. The engineers' reference folder beside the repository (`shared`
 *    one level up, its `data` and `reference` subfolders): see SHARED.
 *    Data a test needs is copied into data/ with its provenance
 *    (data/README.md); a comment states the fact and its real source
 *    (kernel or glibc file and function).
 * 2. An absolute path under a top-level directory that belongs to one
 *    machine (MACHINE_ROOTS: work, root, home, tmp, mnt, …), also as a
 *    `file:` URL, and a path in a home directory (tilde, slash). The
 *    simulated or real OS's own paths (`/proc/…`, `/sys/…`, `/dev/…`,
 *    `/usr/…`, `/bin/…`, `/etc/…`, `/lib/…`) are not in the list; URLs are
 *    not matched (the path part of a URL follows a host name). A path
 *    continued from something before it (a template placeholder, a word,
 *    `.`) is relative, not absolute.
 * 3. A relative path that climbs out of the repository: in code, a string
 *    literal starting with `../`, resolved from the file's directory (as
 *    imports and `new URL(…, import.meta.url)` resolve it) or, on a line
 *    that uses `process.cwd()`, from the repository root (where jest runs);
 *    a bare `'..'` segment on such a line always climbs out. In Markdown,
 *    any `../…` path, resolved from the Markdown file's directory.
 * 4. A Markdown file name that no Markdown file of the repository has,
 *    such as a reference note cited with its section number: a citation of
 *    a note that is not here.
 */
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FINDINGS_SUMMARY } from '../fuzz/scale/findings.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/[/\\]$/, '');
/** Scanned folders (every file in them) and single files, relative to the root. */
const SCAN_DIRS = ['src', 'test', 'bench', 'fuzz', 'tools', 'docs', 'examples'];
const SCAN_FILES = ['README.md', 'DESIGN-NOTES.md', 'data/README.md', 'package.json'];
/** Never descended into when listing the repository. */
const SKIP_DIRS = new Set(['node_modules', '.git', 'dist', 'dist-bench', 'coverage']);
/** Extensions read as code (string-literal rules) rather than as Markdown. */
const CODE_EXTS = new Set(['.ts', '.js', '.mjs', '.cjs', '.json', '.c', '.h', '.sh']);

/** One path outside the repository. */
interface Finding {
  /** Path relative to the repository root. */
  readonly file: string;
  /** 1-based line. */
  readonly line: number;
  /** Which rule of the header. */
  readonly rule: string;
  /** The offending text. */
  readonly text: string;
}

const SHARED = /\.\.\/shared(?![\w-])|(?<![\w-])shared\/(?:data|reference)(?![\w-])/g;
const MACHINE_ROOTS = 'work|root|home|tmp|mnt|opt|srv|media|Users|private|scratch';
const MACHINE_ABS = new RegExp(`(?<![\\w.~/})\\]$*])/(?:${MACHINE_ROOTS})(?=[/\\s'"\`),;:.]|$)[^\\s'"\`),;]*`, 'g');
const FILE_URL = new RegExp(`file:///(?:${MACHINE_ROOTS})\\b[^\\s'"\`),;]*`, 'g');
const HOME = /(?<![\w.~/])~\/[^\s'"`),;]*/g;
const CODE_UP = /(['"`])((?:\.\.\/)+[^'"`\s]*)/g;
const BARE_UP = /(['"])\.\.\1/;
const MD_UP = /(?<![\w./-])((?:\.\.\/)+[^\s)'"`\]]*)/g;
const MD_NAME = /(?<![\w.-])[\w.-]+\.md\b/g;

/** Whether `p` (absolute) is the root or below it. */
const inside = (root: string, p: string): boolean => p === root || p.startsWith(root + sep);

/**
 * The findings of one file.
 *
 * @param root - the repository root (absolute)
 * @param file - the file's path relative to the root
 * @param text - its contents
 * @param mdNames - basenames of every Markdown file of the repository
 * @returns every path outside the repository, in line order
 */
function findOutsidePaths(root: string, file: string, text: string, mdNames: ReadonlySet<string>): Finding[] {
  const out: Finding[] = [];
  const dir = dirname(join(root, file));
  const code = CODE_EXTS.has(extname(file));
  text.split('\n').forEach((line, i) => {
    const add = (rule: string, t: string): void => void out.push({ file, line: i + 1, rule, text: t });
    for (const m of line.matchAll(SHARED)) add('reference folder outside the repository', m[0]);
    for (const m of line.matchAll(MACHINE_ABS)) add("absolute path of one machine's file system", m[0]);
    for (const m of line.matchAll(FILE_URL)) add("absolute path of one machine's file system", m[0]);
    for (const m of line.matchAll(HOME)) add('path in a home directory', m[0]);
    if (code) {
      const fromCwd = line.includes('process.cwd()');
      for (const m of line.matchAll(CODE_UP)) {
        if (!inside(root, resolve(fromCwd ? root : dir, m[2]!))) add(`relative path that leaves the repository (from ${fromCwd ? 'the repository root' : 'the file'})`, m[2]!);
      }
      if (fromCwd && BARE_UP.test(line)) add('a .. segment from the working directory (the repository root) leaves the repository', line.trim());
    } else {
      for (const m of line.matchAll(MD_UP)) {
        if (!inside(root, resolve(dir, m[1]!))) add('relative path that leaves the repository', m[1]!);
      }
    }
    for (const m of line.matchAll(MD_NAME)) {
      if (!mdNames.has(basename(m[0]))) add('cites a Markdown file the repository does not have', m[0]);
    }
  });
  return out;
}

/** Every file below `dir` (relative to `root`), skipping build output and dependencies. */
function walk(root: string, dir: string): string[] {
  const files: string[] = [];
  for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
    const rel = join(dir, e.name);
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name)) files.push(...walk(root, rel));
    } else if (e.isFile()) files.push(rel);
  }
  return files;
}

// Test inputs below that would themselves break the rules are assembled from
// pieces, so that this file passes its own scan.
const UP = '..';
const SH = 'shared';
const MD = '.md';
const abs = (top: string, rest: string): string => `/${top}/${rest}`;
const CWD = 'process.' + 'cwd()';

describe('the outside-path finder', () => {
  const md = new Set(['README.md', 'RESULTS.md']);
  const find = (file: string, text: string): [number, string][] => findOutsidePaths('/r/repo', file, text, md).map((f) => [f.line, f.text]);

  it('finds the reference folder, machine paths, home paths and file URLs', () => {
    const text = [
      `const DATA = '${UP}/${SH}/data/x.txt';`,
      ` * see ${SH}/reference/traces${MD}`,
      `const T = '${abs('work', `${SH}/data/t.gz`)}';`,
      `writeFileSync('${abs('tmp', 'x.json')}')`,
      `run MALLOC_TRACE=${abs('home', 'me/log')} ./prog`,
      `new URL('file://${abs('root', 'x')}')`,
      `const cache = '${'~'}/.cache/allocsim';`,
    ].join('\n');
    expect(find('src/a.ts', text)).toEqual([
      [1, `${UP}/${SH}`],
      [2, `${SH}/reference`],
      [2, `traces${MD}`],
      [3, `${SH}/data`],
      [3, abs('work', `${SH}/data/t.gz`)],
      [4, abs('tmp', 'x.json')],
      [5, abs('home', 'me/log')],
      [6, 'file://' + abs('root', 'x')],
      [7, `${'~'}/.cache/allocsim`],
    ]);
  });

  it('leaves OS paths, URLs, relative paths and paths that stay inside alone', () => {
    const text = [
      "readFileSync('/proc/self/smaps'); '/sys/kernel/tracing/trace'; '/dev/null'; '/usr/bin/gcc'; '/etc/os-release'",
      '// https://github.com/home/tmp/work and http://example.org/root/',
      "join(dir, 'tmp/x'); `${dir}/tmp/x`; './tmp/x'; 'a/home/b'",
      `import { x } from '${UP}/${UP}/src/x.js'; new URL('${UP}/${UP}/data/t.gz', import.meta.url)`,
      `resolve(dir, '${UP}')`,
      'free_vmap_area_root; /* subtree/root */ x / tmp',
      'see RESULTS.md and README.md',
    ].join('\n');
    expect(find('test/mm/a.test.ts', text)).toEqual([]);
  });

  it('resolves relative paths from the file, or from the root on process.cwd() lines', () => {
    const text = [
      `new URL('${UP}/${UP}/${UP}/data/x', import.meta.url)`,
      `join(${CWD}, '${UP}', 'data')`,
      `join(${CWD}, '${UP}/x')`,
      `join(${CWD}, 'data/x')`,
    ].join('\n');
    expect(find('test/mm/a.test.ts', text)).toEqual([
      [1, `${UP}/${UP}/${UP}/data/x`],
      [2, `join(${CWD}, '${UP}', 'data')`],
      [3, `${UP}/x`],
    ]);
  });

  it('resolves Markdown paths from the Markdown file', () => {
    const text = `[notes](${UP}/shared-notes/x) and [bench](${UP}/${UP}/bench/RESULTS.md), [up](${UP}/${UP}/${UP}/y)`;
    expect(find('docs/research/page_alloc_6.8.md', text)).toEqual([[1, `${UP}/${UP}/${UP}/y`]]);
    expect(find('README.md', text)).toEqual([[1, `${UP}/shared-notes/x`], [1, `${UP}/${UP}/bench/RESULTS.md`], [1, `${UP}/${UP}/${UP}/y`]]);
  });
});

describe('the repository', () => {
  const everything = walk(ROOT, '.');
  // Markdown the tool itself writes (a findings directory's summary) is named, not cited.
  const mdNames = new Set([...everything.filter((f) => f.endsWith('.md')).map((f) => basename(f)), FINDINGS_SUMMARY]);
  const scanned = [...SCAN_DIRS.flatMap((d) => walk(ROOT, d)), ...SCAN_FILES].filter((f) => !f.endsWith('.gz') && !f.endsWith('.png')); // binary: compressed traces, the README's screenshot

  it('scans the folders and files it names', () => {
    for (const d of SCAN_DIRS) expect(scanned.some((f) => f.startsWith(d + sep))).toBe(true);
    expect(scanned).toEqual(expect.arrayContaining(SCAN_FILES));
    expect(scanned).toContain(relative(ROOT, fileURLToPath(import.meta.url)));
  });

  it('names no path outside itself', () => {
    const findings = scanned.flatMap((f) => findOutsidePaths(ROOT, f, readFileSync(join(ROOT, f), 'utf8'), mdNames));
    expect(findings.map((f) => `${f.file}:${f.line}: ${f.rule}: ${f.text}`)).toEqual([]);
  });
});
