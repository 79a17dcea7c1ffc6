/**
 * GFP ("get free pages") flags as in Linux 6.8 `include/linux/gfp_types.h`
 * (bit values as the 6.8 header assigns them on x86_64 without KASAN tags
 * or lockdep; 0x200, `__GFP_ATOMIC` until 6.2, is unused and rejected),
 * their usual combinations, and the decisions they drive:
 * which zone, which migrate type, whether reclaim may run and whether the
 * reserves below the min watermark may be used.
 */

import { AllocatorError } from './errors.js';

/** A GFP mask. */
export type Gfp = number;

/** Allocate from ZONE_DMA (below 16 MiB). */
export const __GFP_DMA = 0x01;
/** Highmem allowed (no highmem on x86_64: the vmalloc and user paths set it; it selects nothing here). */
export const __GFP_HIGHMEM = 0x02;
/** Allocate from ZONE_DMA32 (below 4 GiB). */
export const __GFP_DMA32 = 0x04;
/** The page can be migrated (MIGRATE_MOVABLE; with __GFP_HIGHMEM, ZONE_MOVABLE). */
export const __GFP_MOVABLE = 0x08;
/** The page can be reclaimed by a shrinker (MIGRATE_RECLAIMABLE). */
export const __GFP_RECLAIMABLE = 0x10;
/** High priority: may dip below the min watermark (ALLOC_MIN_RESERVE). */
export const __GFP_HIGH = 0x20;
/** The caller may start physical I/O. */
export const __GFP_IO = 0x40;
/** The caller may call into the filesystem. */
export const __GFP_FS = 0x80;
/** Zero the memory before returning it. */
export const __GFP_ZERO = 0x100;
/** The caller may enter direct reclaim (it can sleep). */
export const __GFP_DIRECT_RECLAIM = 0x400;
/** Wake kswapd when the low watermark is reached. */
export const __GFP_KSWAPD_RECLAIM = 0x800;
/** The caller intends to dirty the page (spreads dirty pages across zones). */
export const __GFP_WRITE = 0x1000;
/** No `page allocation failure` warning on failure. */
export const __GFP_NOWARN = 0x2000;
/** Retry hard, but fail rather than invoke the OOM killer. */
export const __GFP_RETRY_MAYFAIL = 0x4000;
/** Must not fail: retry forever (here: throws `nofail-exhausted` when it cannot be met). */
export const __GFP_NOFAIL = 0x8000;
/** Fail fast: one light attempt at reclaim and compaction. */
export const __GFP_NORETRY = 0x10000;
/** Use all reserves (ALLOC_NO_WATERMARKS). */
export const __GFP_MEMALLOC = 0x20000;
/** Make a compound page (head and tail pages). */
export const __GFP_COMP = 0x40000;
/** Never use the emergency reserves (overrides __GFP_MEMALLOC). */
export const __GFP_NOMEMALLOC = 0x80000;
/** Enforce the cpuset memory policy. */
export const __GFP_HARDWALL = 0x100000;
/** Allocate only on the requested node, no fallback. */
export const __GFP_THISNODE = 0x200000;
/** Charge the allocation to the memory cgroup (kmalloc-cg-* caches). */
export const __GFP_ACCOUNT = 0x400000;
/** Zero memory tags with the memory (hardware tag KASAN only). */
export const __GFP_ZEROTAGS = 0x800000;
/** 0: only defined with CONFIG_KASAN_HW_TAGS, which x86_64 does not have. */
export const __GFP_SKIP_ZERO = 0;
/** 0: only defined with CONFIG_KASAN_HW_TAGS. */
export const __GFP_SKIP_KASAN = 0;
/** 0: only defined with CONFIG_LOCKDEP (a debug build). */
export const __GFP_NOLOCKDEP = 0;
/** Bits a mask may use (`__GFP_BITS_SHIFT` = 26). */
export const __GFP_BITS_MASK = (1 << 26) - 1;

