/**
 * Campaigns over many machines, on BullMQ and Redis. The coordinator
 * (`allocsim fuzz --queue redis://HOST:PORT …`) enqueues one job per slice
 * (job id `<campaign>-<slice>`, so a slice is enqueued once) and waits for
 * each job's result through BullMQ's queue events; `allocsim worker --queue
 * …` on each machine takes jobs with its own thread pool. A worker that dies
 * mid-slice stops renewing its job's lock; another worker's stalled-job
 * check puts the job back in the queue and it is run again from the start —
 * a slice is deterministic, and the coordinator keeps the first result of
 * each slice, so nothing is lost or counted twice.
 *
 * A job carries the coordinator's allocsim version; a worker of another
 * version fails it as unrecoverable, and a coordinator refuses a queue that
 * still holds another version's jobs. Reaching Redis is checked first with a
 * bounded connect timeout: an unreachable server is one clear error, not a
 * hang.
 */

import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { AllocatorError, BAD_INPUT_KINDS } from '../../src/interfaces/errors.js';
import { VERSION } from '../../src/version.js';
import type { SliceResult, SliceTask } from './execute.js';
import { checkJob } from './job.js';
import { poolExecutor, SliceCancelled, type SliceExecutor } from './pool.js';


/** The BullMQ queue every allocsim campaign uses on a Redis server. */
export const QUEUE_NAME = 'allocsim-fuzz';
/** Slices a queue coordinator keeps enqueued ahead of their results. */
export const QUEUE_WINDOW = 64;
/** How long reaching Redis may take before it counts as unreachable. */
export const CONNECT_TIMEOUT_MS = 3000;
/** Prefix of a job failure that is the coordinator's bad input (another version), not a bug. */
const REFUSED = 'refused: ';

/** Connection options of a `redis://[:password@]host:port[/db]` URL. @throws AllocatorError `parse` */
export function redisOptions(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new AllocatorError('parse', `--queue expects redis://HOST:PORT, got '${url}'`);
  }
  if (u.protocol !== 'redis:' || !u.hostname) throw new AllocatorError('parse', `--queue expects redis://HOST:PORT, got '${url}'`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new AllocatorError('parse', `--queue ${url}: the database must be a number`);
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : 6379,
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    db,
  };
}

