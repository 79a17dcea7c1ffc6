/** /proc formats checked against the files captured from a real Linux 6.1 boot (data/linux-6.1-qemu-smp4, see data/README.md). */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { createSystem } from '../../src/system.js';
import { buddyinfo, meminfo, pagetypeinfo, zoneinfo } from '../../src/proc/page.js';
import { runPageWorkload } from '../../src/harness/workloads/page.js';

const DATA = new URL('../../data/linux-6.1-qemu-smp4/', import.meta.url);
const real = (f: string): string => readFileSync(new URL(f, DATA), 'utf8');
/** A line's shape: digits folded, so formats compare without values. */
const shape = (line: string): string => line.replace(/ *\d+/g, ' N');

const sys2g = () => {
  const sys = createSystem({ machine: { memBytes: 2 * 2 ** 30, cpus: 4 } });
  runPageWorkload(sys, 'kernel-mix', 5000, 1, true);
  return sys;
};

describe('/proc page-allocator files', () => {
  it('prints buddyinfo lines of the Linux form, one per populated zone', () => {
    const big = createSystem({ machine: { memBytes: 8 * 2 ** 30, cpus: 2 } });
    const lines = buddyinfo(big.pages).split('\n').filter(Boolean);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(/^Node 0, zone {3}Normal( +\d+ ){11}$/);
    expect(lines[0]).toMatch(/^Node 0, zone {6}DMA( {1,6}\d+ ){11}$/);
  });

  it('matches the shapes of the real buddyinfo, pagetypeinfo and zoneinfo', () => {
    const sys = sys2g();
    expect(buddyinfo(sys.pages).split('\n').map(shape)).toEqual(real('buddyinfo.txt').split('\n').map(shape));
    expect(pagetypeinfo(sys.pages).split('\n').map(shape)).toEqual(real('pagetypeinfo.txt').split('\n').map(shape));
    // zoneinfo: 6.8 adds pgdemote_* per-node lines that the 6.1 capture lacks; otherwise line for line.
    const ours = zoneinfo(sys.pages, sys.machine).split('\n').filter((l) => !/pgdemote_/.test(l)).map(shape);
    expect(ours).toEqual(real('zoneinfo.txt').split('\n').map(shape));
  });

  it('prints meminfo with the real labels in the real order and widths', () => {
    const text = meminfo(sys2g().pages).split('\n');
    const want = real('meminfo.txt').split('\n');
    expect(text.map(shape)).toEqual(want.map(shape));
    // Right-aligned value columns: ' kB' starts where the kernel puts it.
    expect(text.map((l) => l.indexOf(' kB'))).toEqual(want.map((l) => l.indexOf(' kB')));
  });

  it('prints the same zone sizes as the real 2 GiB boot for DMA', () => {
    const z = zoneinfo(createSystem({ machine: { memBytes: 2 * 2 ** 30, cpus: 4 } }).pages, createSystem({ machine: { memBytes: 2 * 2 ** 30, cpus: 4 } }).machine);
    expect(z).toMatch(/Node 0, zone {6}DMA\n {2}per-node stats/);
    expect(z).toMatch(/spanned {2}4095\n {8}present {2}3998\n {8}managed {2}3840/);
    expect(z).toMatch(/start_pfn: {11}1\n/);
  });
});
