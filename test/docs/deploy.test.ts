/**
 * docs/deploy: the docker-compose file and the Kubernetes manifests parse
 * as YAML, and every allocsim command line in them names a real command
 * with options it has (so the files do not rot when the CLI changes).
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { parseAllDocuments } from 'yaml';
import { buildProgram } from '../../src/cli/main.js';
import { ROOT } from '../support/workdir.js';

const DEPLOY = join(ROOT, 'docs/deploy');

/** Every allocsim argument list of a compose file or manifest: `command`/`args` of the allocsim image, or the words after `bin/allocsim` in a shell line. */
function allocsimLines(value: unknown, inAllocsim = false, out: string[][] = []): string[][] {
  if (Array.isArray(value)) {
    value.forEach((v) => allocsimLines(v, inAllocsim, out));
    return out;
  }
  if (typeof value === 'string') {
    const m = /bin\/allocsim\s+(.*)$/.exec(value);
    if (m) out.push(m[1]!.split(/\s+/));
    return out;
  }
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const mine = o['image'] === 'allocsim' || inAllocsim;
    for (const k of ['command', 'args']) if (mine && Array.isArray(o[k]) && (o[k] as unknown[]).every((x) => typeof x === 'string') && !/^sh$|bin\/allocsim/.test((o[k] as string[])[0] ?? '')) out.push(o[k] as string[]);
    for (const [k, v] of Object.entries(o)) if (k !== 'command' || !mine) allocsimLines(v, false, out);
  }
  return out;
}

/** The command an argument list runs (`fuzz merge …` is merge), and the flags it has. */
function flagsOf(args: readonly string[]): { cmd: Command; flags: Set<string> } {
  let cmd = buildProgram();
  for (const a of args) {
    const sub = cmd.commands.find((c) => c.name() === a);
    if (!sub) break;
    cmd = sub;
  }
  return { cmd, flags: new Set(cmd.options.flatMap((o) => [o.long, o.short].filter((x): x is string => !!x))) };
}

describe.each(['docker-compose.yml', 'kubernetes.yaml'])('docs/deploy/%s', (file) => {
  const docs = parseAllDocuments(readFileSync(join(DEPLOY, file), 'utf8'));
  it('parses as YAML', () => {
    for (const d of docs) expect(d.errors).toEqual([]);
  });
  it('runs allocsim commands with options they have', () => {
    const lines = docs.flatMap((d) => allocsimLines(d.toJS()));
    expect(lines.length).toBeGreaterThan(0);
    for (const args of lines) {
      const { cmd, flags } = flagsOf(args);
      expect(cmd.name()).not.toBe('allocsim');
      for (const a of args.filter((x) => x.startsWith('--'))) expect([args.join(' '), flags.has(a)]).toEqual([args.join(' '), true]);
    }
  });
});