/** Both reclaim bits. */
export const __GFP_RECLAIM = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM;
/** Zone modifier bits. */
export const GFP_ZONEMASK = __GFP_DMA | __GFP_HIGHMEM | __GFP_DMA32 | __GFP_MOVABLE;
/** Mobility bits. */
export const GFP_MOVABLE_MASK = __GFP_RECLAIMABLE | __GFP_MOVABLE;
/** Shift that turns the mobility bits into a migrate type. */
export const GFP_MOVABLE_SHIFT = 3;

/** Atomic context: no sleeping, high priority, may use reserves. */
export const GFP_ATOMIC = __GFP_HIGH | __GFP_KSWAPD_RECLAIM;
/** Normal kernel allocation: may sleep, reclaim, do I/O and filesystem calls. */
export const GFP_KERNEL = __GFP_RECLAIM | __GFP_IO | __GFP_FS;
/** GFP_KERNEL charged to the memory cgroup. */
export const GFP_KERNEL_ACCOUNT = GFP_KERNEL | __GFP_ACCOUNT;
/** No direct reclaim and no warning; kswapd may be woken. */
export const GFP_NOWAIT = __GFP_KSWAPD_RECLAIM | __GFP_NOWARN;
/** Reclaim without starting I/O. */
export const GFP_NOIO = __GFP_RECLAIM;
/** Reclaim without calling into the filesystem. */
export const GFP_NOFS = __GFP_RECLAIM | __GFP_IO;
/** User-space allocation that the kernel also touches (cpuset-enforced). */
export const GFP_USER = __GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL;
/** ZONE_DMA (old ISA devices). */
export const GFP_DMA = __GFP_DMA;
/** ZONE_DMA32 (32-bit DMA devices). */
export const GFP_DMA32 = __GFP_DMA32;
/** User-space page, highmem allowed. */
export const GFP_HIGHUSER = GFP_USER | __GFP_HIGHMEM;
/** Movable user-space page: anonymous memory and page cache. */
export const GFP_HIGHUSER_MOVABLE = GFP_HIGHUSER | __GFP_MOVABLE | __GFP_SKIP_KASAN;
/** Transparent huge page, no reclaim or warning (khugepaged-style). */
export const GFP_TRANSHUGE_LIGHT = (GFP_HIGHUSER_MOVABLE | __GFP_COMP | __GFP_NOMEMALLOC | __GFP_NOWARN) & ~__GFP_RECLAIM;
/** Transparent huge page with direct reclaim. */
export const GFP_TRANSHUGE = GFP_TRANSHUGE_LIGHT | __GFP_DIRECT_RECLAIM;

/** Zone types in `enum zone_type` order (x86_64, no highmem, CONFIG_ZONE_DEVICE). */
export const ZoneType = { DMA: 0, DMA32: 1, NORMAL: 2, MOVABLE: 3, DEVICE: 4 } as const;
/** A zone type index. */
export type ZoneType = (typeof ZoneType)[keyof typeof ZoneType];
/** Zone names as /proc prints them, indexed by {@link ZoneType}. */
export const ZONE_NAMES = ['DMA', 'DMA32', 'Normal', 'Movable', 'Device'] as const;
/** Number of zone types (CONFIG_ZONE_DEVICE on, as in distribution kernels; Movable and Device stay empty). */
export const MAX_NR_ZONES = 5;

/** Migrate types in `enum migratetype` order (Linux 6.8, CONFIG_CMA off, CONFIG_MEMORY_ISOLATION on). */
export const MigrateType = { UNMOVABLE: 0, MOVABLE: 1, RECLAIMABLE: 2, HIGHATOMIC: 3, ISOLATE: 4 } as const;
/** A migrate type index. */
export type MigrateType = (typeof MigrateType)[keyof typeof MigrateType];
/** Number of migrate types. */
export const MIGRATE_TYPES = 5;
/** Types that have per-CPU lists (`MIGRATE_PCPTYPES`). */
export const MIGRATE_PCPTYPES = 3;
/** Names as /proc/pagetypeinfo prints them. */
export const MIGRATETYPE_NAMES = ['Unmovable', 'Movable', 'Reclaimable', 'HighAtomic', 'Isolate'] as const;

