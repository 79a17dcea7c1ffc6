import { describe, expect, it } from '@jest/globals';
import {
  GFP_ATOMIC,
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL,
  GFP_NOWAIT,
  GFP_TRANSHUGE_LIGHT,
  MigrateType,
  ZoneType,
  __GFP_COMP,
  __GFP_DMA,
  __GFP_DMA32,
  __GFP_MOVABLE,
  __GFP_NOFAIL,
  __GFP_NOWARN,
  __GFP_RECLAIMABLE,
  __GFP_ZERO,
  formatGfp,
  gfpMigratetype,
  gfpZone,
  parseGfp,
  validateGfp,
} from '../../src/interfaces/gfp.js';
import { isAllocatorError } from '../../src/interfaces/errors.js';

describe('GFP flags (Linux 6.8 values)', () => {
  it('has the 6.8 composite values', () => {
    expect(GFP_KERNEL).toBe(0xcc0);
    expect(GFP_ATOMIC).toBe(0x820);
    expect(GFP_NOWAIT).toBe(0x2800);
    expect(GFP_HIGHUSER_MOVABLE).toBe(0x100cca);
    expect(GFP_TRANSHUGE_LIGHT).toBe(0x1c20ca);
  });

  it.each([
    [0xcc0, 'GFP_KERNEL'],
    [0xdc0, 'GFP_KERNEL|__GFP_ZERO'],
    [0x2820, 'GFP_ATOMIC|__GFP_NOWARN'],
    [0x2800, 'GFP_NOWAIT'],
    [0x40cc0, 'GFP_KERNEL|__GFP_COMP'],
    [0x8cc0, 'GFP_KERNEL|__GFP_NOFAIL'],
    [0x2dc0, 'GFP_KERNEL|__GFP_NOWARN|__GFP_ZERO'],
    [0x400dc0, 'GFP_KERNEL_ACCOUNT|__GFP_ZERO'],
    [0x140cca, 'GFP_HIGHUSER_MOVABLE|__GFP_COMP'],
    [0xc00, 'GFP_NOIO'],
    [0x800, '__GFP_KSWAPD_RECLAIM'],
    [0, 'none'],
  ])('formats 0x%s as ftrace does: %s', (mask, text) => {
    expect(formatGfp(mask)).toBe(text);
    if (mask) expect(parseGfp(text)).toBe(mask);
  });

  it('decides the zone and the migrate type', () => {
    expect(gfpZone(GFP_KERNEL)).toBe(ZoneType.NORMAL);
    expect(gfpZone(GFP_KERNEL | __GFP_DMA)).toBe(ZoneType.DMA);
    expect(gfpZone(GFP_KERNEL | __GFP_DMA32)).toBe(ZoneType.DMA32);
    expect(gfpZone(GFP_HIGHUSER_MOVABLE)).toBe(ZoneType.NORMAL);
    expect(gfpZone(GFP_HIGHUSER_MOVABLE, true)).toBe(ZoneType.MOVABLE);
    expect(gfpMigratetype(GFP_KERNEL)).toBe(MigrateType.UNMOVABLE);
    expect(gfpMigratetype(GFP_HIGHUSER_MOVABLE)).toBe(MigrateType.MOVABLE);
    expect(gfpMigratetype(GFP_KERNEL | __GFP_RECLAIMABLE)).toBe(MigrateType.RECLAIMABLE);
  });

  it.each([
    ['DMA with DMA32', __GFP_DMA | __GFP_DMA32],
    ['movable with reclaimable', __GFP_MOVABLE | __GFP_RECLAIMABLE],
    ['the removed __GFP_ATOMIC bit', 0x200],
    ['bits above __GFP_BITS_SHIFT', 1 << 27],
    ['a negative mask', -1],
    ['a fraction', 1.5],
  ])('rejects %s', (_what, mask) => {
    let err: unknown;
    try {
      validateGfp(mask, 'test', 'op');
    } catch (e) {
      err = e;
    }
    expect(isAllocatorError(err, 'invalid-gfp')).toBe(true);
  });

  it('accepts the usual masks', () => {
    for (const g of [GFP_KERNEL, GFP_ATOMIC, GFP_NOWAIT, GFP_HIGHUSER_MOVABLE, GFP_KERNEL | __GFP_ZERO | __GFP_COMP | __GFP_NOFAIL | __GFP_NOWARN]) {
      expect(() => validateGfp(g, 't', 'o')).not.toThrow();
    }
  });

  it('rejects unknown flag names', () => {
    expect(() => parseGfp('GFP_KERNEL|__GFP_BOGUS')).toThrow(/unknown GFP flag '__GFP_BOGUS'/);
  });
});
