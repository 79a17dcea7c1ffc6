/**
 * The thread of `allocsim top` that runs the simulation (the terminal's
 * thread keeps the screen and the keys): builds the system, loads the
 * policy files the config names, runs the job live ({@link runLive}) and
 * posts every sample to the parent as a {@link TopWorkerMessage}; an error
 * is posted, not thrown, so the parent restores the terminal first.
 */

import { parentPort, workerData } from 'node:worker_threads';
import { AllocatorError } from '../interfaces/errors.js';
import type { Layer } from '../policies/registry.js';
import { loadPolicyFiles } from '../plugin/load.js';
import { createSystem } from '../system.js';
import { runLive } from '../harness/live.js';
import type { TopWorkerData, TopWorkerMessage } from './top.js';

const data = workerData as TopWorkerData;
const post = (m: TopWorkerMessage): void => parentPort!.postMessage(m);

try {
  const policies = Object.entries(data.config.policies ?? {}).filter((e): e is [Layer, string] => typeof e[1] === 'string');
  await loadPolicyFiles(Object.fromEntries(policies.map(([layer, spec]) => [layer, [spec]])));
  const sys = createSystem(data.config);
  runLive(sys, data.job, { rate: data.rate, intervalMs: data.intervalMs, control: data.control, onSample: (snapshot) => post({ type: 'sample', snapshot }) });
} catch (e) {
  const err = e instanceof Error ? e : new Error(String(e));
  post({ type: 'error', kind: e instanceof AllocatorError ? e.kind : undefined, message: err.message, stack: err.stack });
}
