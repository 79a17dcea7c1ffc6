/**
 * `allocsim top`: the screen renderer, the plain output (not a terminal),
 * bad input, and the live view on a real terminal — the built CLI inside a
 * tmux session of its own, driven by keys and read back from the screen.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { CACHE_HEAD, renderTop, sortCaches, unusableIndex, type TopViewOpts } from '../../src/cli/top-screen.js';
import { liveSnapshot, type LiveSnapshot } from '../../src/harness/live.js';
import { runSlabWorkload } from '../../src/harness/workloads/slab.js';
import { buddyinfo } from '../../src/proc/page.js';
import { createSystem } from '../../src/system.js';
import { captureStdio } from '../support/stdio.js';
import { ROOT, requireFreshBuild } from '../support/workdir.js';

const io = captureStdio();
const run = (...args: string[]) => main(['node', 'allocsim', 'top', ...args]);
const MACHINE = ['--mem', '128M', '--kernel-image', '4M', '--cpus', '4', '--seed', '5'];
const ESCAPE = '\x1b';

/** A system after 20,000 kernel-mix operations under SLUB, as `top` builds it. */
function finishedSystem(): ReturnType<typeof createSystem> {
  const sys = createSystem({ machine: { memBytes: 128 * 2 ** 20, cpus: 4, kernelImageBytes: 4 * 2 ** 20 }, seed: 5, debug: { checks: false, trace: false, cost: true } });
  runSlabWorkload(sys, 'kernel-mix', 20000, 5, true);
  return sys;
}

describe('the screen', () => {
  const sys = finishedSystem();
  const snap: LiveSnapshot = liveSnapshot(sys, 'slab', { run: 'workload kernel-mix', finished: false, opsDone: 12345, opsTotal: 20000, elapsedMs: 1500, opsPerSec: 8230 });
  const view: TopViewOpts = { columns: 120, rows: 40, sort: 'c', fragOrders: [3, 9], keys: '[q quit]' };

  it('fits the terminal and holds every section', () => {
    const lines = renderTop(snap, view);
    expect(lines).toHaveLength(40);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(120);
    // At 120 columns nothing of the fixed sections is cut.
    expect(renderTop(snap, { ...view, columns: Infinity }).slice(0, 23)).toEqual(lines.slice(0, 23));
    const text = lines.join('\n');
    expect(lines[0]).toBe('allocsim top: machine: 128 MiB, 4 CPUs, 1 node; slab policy slub, workload kernel-mix; seed 5');
    expect(lines[1]).toBe('running: 12,345 / 20,000 ops (61.7%), 8,230 ops/s, 1.5s; sort: cache size  [q quit]');
    expect(text).toMatch(/^ Active \/ Total Objects \(% used\) {4}: \d+ \/ \d+ \(\d+\.\d%\)$/m);
    expect(text).toMatch(/^ Minimum \/ Average \/ Maximum Object : \d+\.\d\dK \/ \d+\.\d\dK \/ 8\.00K$/m);
    expect(text).toMatch(/^FREE BLOCKS BY ORDER {6}0 {6}1 .* {5}10 unusable@3 unusable@9$/m);
    expect(text).toMatch(/^COST, MEAN PER OP +COUNT +MEMLINES STRUCTLINES +LOCKS/m);
    expect(text).toMatch(/^kmalloc +[\d,]+ +\d+\.\d\d /m);
    expect(lines).toContain(CACHE_HEAD);
  });

  it('shows the zones as /proc/buddyinfo does, with the unusable free space index', () => {
    const lines = renderTop(snap, view);
    const proc = buddyinfo(sys.pages).trim().split('\n');
    for (const p of proc) {
      const [, node, zone, counts] = /^Node (\d+), zone +(\w+) (.*)$/.exec(p)!;
      const mine = lines.find((l) => l.startsWith(`Node ${node}, zone ${zone!.padStart(7)}`))!;
      expect(mine.slice(20).trim().split(/ +/).slice(0, 11)).toEqual(counts!.trim().split(/ +/));
    }
    expect(unusableIndex([0, 0, 0], 1)).toBe(1); // nothing free: all of it unusable, as Linux says
    expect(unusableIndex([4, 0, 1], 2)).toBe(0.5);
    expect(unusableIndex([4, 0, 1], 0)).toBe(0);
  });

  it('lists the caches in slabtop columns, sorted by the key, as many as the height leaves', () => {
    const lines = renderTop(snap, view);
    const rows = lines.slice(lines.indexOf(CACHE_HEAD) + 1);
    expect(rows.length).toBe(40 - lines.indexOf(CACHE_HEAD) - 1);
    const sizes = rows.map((l) => Number(/(\d+)K \S+$/.exec(l)![1]));
    expect([...sizes].sort((a, b) => b - a)).toEqual(sizes);
    const byName = sortCaches(snap.caches, 'n').map((c) => c.name);
    expect([...byName].sort()).toEqual(byName);
    const biggest = sortCaches(snap.caches, 'c')[0]!;
    expect(rows[0]).toMatch(new RegExp(`^ *${biggest.objs} +${biggest.active} +\\d+% +${(biggest.objSize / 1024).toFixed(2)}K +${biggest.slabs} +${biggest.objPerSlab} +${biggest.pages * 4}K ${biggest.name}$`));
    expect(renderTop(snap, { ...view, rows: 10 })).toHaveLength(10);
    expect(renderTop(snap, { ...view, columns: 30 }).every((l) => l.length <= 30)).toBe(true);
  });
});

