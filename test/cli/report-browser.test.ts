/// <reference lib="dom" />
/**
 * The reports in a real browser: headless Chromium (the distribution's
 * package, `tools/system/ensure-packages.sh` installs it) driven by
 * playwright-core. Each report loads without a console error; every chart
 * has marks and names its series in its legend; the memory map's pixels have
 * the colour of the owner each frame had at that moment, worked out here
 * from a system run again to that moment; a screenshot of each report goes
 * to test-output/screenshots/ (ignored by git).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { main } from '../../src/cli/main.js';
import { createSystem, type System } from '../../src/system.js';
import { runSlabWorkload } from '../../src/harness/workloads/slab.js';
import { runPageWorkload } from '../../src/harness/workloads/page.js';
import { OWNER_MASK, OWNER_SHIFT, PG_BUDDY, PG_PCP, PG_RESERVED, Owner } from '../../src/machine/memmap.js';
import { pfnToVirt, type Pfn } from '../../src/interfaces/units.js';
import { captureStdio } from '../support/stdio.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = new URL('../../test-output/screenshots/', import.meta.url).pathname;
const io = captureStdio();
const tmp = mkdtempSync(join(tmpdir(), 'allocsim-browser-'));
const MACHINE = ['--mem', '64M', '--kernel-image', '4M', '--cpus', '2'];
const config = { machine: { memBytes: 64 * 2 ** 20, kernelImageBytes: 4 << 20, cpus: 2 }, debug: { checks: false, trace: false, cost: true } };
const OPS = 3000;

let browser: Browser;
beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run 'npm test' (its pretest installs it as root) or: sudo apt-get install -y --no-install-recommends chromium`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  mkdirSync(SHOTS, { recursive: true });
}, 30000);
afterAll(async () => {
  await browser?.close();
});

/** Generates a report in-process and opens it; returns the page and the console errors seen. */
async function open(name: string, args: readonly string[]): Promise<{ page: Page; errors: string[] }> {
  const out = join(tmp, `${name}.html`);
  expect(await main(['node', 'allocsim', 'report', ...args, '--out', out])).toBe(0);
  expect(io.err).toBe('');
  const page = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
  const errors: string[] = [];
  page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
  page.on('pageerror', (e) => void errors.push(String(e)));
  await page.goto(`file://${out}`);
  return { page, errors };
}

/** Every chart has drawn marks and its legend names the series it should. */
async function checkCharts(page: Page, policies: readonly string[], byPolicy: readonly string[]): Promise<void> {
  const charts = await page.$$eval('figure.chart', (figs) =>
    figs.map((f) => ({
      id: f.id,
      series: JSON.parse(f.getAttribute('data-series') ?? '[]') as string[],
      marks: [...f.querySelectorAll('svg .role-mark path')].filter((p) => (p.getAttribute('d') ?? '').length > 10).length,
      legend: [...f.querySelectorAll('svg .role-legend text')].map((t) => t.textContent ?? ''),
    })),
  );
  expect(charts.map((c) => c.id)).toEqual(expect.arrayContaining(byPolicy.map((id) => `chart-${id}`)));
  for (const c of charts) {
    expect({ id: c.id, marks: c.marks > 0 }).toEqual({ id: c.id, marks: true });
    for (const s of c.series) expect({ id: c.id, legend: c.legend.includes(s) ? s : c.legend }).toEqual({ id: c.id, legend: s });
    if (byPolicy.includes(c.id.slice(6))) {
      expect(c.series).toEqual(policies);
      expect(c.marks).toBeGreaterThanOrEqual(policies.length);
    }
  }
}

