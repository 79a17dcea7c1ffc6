/**
 * Page-allocator /proc files in the exact Linux 6.8 formats (mm/vmstat.c,
 * fs/proc/meminfo.c, mm/show_mem.c): buddyinfo, pagetypeinfo, zoneinfo and
 * meminfo. They read only `zones()` and `stats()`, so every policy prints.
 *
 * Counters the simulation does not model (page cache, anonymous memory,
 * swap, writeback, …) print 0, which is what they are in the simulated
 * machine: it has no page cache and no processes yet. Later layers feed
 * their counters in through {@link MeminfoExtra}.
 */

import { MAX_NR_ZONES, MIGRATETYPE_NAMES, MIGRATE_TYPES } from '../interfaces/gfp.js';
import type { PageAllocator, ZoneReport } from '../interfaces/page-allocator.js';
import { NR_PAGE_ORDERS, PAGEBLOCK_NR_PAGES, PAGEBLOCK_ORDER, PAGE_SIZE } from '../interfaces/units.js';
import type { Machine } from '../interfaces/machine.js';
import { DEFAULT_OVERCOMMIT_RATIO } from '../mm/overcommit.js';

const pad = (s: string | number, w: number): string => String(s).padStart(w);
const left = (s: string, w: number): string => s.padEnd(w);
const populated = (z: ZoneReport): boolean => z.present > 0;

/** `/proc/buddyinfo`: one line per populated zone, free blocks per order, each followed by a space. */
export function buddyinfo(pages: PageAllocator): string {
  return pages
    .zones()
    .filter(populated)
    .map((z) => `Node ${z.node}, zone ${pad(z.name, 8)} ${z.nrFree.map((n) => `${pad(n, 6)} `).join('')}\n`)
    .join('');
}

/** `/proc/pagetypeinfo` (without the page_owner mixed-blocks section, as on kernels without page_owner). */
export function pagetypeinfo(pages: PageAllocator): string {
  const zones = pages.zones().filter(populated);
  let out = `Page block order: ${PAGEBLOCK_ORDER}\nPages per block:  ${PAGEBLOCK_NR_PAGES}\n\n`;
  out += `${left('Free pages count per migrate type at order', 43)} `;
  for (let o = 0; o < NR_PAGE_ORDERS; o++) out += `${pad(o, 6)} `;
  out += '\n';
  for (const z of zones) {
    for (let mt = 0; mt < MIGRATE_TYPES; mt++) {
      out += `Node ${pad(z.node, 4)}, zone ${pad(z.name, 8)}, type ${pad(MIGRATETYPE_NAMES[mt]!, 12)} `;
      for (let o = 0; o < NR_PAGE_ORDERS; o++) {
        const n = z.nrFreeByType[mt]![o]!;
        out += n >= 100000 ? `>${pad(100000, 6)} ` : `${pad(n, 6)} `;
      }
      out += '\n';
    }
  }
  out += `\n${left('Number of blocks type ', 23)}`;
  for (const name of MIGRATETYPE_NAMES) out += `${pad(name, 12)} `;
  out += '\n';
  for (const z of zones) {
    out += `Node ${z.node}, zone ${pad(z.name, 8)} `;
    for (let mt = 0; mt < MIGRATE_TYPES; mt++) out += `${pad(z.pageblocksByType[mt]!, 12)} `;
    out += '\n';
  }
  return out;
}

/** Per-node counters for zoneinfo's `per-node stats` block, by vmstat name. */
export type NodeStats = Readonly<Record<string, number>>;

/** Linux 6.8 `node_stat_item` names in `vmstat_text` order (THP, NUMA balancing and swap configured). */
export const NODE_STAT_NAMES = [
  'nr_inactive_anon', 'nr_active_anon', 'nr_inactive_file', 'nr_active_file', 'nr_unevictable',
  'nr_slab_reclaimable', 'nr_slab_unreclaimable', 'nr_isolated_anon', 'nr_isolated_file',
  'workingset_nodes', 'workingset_refault_anon', 'workingset_refault_file',
  'workingset_activate_anon', 'workingset_activate_file', 'workingset_restore_anon',
  'workingset_restore_file', 'workingset_nodereclaim', 'nr_anon_pages', 'nr_mapped', 'nr_file_pages',
  'nr_dirty', 'nr_writeback', 'nr_writeback_temp', 'nr_shmem', 'nr_shmem_hugepages', 'nr_shmem_pmdmapped',
  'nr_file_hugepages', 'nr_file_pmdmapped', 'nr_anon_transparent_hugepages', 'nr_vmscan_write',
  'nr_vmscan_immediate_reclaim', 'nr_dirtied', 'nr_written', 'nr_throttled_written',
  'nr_kernel_misc_reclaimable', 'nr_foll_pin_acquired', 'nr_foll_pin_released', 'nr_kernel_stack',
  'nr_page_table_pages', 'nr_sec_page_table_pages', 'nr_swapcached', 'pgpromote_success',
  'pgpromote_candidate', 'pgdemote_kswapd', 'pgdemote_direct', 'pgdemote_khugepaged',
] as const;