describe('plain output (not a terminal)', () => {
  let tty: boolean | undefined;
  beforeAll(() => {
    tty = process.stdout.isTTY;
    // Under a terminal-attached jest, stdout may be one; the command must see a pipe.
    Object.defineProperty(process.stdout, 'isTTY', { value: false, configurable: true });
  });
  afterAll(() => {
    Object.defineProperty(process.stdout, 'isTTY', { value: tty, configurable: true });
  });

  it('prints screens without escape codes, the last one the state a one-shot run of the seed ends in', async () => {
    expect(await run(...MACHINE, '--ops', '20000', '--rate', '100000', '--interval', '50')).toBe(0);
    expect(io.err).toBe('');
    expect(io.out).not.toContain(ESCAPE);
    const screens = io.out.trimEnd().split(/\n\n(?=allocsim top: )/);
    expect(screens.length).toBeGreaterThan(2);
    for (const s of screens) expect(s).toMatch(/^allocsim top: machine: 128 MiB, 4 CPUs, 1 node; slab policy slub, workload kernel-mix; seed 5$/m);
    const final = screens.at(-1)!;
    expect(final).toMatch(/^finished: 20,000 \/ 20,000 ops \(100\.0%\), [\d,]+ ops\/s, [\d.]+s; sort: cache size$/m);
    expect(screens.slice(0, -1).every((s) => /^running: /m.test(s))).toBe(true);

    // An independent run of the same seed, read through the contracts.
    const sys = finishedSystem();
    const caches = sys.kmem.caches();
    const active = caches.reduce((n, c) => n + c.counters.activeObjs, 0);
    const objs = caches.reduce((n, c) => n + c.counters.numObjs, 0);
    expect(final).toContain(` Active / Total Objects (% used)    : ${active} / ${objs} (`);
    for (const row of sys.machine.cost!.rows()) expect(final).toMatch(new RegExp(`^${row.op} +${row.count.toLocaleString('en-US')} +${row.counters.memLines.mean.toFixed(2)} `, 'm'));
    for (const p of buddyinfo(sys.pages).trim().split('\n')) {
      const [, node, zone, counts] = /^Node (\d+), zone +(\w+) (.*)$/.exec(p)!;
      expect(final).toMatch(new RegExp(`^Node ${node}, zone +${zone} +${counts!.trim().split(/ +/).join(' +')} `, 'm'));
    }
    for (const c of caches.filter((x) => x.counters.pages > 0).slice(0, 5)) {
      if (final.includes(` ${c.name}\n`)) expect(final).toMatch(new RegExp(`^ *${c.counters.numObjs} +${c.counters.activeObjs} .* ${c.name}$`, 'm'));
    }
  });

  it('runs the page layer and a trace, with the orders asked for', async () => {
    expect(await run(...MACHINE, '--layer', 'page', '--page', 'firstfit', '--workload', 'fragmenter', '--ops', '5000', '--rate', '0', '--frag-order', '1,10')).toBe(0);
    expect(io.out).toMatch(/^allocsim top: .*; page policy firstfit, workload fragmenter; seed 5$/m);
    expect(io.out).toMatch(/ unusable@1 unusable@10$/m);
    expect(io.out).toMatch(/^alloc_pages +[\d,]+ /m);
    io.out = '';
    expect(await run(...MACHINE, '--trace', join(ROOT, 'data/traces/kmem-boot-excerpt.txt'), '--slab', 'slob', '--rate', '0', '--sort', 'n')).toBe(0);
    expect(io.out).toMatch(/^finished: [\d,]+ ops, [\d,]+ ops\/s, [\d.]+s; sort: name$/m);
    expect(io.out).toMatch(/slab policy slob, trace .*kmem-boot-excerpt\.txt \([\d,]+ events\)/);
  });
});

