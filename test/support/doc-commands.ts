/**
 * The commands a Markdown document shows: every line of a fenced ```sh
 * block whose first word is one of the given programs, split into words as
 * sh would for a simple command, with a trailing `# … exits N` annotation
 * giving the documented exit status. Shared by the README and tutorial tests.
 */

/** One runnable README command. */
export interface ReadmeCommand {
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
export function shellWords(line: string): { words: string[]; comment: string } {
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

/** The exit status a command's trailing comment documents (`# … exits N`); 0 without one. */
export function documentedExit(comment: string): number {
  const m = /\bexits (\d+)\b/.exec(comment);
  return m ? Number(m[1]) : 0;
}

/**
 * The runnable commands of a Markdown text: lines of ```sh blocks that
 * invoke allocsim, in order.
 *
 * @param markdown - the README text
 * @returns the commands with their line, arguments and expected exit status
 */
export function readmeCommands(markdown: string, programs: ReadonlySet<string> = PROGRAMS): ReadmeCommand[] {
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
    if (!programs.has(first)) continue;
    const { words, comment } = shellWords(text);
    out.push({ line: start + 1, text, args: words.slice(1), exits: documentedExit(comment) });
  }
  return out;
}
