/**
 * The screen of `allocsim top`: a pure function from a {@link LiveSnapshot}
 * to lines of text, laid out like slabtop(1) — a header, the slabtop
 * summary, the page and slab counters, the zones' free blocks per order with
 * the unusable free space index, the cost table, then as many caches as the
 * height leaves, sorted by a slabtop key. No escape codes: the terminal
 * driver (`./top.ts`) positions the lines; plain output prints them as
 * they are.
 */

import { unusableFreeIndex } from '../proc/extfrag.js';
import type { CostCounterName, CostRow } from '../interfaces/cost.js';
import { NR_PAGE_ORDERS } from '../interfaces/units.js';
import type { LiveCache, LiveSnapshot, LiveZone } from '../harness/live.js';
import { formatMachine } from './compare.js';
import { formatElapsed } from './progress.js';
import { formatCount, formatDecimal, formatPercent } from './format.js';

/** A slabtop sort key and what it sorts by. */
interface SortKey {
  readonly label: string;
  /** The value sorted on, largest first (null: by name, A to Z). */
  readonly value: ((c: LiveCache) => number) | null;
}

const cacheBytes = (c: LiveCache): number => c.pages * 4096;
const use = (c: LiveCache): number => (c.objs ? c.active / c.objs : 0);

/** The sort keys, slabtop's letters (`man slabtop`). */
export const TOP_SORT_KEYS = {
  a: { label: 'active objects', value: (c) => c.active },
  b: { label: 'objects per slab', value: (c) => c.objPerSlab },
  c: { label: 'cache size', value: cacheBytes },
  l: { label: 'slabs', value: (c) => c.slabs },
  n: { label: 'name', value: null },
  o: { label: 'objects', value: (c) => c.objs },
  p: { label: 'pages per slab', value: (c) => c.pagesPerSlab },
  s: { label: 'object size', value: (c) => c.objSize },
  u: { label: 'cache utilization', value: use },
} as const satisfies Record<string, SortKey>;

/** A sort key letter. */
export type TopSortKey = keyof typeof TOP_SORT_KEYS;

/** True when `k` is a sort key letter. */
export function isTopSortKey(k: string): k is TopSortKey {
  return Object.hasOwn(TOP_SORT_KEYS, k);
}

/** How the screen is drawn. */
export interface TopViewOpts {
  /** Width: longer lines are cut (Infinity: never). */
  readonly columns: number;
  /** Height: caches fill what the other sections leave (Infinity: every cache). */
  readonly rows: number;
  /** Most caches listed, whatever the height. @defaultValue Infinity */
  readonly maxCaches?: number;
  readonly sort: TopSortKey;
  /** Orders whose unusable free space index is shown (each in 1..10). */
  readonly fragOrders: readonly number[];
  /** The run is paused by the user. */
  readonly paused?: boolean;
  /** The keys line (a terminal shows it; plain output does not). */
  readonly keys?: string;
}

/**
 * Unusable free space index of `order` as a fraction: Linux's
 * `unusable_free_index` (src/proc/extfrag.ts, thousandths rounded down as
 * debugfs prints them), 1 when nothing is free.
 *
 * @param nrFree - free blocks per order
 */
export function unusableIndex(nrFree: readonly number[], order: number): number {
  return unusableFreeIndex(nrFree, order) / 1000;
}

/** `12.34K` (KiB with two decimals), as slabtop prints sizes. */
const kib = (bytes: number): string => `${(bytes / 1024).toFixed(2)}K`;

