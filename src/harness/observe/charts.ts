/**
 * The report's charts: Vega-Lite specifications built from the samplers'
 * tables, rendered to SVG on the server with Vega (`View.toSVG()`, no
 * canvas), so the report is one self-contained file with no script library
 * and no network. Every policy's series share the axes of a chart; charts
 * coloured by policy carry the policy names in their legend.
 */

import { View, parse } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { COST_COUNTERS } from '../../interfaces/cost.js';
import { MIGRATETYPE_NAMES, MIGRATE_TYPES } from '../../interfaces/gfp.js';
import { NR_PAGE_ORDERS } from '../../interfaces/units.js';
import { Col, type Sampler } from './sampler.js';

/** Most points a series is drawn with (longer series are thinned evenly, the last point kept). */
export const MAX_POINTS = 400;
/** Caches drawn in the per-cache chart (the largest at their peak), per policy. */
const TOP_CACHES = 8;
/** Orders the unusable-index chart shows. */
const UNUSABLE_ORDERS = [3, 6, 9] as const;

/** One policy's samples. */
export interface ChartRun {
  readonly policy: string;
  readonly sampler: Sampler;
}

/** A chart ready to embed: its id, title, what it shows, its SVG and the series its legend must name. */
export interface Chart {
  readonly id: string;
  readonly title: string;
  readonly caption: string;
  readonly svg: string;
  /** Legend labels (policy names for charts coloured by policy). */
  readonly series: readonly string[];
}

type Row = Record<string, string | number>;

/** The row indices a series is drawn with. */
function thinned(n: number): number[] {
  if (n <= MAX_POINTS) return Array.from({ length: n }, (_, i) => i);
  const step = (n - 1) / (MAX_POINTS - 1);
  return Array.from({ length: MAX_POINTS }, (_, i) => Math.round(i * step));
}

/** Rows `{ops, policy, [key]: value, ...}` for each run, from `value(run, row)`. */
function rowsOf(runs: readonly ChartRun[], fields: Record<string, (s: Sampler, i: number) => number | string>): Row[] {
  const out: Row[] = [];
  for (const r of runs) {
    const ops = r.sampler.table.get(Col.OPS)!;
    for (const i of thinned(r.sampler.table.length)) {
      const row: Row = { ops: ops[i]!, policy: r.policy };
      for (const [k, f] of Object.entries(fields)) row[k] = f(r.sampler, i);
      out.push(row);
    }
  }
  return out;
}

const col = (s: Sampler, name: string, i: number): number => s.table.get(name)?.[i] ?? 0;

const WIDTH = 620;
const HEIGHT = 170;
const OPS_X = { field: 'ops', type: 'quantitative', title: 'operations' } as const;

function policyColor(runs: readonly ChartRun[]): object {
  return { field: 'policy', type: 'nominal', title: 'policy', scale: { domain: runs.map((r) => r.policy) } };
}

/** A line chart of one or more measures per policy. */
function lineChart(runs: readonly ChartRun[], y: string, yTitle: string, fields: Record<string, (s: Sampler, i: number) => number>, dash?: string, domain?: readonly [number, number]): TopLevelSpec {
  const data = rowsOf(runs, fields);
  return {
    width: WIDTH,
    height: HEIGHT,
    data: { values: data },
    ...(dash ? { transform: [{ fold: Object.keys(fields), as: [dash, y] }] } : {}),
    mark: { type: 'line', strokeWidth: 1.5 },
    encoding: {
      x: OPS_X,
      y: { field: y, type: 'quantitative', title: yTitle, ...(domain ? { scale: { domain: [...domain] } } : {}) },
      color: policyColor(runs),
      ...(dash ? { strokeDash: { field: dash, type: 'nominal', title: dash } } : {}),
    },
  };
}

