/**
 * The report page: one self-contained HTML file (inline CSS, inline SVG
 * charts, a small inline script for the memory maps, sortable tables and
 * hover details; no network, no library loaded by the page). The same input
 * gives the same bytes: nothing in it depends on the time it was written.
 */

import { deflateRawSync } from 'node:zlib';
import { COST_COUNTERS, type CostRow } from '../../interfaces/cost.js';
import type { CacheInfo } from '../../interfaces/slab.js';
import { MAX_PAGE_ORDER, PAGEBLOCK_NR_PAGES } from '../../interfaces/units.js';
import { MapClass } from './memory-map.js';
import { buildCharts, type Chart } from './charts.js';
import type { Sampler } from './sampler.js';

/** One policy's run, as the report shows it. */
export interface ReportRun {
  readonly policy: string;
  readonly sampler: Sampler;
  /** The caches at the end of the run (the slabinfo table); absent for layers without slab caches of interest. */
  readonly caches?: readonly CacheInfo[];
  /** The cost table (`sys.machine.cost.rows()`). */
  readonly cost: readonly CostRow[];
}

/** What a report says about how it was made: label and value, in order (machine, workload, seed, policies, version, command …). */
export type ReportFacts = readonly (readonly [label: string, value: string])[];

/** A comparison report's content. */
export interface ReportDoc {
  readonly title: string;
  readonly facts: ReportFacts;
  /** The comparison table as `compare` prints it. */
  readonly summary?: string;
  readonly runs: readonly ReportRun[];
  /** Draw the slab layer's charts and tables. */
  readonly slab: boolean;
}

/** Escapes text for HTML. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Frames per row of a memory map: one pageblock. */
export const MAP_WIDTH = PAGEBLOCK_NR_PAGES;

const FIXED_COLORS: Readonly<Record<string, string>> = {
  'free, per-CPU list': '#b8e0d2',
  hole: '#f2f2f2',
  'kernel image': '#222222',
  mem_map: '#555555',
  reserved: '#8a8a8a',
  'kmalloc-large': '#d62728',
  'page table': '#9467bd',
  vmalloc: '#e377c2',
  user: '#8c564b',
  'page-layer client': '#1f77b4',
  metadata: '#6b6b9a',
  other: '#bcbd22',
  'slab, other caches': '#ff9896',
};

const hex2 = (v: number): string => Math.round(Math.max(0, Math.min(255, v))).toString(16).padStart(2, '0');

function hsl(h: number, s: number, l: number): string {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number): number => {
    const k = (n + h / 30) % 12;
    return l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
  };
  return `#${hex2(f(0) * 255)}${hex2(f(8) * 255)}${hex2(f(4) * 255)}`;
}

/**
 * The colour of a map class, by name, so a cache has one colour in every
 * map: free blocks in greens (darker for higher orders), fixed owners in
 * fixed colours, slab caches in hues away from the greens picked by a hash
 * of the name.
 */
export function classColor(name: string): string {
  if (name.startsWith('free, order ')) {
    const o = Number(name.slice(12));
    return hsl(130, 0.55, 0.85 - o * 0.055);
  }
  const fixed = FIXED_COLORS[name];
  if (fixed) return fixed;
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619) >>> 0;
  // Hues 170..450 (mod 360): blues, purples, reds, oranges, yellows — never the free greens.
  const hue = (170 + (h % 280)) % 360;
  const light = [0.42, 0.55, 0.68][(h >>> 12) % 3]!;
  return hsl(hue, 0.7, light);
}

/** Counts frames per class. */
function classCounts(classes: Uint8Array, n: number): number[] {
  const c = new Array<number>(n).fill(0);
  for (let i = 0; i < classes.length; i++) c[classes[i]!]!++;
  return c;
}

/**
 * The canvas rows of the maps: pageblock numbers, with every run of two or
 * more pageblocks that are a single free order-10 block in every map of the
 * report folded into one row holding −(the run's length). A small workload
 * on a large machine touches a thin band of memory; folding shows that band
 * instead of a field of green. Every map of the report shares the rows, so
 * the maps stay comparable pixel for pixel.
 */
