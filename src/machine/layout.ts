/**
 * Physical layout of the simulated machine, computed as x86_64 Linux sees
 * it at boot: the e820-style memory map, NUMA nodes, zones, and the
 * memblock reservations (first MiB, kernel image, each node's `mem_map`).
 *
 * - Memory map: frames [1, 0x9f) and [0x100, N): frame 0 and the
 *   640 KiB–1 MiB legacy hole are not RAM, as on a PC (the real 6.1 zoneinfo
 *   in data/linux-6.1-qemu-smp4 shows DMA `start_pfn: 1`, `present 3998`).
 * - Zones: DMA below 16 MiB, DMA32 below 4 GiB, Normal above; Movable and
 *   Device exist but stay empty (no `movablecore=`).
 * - Reserved: the whole first MiB (`x86/setup: Always reserve the first 1M
 *   of RAM`, since 5.13; gives the DMA zone its real `managed 3840`), the
 *   kernel image at 16 MiB (CONFIG_PHYSICAL_START), and each node's
 *   `mem_map` (64 bytes per frame) at the top of the node, where memblock's
 *   top-down allocator puts it.
 * - Nodes split memory evenly in MAX_ORDER-aligned ranges; CPUs are
 *   assigned to nodes in contiguous runs.
 */

import { totalmem } from 'node:os';
import { AllocatorError } from '../interfaces/errors.js';
import { MAX_NR_ZONES, ZONE_NAMES, ZoneType } from '../interfaces/gfp.js';
import type { MachineOpts } from '../interfaces/config.js';
import type { MachineLayoutApi, NodeLayout, PfnRange, ZoneLayout } from '../interfaces/machine.js';
import { MAX_PAGE_ORDER, PAGE_SIZE, formatSize } from '../interfaces/units.js';

/** Frames below 16 MiB (ZONE_DMA). */
export const DMA_END_PFN = (16 << 20) / PAGE_SIZE;
/** Frames below 4 GiB (ZONE_DMA32). */
export const DMA32_END_PFN = 2 ** 32 / PAGE_SIZE;
/** End of the first RAM range below 640 KiB. */
export const LOW_RAM_END_PFN = 0x9f;
/** Start of RAM above the legacy hole (1 MiB). */
export const HIGH_RAM_START_PFN = 0x100;
/** Physical load address of the kernel (CONFIG_PHYSICAL_START = 16 MiB). */
export const KERNEL_START_PFN = (16 << 20) / PAGE_SIZE;
/** Size of Linux's `struct page`, which decides how much RAM mem_map takes. */
export const LINUX_STRUCT_PAGE_BYTES = 64;
/** Memory comes in whole order-10 blocks (4 MiB). */
export const MEM_GRANULE_BYTES = 4 << 20;
/**
 * Smallest machine of any shape: one order-10 block. The smallest one a
 * given shape can be laid out in is {@link minMemBytes}: 4 MiB without a
 * kernel image, 52 MiB with the default 32 MiB one.
 */
export const MIN_MEM_BYTES = MEM_GRANULE_BYTES;
/** Largest machine (PFNs must fit the Int32 links of mem_map). */
export const MAX_MEM_BYTES = 2 ** 42;
/**
 * Host memory the simulator allocates per simulated 4 KiB frame, at most,
 * measured with `process.memoryUsage().arrayBuffers` on 16 GiB machines:
 * 16 B of struct page arrays, 5 B for the byte store's slot map and
 * background byte, 22 B of slab-layer tables under SLUB (23 under SLAB, 18
 * under SLOB), 1 B for the first-fit page allocator's bitmap and 5 B for
 * KASAN — 43 B by default, 50 B with the largest choices. The host zeroes
 * these arrays lazily, so RSS starts near 12 B a frame after boot and grows
 * towards the full figure as a run touches frames.
 */
export const HOST_BYTES_PER_FRAME = 50;
/** Share of the host's memory one simulated machine's metadata may claim. */
export const HOST_MEMORY_SHARE = 0.5;