/** A stacked area per policy (one panel each, shared axes), coloured by `series`. */
function stackedPanels(runs: readonly ChartRun[], names: readonly string[], value: (s: Sampler, name: string, i: number) => number, series: string, yTitle: string): TopLevelSpec {
  const data: Row[] = [];
  for (const r of runs) {
    const ops = r.sampler.table.get(Col.OPS)!;
    for (const i of thinned(r.sampler.table.length)) for (const n of names) data.push({ ops: ops[i]!, policy: r.policy, [series]: n, v: value(r.sampler, n, i) });
  }
  return {
    data: { values: data },
    facet: { column: { field: 'policy', type: 'nominal', title: null, sort: runs.map((r) => r.policy) } },
    spec: {
      width: Math.max(180, Math.floor(WIDTH / runs.length) - 20),
      height: HEIGHT,
      mark: { type: 'area', interpolate: 'step-after' },
      encoding: {
        x: OPS_X,
        y: { field: 'v', type: 'quantitative', stack: 'zero', title: yTitle },
        color: { field: series, type: 'nominal', title: series, scale: { domain: [...names] } },
        order: { field: series, sort: 'ascending' },
      },
    },
    resolve: { scale: { y: 'shared' } },
  };
}

/** Renders a Vega-Lite spec to SVG text. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const vg = compile({ ...spec, background: 'white', config: { font: 'sans-serif', view: { stroke: '#ddd' }, axis: { labelFontSize: 10, titleFontSize: 11 }, legend: { labelFontSize: 10, labelLimit: 0 } } }).spec;
  const view = new View(parse(vg), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Which charts apply: the layer decides whether slab charts are drawn. */
export interface ChartOpts {
  readonly slab: boolean;
}