export function mapRows(maps: readonly { classes: Uint8Array }[]): number[] {
  const frames = maps[0]?.classes.length ?? 0;
  const nRows = Math.ceil(frames / MAP_WIDTH);
  const rows: number[] = [];
  const quiet = (r: number): boolean => {
    const lo = r * MAP_WIDTH;
    const hi = Math.min(lo + MAP_WIDTH, frames);
    if (hi - lo < MAP_WIDTH) return false;
    for (const m of maps) for (let p = lo; p < hi; p++) if (m.classes[p] !== MapClass.FREE_0 + MAX_PAGE_ORDER) return false;
    return true;
  };
  for (let r = 0; r < nRows; ) {
    let end = r;
    while (end < nRows && quiet(end)) end++;
    if (end - r >= 2) {
      rows.push(-(end - r));
      r = end;
    } else {
      rows.push(r);
      r++;
    }
  }
  return rows;
}

function mapsSection(runs: readonly ReportRun[]): { html: string; data: unknown[] } {
  const data: unknown[] = [];
  const rows = mapRows(runs.flatMap((r) => r.sampler.maps));
  const folded = rows.filter((r) => r < 0).reduce((a, r) => a - r, 0);
  // A thin band of rows is drawn taller (a frame stays one pixel wide) so it can be seen and hovered.
  const rowScale = Math.min(8, Math.max(1, Math.floor(256 / Math.max(1, rows.length))));
  let html = `<section id="maps"><h2>Physical memory map</h2><p class="note">Every frame a pixel, one row per pageblock (512 frames, 2 MiB), lowest address top left. Colours by owner; hover a pixel for its pfn and owner.${
    folded ? ` ${folded.toLocaleString('en-US')} pageblocks (${(folded * 2).toLocaleString('en-US')} MiB) that are one free order-10 block in every map below are folded: each run of them is one hatched row.` : ''
  }</p>`;
  runs.forEach((r, ri) => {
    html += `<h3>${esc(r.policy)}</h3><div class="maps">`;
    r.sampler.maps.forEach((m, mi) => {
      const id = `map-${ri}-${mi}`;
      const counts = classCounts(m.classes, m.names.length);
      const colors = m.names.map(classColor);
      data.push({ id, policy: r.policy, ops: m.ops, width: MAP_WIDTH, frames: m.classes.length, rows, names: m.names, colors, data: deflateRawSync(m.classes, { level: 9 }).toString('base64') });
      const legend = m.names
        .map((name, c) => (counts[c]! > 0 ? `<li data-class="${c}"><span class="sw" style="background:${colors[c]}"></span>${esc(name)} <span class="n">${counts[c]!.toLocaleString('en-US')}</span></li>` : ''))
        .join('');
      html += `<figure class="map" data-policy="${esc(r.policy)}" data-ops="${m.ops}"><figcaption>after ${m.ops.toLocaleString('en-US')} operations</figcaption><canvas id="${id}" class="memmap" width="${MAP_WIDTH}" height="${rows.length}" style="height:${rows.length * rowScale}px"></canvas><div class="hover" id="${id}-hover">&nbsp;</div><ul class="legend">${legend}</ul></figure>`;
    });
    html += '</div>';
  });
  return { html: `${html}</section>`, data };
}

const num = (v: number, digits = 0): string => (Number.isInteger(v) ? v.toLocaleString('en-US') : v.toLocaleString('en-US', { maximumFractionDigits: digits }));

/** A table whose columns sort on a click (numbers by value, text alphabetically). */
export function sortableTable(cls: string, head: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const th = head.map((h, i) => `<th data-col="${i}">${esc(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((v) => (typeof v === 'number' ? `<td class="num" data-v="${v}">${num(v, 2)}</td>` : `<td>${esc(v)}</td>`)).join('')}</tr>`).join('');
  return `<table class="sortable ${cls}"><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table>`;
}