/** `calculate_normal_threshold`: the per-CPU vmstat fold threshold of a zone. */
export function statThreshold(managed: number, cpus: number): number {
  const fls = (x: number): number => (x === 0 ? 0 : Math.floor(Math.log2(x)) + 1);
  const mem = Math.floor(managed / 32768);
  return Math.min(125, 2 * fls(cpus) * (1 + fls(mem)));
}

/** `/proc/zoneinfo` for every zone of every node, populated or not. */
export function zoneinfo(pages: PageAllocator, machine: Machine, nodeStats: (node: number) => NodeStats = () => ({})): string {
  const zones = pages.zones();
  const cpus = machine.opts.cpus;
  let out = '';
  const firstPopulated = new Set<number>();
  for (let n = 0; n < machine.layout.nodes.length; n++) {
    const z = zones.find((x) => x.node === n && populated(x));
    if (z) firstPopulated.add(z.node * MAX_NR_ZONES + z.type);
  }
  for (const z of zones) {
    out += `Node ${z.node}, zone ${pad(z.name, 8)}`;
    if (firstPopulated.has(z.node * MAX_NR_ZONES + z.type)) {
      const ns = nodeStats(z.node);
      out += '\n  per-node stats';
      for (const name of NODE_STAT_NAMES) out += `\n      ${left(name, 12)} ${ns[name] ?? 0}`;
    }
    out += `\n  pages free     ${z.freePages}`;
    out += `\n        boost    ${z.boost}`;
    out += `\n        min      ${z.wmarkMin + z.boost}`;
    out += `\n        low      ${z.wmarkLow + z.boost}`;
    out += `\n        high     ${z.wmarkHigh + z.boost}`;
    out += `\n        spanned  ${z.spanned}`;
    out += `\n        present  ${z.present}`;
    out += `\n        managed  ${z.managed}`;
    out += `\n        cma      0`;
    out += `\n        protection: (${z.lowmemReserve.join(', ')})`;
    if (!populated(z)) {
      out += '\n';
      continue;
    }
    const zoneItems: [string, number][] = [
      ['nr_free_pages', z.freePages],
      ['nr_zone_inactive_anon', 0],
      ['nr_zone_active_anon', 0],
      ['nr_zone_inactive_file', 0],
      ['nr_zone_active_file', 0],
      ['nr_zone_unevictable', 0],
      ['nr_zone_write_pending', 0],
      ['nr_mlock', 0],
      ['nr_bounce', 0],
      ['nr_zspages', 0],
      ['nr_free_cma', 0],
      ['numa_hit', z.numa.hit],
      ['numa_miss', z.numa.miss],
      ['numa_foreign', 0],
      ['numa_interleave', 0],
      ['numa_local', z.numa.local],
      ['numa_other', z.numa.other],
    ];
    for (const [name, v] of zoneItems) out += `\n      ${left(name, 12)} ${v}`;
    out += '\n  pagesets';
    const threshold = statThreshold(z.managed, cpus);
    for (let c = 0; c < cpus; c++) {
      const p = z.pcp[c] ?? { count: 0, high: 0, batch: 0 };
      out += `\n    cpu: ${c}\n              count: ${p.count}\n              high:  ${p.high}\n              batch: ${p.batch}`;
      out += `\n  vm stats threshold: ${threshold}`;
    }
    out += '\n  node_unreclaimable:  0';
    out += `\n  start_pfn:           ${z.startPfn}`;
    out += '\n';
  }
  return out;
}

/** Page counts other layers contribute to /proc/meminfo. */
export interface MeminfoExtra {
  readonly slabReclaimable?: number;
  readonly slabUnreclaimable?: number;
  readonly pageTables?: number;
  readonly vmallocUsed?: number;
  readonly anonPages?: number;
  /** `CommitLimit` (`vm_commit_limit()`, e.g. `processes.vm.commitLimit()`). @defaultValue MemTotal × 50 / 100, Linux's default ratio without swap */
  readonly commitLimit?: number;
  /** `Committed_AS` (`vm_memory_committed()`, e.g. `processes.vm.committed`). @defaultValue 0 */
  readonly committedAs?: number;
}

