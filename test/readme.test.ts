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
 * documented outcome (`./bin/allocsim fuzz --replay allocsim-findings  #
 * replay the saved failure: exits 1`). Every other command must exit 0.
 *
 * Checks: the exit status; stdout is not empty; with `--json`, stdout is one
 * JSON document.
 *
 * How: in-process, through `main(argv)` of src/cli/main.ts, one command
 * after the other in README order (a later command may read a file an
 * earlier one wrote, as `fuzz --replay allocsim-findings` reads what
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
import { describe, expect, it } from '@jest/globals';
import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../src/cli/main.js';
import { captureStdio } from './support/stdio.js';
import { readmeCommands, shellWords } from './support/doc-commands.js';
import { ROOT, tempWorkdir } from './support/workdir.js';

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
  const io = captureStdio();
  tempWorkdir('readme', (dir) => {
    symlinkSync(join(ROOT, 'data'), join(dir, 'data'), 'dir');
    symlinkSync(join(ROOT, 'examples'), join(dir, 'examples'), 'dir');
  });

  it('shows commands to run', () => {
    expect(COMMANDS.length).toBeGreaterThan(0);
  });

  it.each(COMMANDS.map((c) => [`README.md:${c.line}: ${c.text}`, c] as const))('%s', async (_name, c) => {
    const status = await main(['node', 'allocsim', ...c.args]);
    expect({ status, stderr: io.err.slice(0, 4000) }).toMatchObject({ status: c.exits });
    expect(io.out.trim()).not.toBe('');
    if (c.args.includes('--json')) expect(() => JSON.parse(io.out) as unknown).not.toThrow();
  }, 60_000);
});
