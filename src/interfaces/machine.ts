/**
 * The contract of the simulated machine every layer sits on: its layout
 * (nodes, zones, RAM ranges), the `struct page` array, the bytes of physical
 * memory, the execution context ("current"), the ftrace recorder, the kernel
 * log and the bug-detector reports. The implementation is in `src/machine/`;
 * policies receive it through the `MACHINE` token and use only this shape.
 */

import type { MachineOpts } from './config.js';
import type { CostMeterApi } from './cost.js';
import type { ZoneType } from './gfp.js';
import type { Addr, Pfn } from './units.js';

/** A half-open range of frames. */
export interface PfnRange {
  readonly start: number;
  readonly end: number;
}

/** One zone of one node as the boot code lays it out. */
export interface ZoneLayout {
  /** Index in {@link MachineLayoutApi.zones} (node × MAX_NR_ZONES + type). */
  readonly id: number;
  readonly node: number;
  readonly type: ZoneType;
  /** `DMA`, `DMA32`, `Normal`, `Movable`, `Device`. */
  readonly name: string;
  readonly startPfn: number;
  /** One past the last frame the zone spans. */
  readonly endPfn: number;
  /** `spanned_pages`. */
  readonly spanned: number;
  /** `present_pages` (RAM inside the span). */
  readonly present: number;
  /** Frames memblock reserved inside the zone. */
  readonly reserved: number;
}

/** One NUMA node. */
export interface NodeLayout {
  readonly id: number;
  readonly startPfn: number;
  readonly endPfn: number;
  /** Its zones in ZoneType order (empty ones included). */
  readonly zones: readonly ZoneLayout[];
  /** CPUs on the node. */
  readonly cpus: readonly number[];
}

/** The e820 map, nodes, zones and memblock reservations of the machine. */
export interface MachineLayoutApi {
  /** Frames covered (RAM and holes). */
  readonly nrPages: number;
  readonly nodes: readonly NodeLayout[];
  /** Every zone of every node, indexed by `ZoneLayout.id`. */
  readonly zones: readonly ZoneLayout[];
  /** RAM ranges (e820 usable). */
  readonly memory: readonly PfnRange[];
  /** Ranges memblock reserved at boot. */
  readonly reserved: readonly PfnRange[];
  /** Node of each CPU. */
  readonly cpuNode: readonly number[];
  /** Zone ids to try for an allocation on `node` up to zone type `highest` (the zonelist, local node first). */
  zonelist(node: number, highest: number): number[];
  /** Node of a frame. */
  nodeOf(pfn: number): number;
  /** Zone id of a frame. */
  zoneOf(pfn: number): number;
  /** Whether a frame is RAM (not a hole). */
  isRam(pfn: number): boolean;
  /** RAM minus memblock's reservations: what `memblock_free_all` hands to the page allocator. */
  freeRanges(): PfnRange[];
  /** The free ranges as naturally aligned blocks, in the order `memblock_free_all` frees them. */
  bootBlocks(): Generator<[pfn: number, order: number]>;
}

/**
 * Intrusive doubly-linked lists threaded through `struct page` (the kernel's
 * `list_head`): list heads are small integers, members are frames, every
 * operation is O(1).
 */
export interface PfnListsApi {
  /** Allocates a new, empty list head. */
  newHead(): number;
  /** Adds `pfn` at the head of list `h`. */
  addHead(h: number, pfn: number): void;
  /** Adds `pfn` at the tail of list `h`. */
  addTail(h: number, pfn: number): void;
  /** Unlinks `pfn` from whatever list holds it (poisoning its links). */
  del(pfn: number): void;
  /** First member, or -1. */
  first(h: number): number;
  /** Last member, or -1. */
  last(h: number): number;
  /** Member after `pfn`, or -1 at the end. */
  after(pfn: number): number;
  /** Member before `pfn`, or -1 at the start. */
  before(pfn: number): number;
  /** Whether list `h` has no member. */
  isEmpty(h: number): boolean;
  /** The raw next link of a frame (for invariant checks). */
  rawNext(pfn: number): number;
  /** The raw prev link of a frame. */
  rawPrev(pfn: number): number;
  /** Walks at most `limit` members, reporting a broken link or a cycle instead of hanging. */
  walk(h: number, limit: number): { pfns: number[]; ok: boolean; problem?: string };
  /** {@link PfnListsApi.walk} into reused storage (valid until the next call): for invariant checks run after every operation. */
  walkInto(h: number, limit: number): ListWalk;
}

