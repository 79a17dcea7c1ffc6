/**
 * Every command the README shows runs as written, so README and CLI cannot
 * drift.
 *
 * Which commands: every line of a fenced ```sh block of README.md whose
 * first word is `./bin/allocsim` or `allocsim` (a line ending in `\` is
 * joined with the next). The line is split into words as sh would for the
 * simple commands the README uses (single and double quotes, backslash
 * escapes); a word that starts with `#` begins a comment, which is dropped.
 * Pipes, redirections, `;`, `&&`, `$(…)` and backticks are refused, not
 * silently run differently: an example that needs them must be written so
 * that this test can run it, or be left out of the ```sh blocks.
 *
 * Annotation: a comment containing `exits N` says that exit status N is the
 * documented outcome (`./bin/allocsim fuzz --replay allocsim-repro.json  #
 * replay the saved failure: exits 1`). Every other command must exit 0.
 *
 * Checks: the exit status; stdout is not empty; with `--json`, stdout is one
 * JSON document.
 *
 * How: in-process, through `main(argv)` of src/cli/main.ts, one command
 * after the other in README order (a later command may read a file an
 * earlier one wrote, as `fuzz --replay allocsim-repro.json` reads what
 * `fuzz --mutant B-01` wrote), with stdout and stderr captured by spying on
 * their `write`. The working directory is a fresh temporary directory with
 * `data` symlinked to the repository's data/, so the README's relative
 * paths resolve as they do at the repository root while the files the
 * commands write land outside the repository. In-process rather than
 * spawning bin/allocsim: the test needs no built dist/ and pays no Node
 * start-up per command (about 0.7 s each on the 2-core test machine). The
 * price: the `bin/allocsim` wrapper and the EPIPE handler of main.ts are
 * not exercised here.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../src/cli/main.js';
import { captureStdio } from './support/stdio.js';

/** One runnable README command. */
interface ReadmeCommand {
  /** 1-based line of README.md where the command starts. */
  readonly line: number;
  /** The command as written, comment included. */
  readonly text: string;
  /** Its words after the program name. */
  readonly args: readonly string[];
  /** The exit status the README documents (0 unless annotated). */
  readonly exits: number;
}

/** The programs whose invocations are README examples. */
const PROGRAMS = new Set(['./bin/allocsim', 'allocsim']);
/** Unquoted characters that would make the line more than a simple command. */
const SHELL_SYNTAX = new Set(['|', '&', ';', '<', '>', '`', '(', ')', '$', '*', '?', '[', '{']);

/**
 * Splits one command line into words as sh does for a simple command.
 *
 * @param line - the command line
 * @returns the words and the comment (the text after an unquoted `#` that starts a word, or '')
 * @throws Error on an unterminated quote or on shell syntax this test does not run
 */
function shellWords(line: string): { words: string[]; comment: string } {
  const words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === ' ' || ch === '\t') {
      if (word !== null) words.push(word);
      word = null;
    } else if (ch === '#' && word === null) {
      return { words, comment: line.slice(i + 1).trim() };
    } else if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' in: ${line}`);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (ch === '"') {
      let s = '';
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '$' || line[j] === '`') throw new Error(`expansion inside "…" is not run by this test: ${line}`);
        if (line[j] === '\\' && j + 1 < line.length && '"\\$`'.includes(line[j + 1]!)) j++;
        s += line[j];
      }
      if (j >= line.length) throw new Error(`unterminated " in: ${line}`);
      word = (word ?? '') + s;
      i = j;
    } else if (ch === '\\') {
      if (i + 1 < line.length) word = (word ?? '') + line[++i];
    } else if (SHELL_SYNTAX.has(ch) || (word === null && ch === '~')) {
      throw new Error(`shell syntax '${ch}' is not run by this test: ${line}`);
    } else {
      word = (word ?? '') + ch;
    }
  }
  if (word !== null) words.push(word);
  return { words, comment: '' };
}

/**
 * The runnable commands of a Markdown text: lines of ```sh blocks that
 * invoke allocsim, in order.
 *
 * @param markdown - the README text
 * @returns the commands with their line, arguments and expected exit status
 */