/**
 * Rejects masks Linux treats as bugs: DMA together with DMA32 (the
 * `GFP_ZONE_BAD` entries of `gfp_zone`) and MOVABLE together with
 * RECLAIMABLE (`gfp_migratetype` warns).
 *
 * @throws AllocatorError `invalid-gfp`
 */
/** Bits no valid mask has: above __GFP_BITS_SHIFT, and 0x200 (the removed __GFP_ATOMIC). */
const GFP_BAD_BITS = ~__GFP_BITS_MASK | 0x200;

/**
 * True when {@link validateGfp} would accept `gfp` — one test per rule, no
 * allocation: the hot paths' check before the full one (which names the
 * problem). False means "look closer", not necessarily invalid.
 */
export function gfpLooksValid(gfp: Gfp): boolean {
  return (gfp >>> 0) === gfp && (gfp & GFP_BAD_BITS) === 0 && (gfp & (__GFP_DMA | __GFP_DMA32)) !== (__GFP_DMA | __GFP_DMA32) && (gfp & (__GFP_DMA | __GFP_HIGHMEM)) !== (__GFP_DMA | __GFP_HIGHMEM) && (gfp & GFP_MOVABLE_MASK) !== GFP_MOVABLE_MASK;
}

export function validateGfp(gfp: Gfp, policy: string, op: string): void {
  if (!Number.isInteger(gfp) || gfp < 0 || (gfp & ~__GFP_BITS_MASK) !== 0 || gfp & 0x200) {
    throw new AllocatorError('invalid-gfp', `gfp mask ${String(gfp)} is not a valid GFP bit mask`, { policy, op });
  }
  if ((gfp & (__GFP_DMA | __GFP_DMA32)) === (__GFP_DMA | __GFP_DMA32) || (gfp & (__GFP_DMA | __GFP_HIGHMEM | __GFP_DMA32)) === (__GFP_DMA | __GFP_HIGHMEM)) {
    throw new AllocatorError('invalid-gfp', `gfp mask ${formatGfp(gfp)} asks for two zones at once`, { policy, op });
  }
  if ((gfp & GFP_MOVABLE_MASK) === GFP_MOVABLE_MASK) {
    throw new AllocatorError('invalid-gfp', `gfp mask ${formatGfp(gfp)} is both movable and reclaimable`, { policy, op });
  }
}

/** Highest zone an allocation may use (`gfp_zone`; x86_64 has no highmem, so __GFP_HIGHMEM means Normal). */
export function gfpZone(gfp: Gfp, hasMovableZone = false): ZoneType {
  if (gfp & __GFP_DMA) return ZoneType.DMA;
  if (gfp & __GFP_DMA32) return ZoneType.DMA32;
  if (hasMovableZone && (gfp & (__GFP_MOVABLE | __GFP_HIGHMEM)) === (__GFP_MOVABLE | __GFP_HIGHMEM)) return ZoneType.MOVABLE;
  return ZoneType.NORMAL;
}

/** Migrate type of an allocation (`gfp_migratetype`). */
export const gfpMigratetype = (gfp: Gfp): MigrateType => ((gfp & GFP_MOVABLE_MASK) >>> GFP_MOVABLE_SHIFT) as MigrateType;

/** May this allocation sleep and reclaim directly (`gfpflags_allow_blocking`)? */
export const gfpAllowsBlocking = (gfp: Gfp): boolean => (gfp & __GFP_DIRECT_RECLAIM) !== 0;

/**
 * Composite names tried first when printing, in the order of the kernel's
 * `__def_gfpflag_names` (composites before single bits), then the single
 * `__GFP_*` bits.
 */