/** The machine's memory layout. */
export class MachineLayout implements MachineLayoutApi {
  /** Frames of the machine (including holes). */
  readonly nrPages: number;
  readonly nodes: readonly NodeLayout[];
  /** All zones, indexed by global zone id. */
  readonly zones: readonly ZoneLayout[];
  /** RAM ranges, ascending. */
  readonly memory: readonly PfnRange[];
  /** memblock reservations, ascending and disjoint, each clipped to RAM. */
  readonly reserved: readonly PfnRange[];
  /** Node of each CPU. */
  readonly cpuNode: readonly number[];
  private readonly nodeEnds: Int32Array;

  /**
   * @param opts - validated machine options
   * @throws AllocatorError `config` when the machine cannot be laid out
   */
  constructor(opts: MachineOpts) {
    const problems = validateMachine(opts);
    if (problems.length) throw new AllocatorError('config', `invalid machine: ${problems.join('; ')}`, { problems });
    const n = opts.memBytes / PAGE_SIZE;
    this.nrPages = n;
    this.memory = [
      { start: 1, end: Math.min(LOW_RAM_END_PFN, n) },
      { start: HIGH_RAM_START_PFN, end: n },
    ].filter((r) => r.end > r.start);

    const nodeRanges = splitNodes(n, opts.nodes);
    this.nodeEnds = Int32Array.from(nodeRanges.map((r) => r.end));
    const reserved = reservations(n, opts.nodes, opts.kernelImageBytes);
    this.reserved = mergeRanges(reserved).map((r) => clipToRam(r, this.memory)).flat();

    this.cpuNode = Array.from({ length: opts.cpus }, (_, c) => Math.min(opts.nodes - 1, Math.floor((c * opts.nodes) / opts.cpus)));
    const zones: ZoneLayout[] = [];
    const nodes: NodeLayout[] = [];
    nodeRanges.forEach((r, node) => {
      const nodeZones: ZoneLayout[] = [];
      for (let type = 0; type < MAX_NR_ZONES; type++) {
        const bounds = zoneBounds(type as ZoneType, r);
        const ram = overlap(bounds, this.memory);
        const firstRam = ram.length ? ram[0]!.start : bounds.start;
        const start = ram.length ? firstRam : 0;
        const end = ram.length ? bounds.end : 0;
        const present = ram.reduce((s, x) => s + x.end - x.start, 0);
        const reservedPages = overlap(bounds, this.reserved).reduce((s, x) => s + x.end - x.start, 0);
        const z: ZoneLayout = {
          id: node * MAX_NR_ZONES + type,
          node,
          type: type as ZoneType,
          name: ZONE_NAMES[type]!,
          startPfn: start,
          endPfn: end,
          spanned: end - start,
          present,
          reserved: reservedPages,
        };
        zones.push(z);
        nodeZones.push(z);
      }
      nodes.push({
        id: node,
        startPfn: r.start,
        endPfn: r.end,
        zones: nodeZones,
        cpus: this.cpuNode.flatMap((nd, c) => (nd === node ? [c] : [])),
      });
    });
    this.zones = zones;
    this.nodes = nodes;
  }

  /**
   * Zone ids an allocation from `node` limited to zones ≤ `highest` tries,
   * in order (`build_zonelists`, node order): the node's own populated zones
   * from the highest down, then every other node's.
   */
  zonelist(node: number, highest: number): number[] {
    const ids: number[] = [];
    for (const n of [node, ...this.nodes.map((m) => m.id).filter((id) => id !== node)]) {
      for (let t = highest; t >= 0; t--) ids.push(n * MAX_NR_ZONES + t);
    }
    return ids.filter((id) => this.zones[id]!.present > 0);
  }

  /** Node holding frame `pfn`. */
  nodeOf(pfn: number): number {
    const ends = this.nodeEnds;
    let i = 0;
    while (i < ends.length - 1 && pfn >= ends[i]!) i++;
    return i;
  }