/** The result of {@link PfnListsApi.walkInto}: the members in `pfns[0..n)`, and whether the walk ended cleanly at the head. */
export interface ListWalk {
  pfns: Int32Array;
  n: number;
  ok: boolean;
  problem: string | undefined;
}

/**
 * `struct page` for every frame as struct-of-arrays typed arrays indexed by
 * pfn (flag bits and owners in `src/machine/memmap.ts`).
 */
export interface StructPageArray {
  readonly nrPages: number;
  /** PG_* bits and the 4-bit owner field. */
  readonly flags: Uint16Array;
  /** Order of a block head. */
  readonly order: Uint8Array;
  /** Migrate type of a block head. */
  readonly mt: Uint8Array;
  readonly refcount: Int32Array;
  /** The intrusive lists over `next`/`prev`. */
  readonly lists: PfnListsApi;
  /** List links (tail pages of compound blocks keep the head pfn in `next`). */
  readonly next: Int32Array;
  readonly prev: Int32Array;
  /** Owner code of a frame (`Owner` in `src/machine/memmap.ts`). */
  owner(pfn: number): number;
  /** Sets the owner of `count` frames. */
  setOwner(pfn: number, count: number, owner: number): void;
  /** Head of the compound block holding `pfn` (itself when not a tail). */
  compoundHead(pfn: number): number;
  /** `%pGp`-style flag names of a frame. */
  describeFlags(pfn: number): string;
}

/**
 * The bytes of physical memory, stored per touched frame. Accessors take
 * physical addresses; multi-byte accessors are little-endian like x86_64.
 */
export interface PhysicalMemoryApi {
  readonly nrPages: number;
  readonly bytes: number;
  /** Drops a frame's bytes and makes it read as `byte` everywhere (page poisoning without touching memory). */
  setBackground(pfn: Pfn, count: number, byte: number): void;
  /** Gives every byte segment back to the pool the next machines draw from (the machine is done with). */
  release(): void;
  /** Frames that currently have backing bytes. */
  readonly backedPages: number;
  /** Throws unless `[phys, phys + len)` lies inside the machine. */
  checkRange(phys: number, len: number, op: string): void;
  /** Whether frame `pfn` has backing bytes. */
  isBacked(pfn: Pfn): boolean;
  /** The page's bytes as 2048 native-endian s16 words (SLOB's dense metadata). */
  pageInt16(pfn: Pfn): Int16Array;
  /** Byte offset of the frame inside the view {@link segmentOf} returned last. */
  readonly segmentOffset: number;
  /** The DataView of the storage segment holding frame `pfn` (backing it if needed). */
  segmentOf(pfn: number): DataView;
  /** Drops the backing of `count` frames: their bytes read as zero again. */
  discard(pfn: Pfn, count: number): void;
  /** Reads one byte. */
  read8(phys: Addr | number): number;
  /** Writes one byte. */
  write8(phys: Addr | number, v: number): void;
  /** Reads a little-endian u16. */
  read16(phys: Addr | number): number;
  /** Writes a little-endian u16. */
  write16(phys: Addr | number, v: number): void;
  /** Reads a little-endian u32. */
  read32(phys: Addr | number): number;
  /** Writes a little-endian u32. */
  write32(phys: Addr | number, v: number): void;
  /** Reads a u64 as a number (exact below 2^53). */
  read64(phys: Addr | number): number;
  /** Writes a non-negative integer below 2^53 as a u64. */
  write64(phys: Addr | number, v: number): void;
  /** Reads `count` consecutive u64 from `phys` (8-byte aligned) into `out` from index `at`, as {@link read64} reads each; creates no backing. */
  read64s(phys: Addr | number, count: number, out: Float64Array, at?: number): void;
  /** Writes `src[at…at + count)` as consecutive u64 from `phys` (8-byte aligned), as {@link write64} writes each (values: non-negative integers below 2^53). */
  write64s(phys: Addr | number, count: number, src: Float64Array, at?: number): void;
  /** Reads a u64 exactly. */
  read64n(phys: Addr | number): bigint;
  /** Writes a u64 exactly. */
  write64n(phys: Addr | number, v: bigint): void;
  /** Fills `len` bytes with `byte` (zero-filling unbacked frames creates no backing). */
  fill(phys: Addr | number, len: number, byte: number): void;
  /** Copies `len` bytes out of simulated memory. */
  readBytes(phys: Addr | number, len: number, out?: Uint8Array): Uint8Array;
  /** Copies bytes into simulated memory. */
  writeBytes(phys: Addr | number, data: Uint8Array): void;
  /** memmove inside simulated memory. */
  copy(dst: Addr | number, src: Addr | number, len: number): void;
  /** Offset of the first byte in `[phys, phys + len)` that is not `byte`, or -1. */
  findNot(phys: Addr | number, len: number, byte: number): number;
}