/** Builds and renders every chart for the runs. */
export async function buildCharts(runs: readonly ChartRun[], opts: ChartOpts): Promise<Chart[]> {
  const policies = runs.map((r) => r.policy);
  const MiB = 2 ** 20;
  const specs: (Omit<Chart, 'svg'> & { spec: TopLevelSpec })[] = [];
  const add = (id: string, title: string, caption: string, spec: TopLevelSpec, series: readonly string[] = policies): void => {
    specs.push({ id, title, caption, spec, series });
  };
  add(
    'memory',
    'Memory requested vs held',
    'MiB the clients asked for and hold (requested) against what the layer holds to serve them (held); the gap is overhead and fragmentation.',
    lineChart(runs, 'MiB', 'MiB', { requested: (s, i) => col(s, Col.REQUESTED, i) / MiB, held: (s, i) => col(s, Col.HELD, i) / MiB }, 'measure'),
  );
  if (opts.slab) {
    add('slab-pages', 'Slab pages', 'Pages held by the slab layer (slabs and large kmallocs), as /proc/meminfo Slab.', lineChart(runs, 'pages', 'pages', { pages: (s, i) => col(s, Col.SLAB_PAGES, i) }));
    add('partial-slabs', 'Partial slabs', 'Slabs on partial lists (node and per-CPU), summed over caches.', lineChart(runs, 'slabs', 'slabs', { slabs: (s, i) => col(s, Col.PARTIAL_SLABS, i) }));
    const caches = topCaches(runs);
    if (caches.length) add('cache-pages', 'Slab pages per cache', `Pages held by the ${caches.length} caches with most pages at their peak; one panel per policy.`, stackedPanels(runs, caches, (s, n, i) => col(s, Col.cache(n), i), 'cache', 'pages'), caches);
  }
  add('free-pages', 'Free pages', 'Pages on the buddy free lists (per-CPU lists not counted, as NR_FREE_PAGES).', lineChart(runs, 'pages', 'pages', { pages: (s, i) => col(s, Col.FREE_PAGES, i) }));
  add('largest-free', 'Largest free block', 'The highest order with a free block, all zones.', lineChart(runs, 'order', 'order', { order: (s, i) => col(s, Col.LARGEST_FREE_ORDER, i) }));
  const orderNames = Array.from({ length: NR_PAGE_ORDERS }, (_, o) => `order ${o}`);
  add(
    'free-by-order',
    'Free pages by order',
    'Free pages in blocks of each order, all zones and migrate types; one panel per policy.',
    stackedPanels(runs, orderNames, (s, n, i) => sumFree(s, i, orderNames.indexOf(n), -1), 'order', 'pages'),
    orderNames,
  );
  add(
    'free-by-type',
    'Free pages by migrate type',
    'Free pages on each migrate type\u2019s lists, all zones and orders; one panel per policy.',
    stackedPanels(runs, MIGRATETYPE_NAMES.slice(0, MIGRATE_TYPES), (s, n, i) => sumFree(s, i, -1, MIGRATETYPE_NAMES.indexOf(n as (typeof MIGRATETYPE_NAMES)[number])), 'migrate type', 'pages'),
    MIGRATETYPE_NAMES.slice(0, MIGRATE_TYPES),
  );
  for (const o of UNUSABLE_ORDERS) {
    add(
      `unusable-${o}`,
      `Unusable free space index, order ${o}`,
      `Share of free memory in blocks smaller than order ${o} (Linux's unusable_free_index over all zones; /sys/kernel/debug/extfrag/unusable_index per zone): 0 none, 1 all.`,
      lineChart(runs, 'index', 'index', { index: (s, i) => col(s, Col.unusable(o), i) }, undefined, [0, 1]),
    );
  }
  if (runs.some((r) => (r.sampler.table.get(Col.PAGE_TABLE_PAGES) ?? []).some((v) => v > 0))) {
    add('page-tables', 'Page-table pages', 'Pages holding page tables: the processes\u2019 and the vmalloc space\u2019s.', lineChart(runs, 'pages', 'pages', { pages: (s, i) => col(s, Col.PAGE_TABLE_PAGES, i) }));
  }
  for (const name of COST_COUNTERS) {
    if (!runs.some((r) => col(r.sampler, Col.cost(name), r.sampler.table.length - 1) > 0)) continue;
    add(`cost-${name}`, `Cost: ${name} per operation`, `Cost counter ${name} per operation over each sampling interval (see the cost table).`, lineChart(runs, name, `${name} / op`, { [name]: (s, i) => perOp(s, Col.cost(name), i) }));
  }
  return Promise.all(specs.map(async (c) => ({ id: c.id, title: c.title, caption: c.caption, series: c.series, svg: await renderSvg(c.spec) })));
}

/** Free pages of `order` (−1: all) on `mt`'s lists (−1: all) at row `i`. */
function sumFree(s: Sampler, i: number, order: number, mt: number): number {
  let sum = 0;
  for (let o = 0; o < NR_PAGE_ORDERS; o++) {
    if (order >= 0 && o !== order) continue;
    for (let m = 0; m < MIGRATE_TYPES; m++) if (mt < 0 || m === mt) sum += col(s, Col.free(o, m), i);
  }
  return sum;
}

/** A running total's increase per operation since the previous row. */
function perOp(s: Sampler, name: string, i: number): number {
  if (i === 0) return 0;
  const ops = s.table.get(Col.OPS)!;
  const d = ops[i]! - ops[i - 1]!;
  return d > 0 ? (col(s, name, i) - col(s, name, i - 1)) / d : 0;
}

/** The caches with the most pages at their peak, over every run. */
function topCaches(runs: readonly ChartRun[]): string[] {
  const peak = new Map<string, number>();
  for (const r of runs) {
    for (const n of r.sampler.table.names()) {
      if (!n.startsWith('cache:')) continue;
      const m = Math.max(0, ...r.sampler.table.get(n)!);
      peak.set(n.slice(6), Math.max(peak.get(n.slice(6)) ?? 0, m));
    }
  }
  return [...peak]
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, TOP_CACHES)
    .map(([k]) => k);
}
