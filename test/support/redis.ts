/** A real redis-server for the tests and benchmarks of distributed campaigns: on 127.0.0.1, a free port, a temporary directory, no persistence. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** What to run when redis-server is missing. */
export const REDIS_INSTALL = 'redis-server is not installed: run `sudo apt-get install -y redis-server` (npm test does it by itself when run as root)';

/** A free TCP port on the loopback interface. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A running server. */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:PORT`. */
  readonly url: string;
  /** Kills it (by its own pid) and removes its directory. */
  stop(): void;
}

/** Starts redis-server and waits until it answers. @throws Error with {@link REDIS_INSTALL} when it is not installed */
export async function startRedis(): Promise<RedisServer> {
  if (spawnSync('redis-server', ['--version']).error) throw new Error(REDIS_INSTALL);
  const dir = mkdtempSync(join(tmpdir(), 'allocsim-redis-'));
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const stop = (): void => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  // ioredis retries until the server listens.
  const probe = new Redis({ host: '127.0.0.1', port, retryStrategy: () => 50, maxRetriesPerRequest: null });
  probe.on('error', () => {});
  try {
    const t0 = Date.now();
    while (probe.status !== 'ready') {
      if (Date.now() - t0 > 10_000) throw new Error(`redis-server on port ${port} did not answer within 10 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (e) {
    stop();
    throw e;
  } finally {
    probe.disconnect();
  }
  return { port, url: `redis://127.0.0.1:${port}`, stop };
}