/** Checks that Redis answers within {@link CONNECT_TIMEOUT_MS}. @throws AllocatorError `config` naming the URL */
export async function probeRedis(url: string): Promise<void> {
  const c = new Redis({ ...redisOptions(url), lazyConnect: true, connectTimeout: CONNECT_TIMEOUT_MS, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  let cause: Error | undefined;
  c.on('error', (e: Error) => (cause ??= e));
  try {
    await c.connect();
    await c.ping();
  } catch (e) {
    // The rejection says only "Connection is closed"; the error event has the reason (ECONNREFUSED, ETIMEDOUT …).
    const err = (cause ?? e) as NodeJS.ErrnoException;
    const why = err.code ?? err.message;
    throw new AllocatorError('config', `cannot reach Redis at ${url}: ${why}`);
  } finally {
    c.disconnect();
  }
}

/** A BullMQ connection (one per Queue, QueueEvents and Worker, as BullMQ wants). */
function connection(url: string): Redis {
  return new Redis({ ...redisOptions(url), maxRetriesPerRequest: null, connectTimeout: CONNECT_TIMEOUT_MS });
}

/** The coordinator's side: slices become jobs on the queue at `url`. */
export async function queueExecutor(url: string): Promise<SliceExecutor> {
  await probeRedis(url);
  const conns = [connection(url), connection(url)];
  const queue = new Queue<SliceTask, SliceResult>(QUEUE_NAME, { connection: conns[0]! });
  const events = new QueueEvents(QUEUE_NAME, { connection: conns[1]! });
  // Every slice in flight waits on the events (and listens for their closing): QUEUE_WINDOW listeners, not a leak.
  events.setMaxListeners(2 * QUEUE_WINDOW + 10);
  queue.setMaxListeners(2 * QUEUE_WINDOW + 10);
  // BullMQ leaves connections it was given open: they are closed here, or the process never exits.
  const closeAll = async (): Promise<void> => {
    await events.close();
    await queue.close();
    await Promise.all(conns.map((c) => c.quit().catch(() => c.disconnect())));
  };
  try {
    await events.waitUntilReady();
    const pending = await queue.getJobs(['waiting', 'active', 'delayed', 'prioritized'], 0, 99);
    const other = pending.find((j) => (j.data as Partial<SliceTask> | undefined)?.job?.version !== VERSION);
    if (other) {
      const v = (other.data as Partial<SliceTask> | undefined)?.job?.version;
      throw new AllocatorError('config', `the queue at ${url} holds jobs of allocsim ${v ?? '(unknown)'}, this is allocsim ${VERSION}: let them finish or clear the queue first`);
    }
  } catch (e) {
    await closeAll();
    throw e;
  }
  const campaign = randomUUID();
  const giveUp = new AbortController();
  // This campaign's jobs no worker has taken yet: removed when it stops early, so no later campaign's workers run them.
  const dropWaiting = async (): Promise<void> => {
    for (const j of await queue.getJobs(['waiting', 'delayed', 'prioritized'])) if (j.id?.startsWith(`${campaign}-`)) await j.remove().catch(() => {});
  };
  return {
    width: QUEUE_WINDOW,
    run: async (t) => {
      if (giveUp.signal.aborted) throw new SliceCancelled(t.k);
      const job = await queue.add('slice', t, { jobId: `${campaign}-${t.k}`, removeOnComplete: { age: 3600 }, removeOnFail: { age: 24 * 3600 } });
      const cancelled = new Promise<never>((_, reject) => giveUp.signal.addEventListener('abort', () => reject(new SliceCancelled(t.k)), { once: true }));
      try {
        return await Promise.race([job.waitUntilFinished(events), cancelled]);
      } catch (e) {
        if (e instanceof SliceCancelled) throw e;
        const msg = (e as Error).message;
        if (msg.startsWith(REFUSED)) throw new AllocatorError('config', `a worker on ${url} ${msg}`);
        throw new Error(`slice ${t.k} failed on a worker: ${msg}`, { cause: e });
      }
    },
    cancel: () => giveUp.abort(),
    close: async () => {
      await dropWaiting().catch(() => {});
      await closeAll();
    },
  };
}

/** How a queue worker runs. */
export interface QueueWorkerOpts {
  /** Threads of its pool (slices at once). */
  readonly threads: number;
  /** How long a job's lock lasts unrenewed: a dead worker's slice is retried this long after it died (at most about 1.5×). */
  readonly stallMs: number;
  /** Exit after the queue has been empty this long (batch systems); absent: run until stopped. */
  readonly idleExitMs?: number;
  /** Stops the worker (it finishes its slices first). */
  readonly signal?: AbortSignal;
  /** Called after each slice Redis holds as completed. */
  readonly onSlice?: (t: SliceTask, r: SliceResult) => void;
}

/** Processes the queue at `url` until stopped (or idle, with `idleExitMs`). */
export async function runQueueWorker(url: string, o: QueueWorkerOpts): Promise<void> {
  await probeRedis(url);
  // Slices run on pool threads even for one thread: the main thread stays free to renew the job locks.
  const executor = poolExecutor(o.threads);
  const conn = connection(url);
  const worker = new Worker<SliceTask, SliceResult>(
    QUEUE_NAME,
    async (job: Job<SliceTask, SliceResult>) => {
      try {
        checkJob(job.data.job);
      } catch (e) {
        throw new UnrecoverableError(`${REFUSED}${(e as Error).message}`);
      }
      let r: SliceResult;
      try {
        r = await executor.run(job.data);
      } catch (e) {
        // Bad input on this machine (a policy file that is not here): the coordinator's user must hear it as such.
        if (e instanceof AllocatorError && BAD_INPUT_KINDS.includes(e.kind)) throw new UnrecoverableError(`${REFUSED}${e.message}`);
        throw e;
      }
      return r;
    },
    { connection: conn, concurrency: o.threads, lockDuration: o.stallMs, stalledInterval: Math.max(500, Math.floor(o.stallMs / 2)), maxStalledCount: 100 },
  );
  worker.on('error', () => {});
  // Told once Redis has the slice as completed (a worker killed before that has its slice run again elsewhere).
  worker.on('completed', (job: Job<SliceTask, SliceResult>, r: SliceResult) => o.onSlice?.(job.data, r));
  await new Promise<void>((resolve) => {
    let idle: NodeJS.Timeout | undefined;
    const arm = (): void => {
      if (o.idleExitMs === undefined) return;
      clearTimeout(idle);
      idle = setTimeout(resolve, o.idleExitMs);
    };
    worker.on('drained', arm);
    worker.on('active', () => clearTimeout(idle));
    arm();
    o.signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(idle);
        resolve();
      },
      { once: true },
    );
  });
  await worker.close();
  await executor.close();
  await conn.quit().catch(() => conn.disconnect());
}
