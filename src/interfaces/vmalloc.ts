/**
 * The vmalloc layer's contracts: the vmap-area allocator (the swappable
 * policy that hands out virtual ranges of the vmalloc space) and the public
 * vmalloc API built over it (Linux 6.8, mm/vmalloc.c).
 *
 * Addresses are kernel virtual addresses without their 0xffff sign
 * extension, like every kernel address in the simulator
 * ({@link formatKernelAddr} prints them).
 */

import type { Gfp } from './gfp.js';
import type { InvariantChecked } from './invariants.js';
import { PAGE_SIZE, VMALLOC_SIZE, VMALLOC_START } from './units.js';

/** `VMALLOC_END` (exclusive here; Linux's is this minus one). */
export const VMALLOC_END = VMALLOC_START + VMALLOC_SIZE;

/** `vm_struct.flags` (include/linux/vmalloc.h, v6.8). */
export const VM_IOREMAP = 0x00000001;
/** Area made by vmalloc and friends. */
export const VM_ALLOC = 0x00000002;
/** Area made by vmap(). */
export const VM_MAP = 0x00000004;
/** Suitable for remap_vmalloc_range. */
export const VM_USERMAP = 0x00000008;
/** dma_alloc_coherent. */
export const VM_DMA_COHERENT = 0x00000010;
/** The area has not been fully set up yet (not printed). */
export const VM_UNINITIALIZED = 0x00000020;
/** No guard page after the area. */
export const VM_NO_GUARD = 0x00000040;
/** kvmalloc's request: huge mappings allowed (not modelled: always 4 KiB PTEs). */
export const VM_ALLOW_HUGE_VMAP = 0x00000400;

/**
 * The allocator of free virtual space: Linux's `free_vmap_area_root` and
 * its search, or a baseline. It knows free ranges only; the busy areas are
 * the vmalloc layer's.
 */
export interface VmapSpace {
  /** Policy name. */
  readonly policy: string;
  /** Number of free blocks. */
  readonly blocks: number;
  /** Nodes or list entries visited by searches so far (the benchmark's measure of search cost). */
  readonly steps: number;
  /** Makes `[start, end)` one free block (and forgets everything else). */
  reset(start: number, end: number): void;
  /**
   * Carves `size` bytes at the lowest address that fits, aligned to `align`
   * (a power of two ≥ PAGE_SIZE), inside `[vstart, vend)`.
   *
   * @returns the start, or -1 when nothing fits
   */
  alloc(size: number, align: number, vstart: number, vend: number): number;
  /** Returns `[start, start + size)` to the free space, merging with free neighbours. */
  free(start: number, size: number): void;
  /** The free blocks in address order, as `[start, end)` pairs (O(n), for checks and reports). */
  freeBlocks(): [number, number][];
  /** Structural problems (ordering, merging, augmented maxima); empty when sound. */
  check(): string[];
}

/** One area as `/proc/vmallocinfo` shows it. */
export interface VmAreaInfo {
  readonly start: number;
  /** End including the guard page. */
  readonly end: number;
  /** Bytes requested (page aligned up); 0 for an unpurged range. */
  readonly size: number;
  /** `%pS` of the caller; '' for a lazily freed range. */
  readonly caller: string;
  readonly nrPages: number;
  /** Pages per NUMA node (`N<node>=<pages>`), index = node. */
  readonly nodePages: readonly number[];
  readonly flags: number;
  /** The page array is itself vmalloc'ed (more than 512 pages). */
  readonly vpages: boolean;
  /** Lazily freed, waiting for a purge (`unpurged vm_area`). */
  readonly unpurged: boolean;
}