function summaryLines(caches: readonly LiveCache[]): string[] {
  let active = 0;
  let objs = 0;
  let slabs = 0;
  let activeSlabs = 0;
  let activeCaches = 0;
  let activeBytes = 0;
  let totalBytes = 0;
  let min = Infinity;
  let max = 0;
  for (const c of caches) {
    active += c.active;
    objs += c.objs;
    slabs += c.slabs;
    if (c.active > 0) {
      activeCaches++;
      activeSlabs += c.slabs;
    }
    activeBytes += c.active * c.objSize;
    totalBytes += c.objs * c.objSize;
    min = Math.min(min, c.objSize);
    max = Math.max(max, c.objSize);
  }
  const pct = (a: number, t: number): string => (t ? formatPercent(a / t) : formatPercent(0));
  const avg = objs ? totalBytes / objs : 0;
  return [
    ` Active / Total Objects (% used)    : ${active} / ${objs} (${pct(active, objs)})`,
    ` Active / Total Slabs (% used)      : ${activeSlabs} / ${slabs} (${pct(activeSlabs, slabs)})`,
    ` Active / Total Caches (% used)     : ${activeCaches} / ${caches.length} (${pct(activeCaches, caches.length)})`,
    ` Active / Total Size (% used)       : ${kib(activeBytes)} / ${kib(totalBytes)} (${pct(activeBytes, totalBytes)})`,
    ` Minimum / Average / Maximum Object : ${kib(caches.length ? min : 0)} / ${kib(avg)} / ${kib(max)}`,
  ];
}

function countersLines(s: LiveSnapshot): string[] {
  const p = s.pageStats;
  const sl = s.slabStats;
  const pcpHits = p.allocs ? ` (${formatPercent(p.pcpHits / p.allocs)} per-CPU)` : '';
  const fast = sl.allocs ? ` (${formatPercent(sl.fastAllocs / sl.allocs)} fast path)` : '';
  return [
    ` Pages: ${formatCount(p.freePages)} free, ${formatCount(p.pcpPages)} per-CPU, ${formatCount(p.allocatedPages)} held; ${formatCount(p.allocs)} allocs${pcpHits}, ${formatCount(p.failures)} failed; ${formatCount(p.splits)} splits, ${formatCount(p.merges)} merges`,
    ` Slab:  ${formatCount(sl.allocs)} allocs${fast}, ${formatCount(sl.frees)} frees; ${formatCount(sl.slabsCreated)} slabs made, ${formatCount(sl.slabsFreed)} freed; ${formatCount(sl.pageAllocatorCalls)} page-allocator calls`,
  ];
}

const r = (text: string, w: number): string => text.padStart(w);

/** Width of the zone label (`Node 0, zone  Normal`). */
const LABEL = 20;

function zoneLines(zones: readonly LiveZone[], fragOrders: readonly number[]): string[] {
  const orders = Array.from({ length: NR_PAGE_ORDERS }, (_, o) => r(String(o), 6)).join(' ');
  const head = `${'FREE BLOCKS BY ORDER'.padEnd(LABEL)} ${orders}${fragOrders.map((o) => ` unusable@${o}`).join('')}`;
  const total = Array.from({ length: NR_PAGE_ORDERS }, (_, o) => zones.reduce((n, z) => n + (z.nrFree[o] ?? 0), 0));
  const line = (label: string, nrFree: readonly number[]): string => `${label.padEnd(LABEL)} ${nrFree.map((n) => r(String(n), 6)).join(' ')}${fragOrders.map((o) => r(formatPercent(unusableIndex(nrFree, o)), ` unusable@${o}`.length)).join('')}`;
  const out = [head, ...zones.map((z) => line(`Node ${z.node}, zone ${r(z.name, 7)}`, z.nrFree))];
  if (zones.length > 1) out.push(line('all zones', total));
  return out;
}

