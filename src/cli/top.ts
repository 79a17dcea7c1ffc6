/**
 * `allocsim top`: a slabtop-style live view of one policy running a
 * workload or replaying a trace — the busiest caches, the zones' free
 * blocks per order and their fragmentation, the page and slab counters and
 * the cost counters, updated in place while the run goes on at the speed
 * asked for (`--rate`).
 *
 * On a terminal (stdin and stdout both TTYs) the simulation runs on a worker
 * thread (`./top-worker.ts`, {@link runLive}) and this thread keeps the
 * screen: the alternate screen buffer with the cursor hidden, redrawn at
 * every sample, key presses, and resizes; `q` or Ctrl-C quits, space pauses,
 * slabtop's letters sort. The terminal is restored on every way out (quit,
 * the end with `--no-wait`, an error, SIGINT/SIGTERM/SIGHUP, process exit),
 * and the last screen is printed on the normal screen. At the end of the run
 * the last screen stays until `q` unless `--no-wait`.
 *
 * Otherwise (a pipe, a file, CI; or the TypeScript sources under a test
 * runner, which have no compiled thread entry) the run happens on this
 * thread and every sample is printed as plain text, no escape codes: one
 * screen every `--interval` and the final one.
 */

import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { Command, Option } from 'commander';
import type { SystemConfigInput } from '../interfaces/config.js';
import { AllocatorError, type AllocatorErrorKind } from '../interfaces/errors.js';
import { MAX_PAGE_ORDER } from '../interfaces/units.js';
import { createSystem, resolveConfig } from '../system.js';
import { LIVE_PAUSED, LIVE_RUNNING, runLive, type LiveJob, type LiveLayer, type LiveSnapshot } from '../harness/live.js';
import { PAGE_WORKLOADS } from '../harness/workloads/page.js';
import { SLAB_WORKLOADS } from '../harness/workloads/slab.js';
import { parseFtraceKmem } from '../harness/trace/ftrace-kmem.js';
import { badInput } from './errors.js';
import { emptyTrace, parseFile, readInputText } from './files.js';
import { configFrom, debugOptions, intOpt, machineOptions, policyOption, rejectOptions, type DebugCliOpts, type MachineCliOpts } from './options.js';
import { TOP_SORT_KEYS, isTopSortKey, renderTop, type TopSortKey, type TopViewOpts } from './top-screen.js';

interface TopOpts extends MachineCliOpts, DebugCliOpts {
  layer: LiveLayer;
  slab?: string;
  page?: string;
  workload?: string;
  trace?: string;
  allowEmpty?: boolean;
  ops?: string;
  rate?: string;
  interval?: string;
  sort: TopSortKey;
  fragOrder?: string;
  wait: boolean;
}

/** Operations of a workload when `--ops` is not given. */
export const TOP_DEFAULT_OPS = 200_000;
/** Operations per second when `--rate` is not given: the default workload takes ten seconds. */
export const TOP_DEFAULT_RATE = 20_000;
/** Milliseconds between samples when `--interval` is not given. */
export const TOP_DEFAULT_INTERVAL_MS = 500;
/** Orders of the unusable free space index when `--frag-order` is not given: the costly order and the pageblock order. */
export const TOP_DEFAULT_FRAG_ORDERS: readonly number[] = [3, 9];
/** Caches listed per plain-output screen. */
export const TOP_PLAIN_CACHES = 25;
/** The keys line of the terminal screen. */
const KEYS = `[q quit, space pause, sort ${Object.keys(TOP_SORT_KEYS).join('')}]`;

/** What the simulation thread is given (structured-cloned; `control` is shared). */
export interface TopWorkerData {
  readonly config: SystemConfigInput;
  readonly job: LiveJob;
  readonly rate: number;
  readonly intervalMs: number;
  /** Word 0: {@link LIVE_PAUSED} / {@link LIVE_RUNNING}. */
  readonly control: Int32Array;
}

/** What the simulation thread posts: a sample (the last one `finished`), or the error that ended it. */
export type TopWorkerMessage =
  | { readonly type: 'sample'; readonly snapshot: LiveSnapshot }
  | { readonly type: 'error'; readonly kind: AllocatorErrorKind | undefined; readonly message: string; readonly stack: string | undefined };

/** Parses `--frag-order 3,9`: distinct orders in 1..MAX_PAGE_ORDER. @throws AllocatorError `usage` */
export function parseFragOrders(text: string | undefined): number[] {
  if (text === undefined) return [...TOP_DEFAULT_FRAG_ORDERS];
  const orders = text.split(',').map((s) => intOpt(s.trim(), 'frag-order', { min: 1, max: MAX_PAGE_ORDER })!);
  if (new Set(orders).size !== orders.length) throw badInput(`--frag-order: order ${orders.find((o, i) => orders.indexOf(o) !== i)} given twice`);
  return orders;
}