/** Counters of the vmalloc layer. */
export interface VmallocStats {
  /** Areas live (busy). */
  readonly areas: number;
  /** Pages backing vmalloc areas (`nr_vmalloc_pages`, meminfo VmallocUsed). */
  readonly pages: number;
  /** Pages of freed areas waiting for a purge (`vmap_lazy_nr`). */
  readonly lazyPages: number;
  /** Purges run (`__purge_vmap_area_lazy`). */
  readonly purges: number;
  /** Kernel TLB flushes (`flush_tlb_kernel_range`). */
  readonly tlbFlushes: number;
  /** IPIs those flushes sent to other CPUs (shootdowns). */
  readonly tlbShootdowns: number;
  /** Page-table pages of the vmalloc space (never freed, as in Linux). */
  readonly pageTablePages: number;
  readonly allocs: number;
  readonly frees: number;
  /** vmalloc calls that returned NULL. */
  readonly failures: number;
}

/** The vmalloc API (mm/vmalloc.c and kvmalloc from mm/util.c). */
export interface VmallocApi extends InvariantChecked {
  /**
   * Calls `fn(va, pte)` for every present leaf entry of its page table, in
   * address order (`pte` is `pfn << 12 | flags`): what the cross-layer check
   * X4 walks. Optional: a plug-in policy without it is not walked
   * (`PresentPtes` in invariants.ts).
   */
  forEachPresentPte?(fn: (va: number, pte: number) => void): void;
  /** The free-space policy this layer allocates virtual ranges from. */
  readonly space: VmapSpace;
  /** `vmalloc` with an alignment (a power of two ≥ PAGE_SIZE): `__vmalloc_node(size, align, …)`. */
  vmallocAligned(size: number, align: number): number;
  /** `vmalloc(size)`: page-granular, virtually contiguous; 0 (NULL) on failure. */
  vmalloc(size: number): number;
  /** `vzalloc(size)`: zeroed. */
  vzalloc(size: number): number;
  /** `vmalloc_node(size, node)`. */
  vmallocNode(size: number, nid: number): number;
  /** `__vmalloc(size, gfp)`. */
  vmallocGfp(size: number, gfp: Gfp): number;
  /** `vmap(pages, count, flags)`: maps caller-owned frames; 0 on failure. */
  vmap(pfns: readonly number[], flags?: number): number;
  /** `vunmap(addr)`: unmaps a vmap() area (frames stay the caller's). */
  vunmap(addr: number): void;
  /** `vfree(addr)`: unmaps, frees the pages, releases the range lazily. vfree(0) is a no-op. */
  vfree(addr: number): void;
  /** `vmalloc_to_page`: the frame mapped at `addr`, or -1. */
  vmallocToPfn(addr: number): number;
  /** `is_vmalloc_addr`. */
  isVmallocAddr(addr: number): boolean;
  /** `kvmalloc(size, gfp)`: kmalloc first, vmalloc when that fails and the request may. */
  kvmalloc(size: number, gfp: Gfp): number;
  /** `kvfree`: vfree for vmalloc addresses, kfree otherwise. */
  kvfree(addr: number): void;
  /** `vm_unmap_aliases`-style purge now: every lazily freed range goes back, one TLB flush. */
  purge(): void;
  /** Checked kernel access to vmalloc memory (fault or KASAN report on a bad byte); returns false when reported. */
  write(addr: number, data: Uint8Array): boolean;
  /** Checked read; undefined when reported. */
  read(addr: number, len: number): Uint8Array | undefined;
  /** Busy areas in address order, then the unpurged ranges (the /proc/vmallocinfo order). */
  areas(): VmAreaInfo[];
  /** The layer's counters. */
  stats(): VmallocStats;
}

/** Flags as /proc/vmallocinfo words, in s_show's order. */
export const VM_FLAG_WORDS: readonly [number, string][] = [
  [VM_IOREMAP, 'ioremap'],
  [VM_ALLOC, 'vmalloc'],
  [VM_MAP, 'vmap'],
  [VM_USERMAP, 'user'],
  [VM_DMA_COHERENT, 'dma-coherent'],
];

/** `lazy_max_pages()`: fls(num_online_cpus()) × 32 MiB in pages. */
export function lazyMaxPages(cpus: number): number {
  return (32 - Math.clz32(cpus)) * ((32 << 20) / PAGE_SIZE);
}
