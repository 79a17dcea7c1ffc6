/**
 * The tutorial's commands run as written, in order: docs/tutorial-your-own-slab-allocator.md.
 *
 * What runs: each ```sh line (`./bin/allocsim …` in-process through
 * `main`, `node --test DIR` as a child process) and each ```js block marked
 * `file=PATH`, written to PATH before the commands after it. A trailing
 * `# … exits N` gives the documented exit status. One command is emulated:
 * `npm install --prefix DIR ./` links the checkout as DIR's `allocsim`
 * (what npm does for a folder dependency) — the test works in a temporary
 * folder outside the checkout, where `./` is not the package, and npm would
 * add five seconds for the same symlink.
 */
import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { captureStdio } from '../support/stdio.js';
import { documentedExit, shellWords } from '../support/doc-commands.js';
import { ROOT, linkPackage, requireFreshBuild, tempWorkdir } from '../support/workdir.js';

const TUTORIAL = 'docs/tutorial-your-own-slab-allocator.md';

/** One step: a file to write, or a command with its documented exit status. */
type Step = { readonly kind: 'file'; readonly path: string; readonly text: string; readonly line: number } | { readonly kind: 'command'; readonly words: string[]; readonly exits: number; readonly line: number; readonly text: string };

/** The steps of a Markdown text, in order. */
function steps(markdown: string): Step[] {
  const lines = markdown.split('\n');
  const out: Step[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(\S*)\s*(.*)$/.exec(lines[i]!);
    if (!fence) continue;
    const start = i;
    let end = i + 1;
    while (end < lines.length && !lines[end]!.startsWith('```')) end++;
    const body = lines.slice(i + 1, end);
    const file = /\bfile=(\S+)/.exec(fence[2]!)?.[1];
    if (file) out.push({ kind: 'file', path: file, text: body.join('\n') + '\n', line: start + 1 });
    else if (fence[1] === 'sh') {
      body.forEach((text, k) => {
        if (!text.trim()) return;
        const { words, comment } = shellWords(text.trim());
        out.push({ kind: 'command', words, exits: documentedExit(comment), line: start + 2 + k, text: text.trim() });
      });
    }
    i = end;
  }
  return out;
}

const io = captureStdio();

const STEPS = steps(readFileSync(join(ROOT, TUTORIAL), 'utf8'));
tempWorkdir('tutorial', (dir) => {
  requireFreshBuild();
  symlinkSync(join(ROOT, 'data'), join(dir, 'data'), 'dir');
});

describe(TUTORIAL, () => {
  it('has the steps it promises', () => {
    expect(STEPS.filter((s) => s.kind === 'file').length).toBe(2);
    expect(STEPS.filter((s) => s.kind === 'command').length).toBeGreaterThanOrEqual(8);
  });

  it.each(STEPS.map((s) => [`${TUTORIAL}:${s.line}: ${s.kind === 'file' ? `file ${s.path}` : s.text}`, s] as const))('%s', async (_name, s) => {
    if (s.kind === 'file') {
      mkdirSync(dirname(s.path), { recursive: true });
      writeFileSync(s.path, s.text);
      return;
    }
    const [program, ...args] = s.words;
    if (program === './bin/allocsim') {
      const status = await main(['node', 'allocsim', ...args]);
      if (status !== s.exits) throw new Error(`exit ${status}, the tutorial says ${s.exits}\n${io.err}`);
      expect(io.out.length).toBeGreaterThan(0);
    } else if (program === 'npm' && args[0] === 'install' && args[1] === '--prefix' && args[3] === './') {
      linkPackage(args[2]!);
    } else if (program === 'node' && args[0] === '--test') {
      const report = execFileSync(process.execPath, ['--test', ...args.slice(1)], { encoding: 'utf8' });
      expect(report).toMatch(/^# fail 0$/m);
    } else {
      throw new Error(`the tutorial test does not know how to run: ${s.text}`);
    }
  });
});
