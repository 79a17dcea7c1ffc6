/**
 * docs/bad-input.md, row by row: every class of bad input, the one line the
 * user sees on stderr and the exit status. The rows and the files they use
 * are read from the page itself, so the page and the program cannot drift.
 */
import { describe, expect, it } from '@jest/globals';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { captureStdio } from '../support/stdio.js';
import { tempWorkdir } from '../support/workdir.js';

/** One row of a table of the page. */
interface Row {
  readonly section: string;
  readonly label: string;
  readonly args: readonly string[];
  readonly stderr: string;
  readonly exit: number;
}

/** A table cell: blanks trimmed, `\|` unescaped, a code span (`x` or `` x ``) unwrapped. */
function cell(text: string): string {
  const t = text.trim().replace(/\\\|/g, '|');
  const span = /^(`+) ?([\s\S]*?) ?\1$/.exec(t);
  return span ? span[2]! : t;
}

/** The rows of every table and the files of the last section. */
function parseDoc(md: string): { rows: Row[]; files: Map<string, string> } {
  const rows: Row[] = [];
  const files = new Map<string, string>();
  const lines = md.split('\n');
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('## ')) section = line.slice(3);
    const file = /^`([^`]+)`:$/.exec(line);
    if (file) {
      let j = i + 1;
      while (lines[j] === '') j++;
      if (lines[j] !== '```text') throw new Error(`docs/bad-input.md:${j + 1}: expected a \`\`\`text block for ${file[1]}`);
      const body: string[] = [];
      for (j++; lines[j] !== '```'; j++) body.push(lines[j]!);
      files.set(file[1]!, body.length ? body.join('\n') + '\n' : '');
      i = j;
      continue;
    }
    // Not a row: text, a table's head, its |---| line.
    if (!line.startsWith('|') || /^\|\s*Bad input\s*\|/.test(line) || /^\|[-\s|]+$/.test(line)) continue;
    const cells = line.slice(1, line.lastIndexOf('|')).split(/(?<!\\)\|/).map(cell);
    if (cells.length !== 4) throw new Error(`docs/bad-input.md:${i + 1}: expected 4 cells, found ${cells.length}`);
    const [label, command, stderr, exit] = cells as [string, string, string, string];
    const [prog, ...args] = command.split(/\s+/);
    if (prog !== 'allocsim') throw new Error(`docs/bad-input.md:${i + 1}: a command starts with 'allocsim'`);
    rows.push({ section, label, args, stderr: `${stderr}\n`, exit: Number(exit) });
  }
  return { rows, files };
}

const { rows, files } = parseDoc(readFileSync(new URL('../../docs/bad-input.md', import.meta.url), 'utf8'));
const root = process.getuid?.() === 0;

const io = captureStdio();
tempWorkdir(
  'bad-input',
  (dir) => {
    for (const [name, text] of files) {
      mkdirSync(join(dir, dirname(name)), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    chmodSync(join(dir, 'unreadable.txt'), 0);
    chmodSync(join(dir, 'readonly'), 0o555);
  },
  (dir) => chmodSync(join(dir, 'readonly'), 0o755),
);

describe('docs/bad-input.md', () => {
  it('has a row for every class it promises, and uses every file it defines', () => {
    expect(rows.length).toBeGreaterThanOrEqual(90);
    const used = rows.flatMap((r) => r.args).join(' ');
    for (const name of files.keys()) expect(used).toContain(name.includes('/') ? dirname(name) : name);
  });

  describe.each([...new Set(rows.map((r) => r.section))])('%s', (section) => {
    it.each(rows.filter((r) => r.section === section).map((r) => [r.label, r] as const))('%s', async (_label, row) => {
      if (root && row.args.some((a) => a === 'unreadable.txt' || a.startsWith('readonly/'))) return; // root reads and writes anything
      expect(await main(['node', 'allocsim', ...row.args])).toBe(row.exit);
      expect(io.err).toBe(row.stderr);
      if (row.exit === 2) expect(io.out).toBe('');
    });
  });
});