/** The owner name of a frame, worked out from struct page here (not by the report's code). */
function expectedOwner(sys: System, pfn: number): string {
  const mm = sys.machine.memmap;
  if (!sys.machine.layout.isRam(pfn)) return 'hole';
  // The free block or per-CPU block holding the frame: its head is the frame rounded down to the block's order.
  for (let o = 0; o <= 10; o++) {
    const head = pfn - (pfn % 2 ** o);
    const f = mm.flags[head]!;
    if (f & (PG_BUDDY | PG_PCP) && mm.order[head]! >= o && pfn < head + 2 ** mm.order[head]!) return f & PG_BUDDY ? `free, order ${mm.order[head]}` : 'free, per-CPU list';
  }
  const f = mm.flags[pfn]!;
  if (f & PG_RESERVED) {
    if (pfn >= 4096 && pfn < 4096 + 1024) return 'kernel image';
    return pfn >= mm.nrPages - (mm.nrPages * 64) / 4096 ? 'mem_map' : 'reserved';
  }
  const owner = (f & OWNER_MASK) >>> OWNER_SHIFT;
  // Held by no one and on no free list (first fit keeps no lists): free, in a block of some order.
  if (owner === Owner.NONE) return 'free, order *';
  if (owner === Owner.SLAB) {
    const id = sys.slab.cacheOf(pfnToVirt(pfn as Pfn));
    const geo = sys.slab.geometry(id);
    return `slab ${id === sys.slab.kmallocCache ? 'kmalloc' : sys.kmem.caches().find((c) => c.geometry === geo)!.name}`;
  }
  return ({ [Owner.PAGE_CLIENT]: 'page-layer client', [Owner.KMALLOC_LARGE]: 'kmalloc-large' } as Record<number, string>)[owner] ?? `owner ${owner}`;
}

/** Frames to sample: some of each kind the system has, spread over memory. */
function sampleFrames(sys: System): number[] {
  const mm = sys.machine.memmap;
  const byKind = new Map<string, number[]>();
  for (let p = 0; p < mm.nrPages; p += 7) {
    const k = expectedOwner(sys, p);
    const list = byKind.get(k) ?? [];
    if (list.length < 3) byKind.set(k, [...list, p]);
  }
  return [...byKind.values()].flat();
}

/** Each sampled frame's pixel in the end map of `policy` has its owner's legend colour. */
async function checkMap(page: Page, policy: string, sys: System): Promise<number> {
  await page.waitForSelector('body[data-maps-ready="1"]', { timeout: 10000 });
  const fig = page.locator(`figure.map[data-policy="${policy}"]`).last();
  expect(await fig.getAttribute('data-ops')).toBe(String(sys.machine.cost!.ops));
  const legend = await fig.locator('ul.legend li').evaluateAll((lis) => Object.fromEntries(lis.map((li) => [li.childNodes[1]!.textContent!.trim(), getComputedStyle(li.querySelector('.sw')!).backgroundColor])));
  // The canvas rows: pageblock numbers, or −n for n folded pageblocks that must all be one free order-10 block.
  const rows = await page.evaluate((id: string) => (JSON.parse(document.getElementById('map-data')!.textContent) as { id: string; rows: number[] }[]).find((m) => m.id === id)!.rows, (await fig.locator('canvas').getAttribute('id'))!);
  let pb = 0;
  for (const r of rows) {
    if (r >= 0) {
      pb = r + 1;
      continue;
    }
    for (let p = pb * 512; p < (pb - r) * 512; p += 97) expect({ pfn: p, owner: expectedOwner(sys, p) }).toEqual({ pfn: p, owner: 'free, order 10' });
    pb -= r;
  }
  const frames = sampleFrames(sys).filter((p) => rows.includes(Math.floor(p / 512)));
  const pixels = await fig.locator('canvas').evaluate(
    (cv: HTMLCanvasElement, [ps, rs]: [number[], number[]]) => ps.map((p) => [...cv.getContext('2d')!.getImageData(p % cv.width, rs.indexOf(Math.floor(p / cv.width)), 1, 1).data.slice(0, 3)]),
    [frames, rows] as [number[], number[]],
  );
  frames.forEach((p, i) => {
    const owner = expectedOwner(sys, p);
    const rgb = `rgb(${pixels[i]!.join(', ')})`;
    const want = owner === 'free, order *' ? (Object.entries(legend).some(([k, v]) => k.startsWith('free, order ') && v === rgb) ? rgb : 'no free-order colour') : legend[owner];
    expect({ pfn: p, owner, rgb: want }).toEqual({ pfn: p, owner, rgb });
  });
  return frames.length;
}

