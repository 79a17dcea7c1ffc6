/**
 * Per-zone numbers Linux 6.8 derives from the managed page counts, shared by
 * every page-allocator policy: `min_free_kbytes`, the min/low/high
 * watermarks, `lowmem_reserve`, and the per-CPU list batch and high limits.
 * Formulas from Linux v6.8: `calculate_min_free_kbytes`,
 * `__setup_per_zone_wmarks`, `setup_per_zone_lowmem_reserve`,
 * `zone_batchsize` and `zone_highsize` in mm/page_alloc.c, and khugepaged's
 * `set_recommended_min_free_kbytes` in mm/khugepaged.c.
 */

import { MAX_NR_ZONES, MIGRATE_PCPTYPES, ZoneType } from '../../interfaces/gfp.js';
import { PAGEBLOCK_NR_PAGES, PAGE_SIZE } from '../../interfaces/units.js';
import type { MachineOpts } from '../../interfaces/config.js';

/** `watermark_scale_factor` default (0.1 % of the zone). */
export const WATERMARK_SCALE_FACTOR = 10;
/** `sysctl_lowmem_reserve_ratio` defaults per zone type (DMA, DMA32, Normal, Movable, Device). */
export const LOWMEM_RESERVE_RATIO = [256, 256, 32, 0, 0] as const;
/** `MIN_PERCPU_PAGELIST_HIGH_FRACTION`. */
export const MIN_PERCPU_PAGELIST_HIGH_FRACTION = 8;

/** Integer square root (`int_sqrt`). */
export function intSqrt(x: number): number {
  let r = Math.floor(Math.sqrt(x));
  while (r * r > x) r--;
  while ((r + 1) * (r + 1) <= x) r++;
  return r;
}

/** Largest power of two ≤ x (`rounddown_pow_of_two`), x ≥ 1. */
export function rounddownPow2(x: number): number {
  return 2 ** Math.floor(Math.log2(x));
}

/** Inputs per zone. */
export interface ZoneManaged {
  readonly type: ZoneType;
  readonly node: number;
  readonly managed: number;
}

/**
 * `min_free_kbytes` as the kernel ends up with it: `calculate_min_free_kbytes`
 * (√(16 · lowmem kB), clamped to 128..262144), raised by khugepaged's
 * `set_recommended_min_free_kbytes` when THP is on (2 pageblocks per zone for
 * fallbacks plus MIGRATE_PCPTYPES² pageblocks per zone, at most 5 % of lowmem).
 */
export function minFreeKbytes(zones: readonly ZoneManaged[], opts: MachineOpts): number {
  if (opts.minFreeKbytes !== undefined) return opts.minFreeKbytes;
  const lowmemPages = zones.filter((z) => z.type <= ZoneType.NORMAL).reduce((s, z) => s + z.managed, 0);
  const lowmemKb = (lowmemPages * PAGE_SIZE) / 1024;
  let kb = Math.min(262144, Math.max(128, intSqrt(lowmemKb * 16)));
  // hugepage_init leaves THP off below 512 MiB of RAM, so khugepaged never raises the value there.
  if (opts.thp && lowmemPages * PAGE_SIZE >= 512 << 20) {
    const populated = zones.filter((z) => z.managed > 0 && z.type <= ZoneType.NORMAL).length;
    let recommended = PAGEBLOCK_NR_PAGES * populated * 2 + PAGEBLOCK_NR_PAGES * populated * MIGRATE_PCPTYPES * MIGRATE_PCPTYPES;
    recommended = Math.min(recommended, Math.floor((lowmemPages * 5) / 100));
    const recKb = (recommended * PAGE_SIZE) / 1024;
    if (recKb > kb) kb = recKb;
  }
  return kb;
}

/** min, low, high watermarks of one zone (`__setup_per_zone_wmarks`). */
export function zoneWatermarks(zone: ZoneManaged, lowmemManaged: number, minKb: number): [min: number, low: number, high: number] {
  if (zone.managed === 0) return [0, 0, 0];
  const pagesMin = Math.floor(minKb / (PAGE_SIZE / 1024));
  const min = zone.type > ZoneType.NORMAL
    ? Math.min(128, Math.max(32, Math.floor(zone.managed / 1024)))
    : Math.floor((pagesMin * zone.managed) / lowmemManaged);
  const delta = Math.max(Math.floor(min / 4), Math.floor((zone.managed * WATERMARK_SCALE_FACTOR) / 10000));
  return [min, min + delta, min + 2 * delta];
}

/**
 * `lowmem_reserve[]` of every zone of one node (`setup_per_zone_lowmem_reserve`):
 * for zone i and each higher zone j, the managed pages of zones i+1..j divided
 * by zone i's ratio.
 */
export function lowmemReserves(nodeZones: readonly ZoneManaged[]): number[][] {
  return nodeZones.map((z, i) => {
    const res = new Array<number>(MAX_NR_ZONES).fill(0);
    const ratio = LOWMEM_RESERVE_RATIO[z.type] ?? 0;
    let managed = 0;
    for (let j = i + 1; j < nodeZones.length; j++) {
      managed += nodeZones[j]!.managed;
      res[j] = ratio && z.managed ? Math.floor(managed / ratio) : 0;
    }
    return res;
  });
}

/** Per-CPU list refill batch (`zone_batchsize`, at least 1 as `zone_set_pageset_high_and_batch` applies). */
export function zoneBatchsize(managed: number): number {
  let batch = Math.min(Math.floor(managed / 1024), (1 << 20) / PAGE_SIZE);
  batch = Math.floor(batch / 4);
  if (batch < 1) batch = 1;
  batch = rounddownPow2(batch + Math.floor(batch / 2)) - 1;
  return Math.max(1, batch);
}

/**
 * Per-CPU list high limit (`zone_highsize`): the low watermark (fraction 0)
 * or managed / fraction, split over the node's CPUs, at least 4 batches.
 */
export function zoneHighsize(managed: number, lowWmark: number, batch: number, nodeCpus: number, fraction: number): number {
  const total = fraction === 0 ? lowWmark : Math.floor(managed / fraction);
  const split = nodeCpus > 0 ? nodeCpus : 1;
  return Math.max(Math.floor(total / split), batch << 2);
}

/** Watermarks and lowmem reserve of one zone. */
export interface ZoneLimits {
  readonly wmark: [min: number, low: number, high: number];
  readonly lowmemReserve: number[];
}

/**
 * Everything `init_per_zone_wmark_min` computes, for every zone (indexed
 * like `zones`, grouped by node in MAX_NR_ZONES runs): `min_free_kbytes`,
 * then each zone's watermarks and lowmem reserve.
 */
export function zoneLimits(zones: readonly ZoneManaged[], opts: MachineOpts): ZoneLimits[] {
  const minKb = minFreeKbytes(zones, opts);
  const lowmem = zones.filter((z) => z.type <= ZoneType.NORMAL).reduce((s, z) => s + z.managed, 0);
  const out: ZoneLimits[] = [];
  for (let base = 0; base < zones.length; base += MAX_NR_ZONES) {
    const nodeZones = zones.slice(base, base + MAX_NR_ZONES);
    const res = lowmemReserves(nodeZones);
    nodeZones.forEach((z, i) => out.push({ wmark: zoneWatermarks(z, lowmem, minKb), lowmemReserve: res[i]! }));
  }
  return out;
}