export const GFP_NAMES: readonly (readonly [number, string])[] = [
  [GFP_TRANSHUGE, 'GFP_TRANSHUGE'],
  [GFP_TRANSHUGE_LIGHT, 'GFP_TRANSHUGE_LIGHT'],
  [GFP_HIGHUSER_MOVABLE, 'GFP_HIGHUSER_MOVABLE'],
  [GFP_HIGHUSER, 'GFP_HIGHUSER'],
  [GFP_USER, 'GFP_USER'],
  [GFP_KERNEL_ACCOUNT, 'GFP_KERNEL_ACCOUNT'],
  [GFP_KERNEL, 'GFP_KERNEL'],
  [GFP_NOFS, 'GFP_NOFS'],
  [GFP_ATOMIC, 'GFP_ATOMIC'],
  [GFP_NOIO, 'GFP_NOIO'],
  [GFP_NOWAIT, 'GFP_NOWAIT'],
  [GFP_DMA, 'GFP_DMA'],
  [__GFP_HIGHMEM, '__GFP_HIGHMEM'],
  [GFP_DMA32, 'GFP_DMA32'],
  [__GFP_HIGH, '__GFP_HIGH'],
  [__GFP_IO, '__GFP_IO'],
  [__GFP_FS, '__GFP_FS'],
  [__GFP_NOWARN, '__GFP_NOWARN'],
  [__GFP_RETRY_MAYFAIL, '__GFP_RETRY_MAYFAIL'],
  [__GFP_NOFAIL, '__GFP_NOFAIL'],
  [__GFP_NORETRY, '__GFP_NORETRY'],
  [__GFP_COMP, '__GFP_COMP'],
  [__GFP_ZERO, '__GFP_ZERO'],
  [__GFP_NOMEMALLOC, '__GFP_NOMEMALLOC'],
  [__GFP_MEMALLOC, '__GFP_MEMALLOC'],
  [__GFP_HARDWALL, '__GFP_HARDWALL'],
  [__GFP_THISNODE, '__GFP_THISNODE'],
  [__GFP_RECLAIMABLE, '__GFP_RECLAIMABLE'],
  [__GFP_MOVABLE, '__GFP_MOVABLE'],
  [__GFP_ACCOUNT, '__GFP_ACCOUNT'],
  [__GFP_WRITE, '__GFP_WRITE'],
  [__GFP_RECLAIM, '__GFP_RECLAIM'],
  [__GFP_DIRECT_RECLAIM, '__GFP_DIRECT_RECLAIM'],
  [__GFP_KSWAPD_RECLAIM, '__GFP_KSWAPD_RECLAIM'],
  [__GFP_ZEROTAGS, '__GFP_ZEROTAGS'],
];

/**
 * Formats a mask as ftrace's `show_gfp_flags` does (`__print_flags` over
 * the name table): each name whose bits are all still set is printed and
 * its bits removed; leftover bits print as hex; 0 prints `none`.
 */
export function formatGfp(gfp: Gfp): string {
  if (gfp === 0) return 'none';
  let rest = gfp;
  const parts: string[] = [];
  for (const [mask, name] of GFP_NAMES) {
    if ((rest & mask) === mask && mask !== 0) {
      parts.push(name);
      rest &= ~mask;
    }
  }
  if (rest !== 0) parts.push(`0x${rest.toString(16)}`);
  return parts.join('|');
}

/** Parses `GFP_KERNEL|__GFP_ZERO` (or a number) into a mask; throws `parse` on unknown names. */
export function parseGfp(text: string): Gfp {
  const t = text.trim();
  if (/^(0x[0-9a-f]+|\d+)$/i.test(t)) return Number(t);
  let gfp = 0;
  for (const part of t.split('|')) {
    const name = part.trim();
    const hit = GFP_NAMES.find(([, n]) => n === name);
    if (!hit) throw new AllocatorError('parse', `unknown GFP flag '${name}'`);
    gfp |= hit[0];
  }
  return gfp;
}
