/**
 * Seeded random user-space traces, for the glibc-oracle tests and the
 * benchmarks.
 *
 * How it works here: one {@link Rng} drives a loop of `ops` steps. Each step
 * picks an op by the weights of a {@link UserTraceMix}; a free is forced
 * when the live set is at its bound (`maxLive` blocks or `maxLiveBytes`
 * bytes), an allocation when nothing is live. Sizes are drawn from weighted
 * {@link UserTraceSizeClass | size classes}, uniformly or log-uniformly
 * inside one. Frees and reallocs pick a live id uniformly (the live set is
 * an array with swap-remove, so the order of frees is random). Reallocs
 * grow (×1.25–4), shrink (×0.25–0.8) or jump to a size of another class —
 * from the heap into the mmap range and back — and now and then go to 0
 * (glibc frees). Ids are fresh for every allocation. Every op goes through
 * {@link UserTraceBuilder}, so a generated trace obeys the rules a parsed
 * one does; its op `i` is on line `i + 1` of {@link formatPlainTrace}.
 *
 * The `mixed` preset ({@link USER_TRACE_MIXES}) spreads requests over every
 * path of glibc 2.36 on x86-64: tcache/fastbin sizes (1–120 bytes: chunks
 * up to 128, the default `global_max_fast`), small-bin sizes (121–1008:
 * chunks below 1024), the largest tcache sizes (1009–1032: chunks up to
 * 1040), large-bin sizes (1 KiB–127 KiB) and, rarer, mmap sizes (128 KiB–
 * 1 MiB, at or above the initial `mmap_threshold`), plus the exact
 * boundaries between them and malloc(0). The `small` preset is the
 * benchmark's: mallocs and frees of 1–256 bytes.
 *
 * Determinism: the same options give the same trace, on every platform
 * and engine: the Rng is integer arithmetic, and the generator uses only
 * basic IEEE operations (no `Math.log`/`Math.pow` of fractions, whose
 * rounding engines may differ on). Size classes must stay below 2^32.
 */

import { AllocatorError } from '../../interfaces/errors.js';
import { Rng } from '../../machine/rng.js';
import { formatPlainTrace, OP, type UserTrace, UserTraceBuilder } from './trace.js';

/** A range of request sizes and how often it is drawn. */
export interface UserTraceSizeClass {
  /** For reports (`tcache`, `large`, …). */
  readonly name: string;
  /** Smallest request, bytes. */
  readonly min: number;
  /** Largest request, bytes (inclusive). */
  readonly max: number;
  /** Relative weight among the classes. */
  readonly weight: number;
  /**
   * Draw log-uniformly (each power-of-two bucket equally likely) instead of uniformly.
   * @defaultValue false
   */
  readonly log?: boolean;
  /** When given, draw one of these sizes instead of a range (`min`/`max` still bound them). */
  readonly sizes?: readonly number[];
}

/** What a generated trace is made of: op weights, size classes and the live-set bound. */
export interface UserTraceMix {
  /** Relative weights of the ops (a free or realloc needs a live block; see the module comment). */
  readonly weights: { readonly malloc: number; readonly free: number; readonly realloc: number; readonly calloc: number; readonly memalign: number };
  /** Size classes of new blocks and of realloc jumps. */
  readonly sizes: readonly UserTraceSizeClass[];
  /** At most this many blocks are live (a free is forced at the bound). */
  readonly maxLive: number;
  /** At most about this many bytes are live (a free is forced above it). */
  readonly maxLiveBytes: number;
  /** Alignments of memalign, drawn uniformly. */
  readonly alignments: readonly number[];
  /** Largest calloc element count (counts are 1..this). */
  readonly maxNmemb: number;
}

/** Request sizes at the edges of glibc's size ranges (and malloc(0)). */
export const GLIBC_EDGE_SIZES: readonly number[] = [0, 1, 24, 25, 40, 120, 121, 1008, 1009, 1032, 1033, 130048, 131064, 131072, 131073];

/** Size classes of glibc 2.36 on x86-64, in request bytes. */
export const GLIBC_SIZE_CLASSES: readonly UserTraceSizeClass[] = [
  { name: 'tcache', min: 1, max: 120, weight: 45 },
  { name: 'small', min: 121, max: 1008, weight: 24 },
  { name: 'tcache-large', min: 1009, max: 1032, weight: 3 },
  { name: 'large', min: 1033, max: 127 * 1024, weight: 20, log: true },
  { name: 'mmap', min: 128 * 1024, max: 1024 * 1024, weight: 2, log: true },
  { name: 'edge', min: 0, max: 131073, weight: 6, sizes: GLIBC_EDGE_SIZES },
];