function slabinfoSection(runs: readonly ReportRun[]): string {
  let html = '<section id="slabinfo"><h2>Caches at the end (slabinfo)</h2><p class="note">As /proc/slabinfo, plus pages and partial slabs; click a heading to sort.</p>';
  for (const r of runs) {
    if (!r.caches) continue;
    const rows = r.caches.map((c) => [c.name, c.counters.activeObjs, c.counters.numObjs, c.geometry.size, c.geometry.objPerSlab, 2 ** c.geometry.order, c.counters.activeSlabs, c.counters.numSlabs, c.counters.pages, c.counters.partialSlabs, c.counters.numObjs ? Math.round((1000 * c.counters.activeObjs) / c.counters.numObjs) / 10 : 0]);
    html += `<h3>${esc(r.policy)}</h3>${sortableTable('slabinfo', ['name', 'active_objs', 'num_objs', 'objsize', 'objperslab', 'pagesperslab', 'active_slabs', 'num_slabs', 'pages', 'partial', 'use %'], rows)}`;
  }
  return `${html}</section>`;
}

function costSection(runs: readonly ReportRun[]): string {
  const used = COST_COUNTERS.filter((c) => runs.some((r) => r.cost.some((row) => row.counters[c].total > 0)));
  let html = '<section id="cost"><h2>Cost counters</h2><p class="note">Per top-level operation: mean, p50 and p99 of each counter (hardware-independent: distinct cache lines, locks, atomics, IPIs, page-allocator calls, remote frees).</p>';
  for (const r of runs) {
    const rows = r.cost.map((row) => [row.op, row.count, ...used.flatMap((c) => [row.counters[c].mean, row.counters[c].p50, row.counters[c].p99])]);
    html += `<h3>${esc(r.policy)}</h3>${sortableTable('cost', ['operation', 'count', ...used.flatMap((c) => [`${c} mean`, 'p50', 'p99'])], rows)}`;
  }
  return `${html}</section>`;
}