/** The "current" of the simulated kernel: CPU, task and logical clock. */
export interface ExecContextApi {
  readonly nrCpus: number;
  /** Task name (`current->comm`). */
  comm: string;
  /** Task id (`current->pid`). */
  pid: number;
  /** Logical ticks since boot. */
  ticks: number;
  /** `call_site` the next traced allocation reports (`%pS` form). */
  caller: string;
  /** A pseudo kernel-text address for the current `caller` (`_RET_IP_`). */
  callerAddr(): number;
  /** The pseudo text address of a symbol. */
  callerAddrOf(sym: string): number;
  /** The symbol of such an address (`%pS`), or the hex address. */
  symbolOf(addr: number): string;
  /** The CPU calls run on. */
  readonly cpu: number;
  /** Moves execution to another CPU. @throws AllocatorError `invalid-cpu` */
  setCpu(cpu: number): void;
  /** Advances the logical clock; returns the new time in ns. */
  tick(): number;
  /** Current logical time in ns. */
  readonly nowNs: number;
}

/** One recorded ftrace event. */
export interface TraceEvent {
  /** Logical time in ns. */
  readonly ns: number;
  readonly cpu: number;
  readonly comm: string;
  readonly pid: number;
  /** Event name, e.g. `mm_page_alloc`. */
  readonly event: string;
  /** Pre-formatted field text. */
  readonly text: string;
}

/** The ftrace recorder; layers call `emit` only when `enabled`. */
export interface TracerApi {
  enabled: boolean;
  /** Records an event at the current logical time. */
  emit(event: string, text: string): void;
  /** Events recorded so far. */
  list(): readonly TraceEvent[];
  /** Events lost to the ring limit. */
  readonly lost: number;
  /** Forgets all events. */
  clear(): void;
  /** The events as a kernel `trace` file. */
  format(): string;
}

/** The kernel log (`dmesg`). */
export interface KernelLogApi {
  /** Appends a line as printk does: `[    0.000123] text`. */
  printk(text: string): void;
  /** Lines so far. */
  list(): readonly string[];
}

/** One report a bug detector produced. */
export interface DebugReport {
  /** `slub`, `kasan`, `pagealloc`, `devres`, … */
  readonly detector: string;
  /** The fixed title, e.g. `Right Redzone overwritten`. */
  readonly kind: string;
  readonly cache?: string;
  readonly addr: number;
  /** The full report text, line by line. */
  readonly text: string;
}

/** Where detector reports go: kept in order, and printed to the kernel log. */
export interface ReportSinkApi {
  /** Adds a report (and prints it to the kernel log). */
  add(r: DebugReport): void;
  /** Appends a follow-up line to the last report. */
  amendLast(line: string): void;
  /** Reports so far, in order. */
  list(): readonly DebugReport[];
  /** Forgets every report. */
  clear(): void;
}

/** Everything below the page allocator, one per system. */
export interface Machine {
  readonly opts: MachineOpts;
  readonly layout: MachineLayoutApi;
  readonly memmap: StructPageArray;
  readonly mem: PhysicalMemoryApi;
  readonly ctx: ExecContextApi;
  readonly tracer: TracerApi;
  readonly log: KernelLogApi;
  readonly reports: ReportSinkApi;
  /** Page poisoning (`page_poison=1`): freed pages read 0xaa and are checked on allocation. */
  readonly pagePoison: boolean;
  /** The cost meter (`debug.cost`), or null: policies count their costs into it when it is there. */
  readonly cost: CostMeterApi | null;
}