/** The named mixes. */
export const USER_TRACE_MIXES = {
  /** Every glibc path: see the module comment. */
  mixed: {
    weights: { malloc: 38, free: 38, realloc: 14, calloc: 5, memalign: 5 },
    sizes: GLIBC_SIZE_CLASSES,
    maxLive: 400,
    maxLiveBytes: 8 << 20,
    alignments: [16, 32, 64, 128, 256, 512, 1024, 2048, 4096],
    maxNmemb: 16,
  },
  /** The benchmark trace: malloc and free of 1–256 bytes, at most 1000 live. */
  small: {
    weights: { malloc: 60, free: 40, realloc: 0, calloc: 0, memalign: 0 },
    sizes: [{ name: 'small', min: 1, max: 256, weight: 1 }],
    maxLive: 1000,
    maxLiveBytes: 1 << 30,
    alignments: [16],
    maxNmemb: 1,
  },
} as const satisfies Record<string, UserTraceMix>;

/** A preset name of {@link USER_TRACE_MIXES}. */
export type UserTraceMixName = keyof typeof USER_TRACE_MIXES;

/** Options of {@link generateUserTrace}. */
export interface UserTraceGenOpts {
  /** Seed of the {@link Rng}. */
  readonly seed: number;
  /** Number of ops. */
  readonly ops: number;
  /**
   * A preset name or a mix of one's own.
   * @defaultValue 'mixed'
   */
  readonly mix?: UserTraceMixName | UserTraceMix;
}

/** Share of reallocs that go to size 0 (a free, in glibc). */
const REALLOC_ZERO_SHARE = 0.02;

/** Draws a request size from one class. */
function drawSize(r: Rng, c: UserTraceSizeClass): number {
  if (c.sizes !== undefined && c.sizes.length > 0) return c.sizes[r.int(c.sizes.length)]!;
  if (c.log === true) {
    // A power-of-two bucket [2^k, 2^(k+1)) uniformly, then uniformly inside it (clipped to the class).
    const loBit = 31 - Math.clz32(Math.max(1, c.min));
    const hiBit = 31 - Math.clz32(c.max);
    const k = loBit + r.int(hiBit - loBit + 1);
    const lo = Math.max(c.min, 2 ** k);
    const hi = Math.min(c.max, 2 ** (k + 1) - 1);
    return lo + r.int(hi - lo + 1);
  }
  return c.min + r.int(c.max - c.min + 1);
}

function drawClassSize(r: Rng, mix: UserTraceMix): number {
  return drawSize(r, mix.sizes[r.weighted(mix.sizes.map((c) => c.weight))]!);
}

/** The mmap class of the mix, or undefined. */
function mmapClass(mix: UserTraceMix): UserTraceSizeClass | undefined {
  return mix.sizes.find((c) => c.name === 'mmap');
}

/** New size of a realloc of a block of `old` bytes. */
function reallocSize(r: Rng, mix: UserTraceMix, old: number): number {
  if (r.chance(REALLOC_ZERO_SHARE)) return 0;
  const x = r.float();
  if (x < 0.4) return Math.max(1, Math.floor(Math.max(old, 8) * (1.25 + r.float() * 2.75)));
  if (x < 0.8) return Math.max(1, Math.floor(old * (0.25 + r.float() * 0.55)));
  const big = mmapClass(mix);
  if (big !== undefined && old < big.min && r.chance(0.5)) return drawSize(r, big); // into the mmap range
  return Math.max(1, drawClassSize(r, mix)); // anywhere, usually back to the heap
}

/** Live blocks: ids in an array (swap-remove) and their sizes by id. */
class LiveSet {
  readonly ids: number[] = [];
  private readonly pos = new Map<number, number>();
  private readonly bytes = new Map<number, number>();
  total = 0;

  add(id: number, size: number): void {
    this.pos.set(id, this.ids.length);
    this.ids.push(id);
    this.bytes.set(id, size);
    this.total += size;
  }

  resize(id: number, size: number): void {
    this.total += size - this.bytes.get(id)!;
    this.bytes.set(id, size);
  }

  size(id: number): number {
    return this.bytes.get(id)!;
  }

  remove(id: number): void {
    const i = this.pos.get(id)!;
    const last = this.ids.pop()!;
    if (last !== id) {
      this.ids[i] = last;
      this.pos.set(last, i);
    }
    this.pos.delete(id);
    this.total -= this.bytes.get(id)!;
    this.bytes.delete(id);
  }

