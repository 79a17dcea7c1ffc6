/** Reading what a fuzz campaign wrote into its findings directory. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FindingsIndex } from '../../fuzz/scale/findings.js';

/** The directory's index. */
export function findingsIndex(dir: string): FindingsIndex {
  return JSON.parse(readFileSync(join(dir, 'findings.json'), 'utf8')) as FindingsIndex;
}

/** The path of the directory's first finding's reproducer. */
export function firstReproducer(dir: string): string {
  const e = findingsIndex(dir).findings[0];
  if (!e) throw new Error(`${dir}: no finding in its index`);
  return join(dir, e.file);
}