describe('bad input', () => {
  it.each([
    [['--layer', 'page', '--slab', 'slub'], 'allocsim: --slab applies to --layer slab only (this is --layer page)'],
    [['--page', 'buddy'], 'allocsim: --page applies to --layer page only (this is --layer slab); the page allocator under the slab layer comes from --config'],
    [['--trace', 'x.txt', '--ops', '5'], 'allocsim: --ops does not apply when --trace replays a trace'],
    [['--allow-empty'], 'allocsim: --allow-empty applies to --trace only'],
    [['--workload', 'fragmenter'], "allocsim: --workload: unknown slab workload 'fragmenter' (known: kernel-mix, uniform-small, producer-consumer, burst-free)"],
    [['--rate', 'fast'], "allocsim: --rate expects a non-negative integer in 0..1000000000, got 'fast'"],
    [['--interval', '5'], "allocsim: --interval expects an integer in 10..3600000, got '5'"],
    [['--frag-order', '3,11'], "allocsim: --frag-order expects an integer in 1..10, got '11'"],
    [['--frag-order', '3,3'], 'allocsim: --frag-order: order 3 given twice'],
    [['--sort', 'x'], "allocsim: --sort: 'x' is not one of a, b, c, l, n, o, p, s, u (see 'allocsim top --help')"],
    [['--trace', 'no-such-file.txt'], 'allocsim: no-such-file.txt: no such file or directory'],
  ])('top %j: exit 2, one line', async (args, line) => {
    expect(await run(...args)).toBe(2);
    expect(io.err).toBe(`${line}\n`);
    expect(io.out).toBe('');
  });
});

describe('on a terminal (tmux)', () => {
  const socket = `allocsim-top-${process.pid}-${Date.now()}`;
  const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  const screen = (): string => tmux('capture-pane', '-p');
  const flags = (): string => tmux('display-message', '-p', '#{alternate_on} #{cursor_flag}').trim();
  let dir = '';

  /** Polls the screen until `re` matches (the run paces itself: seconds, not minutes). */
  async function waitFor(re: RegExp, ms = 10_000): Promise<string> {
    const end = Date.now() + ms;
    for (;;) {
      const s = screen();
      if (re.test(s)) return s;
      if (Date.now() > end) throw new Error(`the screen never matched ${re}:\n${s}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  beforeAll(() => {
    requireFreshBuild(['src/cli/main.ts', 'src/cli/top.ts', 'src/cli/top-worker.ts', 'src/cli/top-screen.ts', 'src/harness/live.ts']);
    dir = mkdtempSync(join(tmpdir(), 'allocsim-top-'));
  });
  afterAll(() => {
    spawnSync('tmux', ['-L', socket, 'kill-server']);
    rmSync(dir, { recursive: true, force: true });
  });

  it('draws the live view in place, sorts and pauses on keys, quits on q and restores the terminal', async () => {
    // After the command: its exit status and whether the terminal is back in canonical mode; then the pane stays.
    const script = join(dir, 'run.sh');
    const cli = join(ROOT, 'dist/src/cli/main.js');
    writeFileSync(script, `"${process.execPath}" "${cli}" top ${MACHINE.join(' ')} --ops 1000000 --rate 100000 --interval 100\necho "EXIT=$?"\nstty -a | tr ' ' '\\n' | grep -x -- '-*icanon' | sed 's/^/MODE=/'\nexec sleep 60\n`);
    tmux('new-session', '-d', '-x', '120', '-y', '40', 'sh', script);
    const first = await waitFor(/^running: [\d,]+ \/ 1,000,000 ops[\s\S]*OBJS ACTIVE +USE OBJ SIZE +SLABS OBJ\/SLAB CACHE SIZE NAME\n +\d+ +\d+ +\d+% +\d+\.\d\dK .* \S+\n/m);
    expect(first).toMatch(/^allocsim top: machine: 128 MiB, 4 CPUs, 1 node; slab policy slub, workload kernel-mix; seed 5$/m);
    expect(first).toMatch(/\[q quit, space pause, sort abclnopsu\]$/m);
    expect(first).toMatch(/^FREE BLOCKS BY ORDER/m);
    expect(first).toMatch(/^kmalloc +[\d,]+ +\d+\.\d\d/m);
    expect(first.split('\n').length).toBeLessThanOrEqual(41);
    expect(flags()).toBe('1 0'); // alternate screen, cursor hidden

    // Redrawn in place: the count moves on, the screen stays one screen.
    const count = (s: string): number => Number(/^running: ([\d,]+)/m.exec(s)![1]!.replace(/,/g, ''));
    const later = await waitFor(new RegExp(`^running: (?!${first.match(/^running: ([\d,]+)/m)![1]} )`, 'm'));
    expect(count(later)).toBeGreaterThan(count(first));

    tmux('send-keys', 'n');
    await waitFor(/; sort: name +\[/);
    tmux('send-keys', 'Space');
    const paused = await waitFor(/^paused: /m);
    await new Promise((r) => setTimeout(r, 300));
    expect(count(screen().replace(/^paused/m, 'running'))).toBe(count(paused.replace(/^paused/m, 'running')));
    tmux('send-keys', 'Space');
    await waitFor(/^running: /m);

    tmux('send-keys', 'q');
    const after = await waitFor(/^MODE=/m);
    expect(after).toMatch(/^EXIT=0$/m);
    expect(after).toMatch(/^MODE=icanon$/m); // canonical mode again: raw mode undone
    expect(flags()).toBe('0 1'); // the normal screen, the cursor shown
    // The last screen stays readable on the normal screen.
    expect(tmux('capture-pane', '-p', '-S', '-60')).toMatch(/^allocsim top: machine: 128 MiB[^]*^EXIT=0$/m);
  }, 30_000);
});
