/**
 * The contract every `allocsim` command keeps with its caller: exit status,
 * and what reaches stderr. Written once here; `main` applies it to the whole
 * command tree ({@link adoptContract}) and turns whatever a command throws
 * into one line ({@link reportError}).
 *
 * | exit | meaning | stderr |
 * |------|---------|--------|
 * | 0 | success (`--help` and `--version` too) | warnings only (`allocsim: warning: …`) |
 * | 1 | a finding: a detected bug, a failed invariant, a missed client bug, a surviving mutant | the command's own report is on stdout |
 * | 2 | bad input: an unknown option, command or choice, a missing argument, a bad value, conflicting options, a file that cannot be read, parsed or written | one line, `allocsim: …` |
 * | 70 | an internal error (`EX_SOFTWARE`): a bug in allocsim | one line asking for a report; the stack with `ALLOCSIM_DEBUG=1` |
 *
 * How a command keeps it:
 *
 * 1. Bad input is thrown, never printed: {@link badInput} (or an
 *    `AllocatorError` of kind `parse`, `config`, `unknown-name`, `usage`),
 *    with a message that names the option or the file.
 * 2. Files go through `./files.js`: `readInputText` for what it reads,
 *    `checkOutputPath` before the run for what it will write, then
 *    `writeOutputFile`.
 * 3. A finding sets `process.exitCode = EXIT.FINDING` after the report is
 *    printed.
 * 4. With `--json`, stdout holds exactly one JSON document
 *    ({@link printJson}); anything else goes to stderr through {@link warn}.
 */

import { Command, CommanderError } from 'commander';
import { AllocatorError, BAD_INPUT_KINDS } from '../interfaces/errors.js';

/** The exit statuses of `allocsim`. */
export const EXIT = {
  /** Success. */
  OK: 0,
  /** A finding: a detected bug, a failed invariant, a missed client bug, a surviving mutant. */
  FINDING: 1,
  /** Bad input: options, arguments, files. */
  BAD_INPUT: 2,
  /** A bug in allocsim itself (`EX_SOFTWARE` of sysexits.h). */
  INTERNAL: 70,
} as const;

/** AllocatorError kinds that mean the input was bad (exit 2); any other kind escaping a command is a finding (exit 1). */
export { BAD_INPUT_KINDS };

/** Where to report an internal error. */
const REPORT_HINT = 'please report it with the command line that caused it (ALLOCSIM_DEBUG=1 prints the stack)';

/**
 * A bad-input error: exit status 2, the message on one line.
 *
 * @param message - what is wrong, naming the option or file (`--ops expects …`, `trace.txt: no such file or directory`)
 */
export function badInput(message: string): AllocatorError {
  return new AllocatorError('usage', message);
}

/** The command whose parse failed, for the `--help` hint. */
const failedCommand = new WeakMap<CommanderError, Command>();

/** `allocsim compare` for a subcommand, `allocsim` for the program. */
function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Puts every command of the tree under the contract: commander's errors are
 * thrown (not printed, not `process.exit`), and its help for a missing
 * command is not printed either; {@link reportError} makes the one line.
 * Call it once, after every command is registered.
 *
 * @returns the program
 */
export function adoptContract(program: Command): Command {
  const visit = (cmd: Command): void => {
    cmd.exitOverride((err) => {
      failedCommand.set(err, cmd);
      throw err;
    });
    cmd.configureOutput({
      outputError: () => undefined,
      // Only the help printed on an error (a missing command) goes here; the one line replaces it.
      writeErr: () => undefined,
    });
    cmd.showSuggestionAfterError(true);
    cmd.commands.forEach(visit);
  };
  visit(program);
  return program;
}

/** Text on one line: newlines and the blanks around them become one space. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * Commander's message in our words: without its `error: ` prefix, a bad
 * choice as `--layer: 'foo' is not one of slab, page, vmalloc`, and its
 * suggestion on the same line (`unknown option '--mme'; did you mean --mem?`).
 */
function commanderMessage(message: string): string {
  const text = message.replace(/^error: /, '').replace(/\n\(Did you mean (.*)\?\)$/s, '; did you mean $1?');
  const choice = /^option '(--[\w-]+)[^']*' argument '(.*)' is invalid\. Allowed choices are (.*)\.$/s.exec(text);
  return choice ? `${choice[1]}: '${choice[2]}' is not one of ${choice[3]}` : text;
}

/** Node's system-call errors (`ENOENT`, …) that name a path. */
interface SystemError extends Error {
  code: string;
  path?: string;
}

const isSystemError = (e: unknown): e is SystemError => e instanceof Error && typeof (e as Partial<SystemError>).code === 'string' && /^E[A-Z]+$/.test((e as SystemError).code);

/** What a file system error means, in words (`no such file or directory`). */
export function describeSystemError(e: SystemError): string {
  const words: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EISDIR: 'is a directory',
    ENOTDIR: 'a component of the path is not a directory',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on device',
    EEXIST: 'already exists',
    EMFILE: 'too many open files',
    ENAMETOOLONG: 'file name too long',
    ELOOP: 'too many symbolic links',
  };
  return words[e.code] ?? e.message;
}

/**
 * Writes the one line for an error that ended a command and returns the
 * exit status ({@link EXIT}). Commander's own errors (unknown option,
 * command or choice, missing argument) are bad input; `--help` and
 * `--version` are success.
 */
export function reportError(e: unknown): number {
  const say = (line: string): void => {
    process.stderr.write(`allocsim: ${oneLine(line)}\n`);
  };
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return EXIT.OK;
    const cmd = failedCommand.get(e);
    const where = cmd ? commandPath(cmd) : 'allocsim';
    if (e.code === 'commander.help') {
      // `allocsim help` is success; `allocsim` alone asked for nothing.
      if (e.exitCode === 0) return EXIT.OK;
      say(`missing command (see '${where} --help')`);
      return EXIT.BAD_INPUT;
    }
    say(`${commanderMessage(e.message)} (see '${where} --help')`);
    return EXIT.BAD_INPUT;
  }
  const debug = process.env.ALLOCSIM_DEBUG === '1';
  const stack = (): void => {
    if (debug && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  };
  if (e instanceof AllocatorError) {
    say(e.message);
    stack();
    return BAD_INPUT_KINDS.includes(e.kind) ? EXIT.BAD_INPUT : EXIT.FINDING;
  }
  if (isSystemError(e) && e.path !== undefined) {
    // A file a command opened without the helpers of ./files.js: still the user's file, still bad input.
    say(`${e.path}: ${describeSystemError(e)}`);
    stack();
    return EXIT.BAD_INPUT;
  }
  say(`internal error: ${e instanceof Error ? e.message : String(e)} — ${REPORT_HINT}`);
  stack();
  return EXIT.INTERNAL;
}

/** Writes a warning (one line, `allocsim: warning: …`) on stderr; stdout stays the command's output. */
export function warn(message: string): void {
  process.stderr.write(`allocsim: warning: ${oneLine(message)}\n`);
}

/** Writes one JSON document on stdout: the whole of a `--json` command's stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