/** The cost columns: heading and value from a row (means per operation); LOCKS sums the lock classes. */
const COST_COLUMNS: readonly (readonly [string, (row: CostRow) => number])[] = (() => {
  const mean = (row: CostRow, c: CostCounterName): number => row.counters[c].mean;
  const locks: readonly CostCounterName[] = ['zoneLock', 'pcpLock', 'listLock', 'slobLock', 'vmapLock'];
  return [
    ['MEMLINES', (row) => mean(row, 'memLines')],
    ['STRUCTLINES', (row) => mean(row, 'structLines')],
    ['LOCKS', (row) => locks.reduce((n, c) => n + mean(row, c), 0)],
    ['IRQOFF', (row) => mean(row, 'irqOff')],
    ['CMPXCHG', (row) => mean(row, 'cpuCmpxchg')],
    ['ATOMICS', (row) => mean(row, 'atomics')],
    ['IPIS', (row) => mean(row, 'ipis')],
    ['PAGECALLS', (row) => mean(row, 'pageAllocCalls')],
    ['REMOTE', (row) => mean(row, 'remoteFrees')],
  ];
})();

function costLines(rows: readonly CostRow[]): string[] {
  const head = `${'COST, MEAN PER OP'.padEnd(17)} ${r('COUNT', 11)}${COST_COLUMNS.map(([h]) => r(h, Math.max(h.length, 7) + 1)).join('')}`;
  if (rows.length === 0) return [head, ' (no operation yet)'];
  return [head, ...rows.map((row) => `${row.op.padEnd(17)} ${r(formatCount(row.count), 11)}${COST_COLUMNS.map(([h, f]) => r(formatDecimal(f(row), 2), Math.max(h.length, 7) + 1)).join('')}`)];
}

/** The caches, sorted by `key` (ties: by name). */
export function sortCaches(caches: readonly LiveCache[], key: TopSortKey): LiveCache[] {
  const value = TOP_SORT_KEYS[key].value;
  const byName = (a: LiveCache, b: LiveCache): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return [...caches].sort(value === null ? byName : (a, b) => value(b) - value(a) || byName(a, b));
}

/** slabtop's column heads. */
export const CACHE_HEAD = '  OBJS ACTIVE  USE OBJ SIZE  SLABS OBJ/SLAB CACHE SIZE NAME';

/** One cache in slabtop's columns. */
export function cacheLine(c: LiveCache): string {
  return `${r(String(c.objs), 6)} ${r(String(c.active), 6)} ${r(`${Math.floor(use(c) * 100)}%`, 4)} ${r(kib(c.objSize), 8)} ${r(String(c.slabs), 6)} ${r(String(c.objPerSlab), 8)} ${r(`${(cacheBytes(c) / 1024).toFixed(0)}K`, 10)} ${c.name}`;
}

/** The header's two lines. */
function headerLines(s: LiveSnapshot, view: TopViewOpts): string[] {
  const state = s.finished ? 'finished' : view.paused ? 'paused' : 'running';
  const done = s.opsTotal === null ? `${formatCount(s.opsDone)} ops` : `${formatCount(s.opsDone)} / ${formatCount(s.opsTotal)} ops (${formatPercent(s.opsTotal ? Math.min(s.opsDone / s.opsTotal, 1) : 1)})`;
  return [
    `allocsim top: ${formatMachine(s.machine, `${s.layer} policy ${s.policy}, ${s.run}`)}`,
    `${state}: ${done}, ${formatCount(s.opsPerSec)} ops/s, ${formatElapsed(s.elapsedMs)}; sort: ${TOP_SORT_KEYS[view.sort].label}${view.keys ? `  ${view.keys}` : ''}`,
  ];
}

/**
 * The screen for `s`: at most `view.rows` lines, none longer than
 * `view.columns`.
 */
export function renderTop(s: LiveSnapshot, view: TopViewOpts): string[] {
  const fixed = [...headerLines(s, view), ...summaryLines(s.caches), ...countersLines(s), '', ...zoneLines(s.zones, view.fragOrders), '', ...costLines(s.cost), '', CACHE_HEAD];
  const room = Math.max(0, Math.min(view.maxCaches ?? Infinity, view.rows - fixed.length));
  const caches = sortCaches(s.caches, view.sort).slice(0, room).map(cacheLine);
  const lines = [...fixed, ...caches].slice(0, view.rows);
  return Number.isFinite(view.columns) ? lines.map((l) => l.slice(0, Math.max(0, view.columns))) : lines;
}