function readmeCommands(markdown: string): ReadmeCommand[] {
  const lines = markdown.split('\n');
  const out: ReadmeCommand[] = [];
  let inSh = false;
  let inOther = false;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const fence = /^\s*```\s*(\S*)/.exec(raw);
    if (fence) {
      if (inSh || inOther) inSh = inOther = false;
      else if (fence[1] === 'sh') inSh = true;
      else inOther = true;
      continue;
    }
    if (!inSh) continue;
    const start = i;
    let text = raw.trim();
    while (text.endsWith('\\') && i + 1 < lines.length) text = text.slice(0, -1) + ' ' + lines[++i]!.trim();
    const first = text.split(/\s+/, 1)[0]!;
    if (!PROGRAMS.has(first)) continue;
    const { words, comment } = shellWords(text);
    const exits = /\bexits (\d+)\b/.exec(comment);
    out.push({ line: start + 1, text, args: words.slice(1), exits: exits ? Number(exits[1]) : 0 });
  }
  return out;
}

describe('the README command extractor', () => {
  it('takes allocsim lines of ```sh blocks only, drops comments and reads the exits annotation', () => {
    const md = [
      'Text ./bin/allocsim list', // prose: not a command
      '```sh',
      'npm test                      # not allocsim',
      './bin/allocsim list           # policies',
      "allocsim replay 'a b.txt' --x \\",
      '    --y=2   # replays; exits 2',
      '```',
      '```',
      '$ ./bin/allocsim scenario x   # output example, not sh',
      './bin/allocsim list',
      '```',
      '```sh',
      './bin/allocsim fuzz --mutant B-01 --out "r #1.json"',
      '```',
    ].join('\n');
    expect(readmeCommands(md)).toEqual([
      { line: 4, text: './bin/allocsim list           # policies', args: ['list'], exits: 0 },
      { line: 5, text: "allocsim replay 'a b.txt' --x  --y=2   # replays; exits 2", args: ['replay', 'a b.txt', '--x', '--y=2'], exits: 2 },
      { line: 13, text: './bin/allocsim fuzz --mutant B-01 --out "r #1.json"', args: ['fuzz', '--mutant', 'B-01', '--out', 'r #1.json'], exits: 0 },
    ]);
  });

  it('refuses shell syntax it would not run faithfully', () => {
    expect(() => shellWords('./bin/allocsim list | head')).toThrow(/shell syntax '\|'/);
    expect(() => shellWords('./bin/allocsim list > out.txt')).toThrow(/shell syntax '>'/);
    expect(() => shellWords('./bin/allocsim replay $HOME/t.rep')).toThrow(/shell syntax '\$'/);
    expect(() => shellWords("./bin/allocsim replay 'x")).toThrow(/unterminated/);
    expect(shellWords('a\\ b c#d # e')).toEqual({ words: ['a b', 'c#d'], comment: 'e' });
  });
});

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const COMMANDS = readmeCommands(README);

describe('README examples', () => {
  let out = '';
  let err = '';
  let dir = '';
  let cwd = '';
  beforeAll(() => {
    cwd = process.cwd();
    dir = mkdtempSync(join(tmpdir(), 'allocsim-readme-'));
    symlinkSync(fileURLToPath(new URL('../data', import.meta.url)), join(dir, 'data'), 'dir');
    process.chdir(dir);
  });
  afterAll(() => {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  });
  captureStdio((s) => (out += s), (s) => (err += s), () => {
    out = '';
    err = '';
  });

  it('shows commands to run', () => {
    expect(COMMANDS.length).toBeGreaterThan(0);
  });

  it.each(COMMANDS.map((c) => [`README.md:${c.line}: ${c.text}`, c] as const))('%s', async (_name, c) => {
    const status = await main(['node', 'allocsim', ...c.args]);
    expect({ status, stderr: err.slice(0, 4000) }).toMatchObject({ status: c.exits });
    expect(out.trim()).not.toBe('');
    if (c.args.includes('--json')) expect(() => JSON.parse(out) as unknown).not.toThrow();
  }, 60_000);
});
