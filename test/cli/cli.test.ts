/** The allocsim command, run in-process. */
import { describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { firstReproducer } from '../support/findings.js';
import { captureStdio } from '../support/stdio.js';

const io = captureStdio();
const run = (...args: string[]) => main(['node', 'allocsim', ...args]);

describe('allocsim CLI', () => {
  it('prints buddyinfo for a configured machine', async () => {
    expect(await run('buddyinfo', '--mem', '8G', '--cpus', '2')).toBe(0);
    expect(io.out).toMatch(/^Node 0, zone {3}Normal( +\d+ ){11}$/m);
  });

  it('boots the smallest machine the default layout fits in (52 MiB; 48 MiB is refused below)', async () => {
    expect(await run('buddyinfo', '--mem', '52M')).toBe(0);
    expect(io.out).toMatch(/^Node 0, zone {6}DMA/m);
  });

  it('prints zoneinfo, pagetypeinfo and meminfo, and JSON', async () => {
    expect(await run('zoneinfo', '--mem', '64M', '--kernel-image', '4M')).toBe(0);
    expect(io.out).toMatch(/pages free/);
    io.out = '';
    expect(await run('pagetypeinfo', '--mem', '64M', '--kernel-image', '4M', '--workload', 'kernel-mix', '--ops', '2000')).toBe(0);
    expect(io.out).toMatch(/^Page block order: 9$/m);
    io.out = '';
    expect(await run('meminfo', '--mem', '64M', '--kernel-image', '4M', '--json')).toBe(0);
    const fields = JSON.parse(io.out) as Record<string, number>;
    io.out = '';
    expect(await run('meminfo', '--mem', '64M', '--kernel-image', '4M')).toBe(0);
    // The same fields as the text, name → the number it shows.
    expect(fields.MemTotal).toBe(Number(/^MemTotal: +(\d+) kB$/m.exec(io.out)![1]));
    expect(Object.keys(fields)).toEqual(io.out.trimEnd().split('\n').map((l) => l.split(':')[0]));
  });

  it('compares page policies side by side', async () => {
    expect(await run('compare', '--layer', 'page', '--mem', '64M', '--kernel-image', '4M', '--ops', '3000')).toBe(0);
    expect(io.out).toMatch(/buddy +firstfit/);
    expect(io.out).toMatch(/ops\/s/);
    // The cost table: per operation, mean / p50 / p99 per policy.
    expect(io.out).toMatch(/^cost per operation \(mean \/ p50 \/ p99/m);
    expect(io.out).toMatch(/^alloc_pages +[\d,]+ ops +[\d,]+ ops$/m);
    // Orders 0-3 go through the per-CPU lists (pcp->lock); the baseline locks its zone for every search.
    expect(io.out).toMatch(/^ {2}pcp->lock +0\.9\d \/ 1 \/ 1 +0\.00 \/ 0 \/ 0$/m);
    expect(io.out).toMatch(/^ {2}zone->lock +0\.\d\d \/ 0 \/ 1 +1\.00 \/ 1 \/ 1$/m);
    io.out = '';
    expect(await run('compare', '--layer', 'page', '--mem', '64M', '--kernel-image', '4M', '--ops', '300', '--no-cost')).toBe(0);
    expect(io.out).not.toMatch(/cost per operation/);
  });

  it('compares kmalloc, vmalloc and kvmalloc for large buffers under fragmentation', async () => {
    expect(await run('compare', '--layer', 'vmalloc', '--mem', '128M', '--kernel-image', '4M', '--ops', '200')).toBe(0);
    expect(io.out).toMatch(/^machine: 128 MiB, 4 CPUs, 1 node; large buffers \(16 KiB-4 MiB\) after fragmenting: [\d,]+ pages free, largest free block order \d; 200 operations; seed 1$/m);
    expect(io.out).toMatch(/ +kmalloc +vmalloc +kvmalloc\n/);
    expect(io.out).toMatch(/^failed under kmalloc, served here +n\/a +[1-9][\d,]* +[1-9][\d,]*$/m);
    expect(io.out).toMatch(/^ {2}vmalloc +fewest failed requests \(0\)/m);
    expect(io.out).toMatch(/^kernel page-table pages +1 +\d+ +\d+$/m);
  });

  it('prints /proc/vmallocinfo after the boot mix, and fuzzes vmalloc', async () => {
    expect(await run('vmallocinfo', '--mem', '128M', '--kernel-image', '4M', '--ops', '50', '--vmap', 'list')).toBe(0);
    expect(io.out).toMatch(/^0xffffc900[0-9a-f]{8}-0xffffc900[0-9a-f]{8} {3}20480 kernel_clone\+0xbf\/0x430 pages=4 vmalloc N0=4$/m);
    expect(io.out).toMatch(/^VmallocTotal: {3}34359738367 kB$/m);
    io.out = '';
    expect(await run('fuzz', '--layer', 'vmalloc', '--runs', '5', '--seed', '2')).toBe(0);
    expect(io.out).toMatch(/^vmalloc policy tree: 5 runs passed \(seed 2, [\d,]+ commands\)$/m);
    io.out = '';
    const dir = mkdtempSync(join(tmpdir(), 'allocsim-'));
    expect(await run('fuzz', '--mutant', 'B-20', '--runs', '20', '--out', join(dir, 'found'))).toBe(0);
    expect(io.out).toMatch(/^mutant B-20 \(vfree-leaks-pages\) caught after \d+ runs? by V2: /m);
    expect(JSON.parse(readFileSync(firstReproducer(join(dir, 'found')), 'utf8'))).toMatchObject({ layer: 'vmalloc', mutant: 'B-20' });
  });

  it('compares slab policies side by side on every built-in workload', async () => {
    for (const w of ['kernel-mix', 'uniform-small', 'producer-consumer', 'burst-free']) {
      io.out = '';
      expect(await run('compare', '--workload', w, '--mem', '128M', '--kernel-image', '4M', '--ops', '3000', '--json')).toBe(0);
      const res = JSON.parse(io.out) as { machine: { memBytes: number; cpus: number }; results: { policy: string; fastPathHitRate: number | null; failedAllocs: number }[]; summary: Record<string, string[]> };
      expect(res.machine).toMatchObject({ memBytes: 128 << 20, cpus: 4 });
      expect(res.results.map((r) => r.policy)).toEqual(['slab', 'slub', 'slob']);
      for (const r of res.results) expect(r.failedAllocs).toBe(0);
      // SLOB has no per-CPU fast path: n/a, not 0%.
      expect(res.results.find((r) => r.policy === 'slob')!.fastPathHitRate).toBeNull();
      // Each column's cost rows: SLOB takes slob_lock on every small kmalloc, SLUB never.
      const cost = (p: string, op: string) => (res.results.find((r) => r.policy === p) as unknown as { cost: { op: string; counters: Record<string, { mean: number }> }[] }).cost.find((r) => r.op === op);
      if (w !== 'producer-consumer') {
        expect(cost('slob', 'kmalloc')!.counters['slobLock']!.mean).toBe(1);
        expect(cost('slub', 'kmalloc')!.counters['slobLock']!.mean).toBe(0);
      }
      expect(Object.keys(res.summary)).toEqual(['slab', 'slub', 'slob']);
    }
  });

  it('prints slabinfo with extra caches and after a workload', async () => {
    expect(await run('slabinfo', '--mem', '128M', '--kernel-image', '4M', '--cache', 'my_obj:100:64:HWCACHE_ALIGN', '--workload', 'uniform-small', '--ops', '2000')).toBe(0);
    expect(io.out.split('\n')[0]).toBe('slabinfo - version: 2.1');
    expect(io.out).toMatch(/^my_obj +\d+ +\d+ +128 +32 +1 : tunables/m);
  });

  it('reads a config file and lets the command line win', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'allocsim-'));
    const f = join(dir, 'c.json');
    writeFileSync(f, JSON.stringify({ machine: { memBytes: 2 * 2 ** 30, cpus: 3 } }));
    expect(await run('zoneinfo', '--config', f, '--cpus', '2')).toBe(0);
    expect(io.out).toMatch(/cpu: 1\n/);
    expect(io.out).not.toMatch(/cpu: 2\n/);
  });

  it('writes a reproducer for a caught mutant and replays it', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'allocsim-')), 'found');
    expect(await run('fuzz', '--mutant', 'B-01', '--runs', '20', '--out', dir)).toBe(0);
    expect(io.out).toMatch(/caught after/);
    const f = firstReproducer(dir);
    const repro = JSON.parse(readFileSync(f, 'utf8')) as { commands: unknown[]; mutant: string };
    expect(repro.mutant).toBe('B-01');
    io.out = '';
    // The mutant is still caught: the expected outcome, exit 0.
    expect(await run('fuzz', '--replay', f)).toBe(0);
    expect(io.out).toMatch(/caught again by B3: free block/);
  });

  it.each([
    [['buddyinfo', '--mem', 'lots'], /--mem expects a size/],
    [['buddyinfo', '--mem', '3M'], /invalid configuration: memory size/],
    [['buddyinfo', '--mem', '8M'], /memory size 8 MiB is below the 52 MiB this machine needs/],
    [['buddyinfo', '--mem', '48M'], /memory size 48 MiB is below the 52 MiB this machine needs/],
    [['buddyinfo', '--cpus', 'x'], /--cpus expects a non-negative integer/],
    [['zoneinfo', '--config', '/nonexistent.json'], /^allocsim: --config \/nonexistent.json: no such file or directory$/m],
    [['compare', '--layer', 'page', '--page', 'buddy,slob'], /unknown page policy 'slob'/],
    [['compare', '--slab', 'slub,nope'], /unknown slab policy 'nope'/],
    [['slabinfo', '--cache', 'bad'], /--cache bad: wrong number of fields/],
    [['slabinfo', '--cache', 'x:10:3'], /alignment 3 is not 0 or a power of two/],
    [['slabinfo', '--cache', 'x:0'], /size 0 is outside/],
    [['slabinfo', '--cache', 'x:10:8:BOGUS'], /unknown flag 'BOGUS'/],
    [['fuzz', '--replay', '/nonexistent.json'], /--replay \/nonexistent.json: no such file or directory/],
    [['compare', '--layer', 'vmalloc', '--workload', 'fragmenter'], /^allocsim: --workload does not apply to --layer vmalloc/],
    [['compare', '--layer', 'page', '--trace', 'x.txt'], /^allocsim: --trace applies to --layer slab and --layer user only/],
    [['slabinfo', '--slab', 'slob'], /^allocsim: --slab: 'slob' is not one of slab, slub/],
  ])('turns bad input %j into one clear line and exit status 2', async (args, msg) => {
    expect(await run(...args)).toBe(2);
    expect(io.err).toMatch(msg);
    expect(io.err.trim().split('\n')).toHaveLength(1);
  });

  it('replays a trace, reports malformed lines with their number, and skips them when lenient', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'allocsim-'));
    const f = join(dir, 't.txt');
    writeFileSync(
      f,
      [
        '# tracer: nop',
        '   a-1 [000] ..... 1.000001: kmalloc: call_site=x+0x1/0x2 ptr=ffff888000001000 bytes_req=40 bytes_alloc=64 gfp_flags=GFP_KERNEL node=-1 accounted=false',
        '   a-1 [000] ..... 1.000002: kmalloc: call_site=x+0x1/0x2 ptr=ffff888000002000 bytes_req=oops bytes_alloc=64 gfp_flags=GFP_KERNEL node=-1 accounted=false',
        '   a-1 [000] ..... 1.000003: kfree: call_site=x+0x1/0x2 ptr=ffff888000001000',
      ].join('\n'),
    );
    expect(await run('replay', f, '--mem', '64M', '--kernel-image', '4M')).toBe(2);
    expect(io.err).toBe(`allocsim: ${f}:3: kmalloc: expected bytes_req=<decimal>, found 'oops' in 'a-1 [000] ..... 1.000002: kmalloc: call_site=x+0x1/0x2 ptr=ffff888000002000 bytes_req=oops bytes_alloc=64 gfp_flags=GFP_KERNEL node=-1 accounted=false'\n`);
    io.err = '';
    io.out = '';
    expect(await run('replay', f, '--lenient', '--json', '--mem', '64M', '--kernel-image', '4M')).toBe(0);
    const j = JSON.parse(io.out) as { stats: { replayed: { kmalloc: number; kfree: number } } };
    expect(j.stats.replayed).toMatchObject({ kmalloc: 1, kfree: 1 });
  });

  it('lists scenarios, runs one with its report, and its control with none', async () => {
    expect(await run('scenario', '--list')).toBe(0);
    expect(io.out).toMatch(/^dev-kmalloc-wrong-free +seed /m);
    io.out = '';
    expect(await run('scenario', 'use-after-free-write')).toBe(0);
    expect(io.out).toMatch(/BUG uaf_cache \(Not tainted\): Poison overwritten/);
    io.out = '';
    expect(await run('scenario', 'double-free', '--control')).toBe(0);
    expect(io.out).toMatch(/no report/);
    expect(await run('scenario', 'nope')).toBe(2);
    expect(io.err).toMatch(/unknown scenario 'nope'/);
  });

  it('takes --slub-debug and --page-poison, and rejects a bad slub_debug', async () => {
    expect(await run('slabinfo', '--mem', '64M', '--kernel-image', '4M', '--slub-debug', 'FZPU,kmalloc-1k')).toBe(0);
    expect(io.out).toMatch(/^kmalloc-1k +0 +0 +3072 +10 +8 /m);
    io.out = '';
    expect(await run('compare', '--layer', 'page', '--mem', '64M', '--kernel-image', '4M', '--ops', '500', '--page-poison')).toBe(0);
    expect(await run('buddyinfo', '--page-poison')).toBe(2);
    expect(io.err).toMatch(/^allocsim: unknown option '--page-poison' \(see 'allocsim buddyinfo --help'\)\n$/);
    io.err = '';
    expect(await run('slabinfo', '--slub-debug', 'Q')).toBe(2);
    expect(io.err).toMatch(/slub_debug=Q: unknown option 'Q'/);
  });

  it('rejects an unknown command in one line with exit status 2', async () => {
    expect(await run('frobnicate')).toBe(2);
    expect(io.err).toBe("allocsim: unknown command 'frobnicate' (see 'allocsim --help')\n");
  });

  it('exits 0 for --help and --version, with the output on stdout', async () => {
    expect(await run('--version')).toBe(0);
    expect(io.out).toBe('0.1.0\n');
    io.out = '';
    expect(await run('compare', '--help')).toBe(0);
    expect(io.out).toMatch(/^Usage: allocsim compare/);
    expect(io.err).toBe('');
  });

  it("malloc-fuzz (alias of 'fuzz --layer user'): a real policy runs clean, a mutant is caught (exit 0), the exit status reaches the caller", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'allocsim-'));
    expect(await run('malloc-fuzz', '--runs', '3', '--ops', '100')).toBe(0);
    expect(io.out).toMatch(/^user policy ptmalloc: 3 runs passed \(seed 1, [\d,]+ commands\)$/m);
    expect(io.err).toBe("allocsim: warning: malloc-fuzz is now 'allocsim fuzz --layer user'\n");
    expect(await run('malloc-fuzz', '--mutant', 'B-22', '--runs', '3', '--out', join(dir, 'r.json'))).toBe(0);
    expect(io.out).toMatch(/^mutant B-22 \(no-footer\) caught after 1 run by /m);
  });

  it('replays a user trace given --malloc; an empty one only with --allow-empty', async () => {
    expect(await run('replay', '--malloc', 'implicit', '--format', 'plain', '/dev/null')).toBe(2);
    expect(io.err).toBe('allocsim: /dev/null: 0 ops: nothing to replay (--allow-empty replays it anyway)\n');
    io.err = '';
    expect(await run('replay', '--malloc', 'implicit', '--format', 'plain', '--allow-empty', '/dev/null')).toBe(0);
    expect(io.out).toMatch(/0 ops through implicit/);
    expect(io.err).toBe('allocsim: warning: /dev/null: 0 ops\n');
  });

  it('takes the policies of a --config file unless the option is typed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'allocsim-'));
    const f = join(dir, 'c.json');
    writeFileSync(f, JSON.stringify({ machine: { memBytes: 64 << 20, kernelImageBytes: 4 << 20 }, policies: { slab: 'slab', malloc: 'segregated' }, user: { tcache: false } }));
    expect(await run('slabinfo', '--config', f, '--json')).toBe(0);
    // SLAB's kmalloc caches start at 32 bytes.
    expect((JSON.parse(io.out) as { name: string }[]).map((c) => c.name)).not.toContain('kmalloc-8');
    io.out = '';
    expect(await run('slabinfo', '--config', f, '--slab', 'slub', '--json')).toBe(0);
    expect((JSON.parse(io.out) as { name: string }[]).map((c) => c.name)).toContain('kmalloc-8');
    writeFileSync(f, JSON.stringify({ policies: { slab: 'slob' } }));
    expect(await run('slabinfo', '--config', f)).toBe(2);
    expect(io.err).toBe(`allocsim: SLOB has no /proc/slabinfo (Linux has it only for SLAB and SLUB kernels); policies.slab 'slob' comes from --config ${f}\n`);
  });

  it('rejects a config file with unknown keys or wrong types, naming each', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'allocsim-'));
    const f = join(dir, 'c.json');
    writeFileSync(f, JSON.stringify({ machine: { memByts: 1, cpus: '4' }, polices: {} }));
    expect(await run('buddyinfo', '--config', f)).toBe(2);
    expect(io.err).toBe(`allocsim: --config ${f}: unknown key 'machine.memByts' (did you mean 'machine.memBytes'?); 'machine.cpus' must be an integer, not the string "4"; unknown key 'polices' (did you mean 'policies'?)\n`);
  });

  it('checks an output path before the run and reports an internal error as 70', async () => {
    expect(await run('buddyinfo', '--workload', 'kernel-mix', '--trace', tmpdir())).toBe(2);
    expect(io.err).toBe(`allocsim: --trace ${tmpdir()}: is a directory (give a file name)\n`);
    expect(io.out).toBe('');
    io.err = '';
    jest.spyOn(JSON, 'stringify').mockImplementationOnce(() => {
      throw new TypeError('boom');
    });
    expect(await run('list', '--json')).toBe(70);
    expect(io.err).toMatch(/^allocsim: internal error: boom — please report it/);
    expect(io.err.trim().split('\n')).toHaveLength(1);
  });

  it('prints exactly one JSON document on stdout with --json, whatever else it has to say', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'allocsim-'));
    const kmem = join(dir, 'k.txt');
    writeFileSync(kmem, '   a-1 [000] ..... 1.000001: kmalloc: call_site=x+0x1/0x2 ptr=ffff888000001000 bytes_req=40 bytes_alloc=64 gfp_flags=GFP_KERNEL\n');
    const ops = join(dir, 'u.ops');
    writeFileSync(ops, 'a 0 24\nf 0\n');
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '');
    const conf = join(dir, 'c.json');
    writeFileSync(conf, JSON.stringify({ policies: { slab: 'slob' } }));
    const small = ['--mem', '64M', '--kernel-image', '4M'];
    const runs: string[][] = [
      ['buddyinfo', ...small],
      ['pagetypeinfo', ...small],
      ['zoneinfo', ...small],
      ['meminfo', ...small],
      ['vmallocinfo', '--mem', '128M', '--kernel-image', '4M', '--ops', '20'],
      ['slabinfo', ...small],
      ['compare', '--ops', '300', ...small],
      ['compare', '--ops', '300', '--config', conf, ...small],
      ['compare', '--layer', 'page', '--ops', '300', ...small],
      ['compare', '--layer', 'vmalloc', '--ops', '20', '--mem', '128M', '--kernel-image', '4M'],
      ['replay', kmem, ...small],
      ['replay', ops, ...small],
      ['replay', empty, '--allow-empty', ...small],
      ['scenario', 'double-free'],
      ['scenario', '--list'],
      ['client-bugs', '--ops', '200'],
      ['list'],
      ['malloc-fuzz', '--runs', '1', '--ops', '20'],
    ];
    for (const args of runs) {
      io.out = '';
      io.err = '';
      expect([args, await run(...args, '--json')]).toEqual([args, 0]);
      expect(() => JSON.parse(io.out) as unknown).not.toThrow();
      // Anything else (a warning) is one line each on stderr.
      for (const line of io.err.split('\n').filter(Boolean)) expect(line).toMatch(/^allocsim: warning: /);
    }
  });
});
