/** Reading what a fuzz campaign wrote into its findings directory. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FINDINGS_INDEX, readFindingsIndex, type FindingsIndex } from '../../fuzz/scale/findings.js';

/** The directory's index. @throws Error when the directory has none (a test never compares two missing indexes as equal) */
export function findingsIndex(dir: string): FindingsIndex {
  if (!existsSync(join(dir, FINDINGS_INDEX))) throw new Error(`${dir}: no ${FINDINGS_INDEX}`);
  return readFindingsIndex(dir);
}

/** The path of the directory's first finding's reproducer. */
export function firstReproducer(dir: string): string {
  const e = findingsIndex(dir).findings[0];
  if (!e) throw new Error(`${dir}: no finding in its index`);
  return join(dir, e.file);
}