  pick(r: Rng): number {
    return this.ids[r.int(this.ids.length)]!;
  }
}

/** Largest request a size class may hold (the log draw works on 32-bit lengths). */
const MAX_CLASS_SIZE = 2 ** 32 - 1;

/** Every problem of a mix or of the options, empty when they are usable. */
function problems(o: UserTraceGenOpts, mix: UserTraceMix): string[] {
  const p: string[] = [];
  if (!Number.isSafeInteger(o.ops) || o.ops < 0) p.push(`ops must be a non-negative integer, not ${o.ops}`);
  const w = Object.entries(mix.weights);
  if (w.some(([, v]) => !(v >= 0)) || !(mix.weights.malloc + mix.weights.calloc + mix.weights.memalign > 0)) p.push('op weights must be >= 0 with some allocation weight > 0');
  if (mix.sizes.length === 0 || mix.sizes.some((c) => !(c.weight >= 0)) || !mix.sizes.some((c) => c.weight > 0)) p.push('size classes must have weights >= 0, some > 0');
  for (const c of mix.sizes) {
    if (!Number.isInteger(c.min) || !Number.isInteger(c.max) || c.min < 0 || c.max < c.min || c.max > MAX_CLASS_SIZE) p.push(`size class ${c.name}: need integers 0 <= min <= max <= 2^32-1, not ${c.min}..${c.max}`);
  }
  if (!(mix.maxLive >= 1)) p.push(`maxLive must be >= 1, not ${mix.maxLive}`);
  if (!(mix.maxLiveBytes >= 1)) p.push(`maxLiveBytes must be >= 1, not ${mix.maxLiveBytes}`);
  if (mix.weights.memalign > 0 && mix.alignments.length === 0) p.push('memalign needs at least one alignment');
  if (!Number.isInteger(mix.maxNmemb) || mix.maxNmemb < 1) p.push(`maxNmemb must be an integer >= 1, not ${mix.maxNmemb}`);
  return p;
}

/**
 * Generates a random trace, deterministic for a seed.
 *
 * @param o - seed, number of ops and mix ({@link UserTraceGenOpts})
 * @returns a trace of exactly `o.ops` ops, format `plain`
 * @throws AllocatorError `config` listing every problem of a custom mix (or of `ops`)
 * @remarks O(ops).
 */
export function generateUserTrace(o: UserTraceGenOpts): UserTrace {
  const mix: UserTraceMix = typeof o.mix === 'object' ? o.mix : USER_TRACE_MIXES[o.mix ?? 'mixed'];
  const bad = problems(o, mix);
  if (bad.length > 0) throw new AllocatorError('config', `generateUserTrace: ${bad.join('; ')}`, { problems: bad });
  const r = new Rng(o.seed);
  const b = new UserTraceBuilder(false);
  const live = new LiveSet();
  const w = mix.weights;
  const weights = [w.malloc, w.free, w.realloc, w.calloc, w.memalign];
  let nextId = 0;
  for (let i = 0; i < o.ops; i++) {
    const line = i + 1;
    const full = live.ids.length >= mix.maxLive || live.total >= mix.maxLiveBytes;
    const op = live.ids.length === 0 ? OP.MALLOC : full ? OP.FREE : r.weighted(weights);
    if (op === OP.FREE || op === OP.REALLOC) {
      const id = live.pick(r);
      const size = op === OP.REALLOC ? reallocSize(r, mix, live.size(id)) : 0;
      if (op === OP.FREE) b.free(id, line);
      else b.realloc(id, size, line);
      if (size === 0) live.remove(id);
      else live.resize(id, size);
      continue;
    }
    const id = nextId++;
    const size = drawClassSize(r, mix);
    if (op === OP.CALLOC) {
      const nmemb = 1 + r.int(mix.maxNmemb);
      const elem = Math.ceil(size / nmemb);
      b.alloc(OP.CALLOC, id, elem, nmemb, line);
      live.add(id, elem * nmemb);
    } else {
      if (op === OP.MEMALIGN) b.alloc(OP.MEMALIGN, id, size, mix.alignments[r.int(mix.alignments.length)]!, line);
      else b.alloc(OP.MALLOC, id, size, 0, line);
      live.add(id, size);
    }
  }
  return b.build('plain', { lines: o.ops });
}

/**
 * The plain-format text of {@link generateUserTrace} (what the C oracle
 * reads): `formatPlainTrace(generateUserTrace(o))`.
 */
export function generateUserTraceText(o: UserTraceGenOpts): string {
  return formatPlainTrace(generateUserTrace(o));
}