/** Where the simulation thread's compiled entry is (none when running from the TypeScript sources). */
const WORKER_ENTRY = new URL('./top-worker.js', import.meta.url);

/** Rebuilds the error a worker posted, so the exit status is the one it would have had here. */
function workerError(m: Extract<TopWorkerMessage, { type: 'error' }>): Error {
  const e = m.kind !== undefined ? new AllocatorError(m.kind, m.message) : new Error(m.message);
  if (m.stack !== undefined) e.stack = m.stack;
  return e;
}

/** Plain output: the run on this thread, each sample printed as text. */
function runPlain(config: SystemConfigInput, job: LiveJob, rate: number, intervalMs: number, view: TopViewOpts): void {
  const sys = createSystem(config);
  runLive(sys, job, { rate, intervalMs, onSample: (s) => process.stdout.write(`${renderTop(s, view).join('\n')}\n\n`) });
}

/** The escape sequences of the screen. */
const ESC = {
  enter: '\x1b[?1049h\x1b[?25l\x1b[2J',
  leave: '\x1b[?25h\x1b[?1049l',
  home: '\x1b[H',
  eol: '\x1b[K',
  eos: '\x1b[J',
} as const;

/**
 * The terminal session: the simulation on a worker thread, the screen and
 * the keys here. Resolves when the user quits (or the run ends with
 * `wait` false); rejects with the run's error after restoring the terminal.
 */
function runOnTerminal(data: Omit<TopWorkerData, 'control'>, sort: TopSortKey, fragOrders: readonly number[], wait: boolean): Promise<void> {
  const stdin = process.stdin;
  const stdout = process.stdout;
  const control = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(WORKER_ENTRY, { workerData: { ...data, control } satisfies TopWorkerData });
  let last: LiveSnapshot | undefined;
  let lines: string[] = [];
  let paused = false;
  let active = true;

  const view = (): TopViewOpts => ({ columns: stdout.columns || 80, rows: stdout.rows || 24, sort, fragOrders, paused, keys: last?.finished ? '[finished: q to quit]' : KEYS });
  const draw = (): void => {
    if (!active) return;
    if (!last) {
      stdout.write(`${ESC.home}allocsim top: starting ${data.job.layer === 'slab' ? 'the slab' : 'the page'} run…${ESC.eol}${ESC.eos}`);
      return;
    }
    lines = renderTop(last, view());
    stdout.write(ESC.home + lines.map((l) => l + ESC.eol).join('\r\n') + ESC.eos);
  };
  /** Leaves the screen (once): the terminal as it was, the last screen printed on it. */
  const restore = (): void => {
    if (!active) return;
    active = false;
    stdin.off('data', onKey);
    if (stdin.isTTY) stdin.setRawMode(false);
    stdin.pause();
    stdout.removeListener('resize', draw);
    for (const sig of SIGNALS) process.off(sig, onSignal);
    process.off('exit', restore);
    stdout.write(ESC.leave + (lines.length ? `${lines.join('\n')}\n` : ''));
  };

  let settle: (e?: Error) => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => {
    settle = (e) => {
      restore();
      // terminate() returns once the thread is gone, so nothing keeps the process alive afterwards.
      void worker.terminate().then(() => (e ? reject(e) : resolve()));
    };
  });
  const onKey = (chunk: Buffer | string): void => {
    const text = String(chunk);
    if (text.startsWith('\x1b')) return; // arrows, function keys
    for (const k of text) {
      if (k === 'q' || k === 'Q' || k === '\x03') return settle();
      if (k === ' ' && !last?.finished) {
        paused = !paused;
        Atomics.store(control, 0, paused ? LIVE_PAUSED : LIVE_RUNNING);
        Atomics.notify(control, 0);
      } else if (isTopSortKey(k.toLowerCase())) sort = k.toLowerCase() as TopSortKey;
    }
    draw();
  };
  const onSignal = (): void => settle();
  worker.on('message', (m: TopWorkerMessage) => {
    if (m.type === 'error') return settle(workerError(m));
    last = m.snapshot;
    draw();
    if (m.snapshot.finished && !wait) settle();
  });
  worker.on('error', (e) => settle(e));
  worker.on('exit', (code) => {
    if (code !== 0 && active) settle(new Error(`the simulation thread stopped with exit code ${code}`));
  });

  stdout.write(ESC.enter);
  process.on('exit', restore);
  for (const sig of SIGNALS) process.on(sig, onSignal);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.on('data', onKey);
  stdout.on('resize', draw);
  draw();
  return done;
}

