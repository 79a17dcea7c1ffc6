/**
 * `allocsim worker --queue redis://HOST:PORT`: a machine's share of a
 * distributed fuzz campaign. It takes slices from the Redis queue that
 * `allocsim fuzz --queue` fills and runs them on its own thread pool, until
 * Ctrl-C / SIGTERM (it finishes its slices first) or, with `--idle-exit`,
 * once the queue has been empty that long (a batch system's task).
 */

import { Command } from 'commander';
import { defaultWorkers, MAX_WORKERS } from '../../fuzz/scale/pool.js';
import { runQueueWorker } from '../../fuzz/scale/queue.js';
import { durationOpt, intOpt } from './options.js';
import { warn } from './errors.js';

/** How long a dead worker's slice waits before another worker takes it, unless `--stall-timeout` says. */
const DEFAULT_STALL = '15s';

interface WorkerOpts {
  queue: string;
  workers?: string;
  stallTimeout: string;
  idleExit?: string;
  quiet?: boolean;
}

/** Registers `worker`. */
export function workerCommand(program: Command): void {
  program
    .command('worker')
    .description('run slices of distributed fuzz campaigns from a Redis queue (allocsim fuzz --queue fills it)')
    .requiredOption('--queue <url>', 'the Redis server (redis://HOST:PORT)')
    .option('--workers <n>', 'threads of this machine (default: the number of cores)')
    .option('--stall-timeout <duration>', 'a slice whose worker died is run again by another after this long', DEFAULT_STALL)
    .option('--idle-exit <duration>', 'exit once the queue has been empty this long (default: run until stopped)')
    .option('--quiet', 'no line per slice on stderr')
    .action(async (o: WorkerOpts) => {
      const threads = intOpt(o.workers, 'workers', { min: 1, max: MAX_WORKERS }) ?? defaultWorkers();
      const stallMs = durationOpt(o.stallTimeout, 'stall-timeout')!;
      const idleExitMs = durationOpt(o.idleExit, 'idle-exit');
      const stop = new AbortController();
      const onStop = (): void => stop.abort();
      process.on('SIGINT', onStop);
      process.on('SIGTERM', onStop);
      try {
        if (!o.quiet) warn(`worker ${process.pid}: ${threads} thread${threads === 1 ? '' : 's'} on ${o.queue}`);
        await runQueueWorker(o.queue, {
          threads,
          stallMs,
          ...(idleExitMs !== undefined ? { idleExitMs } : {}),
          signal: stop.signal,
          onSlice: (t, r) => {
            if (!o.quiet) process.stderr.write(`worker ${process.pid}: slice ${t.k} (runs ${r.from}..${r.to - 1}, ${t.job.layer} ${t.job.mutant ?? t.job.policy}): ${r.findings.length} failure${r.findings.length === 1 ? '' : 's'}\n`);
          },
        });
      } finally {
        process.off('SIGINT', onStop);
        process.off('SIGTERM', onStop);
      }
    });
}