/** The page's CSS. */
const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:1280px;padding:0 16px;color:#222}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}h3{font-size:15px;margin:16px 0 6px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px}dl.facts dt{font-weight:600}dl.facts dd{margin:0;font-family:ui-monospace,monospace;word-break:break-all}
pre{background:#f7f7f7;padding:8px;overflow:auto;font-size:12px}.note{color:#666;font-size:13px}
.charts{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0}figure.chart figcaption{font-weight:600}figure.chart p{margin:2px 0 4px;color:#666;font-size:12px;max-width:640px}
.maps{display:flex;flex-wrap:wrap;gap:16px}canvas.memmap{width:512px;image-rendering:pixelated;border:1px solid #ccc;display:block}
.hover{font-family:ui-monospace,monospace;font-size:12px;height:1.4em}ul.legend{list-style:none;padding:0;margin:4px 0;columns:2;font-size:12px;max-width:512px}
ul.legend li{break-inside:avoid}.sw{display:inline-block;width:10px;height:10px;margin-right:4px;border:1px solid #999;vertical-align:middle}.n{color:#777}
table{border-collapse:collapse;font-size:12px;margin-bottom:8px}th,td{border:1px solid #ddd;padding:2px 6px}th{background:#f2f2f2;cursor:pointer;position:sticky;top:0}td.num{text-align:right;font-variant-numeric:tabular-nums}
.findings td{vertical-align:top}`;

/** The page's script: memory maps drawn from deflated class bytes, hover details, sortable tables. */
const SCRIPT = `(function(){
async function inflate(b64){const bin=atob(b64);const u=new Uint8Array(bin.length);for(let i=0;i<bin.length;i++)u[i]=bin.charCodeAt(i);
const s=new Blob([u]).stream().pipeThrough(new DecompressionStream('deflate-raw'));return new Uint8Array(await new Response(s).arrayBuffer());}
function rgb(h){return [parseInt(h.slice(1,3),16),parseInt(h.slice(3,5),16),parseInt(h.slice(5,7),16)];}
const el=document.getElementById('map-data');const maps=el?JSON.parse(el.textContent):[];
Promise.all(maps.map(async function(m){const cls=await inflate(m.data);const cv=document.getElementById(m.id);const ctx=cv.getContext('2d');
const img=ctx.createImageData(cv.width,cv.height);const pal=m.colors.map(rgb);
const W=m.width;for(let y=0;y<m.rows.length;y++){const pb=m.rows[y];for(let x=0;x<W;x++){const o=(y*W+x)*4;const p=pb*W+x;
const c=pb<0?(((x>>2)&1)?[200,200,200]:[235,235,235]):(p<cls.length?pal[cls[p]]:[255,255,255]);img.data[o]=c[0];img.data[o+1]=c[1];img.data[o+2]=c[2];img.data[o+3]=255;}}
ctx.putImageData(img,0,0);const hv=document.getElementById(m.id+'-hover');
cv.addEventListener('mousemove',function(e){const r=cv.getBoundingClientRect();const x=Math.floor((e.clientX-r.left)*cv.width/r.width);const y=Math.floor((e.clientY-r.top)*cv.height/r.height);
const pb=m.rows[y];if(pb===undefined){hv.textContent='';return;}if(pb<0){hv.textContent=(-pb)+' pageblocks ('+(-2*pb)+' MiB) of free order-10 blocks, folded';return;}
const pfn=pb*m.width+x;if(pfn<0||pfn>=cls.length){hv.textContent='';return;}
hv.textContent='pfn '+pfn+' (0x'+(pfn*4096).toString(16)+'): '+m.names[cls[pfn]];});
cv.dataset.ready='1';})).then(function(){document.body.dataset.mapsReady='1';},function(e){console.error(e);});
document.querySelectorAll('table.sortable th').forEach(function(th){th.addEventListener('click',function(){
const t=th.closest('table');const b=t.tBodies[0];const i=+th.dataset.col;const asc=th.dataset.dir!=='asc';
t.querySelectorAll('th').forEach(function(h){delete h.dataset.dir;});th.dataset.dir=asc?'asc':'desc';
const rows=[...b.rows];rows.sort(function(a,c){const x=a.cells[i],y=c.cells[i];const d=(x.dataset.v!==undefined&&y.dataset.v!==undefined)?(+x.dataset.v)-(+y.dataset.v):x.textContent.localeCompare(y.textContent);return asc?d:-d;});
rows.forEach(function(r){b.appendChild(r);});});});})();`;

/** The page shell around sections. */
export function page(title: string, facts: ReportFacts, body: string, mapData: readonly unknown[] = []): string {
  const dl = facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('');
  // JSON inside a script element: '<' escaped so no '</script>' can end it early.
  const json = JSON.stringify(mapData).replace(/</g, '\\u003c');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${esc(title)}</title><style>${CSS}</style></head>
<body><h1>${esc(title)}</h1><dl class="facts">${dl}</dl>
${body}
<script type="application/json" id="map-data">${json}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}

/** The charts section: each chart a figure with its title, caption, SVG and the series its legend names. */
export function chartsSection(charts: readonly Chart[]): string {
  return `<section id="charts"><h2>Over time</h2><div class="charts">${charts
    .map((c) => `<figure class="chart" id="chart-${c.id}" data-series="${esc(JSON.stringify(c.series))}"><figcaption>${esc(c.title)}</figcaption><p>${esc(c.caption)}</p>${c.svg}</figure>`)
    .join('')}</div></section>`;
}

/** Renders a comparison report. */
export async function renderReport(doc: ReportDoc): Promise<string> {
  const charts = await buildCharts(doc.runs, { slab: doc.slab });
  const maps = mapsSection(doc.runs);
  let body = '';
  if (doc.summary) body += `<section id="summary"><h2>Summary</h2><pre>${esc(doc.summary)}</pre></section>`;
  body += chartsSection(charts) + maps.html;
  if (doc.slab) body += slabinfoSection(doc.runs);
  body += costSection(doc.runs);
  return page(doc.title, doc.facts, body, maps.data);
}