  /** Global zone id of frame `pfn` (`page_zone`). */
  zoneOf(pfn: number): number {
    const type = pfn < DMA_END_PFN ? ZoneType.DMA : pfn < DMA32_END_PFN ? ZoneType.DMA32 : ZoneType.NORMAL;
    return (this.nodeEnds.length === 1 ? 0 : this.nodeOf(pfn)) * MAX_NR_ZONES + type;
  }

  /** True when frame `pfn` is RAM. */
  isRam(pfn: number): boolean {
    return this.memory.some((r) => pfn >= r.start && pfn < r.end);
  }

  /** Free RAM ranges after memblock reservations, ascending. */
  freeRanges(): PfnRange[] {
    const out: PfnRange[] = [];
    for (const m of this.memory) {
      let cur = m.start;
      for (const r of this.reserved) {
        if (r.end <= cur || r.start >= m.end) continue;
        if (r.start > cur) out.push({ start: cur, end: r.start });
        cur = Math.max(cur, r.end);
      }
      if (cur < m.end) out.push({ start: cur, end: m.end });
    }
    return splitAtBoundaries(out, this.nodes.map((n) => n.startPfn).concat([DMA_END_PFN, DMA32_END_PFN]));
  }

  /**
   * The blocks `memblock_free_all` hands to the page allocator, in the
   * order it hands them: per free range ascending, the largest naturally
   * aligned block that fits (`__free_pages_memory`). Zone and node
   * boundaries split ranges first, so no block crosses one.
   */
  *bootBlocks(): Generator<[pfn: number, order: number]> {
    for (const r of this.freeRanges()) {
      let start = r.start;
      while (start < r.end) {
        let order = Math.min(MAX_PAGE_ORDER, start === 0 ? MAX_PAGE_ORDER : ctz(start));
        while (start + (1 << order) > r.end) order--;
        yield [start, order];
        start += 1 << order;
      }
    }
  }
}

/** Options of {@link validateMachine}. */
export interface ValidateMachineOpts {
  /**
   * Bytes of host memory to measure the machine's metadata against.
   * @defaultValue `os.totalmem()`
   */
  readonly hostMemBytes?: number;
}

/** Every problem with a machine description. */
export function validateMachine(o: MachineOpts, v: ValidateMachineOpts = {}): string[] {
  const p: string[] = [];
  const memOk = Number.isInteger(o.memBytes) && o.memBytes >= MIN_MEM_BYTES && o.memBytes <= MAX_MEM_BYTES && o.memBytes % MEM_GRANULE_BYTES === 0;
  if (!Number.isInteger(o.memBytes) || o.memBytes < MIN_MEM_BYTES || o.memBytes > MAX_MEM_BYTES) {
    p.push(`memory size ${sizeOf(o.memBytes)} is outside ${MIN_MEM_BYTES >> 20} MiB .. ${MAX_MEM_BYTES / 2 ** 40} TiB`);
  } else if (!memOk) {
    p.push(`memory size ${o.memBytes} bytes is not a multiple of 4 MiB (one order-10 block)`);
  }
  if (!Number.isInteger(o.cpus) || o.cpus < 1 || o.cpus > 1024) p.push(`cpus ${String(o.cpus)} is outside 1..1024`);
  let nodesOk = Number.isInteger(o.nodes) && o.nodes >= 1 && o.nodes <= 64;
  if (!nodesOk) p.push(`nodes ${String(o.nodes)} is outside 1..64`);
  else if (memOk && o.memBytes / o.nodes < MEM_GRANULE_BYTES) {
    p.push(`${o.nodes} nodes leave less than 4 MiB (one order-10 block) per node in ${sizeOf(o.memBytes)}`);
    nodesOk = false;
  }
  const kernelOk = Number.isInteger(o.kernelImageBytes) && o.kernelImageBytes >= 0;
  if (!kernelOk) p.push(`kernel image size ${String(o.kernelImageBytes)} is not a byte count`);
  if (memOk && nodesOk && kernelOk) {
    const clash = layoutClash(o.memBytes, o.nodes, o.kernelImageBytes);
    if (clash !== null) {
      const min = minMemBytes(o.nodes, o.kernelImageBytes);
      const what = `the first MiB, ${o.kernelImageBytes > 0 ? `a ${sizeOf(o.kernelImageBytes)} kernel image at 16 MiB` : 'no kernel image'} and ${o.nodes > 1 ? "each node's" : 'the'} mem_map (${LINUX_STRUCT_PAGE_BYTES} bytes per 4 KiB frame) must fit in RAM without overlapping`;
      if (o.memBytes < min) p.push(`memory size ${sizeOf(o.memBytes)} is below the ${sizeOf(min)} this machine needs: ${what}`);
      else p.push(`memory size ${sizeOf(o.memBytes)} cannot be laid out: ${clash} (${what})`);
    } else {
      const host = v.hostMemBytes ?? totalmem();
      const need = (o.memBytes / PAGE_SIZE) * HOST_BYTES_PER_FRAME;
      const budget = host * HOST_MEMORY_SHARE;
      if (need > budget) {
        const fits = Math.floor(budget / HOST_BYTES_PER_FRAME / (MEM_GRANULE_BYTES / PAGE_SIZE)) * MEM_GRANULE_BYTES;
        p.push(
          `memory size ${sizeOf(o.memBytes)} needs about ${approx(need)} of host memory for its page metadata (about ${HOST_BYTES_PER_FRAME} bytes per 4 KiB frame); ` +
            `this host has ${approx(host)} and a simulated machine may take at most ${HOST_MEMORY_SHARE * 100} % of it, enough for ${approx(fits, true)} of simulated memory`,
        );
      }
    }
  }
  if (o.minFreeKbytes !== undefined && (!Number.isInteger(o.minFreeKbytes) || o.minFreeKbytes < 128 || o.minFreeKbytes * 1024 > o.memBytes / 4)) {
    p.push(`min_free_kbytes ${String(o.minFreeKbytes)} must be an integer from 128 to a quarter of memory`);
  }
  return p;
}

