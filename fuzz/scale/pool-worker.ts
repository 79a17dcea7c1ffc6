/** The pool's worker-thread entry: runs the slices piscina hands it (see `pool.ts`). */

import { executeSlice, type SliceResult, type SliceTask } from './execute.js';

/** Runs one slice. */
export default function runSliceTask(t: SliceTask): Promise<SliceResult> {
  return executeSlice(t);
}
