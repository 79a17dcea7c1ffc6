/** The allocsim command, run in-process. */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';

let out = '';
let err = '';
beforeEach(() => {
  out = '';
  err = '';
  jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
});
afterEach(() => {
  jest.restoreAllMocks();
  process.exitCode = undefined;
});
const run = (...args: string[]) => main(['node', 'allocsim', ...args]);

describe('allocsim CLI', () => {
  it('prints buddyinfo for a configured machine', async () => {
    expect(await run('buddyinfo', '--mem', '8G', '--cpus', '2')).toBe(0);
    expect(out).toMatch(/^Node 0, zone {3}Normal( +\d+ ){11}$/m);
  });

  it('prints zoneinfo, pagetypeinfo and meminfo, and JSON', async () => {
    expect(await run('zoneinfo', '--mem', '64M', '--kernel-image', '4M')).toBe(0);
    expect(out).toMatch(/pages free/);
    out = '';
    expect(await run('pagetypeinfo', '--mem', '64M', '--kernel-image', '4M', '--workload', 'kernel-mix', '--ops', '2000')).toBe(0);
    expect(out).toMatch(/^Page block order: 9$/m);
    out = '';
    expect(await run('meminfo', '--mem', '64M', '--kernel-image', '4M', '--json')).toBe(0);
    expect(JSON.parse(out)).toHaveProperty('pages.managedPages');
  });

  it('compares page policies side by side', async () => {
    expect(await run('compare', '--layer', 'page', '--mem', '64M', '--kernel-image', '4M', '--ops', '3000')).toBe(0);
    expect(out).toMatch(/buddy +firstfit/);
    expect(out).toMatch(/ops\/s/);
  });

  it('compares kmalloc, vmalloc and kvmalloc for large buffers under fragmentation', async () => {
    expect(await run('compare', '--layer', 'vmalloc', '--mem', '128M', '--kernel-image', '4M', '--ops', '200')).toBe(0);
    expect(out).toMatch(/^large buffers \(16 KiB-4 MiB\) after fragmenting: [\d,]+ pages free, largest free block order \d; 200 operations$/m);
    expect(out).toMatch(/ +kmalloc +vmalloc +kvmalloc\n/);
    expect(out).toMatch(/^failed under kmalloc, served here +- +[1-9][\d,]* +[1-9][\d,]*$/m);
    expect(out).toMatch(/^kernel page-table pages +1 +\d+ +\d+$/m);
  });

  it('prints /proc/vmallocinfo after the boot mix, and fuzzes vmalloc', async () => {
    expect(await run('vmallocinfo', '--mem', '128M', '--kernel-image', '4M', '--ops', '50', '--vmap', 'list')).toBe(0);
    expect(out).toMatch(/^0xffffc900[0-9a-f]{8}-0xffffc900[0-9a-f]{8} {3}20480 kernel_clone\+0xbf\/0x430 pages=4 vmalloc N0=4$/m);
    expect(out).toMatch(/^VmallocTotal: {3}34359738367 kB$/m);
    out = '';
    expect(await run('fuzz', '--layer', 'vmalloc', '--runs', '5', '--seed', '2')).toBe(0);
    expect(out).toMatch(/^vmalloc policy tree: 5 runs passed \(seed 2, [\d,]+ commands\)$/m);
    out = '';
    const dir = mkdtempSync(join(tmpdir(), 'allocsim-'));
    expect(await run('fuzz', '--mutant', 'B-20', '--runs', '20', '--out', join(dir, 'r.json'))).toBe(0);
    expect(out).toMatch(/^mutant B-20 \(vfree-leaks-pages\) caught after \d+ runs? by V2: /m);
    expect(JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'))).toMatchObject({ layer: 'vmalloc', mutant: 'B-20' });
  });

  it('compares slab policies side by side on every built-in workload', async () => {
    for (const w of ['kernel-mix', 'uniform-small', 'producer-consumer', 'burst-free']) {
      out = '';
      expect(await run('compare', '--workload', w, '--mem', '128M', '--kernel-image', '4M', '--ops', '3000', '--json')).toBe(0);
      const res = JSON.parse(out) as { policy: string; bytesAllocated: number; failedAllocs: number }[];
      expect(res.map((r) => r.policy)).toContain('slub');
      for (const r of res) expect(r.failedAllocs).toBe(0);
    }
  });

  it('prints slabinfo with extra caches and after a workload', async () => {
    expect(await run('slabinfo', '--mem', '128M', '--kernel-image', '4M', '--cache', 'my_obj:100:64:HWCACHE_ALIGN', '--workload', 'uniform-small', '--ops', '2000')).toBe(0);
    expect(out.split('\n')[0]).toBe('slabinfo - version: 2.1');
    expect(out).toMatch(/^my_obj +\d+ +\d+ +128 +32 +1 : tunables/m);
  });

  it('reads a config file and lets the command line win', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'allocsim-'));
    const f = join(dir, 'c.json');
    writeFileSync(f, JSON.stringify({ machine: { memBytes: 2 * 2 ** 30, cpus: 3 } }));
    expect(await run('zoneinfo', '--config', f, '--cpus', '2')).toBe(0);
    expect(out).toMatch(/cpu: 1\n/);
    expect(out).not.toMatch(/cpu: 2\n/);
  });

  it('writes a reproducer for a caught mutant and replays it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'allocsim-'));
    const f = join(dir, 'r.json');
    expect(await run('fuzz', '--mutant', 'B-01', '--runs', '20', '--out', f)).toBe(0);
    expect(out).toMatch(/caught after/);
    const repro = JSON.parse(readFileSync(f, 'utf8')) as { commands: unknown[]; mutant: string };
    expect(repro.mutant).toBe('B-01');
    out = '';
    // The mutant is still caught: the expected outcome, exit 0.
    expect(await run('fuzz', '--replay', f)).toBe(0);
    expect(out).toMatch(/caught again by B3: free block/);
  });

  it.each([
    [['buddyinfo', '--mem', 'lots'], /--mem expects a size/],
    [['buddyinfo', '--mem', '3M'], /invalid configuration: memory size/],
    [['buddyinfo', '--cpus', 'x'], /--cpus expects a non-negative integer/],
    [['zoneinfo', '--config', '/nonexistent.json'], /cannot read config file/],
    [['compare', '--layer', 'page', '--page', 'buddy,slob'], /unknown page policy 'slob'/],
    [['compare', '--slab', 'slub,nope'], /unknown slab policy 'nope'/],
    [['slabinfo', '--cache', 'bad'], /--cache bad: wrong number of fields/],
    [['slabinfo', '--cache', 'x:10:3'], /alignment 3 is not 0 or a power of two/],
    [['slabinfo', '--cache', 'x:0'], /size 0 is outside/],
    [['slabinfo', '--cache', 'x:10:8:BOGUS'], /unknown flag 'BOGUS'/],
    [['fuzz', '--replay', '/nonexistent.json'], /cannot read reproducer/],
  ])('turns bad input %j into one clear line and exit status 2', async (args, msg) => {
    expect(await run(...args)).toBe(2);
    expect(err).toMatch(msg);
    expect(err.trim().split('\n')).toHaveLength(1);
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
    expect(err).toMatch(/line 3/);
    err = '';
    out = '';
    expect(await run('replay', f, '--lenient', '--json', '--mem', '64M', '--kernel-image', '4M')).toBe(0);
    const j = JSON.parse(out) as { stats: { replayed: { kmalloc: number; kfree: number } } };
    expect(j.stats.replayed).toMatchObject({ kmalloc: 1, kfree: 1 });
  });

  it('lists scenarios, runs one with its report, and its control with none', async () => {
    expect(await run('scenario', '--list')).toBe(0);
    expect(out).toMatch(/^dev-kmalloc-wrong-free +seed /m);
    out = '';
    expect(await run('scenario', 'use-after-free-write')).toBe(0);
    expect(out).toMatch(/BUG uaf_cache \(Not tainted\): Poison overwritten/);
    out = '';
    expect(await run('scenario', 'double-free', '--control')).toBe(0);
    expect(out).toMatch(/no report/);
    expect(await run('scenario', 'nope')).toBe(2);
    expect(err).toMatch(/unknown scenario 'nope'/);
  });

  it('takes --slub-debug and --page-poison, and rejects a bad slub_debug', async () => {
    expect(await run('slabinfo', '--mem', '64M', '--kernel-image', '4M', '--slub-debug', 'FZPU,kmalloc-1k')).toBe(0);
    expect(out).toMatch(/^kmalloc-1k +0 +0 +3072 +10 +8 /m);
    out = '';
    expect(await run('buddyinfo', '--mem', '64M', '--kernel-image', '4M', '--page-poison')).toBe(0);
    expect(await run('slabinfo', '--slub-debug', 'Q')).toBe(2);
    expect(err).toMatch(/slub_debug=Q: unknown option 'Q'/);
  });

  it('rejects an unknown command with usage help', async () => {
    expect(await run('frobnicate')).not.toBe(0);
    expect(err).toMatch(/unknown command/);
  });

  it("malloc-fuzz (alias of 'fuzz --layer user'): a real policy runs clean, a mutant is caught (exit 0), the exit status reaches the caller", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'allocsim-'));
    expect(await run('malloc-fuzz', '--runs', '3', '--ops', '100')).toBe(0);
    expect(out).toMatch(/^user policy ptmalloc: 3 runs passed \(seed 1, [\d,]+ commands\)$/m);
    expect(err).toBe("allocsim: malloc-fuzz is now 'allocsim fuzz --layer user'\n");
    expect(await run('malloc-fuzz', '--mutant', 'B-22', '--runs', '3', '--out', join(dir, 'r.json'))).toBe(0);
    expect(out).toMatch(/^mutant B-22 \(no-footer\) caught after 1 run by /m);
  });

  it('replays a user trace given --malloc', async () => {
    expect(await run('replay', '--malloc', 'implicit', '--format', 'plain', '/dev/null')).toBe(0);
    expect(out).toMatch(/0 ops through implicit/);
  });
});
