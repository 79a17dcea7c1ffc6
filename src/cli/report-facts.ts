/**
 * What every report states about how it was made: the allocsim version and
 * commit, the Node.js major version, and the command line to reproduce it.
 */

import { execFileSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReportFacts } from '../harness/observe/html.js';
import { VERSION } from '../version.js';

/** The git commit of this copy of allocsim, when it is a git checkout with git at hand; else undefined. */
export function commitOf(): string | undefined {
  try {
    const here = dirname(fileURLToPath(import.meta.url));
    const out = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: here, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
    return /^[0-9a-f]{7,40}$/.test(out) ? out : undefined;
  } catch {
    return undefined;
  }
}

/** The command line as typed, quoted for a POSIX shell where needed. */
export function commandLine(args: readonly string[]): string {
  return ['allocsim', ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** The facts every report states. */
export function reportFacts(extra: ReportFacts, args: readonly string[]): ReportFacts {
  const commit = commitOf();
  return [...extra, ['allocsim', `${VERSION}${commit ? ` (commit ${commit})` : ''}`], ['Node.js', process.versions.node.split('.')[0]!], ['reproduce', commandLine(args)]];
}
