/** Temporary working directories for the tests that run commands the way a user types them, and this checkout as an installed package. */
import { afterAll, beforeAll } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Gives the tests of a file (or of the describe block it is called in) a
 * fresh temporary directory as their working directory: before all, it is
 * made (`allocsim-<prefix>-…`) and `setup` fills it; after all, the working
 * directory is restored, `teardown` runs and the directory is removed.
 *
 * @returns the directory, whose `path` is set from `beforeAll` on
 */
export function tempWorkdir(prefix: string, setup: (dir: string) => void = () => undefined, teardown: (dir: string) => void = () => undefined): { readonly path: string } {
  const wd = { path: '' };
  let home = '';
  beforeAll(() => {
    home = process.cwd();
    wd.path = mkdtempSync(join(tmpdir(), `allocsim-${prefix}-`));
    setup(wd.path);
    process.chdir(wd.path);
  });
  afterAll(() => {
    process.chdir(home);
    teardown(wd.path);
    rmSync(wd.path, { recursive: true, force: true });
  });
  return wd;
}

/**
 * Throws unless dist/ holds a build of each source newer than it (`node
 * --test` in a generated folder imports allocsim/testing from the build, a
 * distributed campaign runs the built CLI; `npm ci` or `npm run build` makes it).
 *
 * @param sources - repository-relative `.ts` files whose `dist/…js` must be fresh
 */
export function requireFreshBuild(sources: readonly string[] = ['src/testing/index.ts']): void {
  for (const src of sources) {
    const built = join(ROOT, 'dist', src.replace(/\.ts$/, '.js'));
    if (!existsSync(built) || statSync(built).mtimeMs < statSync(join(ROOT, src)).mtimeMs) throw new Error(`dist/ is missing or older than ${src}: run npm run build`);
  }
}

/** Makes `allocsim` importable from `dir` as `npm install` would: `node_modules/allocsim` linking to this checkout. */
export function linkPackage(dir: string): void {
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  symlinkSync(ROOT, join(dir, 'node_modules', 'allocsim'), 'dir');
}