/** Signals that end the session cleanly. */
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Registers the command. */
export function topCommand(program: Command): void {
  const cmd = program
    .command('top')
    .description('a slabtop-style live view: one policy runs a workload or replays a trace while the busiest caches, the free blocks per order, fragmentation and the cost counters update in place (plain text when not on a terminal)')
    .addOption(new Option('--layer <layer>', 'the layer whose policy runs the workload').choices(['slab', 'page']).default('slab'))
    .addOption(policyOption('slab', '--layer slab: the slab policy'))
    .addOption(policyOption('page', '--layer page: the page policy'))
    .option('--workload <name>', `built-in workload (slab: ${SLAB_WORKLOADS.map((w) => w.name).join(', ')}; page: ${PAGE_WORKLOADS.map((w) => w.name).join(', ')}; default: kernel-mix)`)
    .option('--ops <n>', `operations of the workload (default: ${TOP_DEFAULT_OPS})`)
    .option('--trace <file>', '--layer slab: replay this ftrace kmem log (.gz ok) instead of a workload')
    .option('--allow-empty', 'with --trace: replay a trace with no kmem events instead of stopping')
    .option('--rate <ops>', `allocator operations per second of wall time, 0: as fast as the simulator goes (default: ${TOP_DEFAULT_RATE})`)
    .option('--interval <ms>', `milliseconds between screens (default: ${TOP_DEFAULT_INTERVAL_MS})`)
    .addOption(new Option('--sort <key>', `sort the caches as slabtop's keys do: ${Object.entries(TOP_SORT_KEYS).map(([k, v]) => `${k} ${v.label}`).join(', ')}`).choices(Object.keys(TOP_SORT_KEYS)).default('c'))
    .option('--frag-order <list>', `orders (1..${MAX_PAGE_ORDER}) whose unusable free space index is shown (default: ${TOP_DEFAULT_FRAG_ORDERS.join(',')})`)
    .option('--no-wait', 'on a terminal: leave when the run ends instead of keeping the last screen until q');
  debugOptions(machineOptions(cmd), ['slub-debug', 'kasan', 'page-poison']).action(async (o: TopOpts) => {
    const layer = o.layer;
    if (layer !== 'slab') rejectOptions(cmd, ['slab', 'trace', 'slub-debug', 'kasan'], `applies to --layer slab only (this is --layer ${layer})`);
    else rejectOptions(cmd, ['page'], 'applies to --layer page only (this is --layer slab); the page allocator under the slab layer comes from --config');
    if (o.trace !== undefined) rejectOptions(cmd, ['workload', 'ops'], 'does not apply when --trace replays a trace');
    else rejectOptions(cmd, ['allow-empty'], 'applies to --trace only');
    const ops = intOpt(o.ops, 'ops', { min: 1 }) ?? TOP_DEFAULT_OPS;
    const rate = intOpt(o.rate, 'rate', { max: 1e9 }) ?? TOP_DEFAULT_RATE;
    const intervalMs = intOpt(o.interval, 'interval', { min: 10, max: 3_600_000 }) ?? TOP_DEFAULT_INTERVAL_MS;
    const fragOrders = parseFragOrders(o.fragOrder);
    const workload = o.workload ?? 'kernel-mix';
    const known = (layer === 'slab' ? SLAB_WORKLOADS : PAGE_WORKLOADS).map((w) => w.name);
    if (o.trace === undefined && !known.includes(workload)) throw badInput(`--workload: unknown ${layer} workload '${workload}' (known: ${known.join(', ')})`);
    let job: LiveJob = { layer, workload, ops };
    if (o.trace !== undefined) {
      const file = o.trace;
      const events = parseFile(file, readInputText(file), (t) => parseFtraceKmem(t)).events;
      emptyTrace(file, events.length, 'kmem events', o.allowEmpty === true);
      job = { ...job, trace: { label: `trace ${file}`, events } };
    }
    // The policies are measured, not the simulator's own precondition checks; the cost meter is the run's clock.
    const config = configFrom(o, { policies: { slab: o.slab, page: o.page }, debug: { checks: false, trace: false, cost: true } });
    resolveConfig(config); // bad configurations stop here, before any screen opens
    // From the TypeScript sources (a test runner on a terminal) there is no thread entry to load: plain screens.
    if (process.stdout.isTTY && process.stdin.isTTY && existsSync(WORKER_ENTRY)) await runOnTerminal({ config, job, rate, intervalMs }, o.sort, fragOrders, o.wait);
    else runPlain(config, job, rate, intervalMs, { columns: Infinity, rows: Infinity, sort: o.sort, fragOrders, maxCaches: TOP_PLAIN_CACHES });
  });
}
