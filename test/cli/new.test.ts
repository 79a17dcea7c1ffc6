/**
 * `allocsim new`: for each layer the generated folder passes its own tests
 * as generated (node --test, importing `allocsim/testing` through a
 * node_modules link to this package's build, as `npm install` would), and
 * the generated policy runs through the CLI.
 */
import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { captureStdio } from '../support/stdio.js';
import { linkPackage, requireFreshBuild, tempWorkdir } from '../support/workdir.js';

const io = captureStdio();
const run = (...args: string[]) => main(['node', 'allocsim', ...args]);

const wd = tempWorkdir('new', () => requireFreshBuild());

describe('allocsim new', () => {
  it.each([
    ['slab', 'my-slab'],
    ['page', 'my-pages'],
    ['malloc', 'my-malloc'],
    ['vmap', 'my-vmap'],
  ])('%s: the generated folder passes its own tests as generated', async (layer, name) => {
    expect(await run('new', layer, name)).toBe(0);
    for (const f of [`${name}.mjs`, `${name}.test.mjs`, 'package.json', 'README.md']) expect(existsSync(join(name, f))).toBe(true);
    expect(readFileSync(join(name, `${name}.mjs`), 'utf8')).toContain(`export default class`);
    linkPackage(name);
    const report = execFileSync(process.execPath, ['--test'], { cwd: join(wd.path, name), encoding: 'utf8' });
    expect(report).toMatch(/^# fail 0$/m);
    expect(Number(/^# pass (\d+)$/m.exec(report)?.[1])).toBeGreaterThan(2);
  });

  it('the generated slab policy runs through compare and fuzz', async () => {
    expect(await run('compare', '--slab', 'slub,./my-slab/my-slab.mjs', '--ops', '2000')).toBe(0);
    expect(io.out).toMatch(/^\s+slub\s+my-slab$/m);
    expect(await run('fuzz', '--layer', 'slab', '--slab', './my-slab/my-slab.mjs', '--runs', '5')).toBe(0);
  });

  it('refuses to overwrite, and a bad name', async () => {
    expect(await run('new', 'slab', 'my-slab')).toBe(2);
    expect(io.err).toMatch(/^allocsim: my-slab\/my-slab\.mjs, .* already exist; choose another --dir or name$/m);
    expect(await run('new', 'slab', '1bad name')).toBe(2);
    expect(await run('new', 'heap', 'x')).toBe(2);
  });
});