/** `VmallocTotal` in kB on x86_64 with 4-level paging. */
export const VMALLOC_TOTAL_KB = 34359738367;

/**
 * `/proc/meminfo`. MemAvailable follows `si_mem_available`: free pages
 * minus `totalreserve_pages` (Σ per zone of the largest lowmem_reserve plus
 * the high watermark, capped at managed), plus the reclaimable half of the
 * page cache (none here) and of reclaimable slab, each capped by the summed
 * low watermarks.
 */
export function meminfo(pages: PageAllocator, extra: MeminfoExtra = {}): string {
  const zones = pages.zones();
  const kb = (p: number): number => (p * PAGE_SIZE) / 1024;
  const total = zones.reduce((s, z) => s + z.managed, 0);
  const free = zones.reduce((s, z) => s + z.freePages, 0);
  const totalreserve = zones.reduce((s, z) => s + Math.min(z.managed, Math.max(0, ...z.lowmemReserve) + z.wmarkHigh), 0);
  const wmarkLow = zones.reduce((s, z) => s + z.wmarkLow, 0);
  const sRecl = extra.slabReclaimable ?? 0;
  const sUnrecl = extra.slabUnreclaimable ?? 0;
  let avail = free - totalreserve;
  avail += sRecl - Math.min(Math.floor(sRecl / 2), wmarkLow);
  if (avail < 0) avail = 0;
  const rows: [string, number][] = [
    ['MemTotal', kb(total)],
    ['MemFree', kb(free)],
    ['MemAvailable', kb(avail)],
    ['Buffers', 0],
    ['Cached', 0],
    ['SwapCached', 0],
    ['Active', 0],
    ['Inactive', 0],
    ['Active(anon)', 0],
    ['Inactive(anon)', 0],
    ['Active(file)', 0],
    ['Inactive(file)', 0],
    ['Unevictable', 0],
    ['Mlocked', 0],
    ['SwapTotal', 0],
    ['SwapFree', 0],
    ['Zswap', 0],
    ['Zswapped', 0],
    ['Dirty', 0],
    ['Writeback', 0],
    ['AnonPages', kb(extra.anonPages ?? 0)],
    ['Mapped', 0],
    ['Shmem', 0],
    ['KReclaimable', kb(sRecl)],
    ['Slab', kb(sRecl + sUnrecl)],
    ['SReclaimable', kb(sRecl)],
    ['SUnreclaim', kb(sUnrecl)],
    ['KernelStack', 0],
    ['PageTables', kb(extra.pageTables ?? 0)],
    ['SecPageTables', 0],
    ['NFS_Unstable', 0],
    ['Bounce', 0],
    ['WritebackTmp', 0],
    ['CommitLimit', kb(extra.commitLimit ?? Math.floor((total * DEFAULT_OVERCOMMIT_RATIO) / 100))],
    ['Committed_AS', kb(extra.committedAs ?? 0)],
    ['VmallocTotal', VMALLOC_TOTAL_KB],
    ['VmallocUsed', kb(extra.vmallocUsed ?? 0)],
    ['VmallocChunk', 0],
    ['Percpu', 0],
  ];
  let out = rows.map(([label, v]) => `${left(`${label}:`, 16)}${pad(v, 8)} kB\n`).join('');
  out += 'HardwareCorrupted:     0 kB\n';
  const tail: [string, number][] = [
    ['AnonHugePages', 0],
    ['ShmemHugePages', 0],
    ['ShmemPmdMapped', 0],
    ['FileHugePages', 0],
    ['FilePmdMapped', 0],
  ];
  out += tail.map(([label, v]) => `${left(`${label}:`, 16)}${pad(v, 8)} kB\n`).join('');
  out += `HugePages_Total:       0\nHugePages_Free:        0\nHugePages_Rsvd:        0\nHugePages_Surp:        0\n`;
  out += `${left('Hugepagesize:', 16)}${pad(2048, 8)} kB\n${left('Hugetlb:', 16)}${pad(0, 8)} kB\n`;
  const directMapKb = kb(zones.reduce((s, z) => s + z.spanned, 0));
  out += `${left('DirectMap4k:', 16)}${pad(0, 8)} kB\n${left('DirectMap2M:', 16)}${pad(directMapKb, 8)} kB\n`;
  return out;
}