describe('reports in headless Chromium', () => {
  it('slab comparison: loads cleanly, charts have their series, the memory map shows each frame\'s owner', async () => {
    const policies = ['slub', 'slab', 'slob'];
    const { page, errors } = await open('slab', [...MACHINE, '--slab', policies.join(','), '--ops', String(OPS)]);
    await checkCharts(page, policies, ['memory', 'slab-pages', 'partial-slabs', 'free-pages', 'largest-free', 'unusable-3', 'unusable-9', 'cost-memLines']);
    let sampled = 0;
    for (const slab of policies) {
      const sys = createSystem({ ...config, policies: { slab } });
      runSlabWorkload(sys, 'kernel-mix', OPS, sys.config.seed, true);
      sampled += await checkMap(page, slab, sys);
    }
    expect(sampled).toBeGreaterThan(30);
    // Sorting a slabinfo table by pages puts the largest first on a second click.
    const table = page.locator('table.slabinfo').first();
    await table.locator('th', { hasText: /^pages$/ }).click();
    await table.locator('th', { hasText: /^pages$/ }).click();
    const pages = await table.locator('tbody tr td:nth-child(9)').evaluateAll((tds) => tds.map((t) => Number((t as HTMLElement).dataset.v)));
    expect(pages).toEqual([...pages].sort((a, b) => b - a));
    await page.screenshot({ path: join(SHOTS, 'report-slab.png'), fullPage: true });
    expect(errors).toEqual([]);
  }, 60000);

  it('page comparison: loads cleanly, with its charts and maps', async () => {
    const policies = ['buddy', 'firstfit'];
    const { page, errors } = await open('page', [...MACHINE, '--layer', 'page', '--page', policies.join(','), '--ops', String(OPS), '--workload', 'random-orders']);
    await checkCharts(page, policies, ['memory', 'free-pages', 'largest-free', 'unusable-3', 'unusable-6', 'unusable-9']);
    for (const p of policies) {
      const sys = createSystem({ ...config, policies: { page: p } });
      runPageWorkload(sys, 'random-orders', OPS, sys.config.seed, true);
      await checkMap(page, p, sys);
    }
    await page.screenshot({ path: join(SHOTS, 'report-page.png'), fullPage: true });
    expect(errors).toEqual([]);
  }, 60000);

  it('vmalloc and user comparisons: load cleanly, every chart drawn, a map per column', async () => {
    for (const [name, args, columns] of [
      ['vmalloc', ['--mem', '128M', '--kernel-image', '4M', '--cpus', '2', '--layer', 'vmalloc', '--ops', '100'], ['kmalloc', 'vmalloc', 'kvmalloc']],
      ['user', [...MACHINE, '--layer', 'user', '--ops', String(OPS)], ['ptmalloc', 'implicit', 'segregated']],
    ] as const) {
      const { page, errors } = await open(name, args);
      await checkCharts(page, columns, []);
      await page.waitForSelector('body[data-maps-ready="1"]', { timeout: 10000 });
      for (const c of columns) expect({ c, maps: await page.locator(`figure.map[data-policy="${c}"]`).count() }).toEqual({ c, maps: 3 });
      await page.screenshot({ path: join(SHOTS, `report-${name}.png`), fullPage: true });
      expect(errors).toEqual([]);
    }
  }, 60000);

  it('fuzz campaign: findings and the coverage curve', async () => {
    const dir = join(tmp, 'findings');
    expect(await main(['node', 'allocsim', 'fuzz', '--mutant', 'B-01', '--keep-going', '--runs', '50', '--workers', '1', '--no-progress', '--out', dir])).toBe(0);
    io.out = '';
    const { page, errors } = await open('fuzz', ['--findings', dir]);
    await checkCharts(page, ['page mutant B-01'], ['coverage', 'failures']);
    expect(await page.locator('table.findings tbody tr').count()).toBeGreaterThan(0);
    expect(await page.locator('table.findings').textContent()).toMatch(/allocsim fuzz --replay .*page-B3-[0-9a-f]{12}\.json/);
    await page.screenshot({ path: join(SHOTS, 'report-fuzz.png'), fullPage: true });
    expect(errors).toEqual([]);
  }, 60000);
});