/** Nodes split `frames` evenly in MAX_PAGE_ORDER-aligned ranges; the last takes the rest. */
function splitNodes(frames: number, nodes: number): PfnRange[] {
  const perNode = Math.floor(frames / nodes / (1 << MAX_PAGE_ORDER)) * (1 << MAX_PAGE_ORDER);
  return Array.from({ length: nodes }, (_, i) => ({ start: i * perNode, end: i === nodes - 1 ? frames : (i + 1) * perNode }));
}

/** A named memblock reservation (frames). */
interface Reservation extends PfnRange {
  readonly name: string;
}

/**
 * memblock's boot reservations, in frames: the first MiB, the kernel image
 * at 16 MiB (CONFIG_PHYSICAL_START) and each node's mem_map (64 bytes per
 * frame) at the top of the node, where the top-down allocator puts it.
 */
function reservations(frames: number, nodes: number, kernelImageBytes: number): Reservation[] {
  const out: Reservation[] = [{ name: 'the first MiB', start: 0, end: HIGH_RAM_START_PFN }];
  const kernelPages = Math.ceil(kernelImageBytes / PAGE_SIZE);
  if (kernelPages > 0) out.push({ name: 'the kernel image', start: KERNEL_START_PFN, end: KERNEL_START_PFN + kernelPages });
  splitNodes(frames, nodes).forEach((r, i) => {
    const memmapPages = Math.ceil(((r.end - r.start) * LINUX_STRUCT_PAGE_BYTES) / PAGE_SIZE);
    out.push({ name: `${nodes > 1 ? `node ${i}'s ` : ''}mem_map`, start: r.end - memmapPages, end: r.end });
  });
  return out;
}

/**
 * Why the boot reservations of this shape do not fit — one lies beyond RAM
 * or two overlap (the kernel image and a node's mem_map, say) — or null
 * when they fit. {@link MachineLayout} places them as {@link reservations}
 * lists them.
 */
function layoutClash(memBytes: number, nodes: number, kernelImageBytes: number): string | null {
  const frames = memBytes / PAGE_SIZE;
  const r = reservations(frames, nodes, kernelImageBytes);
  const span = (x: PfnRange): string => `${mib(x.start * PAGE_SIZE)}–${mib(x.end * PAGE_SIZE)} MiB`;
  for (const x of r) if (x.end > frames) return `${x.name} (${span(x)}) ends beyond RAM`;
  for (let i = 0; i < r.length; i++) {
    for (let j = i + 1; j < r.length; j++) {
      const a = r[i]!;
      const b = r[j]!;
      if (a.start < b.end && b.start < a.end) return `${b.name} (${span(b)}) overlaps ${a.name} (${span(a)})`;
    }
  }
  return null;
}

/**
 * The smallest memory size (a multiple of 4 MiB) whose boot reservations
 * fit: the first MiB, the kernel image at 16 MiB and each node's mem_map
 * (64 bytes per frame at the top of the node), disjoint and inside RAM. With
 * one node and the default 32 MiB image that is 52 MiB; without an image,
 * 4 MiB.
 */
export function minMemBytes(nodes: number, kernelImageBytes: number): number {
  for (let m = nodes * MEM_GRANULE_BYTES; m <= MAX_MEM_BYTES; m += MEM_GRANULE_BYTES) {
    if (layoutClash(m, nodes, kernelImageBytes) === null) return m;
  }
  return Number.POSITIVE_INFINITY;
}

const mib = (b: number): string => String(Math.round((b / 2 ** 20) * 100) / 100);
const sizeOf = (b: number): string => (Number.isInteger(b) && b > 0 && b % 2 ** 20 === 0 ? formatSize(b) : `${String(b)} bytes`);
/** A byte count as people read an estimate: `12.5 GiB`, `768 MiB`; rounded down when `down` (a limit). */
function approx(b: number, down = false): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  let x = b;
  while (u < units.length - 1 && x >= 1024) {
    x /= 1024;
    u++;
  }
  const r = x >= 100 ? (down ? Math.floor(x) : Math.round(x)) : (down ? Math.floor(x * 10) : Math.round(x * 10)) / 10;
  return `${r} ${units[u]}`;
}

function zoneBounds(type: ZoneType, node: PfnRange): PfnRange {
  const lim: Record<number, PfnRange> = {
    [ZoneType.DMA]: { start: 0, end: DMA_END_PFN },
    [ZoneType.DMA32]: { start: DMA_END_PFN, end: DMA32_END_PFN },
    [ZoneType.NORMAL]: { start: DMA32_END_PFN, end: Number.MAX_SAFE_INTEGER },
  };
  const b = lim[type];
  if (!b) return { start: 0, end: 0 };
  return { start: Math.max(b.start, node.start), end: Math.min(b.end, node.end) };
}

function overlap(a: PfnRange, list: readonly PfnRange[]): PfnRange[] {
  return list.flatMap((r) => {
    const s = Math.max(a.start, r.start);
    const e = Math.min(a.end, r.end);
    return e > s ? [{ start: s, end: e }] : [];
  });
}

function clipToRam(r: PfnRange, memory: readonly PfnRange[]): PfnRange[] {
  return overlap(r, memory);
}

function mergeRanges(rs: PfnRange[]): PfnRange[] {
  const sorted = [...rs].sort((a, b) => a.start - b.start);
  const out: PfnRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) out[out.length - 1] = { start: last.start, end: Math.max(last.end, r.end) };
    else out.push(r);
  }
  return out;
}

function splitAtBoundaries(rs: PfnRange[], cuts: number[]): PfnRange[] {
  const out: PfnRange[] = [];
  for (const r of rs) {
    let s = r.start;
    for (const c of [...cuts].sort((a, b) => a - b)) {
      if (c > s && c < r.end) {
        out.push({ start: s, end: c });
        s = c;
      }
    }
    out.push({ start: s, end: r.end });
  }
  return out;
}

/** Count of trailing zero bits (`__ffs`). */
function ctz(x: number): number {
  let n = 0;
  while (x % 2 === 0 && n < 52) {
    x /= 2;
    n++;
  }
  return n;
}
