/**
 * # How vmalloc works here (Linux 6.8, mm/vmalloc.c)
 *
 * Virtually contiguous kernel memory over the kernel page tables:
 *
 * - **Virtual space**: `[VMALLOC_START, VMALLOC_END)`, 32 TiB from
 *   0xffffc90000000000 (KASLR's randomisation of the base is off). Free
 *   ranges are kept by the {@link VmapSpace} policy (the augmented tree
 *   `tree`, Linux's, or the `list` baseline); busy areas in an
 *   {@link AugTree} keyed by start (`vmap_area_root`), so lookups by any
 *   address inside an area are O(log n).
 * - **An area** (`__get_vm_area_node`): the size is page aligned and, unless
 *   `VM_NO_GUARD`, one unmapped **guard page** is added after it; the range
 *   is the lowest that fits (`find_vmap_lowest_match`). The `vm_struct` is
 *   a real `kzalloc(64)` and the `vmap_area` a real object of the
 *   `vmap_area` cache (64 bytes), so vmalloc shows up in slabinfo as it does.
 *   When no range fits, lazily freed areas are purged once and the search
 *   retried, then the allocation fails with Linux's warning.
 * - **Backing** (`__vmalloc_area_node`): the `struct page *` array is
 *   `kmalloc`ed when it fits in a page (≤ 512 pages), else itself vmalloc'ed
 *   (`vpages`); it holds real `struct page` pointers (vmemmap addresses) in
 *   simulated memory, read back by `vfree`. Pages are order 0, taken in
 *   bulk requests of at most 100 (`vm_area_alloc_pages`: the page
 *   allocator's bulk call while each request is met in full, then single
 *   pages for the rest), with
 *   `__GFP_HIGHMEM` added, owner VMALLOC, and mapped with `PAGE_KERNEL` into
 *   one kernel {@link PageTable} (init_mm's). Kernel page-table pages are
 *   never freed by vunmap, as in Linux.
 * - **vfree**: the range is unmapped at once, the pages are freed one by one
 *   (`__free_page`, as 6.8's vfree does: there is no bulk free), the page
 *   array and `vm_struct` are freed, and the virtual range goes to the
 *   **purge tree** (merged with neighbours) with `vmap_lazy_nr` increased by
 *   its pages (guard included). When `vmap_lazy_nr` exceeds
 *   `lazy_max_pages()` (fls(cpus) × 32 MiB) the purge runs (Linux schedules
 *   it on a workqueue; it runs at once here): one `flush_tlb_kernel_range`
 *   over the purged span (an IPI to every other online CPU), then every
 *   range returns to the free space.
 * - **kvmalloc** (mm/util.c): kmalloc first — with `__GFP_NOWARN` and
 *   `__GFP_NORETRY` (unless `__GFP_RETRY_MAYFAIL`) and without `__GFP_NOFAIL`
 *   above a page — then vmalloc if the request may sleep and is below
 *   INT_MAX; `kvfree` routes by `is_vmalloc_addr`.
 * - **Checked access** (`read`/`write`): a byte outside every mapped page
 *   (a guard page, a freed area, a hole) is the x86 kernel page-fault oops;
 *   with KASAN on (CONFIG_KASAN_VMALLOC), a byte past the requested size in
 *   the last page is `vmalloc-out-of-bounds`.
 *
 * Bad calls (Linux WARNs and returns; here typed errors with Linux's text,
 * state unchanged): `vfree` of an unaligned address (`Trying to vfree() bad
 * address`), of an address in no area (`Trying to vfree() nonexistent vm
 * area`, kind `double-free` when it is a range freed and not yet purged), of an
 * interior address (Linux 6.8 would free the containing area; reported
 * here instead), `vunmap` of a vmalloc area or `vfree` of a vmap area.
 * `vmalloc(0)` and sizes above total RAM return NULL with Linux's warning.
 *
 * Layers it may call: the page allocator (backing pages, table pages), the
 * slab layer (vm_struct, vmap_area, page arrays, kvmalloc), the machine.
 *
 * Not modelled: huge (PMD) vmalloc mappings (kvmalloc's VM_ALLOW_HUGE_VMAP
 * maps 4 KiB pages), per-CPU vmap blocks (vm_map_ram), vmap nodes (6.9+),
 * ioremap, module space, NUMA node placement (vmalloc_node takes any node).
 */

import { Cost } from '../../interfaces/cost.js';
import { inject, injectable, optional } from 'inversify';
import { AllocatorError } from '../../interfaces/errors.js';
import type { KasanApi } from '../../interfaces/detectors.js';
import { KASAN, KMEM, MACHINE, PAGE_ALLOCATOR, VMAP_SPACE } from '../../interfaces/tokens.js';
import { GFP_KERNEL, __GFP_DIRECT_RECLAIM, __GFP_HIGHMEM, __GFP_NOFAIL, __GFP_NORETRY, __GFP_NOWARN, __GFP_RETRY_MAYFAIL, __GFP_ZERO, type Gfp } from '../../interfaces/gfp.js';
import type { Violation } from '../../interfaces/invariants.js';
import { MAX_VIOLATIONS } from '../../interfaces/invariants.js';
import type { PageAllocator } from '../../interfaces/page-allocator.js';
import type { CacheHandle, KmemApi } from '../../interfaces/slab.js';
import { NO_PFN, PAGE_OFFSET, PAGE_SIZE, STRUCT_PAGE_SIZE, VMEMMAP_START, asPfn, formatKernelAddr, modPow2, pageAlign } from '../../interfaces/units.js';
import {
  VMALLOC_END,
  VM_ALLOC,
  VM_ALLOW_HUGE_VMAP,
  VM_MAP,
  VM_NO_GUARD,
  VM_UNINITIALIZED,
  lazyMaxPages,
  type VmAreaInfo,
  type VmallocApi,
  type VmallocStats,
  type VmapSpace,
} from '../../interfaces/vmalloc.js';
import { VMALLOC_START } from '../../interfaces/units.js';
import type { Machine } from '../../interfaces/machine.js';
import { OWNER_MASK, OWNER_SHIFT, Owner, allocatedHeadOf } from '../../machine/memmap.js';
import { grownTo } from '../../machine/grow.js';
import { AugTree, NIL } from '../../mm/augtree.js';
import { MergingRangeSet } from '../../mm/range-set.js';
import { PAGE_KERNEL, PageTable, Tlb } from '../../mm/pagetable.js';
import { allocPagesBulk } from '../../mm/page-bulk.js';

/** Pages per bulk request (`vm_area_alloc_pages`). */
const BULK_MAX = 100;
/** `INT_MAX`: kvmalloc's limit. */
const INT_MAX = 0x7fffffff;
/** `GFP_RECLAIM_MASK` bits the nested allocations keep. */
const NESTED_KEEP = GFP_KERNEL | __GFP_NOWARN | __GFP_RETRY_MAYFAIL | __GFP_NOFAIL | __GFP_NORETRY;

/** Internal flag: the page array is vmalloc'ed (`vpages` in vmallocinfo); not a Linux VM_ bit. */
const VPAGES = 0x40000000;

const ptrText = (a: number): string => formatKernelAddr(a);
/** Frames among the first `nrPages` whose owner field is `owner`. */
function framesOwnedBy(flags: Uint16Array, nrPages: number, owner: Owner): number {
  const want = owner << OWNER_SHIFT;
  let n = 0;
  for (let pfn = 0; pfn < nrPages; pfn++) if ((flags[pfn]! & OWNER_MASK) === want) n++;
  return n;
}

/** A kernel address as `%lu` prints it (sign extension included; beyond 2^53, hence BigInt). */
const ulong = (a: number): string => (BigInt(a) + (a >= 0x800000000000 ? 0xffff000000000000n : 0n)).toString();
/** Linux's inclusive `VMALLOC_END`, as the tracepoints print it. */
const VEND_TEXT = formatKernelAddr(VMALLOC_END - 1);

/** The vmalloc layer of one system. */
@injectable()
export class Vmalloc implements VmallocApi {
  readonly space: VmapSpace;
  /** init_mm's page table, for the vmalloc range. */
  readonly pt: PageTable;
  readonly tlb: Tlb;
  private readonly machine: Machine;
  private readonly kasan: KasanApi | undefined;
  private readonly pages: PageAllocator;
  private readonly kmem: KmemApi;
  private readonly vmapAreaCache: CacheHandle;
  private readonly lazyMax: number;
  /** `totalram_pages()`: vmalloc refuses sizes above it. */
  private readonly totalRam: number;
  /** Busy areas by start (`vmap_area_root`); the arrays below are indexed by its node numbers. */
  private readonly busy: AugTree;
  private reqSize = new Float64Array(256);
  private areaNrPages = new Int32Array(256);
  /** Pages mapped (the area without its guard). */
  private areaMapped = new Int32Array(256);
  private areaFlags = new Int32Array(256);
  private pagesArr = new Float64Array(256);
  private vmStruct = new Float64Array(256);
  private vmapArea = new Float64Array(256);
  private callers: string[] = [];
  /** Lazily freed ranges (`purge_vmap_area_root`, merged), and the vmap_area objects they hold. */
  private readonly purgeTree = new MergingRangeSet('purge_vmap_area_root');
  private purgeObjs: number[] = [];
  private lazyNr = 0;
  /** Frames of the allocation in progress (grown on demand; a nested page-array vmalloc finishes before the outer one fills it). */
  private pfnBuf = new Int32Array(1024);
  /** One page of a page array's entries, written as a run. */
  private readonly arrRun = new Float64Array(PAGE_SIZE / 8);
  /** One bulk request's page array (`pages + nr_allocated` in Linux). */
  private readonly bulkBuf = new Int32Array(BULK_MAX);
  private nPages = 0;
  private nPurges = 0;
  private nAllocs = 0;
  private nFrees = 0;
  private nFailures = 0;
  private warnedZero = false;
  /** Last page-array page translated, and its physical address. */
  private arrPage = -1;
  private arrPhys = 0;
  private ptes = new Float64Array(64);
  /** Scratch of {@link forEachPresentPte}: the PTEs of one area. */
  private x4Ptes = new Float64Array(64);
  /** Scratch of the check and of vfree: raw page-array entries of one area. */
  private listed = new Float64Array(64);

  /**
   * @param machine - the machine
   * @param pages - the page allocator
   * @param kmem - the slab layer
   * @param space - the free-space policy (reset here to the whole range)
   * @param kasan - KASAN when enabled (CONFIG_KASAN_VMALLOC's checks)
   */
  constructor(
    @inject(MACHINE) machine: Machine,
    @inject(PAGE_ALLOCATOR) pages: PageAllocator,
    @inject(KMEM) kmem: KmemApi,
    @inject(VMAP_SPACE) space: VmapSpace,
    @inject(KASAN) @optional() kasan?: KasanApi,
  ) {
    this.machine = machine;
    this.kasan = kasan;
    this.pages = pages;
    this.kmem = kmem;
    this.space = space;
    space.reset(VMALLOC_START, VMALLOC_END);
    this.pt = new PageTable(machine, pages, true);
    this.tlb = new Tlb(machine.cost);
    this.tlb.cpus = 2 ** machine.opts.cpus - 1;
    this.lazyMax = lazyMaxPages(machine.opts.cpus);
    this.totalRam = pages.stats().managedPages;
    const found = kmem.findCache('vmap_area');
    this.vmapAreaCache = found >= 0 ? found : kmem.kmemCacheCreate('vmap_area', 64);
    this.busy = new AugTree({
      name: 'vmap_area_root',
      initialCapacity: 256,
      onGrow: (cap) => {
        this.reqSize = grownTo(this.reqSize, cap);
        this.pagesArr = grownTo(this.pagesArr, cap);
        this.vmStruct = grownTo(this.vmStruct, cap);
        this.vmapArea = grownTo(this.vmapArea, cap);
        this.areaNrPages = grownTo(this.areaNrPages, cap);
        this.areaFlags = grownTo(this.areaFlags, cap);
        this.areaMapped = grownTo(this.areaMapped, cap);
      },
    });
  }

  // ------------------------------------------------------------------
  // areas
  // ------------------------------------------------------------------

  private misuse(op: string, what: string, addr?: number): never {
    throw new AllocatorError('misuse', `${op}: ${what}`, { policy: 'vmalloc', op, addr });
  }

  private checkSize(op: string, size: number): void {
    if (!(Number.isSafeInteger(size) && size >= 0)) this.misuse(op, `size ${String(size)} is not a byte count`);
  }

  /**
   * `__get_vm_area_node` + `alloc_vmap_area`: a busy area of `size` bytes
   * (page aligned, guard page added unless VM_NO_GUARD); the node, or -1.
   */
  private getVmArea(size: number, align: number, flags: number, caller: string): number {
    const total = size + this.guardSize(flags);
    const vm = this.kmem.kzalloc(64, GFP_KERNEL);
    if (vm === 0) return -1;
    const va = this.kmem.kmemCacheAlloc(this.vmapAreaCache, GFP_KERNEL);
    if (va === 0) {
      this.kmem.kfree(vm);
      return -1;
    }
    const a = Math.max(align, PAGE_SIZE);
    // alloc_vmap_area: free_vmap_area_lock to carve the range, vmap_area_lock to insert the busy area.
    this.machine.cost?.count(Cost.VMAP_LOCK, 2);
    let start = this.space.alloc(total, a, VMALLOC_START, VMALLOC_END);
    if (start < 0 && this.lazyNr > 0) {
      this.purge();
      start = this.space.alloc(total, a, VMALLOC_START, VMALLOC_END);
    }
    if (this.machine.tracer.enabled) {
      // On failure __alloc_vmap_area returns vend, which the event prints as the address.
      this.machine.tracer.emit(
        'alloc_vmap_area',
        `va_start: ${ulong(start < 0 ? VMALLOC_END - 1 : start)} size=${total} align=${a} vstart=0x${ptrText(VMALLOC_START)} vend=0x${VEND_TEXT} failed=${start < 0 ? 1 : 0}`,
      );
    }
    if (start < 0) {
      this.machine.log.printk(`vmap allocation for size ${total} failed: use vmalloc=<size> to increase size`);
      this.kmem.kmemCacheFree(this.vmapAreaCache, va);
      this.kmem.kfree(vm);
      return -1;
    }
    const n = this.busy.insert(start, start + total, 0);
    this.reqSize[n] = size;
    this.areaNrPages[n] = 0;
    this.areaMapped[n] = size / PAGE_SIZE;
    this.areaFlags[n] = flags;
    this.pagesArr[n] = 0;
    this.vmStruct[n] = vm;
    this.vmapArea[n] = va;
    this.callers[n] = caller;
    return n;
  }

  /** Bytes of guard after an area: one page unless VM_NO_GUARD. Mutants override this. */
  protected guardSize(flags: number): number {
    return (flags & VM_NO_GUARD) !== 0 ? 0 : PAGE_SIZE;
  }

  /** Gives one backing frame back to the page allocator (`__free_page`). Mutants override this. */
  protected freeBackingPage(pfn: number): void {
    this.machine.memmap.setOwner(pfn, 1, Owner.PAGE_CLIENT);
    this.pages.freePages(asPfn(pfn), 0);
  }

  /** Clears the PTEs of an area's `pages` mapped pages from `start` (`vunmap_range_noflush`). Mutants override this. */
  protected unmapArea(start: number, pages: number): void {
    this.pt.unmapPages(start, pages);
  }

  /** Unlinks a busy area: unmaps it, queues its range for the lazy purge, frees its vm_struct. */
  private releaseArea(n: number): void {
    const start = this.busy.start(n);
    const total = this.busy.end(n) - start;
    // vmap_area_lock to unlink the busy area, purge_vmap_area_lock to queue it.
    this.machine.cost?.count(Cost.VMAP_LOCK, 2);
    this.unmapArea(start, this.areaMapped[n]!);
    this.arrPage = -1;
    this.kmem.kfree(this.vmStruct[n]!);
    this.purgeTree.free(start, total);
    this.purgeObjs.push(this.vmapArea[n]!);
    this.callers[n] = '';
    this.busy.remove(n);
    this.lazyNr += total / PAGE_SIZE;
    if (this.machine.tracer.enabled) this.machine.tracer.emit('free_vmap_area_noflush', `va_start=0x${ptrText(start)} nr_lazy=${this.lazyNr} nr_lazy_max=${this.lazyMax}`);
    if (this.lazyNr > this.lazyMax) this.purge();
  }

  /** {@inheritDoc VmallocApi.purge} */
  purge(): void {
    const blocks = this.purgeTree.freeBlocks();
    if (blocks.length === 0) return;
    const lo = blocks[0]![0];
    const hi = blocks[blocks.length - 1]![1];
    // __purge_vmap_area_lazy: purge_vmap_area_lock, then free_vmap_area_lock to merge the ranges back.
    this.machine.cost?.count(Cost.VMAP_LOCK, 2);
    this.tlb.flush((hi - lo) / PAGE_SIZE, this.machine.ctx.cpu);
    if (this.machine.tracer.enabled) this.machine.tracer.emit('purge_vmap_area_lazy', `start=0x${ptrText(lo)} end=0x${ptrText(hi)} num_purged=${this.purgeObjs.length}`);
    for (const [s, e] of blocks) this.space.free(s, e - s);
    for (const va of this.purgeObjs) this.kmem.kmemCacheFree(this.vmapAreaCache, va);
    this.purgeObjs.length = 0;
    this.purgeTree.clear();
    this.lazyNr = 0;
    this.nPurges++;
  }

  // ------------------------------------------------------------------
  // memory of an area
  // ------------------------------------------------------------------

  /** Physical address of a kernel virtual address (direct map or vmalloc), or -1. */
  private phys(addr: number): number {
    if (addr >= PAGE_OFFSET && addr < PAGE_OFFSET + this.machine.mem.bytes) return addr - PAGE_OFFSET;
    const pte = this.pt.pte(addr - modPow2(addr, PAGE_SIZE));
    return modPow2(pte, 2) === 1 ? Math.floor(pte / PAGE_SIZE) * PAGE_SIZE + modPow2(addr, PAGE_SIZE) : -1;
  }

  /** Frame `i` of a page array, read from simulated memory (one translation per array page). */
  private pageArrayPfn(arr: number, i: number): number {
    const at = arr + 8 * i;
    const page = at - modPow2(at, PAGE_SIZE);
    if (page !== this.arrPage) {
      this.arrPage = page;
      this.arrPhys = this.phys(page);
    }
    return (this.machine.mem.read64(this.arrPhys + (at - page)) - VMEMMAP_START) / STRUCT_PAGE_SIZE;
  }

  /**
   * Raw entries `i`… of a page array into `out`, up to the end of the
   * array page holding entry `i` or entry `end`, whichever comes first; returns
   * the index after the last one read. The same values {@link pageArrayPfn}
   * reads one by one (before its conversion to a frame).
   */
  private readPageArray(arr: number, i: number, end: number, out: Float64Array): number {
    const at = arr + 8 * i;
    const page = at - modPow2(at, PAGE_SIZE);
    const to = Math.min(end, i + (page + PAGE_SIZE - at) / 8);
    this.machine.mem.read64s(this.phys(page) + (at - page), to - i, out, i);
    return to;
  }

  /**
   * `__vmalloc_node_range`: the whole allocation.
   *
   * @returns the address, or 0
   */
  private vmallocRange(size: number, align: number, gfp: Gfp, vmFlags: number, caller: string): number {
    const realSize = size;
    if (size === 0) {
      if (!this.warnedZero) this.machine.log.printk('WARNING: CPU: 0 PID: 0 at mm/vmalloc.c __vmalloc_node_range (vmalloc of size 0)');
      this.warnedZero = true;
      this.nFailures++;
      return 0;
    }
    size = pageAlign(size);
    if (size / PAGE_SIZE > this.totalRam || size > VMALLOC_END - VMALLOC_START) {
      this.machine.log.printk(`vmalloc error: size ${realSize}, exceeds total pages`);
      this.nFailures++;
      return 0;
    }
    const n = this.getVmArea(size, align, vmFlags | VM_ALLOC | VM_UNINITIALIZED, caller);
    if (n < 0) {
      this.machine.log.printk(`vmalloc error: size ${realSize}, vm_struct allocation failed`);
      this.nFailures++;
      return 0;
    }
    const start = this.busy.start(n);
    const nr = size / PAGE_SIZE;
    const nestedGfp = (gfp & NESTED_KEEP) | __GFP_ZERO;
    const arrayBytes = nr * 8;
    let arr: number;
    if (arrayBytes > PAGE_SIZE) {
      arr = this.vmallocRange(arrayBytes, 1, nestedGfp, 0, caller);
      this.areaFlags[n] = this.areaFlags[n]! | VPAGES;
    } else {
      arr = this.kmem.kmalloc(arrayBytes, nestedGfp);
    }
    // The nested vmalloc may have grown the busy tree's arrays; node numbers stay valid.
    if (arr === 0) {
      this.machine.log.printk(`vmalloc error: size ${realSize}, failed to allocated page array size ${arrayBytes}`);
      this.releaseArea(n);
      this.nFailures++;
      return 0;
    }
    this.pagesArr[n] = arr;
    const pageGfp = (gfp | __GFP_HIGHMEM) & ~__GFP_NOFAIL;
    if (this.pfnBuf.length < nr) this.pfnBuf = new Int32Array(2 ** Math.ceil(Math.log2(nr)));
    const pfns = this.pfnBuf;
    // vm_area_alloc_pages: bulk requests of at most 100 pages while they are met in full…
    let got = 0;
    while (got < nr) {
      const want = Math.min(BULK_MAX, nr - got);
      const chunk = this.bulkBuf;
      chunk.fill(NO_PFN, 0, want);
      const k = allocPagesBulk(this.pages, want, pageGfp, chunk);
      this.takeBacking(n, got, chunk, k);
      got += k;
      if (k < want) break;
    }
    // …then single pages for the rest.
    while (got < nr) {
      const pfn = this.pages.allocPages(0, pageGfp);
      if (pfn === NO_PFN) break;
      this.bulkBuf[0] = pfn;
      this.takeBacking(n, got, this.bulkBuf, 1);
      got++;
    }
    if (got < nr) return this.failArea(n, `vmalloc error: size ${realSize}, failed to allocate pages`);
    // vmap_pages_range: map them all.
    try {
      this.pt.mapPages(start, pfns, nr, PAGE_KERNEL);
    } catch (e) {
      if (!(e instanceof AllocatorError)) throw e;
      return this.failArea(n, `vmalloc error: size ${realSize}, failed to map pages`);
    }
    this.areaFlags[n] = this.areaFlags[n]! & ~VM_UNINITIALIZED;
    this.reqSize[n] = realSize;
    this.nAllocs++;
    return start;
  }

  /**
   * Takes frames `src[0…count)` as backing pages `from…` of area `n`: owner
   * VMALLOC, kept in `pfnBuf` for the mapping, their `struct page` pointers
   * written to the page array (one translation per page of the array).
   */
  private takeBacking(n: number, from: number, src: Int32Array, count: number): void {
    const memmap = this.machine.memmap;
    const pfns = this.pfnBuf;
    for (let i = from; i < from + count; i++) {
      const pfn = src[i - from]!;
      pfns[i] = pfn;
      memmap.setOwner(pfn, 1, Owner.VMALLOC);
    }
    const arr = this.pagesArr[n]!;
    const vals = this.arrRun;
    for (let i = from; i < from + count; ) {
      const at = arr + 8 * i;
      const len = Math.min(from + count - i, (PAGE_SIZE - modPow2(at, PAGE_SIZE)) / 8);
      for (let k = 0; k < len; k++) vals[k] = VMEMMAP_START + pfns[i + k]! * STRUCT_PAGE_SIZE;
      this.machine.mem.write64s(this.phys(at), len, vals);
      i += len;
    }
    this.areaNrPages[n] = from + count;
    this.nPages += count;
  }

  /** Undoes a half-built area after a failure (warn_alloc, then `vfree`); returns NULL. */
  private failArea(n: number, warning: string): 0 {
    this.machine.log.printk(warning);
    this.freeArea(n);
    this.nFailures++;
    return 0;
  }

  /** vfree's work on a busy vmalloc area: unmap, free the pages and the page array, release the range. */
  private freeArea(n: number): void {
    const nr = this.areaNrPages[n]!;
    const arr = this.pagesArr[n]!;
    const vpages = (this.areaFlags[n]! & VPAGES) !== 0;
    // remove_vm_area, then the frames listed in the page array (which outlives the area), then the array.
    this.releaseArea(n);
    if (this.listed.length < nr) this.listed = new Float64Array(2 ** Math.ceil(Math.log2(nr)));
    const listed = this.listed;
    for (let i = 0; i < nr; ) {
      const to = this.readPageArray(arr, i, nr, listed);
      for (; i < to; i++) this.freeBackingPage((listed[i]! - VMEMMAP_START) / STRUCT_PAGE_SIZE);
    }
    this.nPages -= nr;
    if (arr !== 0) {
      if (vpages) this.vfree(arr);
      else this.kmem.kfree(arr);
    }
  }

  // ------------------------------------------------------------------
  // API
  // ------------------------------------------------------------------

  vmalloc(size: number): number {
    this.checkSize('vmalloc', size);
    return this.vmallocRange(size, 1, GFP_KERNEL, 0, this.machine.ctx.caller);
  }

  /** `__vmalloc_node(size, align, GFP_KERNEL, …)`: an area whose start is a multiple of `align` (a power of two), as thread stacks ask. */
  vmallocAligned(size: number, align: number): number {
    this.checkSize('__vmalloc_node', size);
    if (!(Number.isSafeInteger(align) && align > 0 && Number.isInteger(Math.log2(align)))) {
      this.misuse('__vmalloc_node', `alignment ${String(align)} is not a power of two`);
    }
    return this.vmallocRange(size, align, GFP_KERNEL, 0, this.machine.ctx.caller);
  }

  vzalloc(size: number): number {
    this.checkSize('vzalloc', size);
    return this.vmallocRange(size, 1, GFP_KERNEL | __GFP_ZERO, 0, this.machine.ctx.caller);
  }

  vmallocNode(size: number, nid: number): number {
    this.checkSize('vmalloc_node', size);
    if (!(Number.isInteger(nid) && nid >= -1 && nid < this.machine.opts.nodes)) this.misuse('vmalloc_node', `node ${String(nid)} does not exist`);
    return this.vmallocRange(size, 1, GFP_KERNEL, 0, this.machine.ctx.caller);
  }

  vmallocGfp(size: number, gfp: Gfp): number {
    this.checkSize('__vmalloc', size);
    return this.vmallocRange(size, 1, gfp, 0, this.machine.ctx.caller);
  }

  vmap(pfns: readonly number[], flags = VM_MAP): number {
    const count = pfns.length;
    if (count === 0) return 0;
    for (const p of pfns) {
      if (!(Number.isInteger(p) && p >= 0 && p < this.machine.memmap.nrPages)) this.misuse('vmap', `frame ${String(p)} does not exist`);
    }
    if (count > this.totalRam) return 0;
    const n = this.getVmArea(count * PAGE_SIZE, 1, flags | VM_MAP, this.machine.ctx.caller);
    if (n < 0) return 0;
    const start = this.busy.start(n);
    try {
      this.pt.mapPages(start, pfns, count, PAGE_KERNEL);
    } catch (e) {
      if (!(e instanceof AllocatorError)) throw e;
      this.machine.log.printk(`vmap: failed to map ${count} pages`);
      this.releaseArea(n);
      return 0;
    }
    this.reqSize[n] = count * PAGE_SIZE;
    this.nAllocs++;
    return start;
  }

  /** Common checks of vfree/vunmap; returns the busy node at `addr`. */
  private lookupForFree(op: 'vfree' | 'vunmap', addr: number): number {
    if (!Number.isSafeInteger(addr) || addr < 0) this.misuse(op, `${String(addr)} is not an address`);
    if (modPow2(addr, PAGE_SIZE) !== 0) {
      throw new AllocatorError('invalid-free', `Trying to ${op}() bad address (${ptrText(addr)})`, { policy: 'vmalloc', op, addr });
    }
    const n = this.busy.find(addr);
    if (n === NIL) {
      // A range still waiting for the purge was freed before: a second free of it is a double free.
      const twice = this.purgeTree.covers(addr);
      throw new AllocatorError(twice ? 'double-free' : 'invalid-free', `Trying to ${op}() nonexistent vm area (${ptrText(addr)})${twice ? ': the area there was already freed' : ''}`, {
        policy: 'vmalloc',
        op,
        addr,
      });
    }
    const start = this.busy.start(n);
    if (start !== addr) {
      throw new AllocatorError(
        'invalid-free',
        `${op}(${ptrText(addr)}) is ${addr - start} bytes inside the area [${ptrText(start)}, ${ptrText(this.busy.end(n))}), not its start (Linux 6.8 would free the whole area)`,
        { policy: 'vmalloc', op, addr },
      );
    }
    return n;
  }

  vfree(addr: number): void {
    if (addr === 0) return;
    const n = this.lookupForFree('vfree', addr);
    if ((this.areaFlags[n]! & VM_ALLOC) === 0) {
      // vfree of a vmap() area unmaps it; it owns no pages (no VM_MAP_PUT_PAGES).
      this.releaseArea(n);
    } else {
      this.freeArea(n);
    }
    this.nFrees++;
  }

  vunmap(addr: number): void {
    if (addr === 0) return;
    const n = this.lookupForFree('vunmap', addr);
    if ((this.areaFlags[n]! & VM_ALLOC) !== 0) {
      // BUG_ON(in_interrupt()) aside, Linux would unmap and leak the pages; a misuse here.
      this.misuse('vunmap', `${ptrText(addr)} is a vmalloc area (its pages would leak): use vfree`, addr);
    }
    this.releaseArea(n);
    this.nFrees++;
  }

  vmallocToPfn(addr: number): number {
    if (!this.isVmallocAddr(addr)) return -1;
    const pte = this.pt.pte(addr - modPow2(addr, PAGE_SIZE));
    return modPow2(pte, 2) === 1 ? Math.floor(pte / PAGE_SIZE) : -1;
  }

  isVmallocAddr(addr: number): boolean {
    return addr >= VMALLOC_START && addr < VMALLOC_END;
  }

  kvmalloc(size: number, gfp: Gfp): number {
    this.checkSize('kvmalloc', size);
    let kflags = gfp;
    if (size > PAGE_SIZE) {
      kflags |= __GFP_NOWARN;
      if ((kflags & __GFP_RETRY_MAYFAIL) === 0) kflags |= __GFP_NORETRY;
      kflags &= ~__GFP_NOFAIL;
    }
    const p = this.kmem.kmalloc(size, kflags);
    if (p !== 0 || size <= PAGE_SIZE) return p;
    if ((gfp & __GFP_DIRECT_RECLAIM) === 0) return 0;
    if (size > INT_MAX) return 0;
    return this.vmallocRange(size, 1, gfp, VM_ALLOW_HUGE_VMAP, this.machine.ctx.caller);
  }

  kvfree(addr: number): void {
    if (this.isVmallocAddr(addr)) this.vfree(addr);
    else this.kmem.kfree(addr);
  }

  // ------------------------------------------------------------------
  // checked access
  // ------------------------------------------------------------------

  /** Checks `[addr, addr + len)`; reports the first bad byte and returns false. */
  private checkAccess(addr: number, len: number, write: boolean, op: string): boolean {
    if (!(Number.isSafeInteger(len) && len >= 0)) this.misuse(op, `length ${String(len)} is not a byte count`);
    if (len === 0) return true;
    if (!Number.isSafeInteger(addr) || !this.isVmallocAddr(addr) || !this.isVmallocAddr(addr + len - 1)) this.misuse(op, `[${String(addr)}, +${len}) is not in the vmalloc range`);
    for (let a = addr; a < addr + len; ) {
      const n = this.busy.find(a);
      if (n === NIL) {
        // A freed range keeps its poisoned shadow (kasan_poison_vmalloc) until the purge releases it: KASAN reports
        // the use after free first. Elsewhere the shadow itself is not populated and the access faults.
        if (this.kasan && this.purgeTree.covers(a)) {
          this.kasanReport(a, len, write, op, NIL);
          return false;
        }
        return this.oops(a, write, op);
      }
      const start = this.busy.start(n);
      const mapped = this.areaMapped[n]! * PAGE_SIZE;
      // KASAN checks the shadow before the access (the guard page's shadow is poisoned too); without it the MMU faults.
      const valid = start + this.reqSize[n]!;
      if (this.kasan && a >= valid) {
        this.kasanReport(a, len, write, op, n);
        return false;
      }
      if (a - start >= mapped) return this.oops(a, write, op);
      a = Math.min(addr + len, this.kasan ? valid : start + mapped);
    }
    return true;
  }

  private oops(addr: number, write: boolean, op: string): false {
    const lines = [
      `BUG: unable to handle page fault for address: ${ptrText(addr)}`,
      `#PF: supervisor ${write ? 'write' : 'read'} access in kernel mode`,
      `#PF: error_code(0x${(write ? 2 : 0).toString(16).padStart(4, '0')}) - not-present page`,
      `Oops: 000${write ? 2 : 0} [#1] PREEMPT SMP KASAN NOPTI`,
      `RIP: 0010:${op}`,
    ];
    this.machine.reports.add({ detector: 'oops', kind: 'page fault', addr, text: lines.join('\n') });
    return false;
  }

  /** KASAN's report for a poisoned vmalloc byte; `n` is the busy area it lies in, NIL for a freed range (no vm_struct to describe). */
  private kasanReport(addr: number, len: number, write: boolean, op: string, n: number): void {
    const task = `${this.machine.ctx.comm}/${this.machine.ctx.pid}`;
    const lines = [
      '==================================================================',
      `BUG: KASAN: vmalloc-out-of-bounds in ${op}`,
      `${write ? 'Write' : 'Read'} of size ${len} at addr ${ptrText(addr)} by task ${task}`,
      '',
    ];
    if (n !== NIL) lines.push('The buggy address belongs to the virtual mapping at', ` [${ptrText(this.busy.start(n))}, ${ptrText(this.busy.end(n))}) created by:`, ` ${this.callers[n]}`);
    else lines.push('The buggy address belongs to a vmalloc range already freed (waiting for the lazy purge)');
    lines.push('==================================================================');
    this.machine.reports.add({ detector: 'kasan', kind: 'vmalloc-out-of-bounds', addr, text: lines.join('\n') });
  }

  write(addr: number, data: Uint8Array): boolean {
    if (!this.checkAccess(addr, data.length, true, 'vmalloc_write')) return false;
    for (let off = 0; off < data.length; ) {
      const a = addr + off;
      const chunk = Math.min(data.length - off, PAGE_SIZE - modPow2(a, PAGE_SIZE));
      this.machine.mem.writeBytes(this.phys(a), data.subarray(off, off + chunk));
      off += chunk;
    }
    return true;
  }

  read(addr: number, len: number): Uint8Array | undefined {
    if (!this.checkAccess(addr, len, false, 'vmalloc_read')) return undefined;
    const out = new Uint8Array(len);
    for (let off = 0; off < len; ) {
      const a = addr + off;
      const chunk = Math.min(len - off, PAGE_SIZE - modPow2(a, PAGE_SIZE));
      this.machine.mem.readBytes(this.phys(a), chunk, out.subarray(off, off + chunk));
      off += chunk;
    }
    return out;
  }

  // ------------------------------------------------------------------
  // views
  // ------------------------------------------------------------------

  areas(): VmAreaInfo[] {
    const out: VmAreaInfo[] = [];
    this.busy.forEach((n) => {
      const f = this.areaFlags[n]!;
      const nodePages: number[] = [];
      for (let i = 0; i < this.areaNrPages[n]!; i++) {
        const nid = this.machine.layout.nodeOf(this.pageArrayPfn(this.pagesArr[n]!, i));
        nodePages[nid] = (nodePages[nid] ?? 0) + 1;
      }
      out.push({
        start: this.busy.start(n),
        end: this.busy.end(n),
        size: this.busy.end(n) - this.busy.start(n),
        caller: this.callers[n]!,
        nrPages: this.areaNrPages[n]!,
        nodePages,
        flags: f & ~VPAGES,
        vpages: (f & VPAGES) !== 0,
        unpurged: false,
      });
    });
    for (const [s, e] of this.purgeTree.freeBlocks()) out.push({ start: s, end: e, size: e - s, caller: '', nrPages: 0, nodePages: [], flags: 0, vpages: false, unpurged: true });
    return out;
  }

  stats(): VmallocStats {
    return {
      areas: this.busy.size,
      pages: this.nPages,
      lazyPages: this.lazyNr,
      purges: this.nPurges,
      tlbFlushes: this.tlb.flushes,
      tlbShootdowns: this.tlb.shootdowns,
      pageTablePages: this.pt.tablePages,
      allocs: this.nAllocs,
      frees: this.nFrees,
      failures: this.nFailures,
    };
  }

  /**
   * The present PTEs of the busy areas' mapped pages, in address order: what
   * the cross-layer check X4 looks at. A PTE outside every area is V6's
   * (one walk of the whole table per check is enough).
   */
  forEachPresentPte(fn: (va: number, pte: number) => void): void {
    this.busy.forEach((n) => {
      const s = this.busy.start(n);
      const mapped = this.areaMapped[n]!;
      if (this.x4Ptes.length < mapped) this.x4Ptes = new Float64Array(mapped);
      this.pt.readPtes(s, mapped, this.x4Ptes);
      for (let i = 0; i < mapped; i++) if (modPow2(this.x4Ptes[i]!, 2) === 1) fn(s + i * PAGE_SIZE, this.x4Ptes[i]!);
    });
  }

  /** A frame and its state, for a report. */
  private frameText(pfn: number): string {
    const memmap = this.machine.memmap;
    return `frame 0x${pfn.toString(16)} (${pfn < memmap.nrPages ? memmap.describeFlags(pfn) : 'beyond RAM'})`;
  }

  /**
   * V6 and V7 over the present PTEs of the kernel table, in address order
   * beside the busy areas' mapped ranges (`mappedAt`: start, end, … sorted).
   */
  private checkPtes(mappedAt: readonly number[], add: (code: string, message: string) => void): void {
    const memmap = this.machine.memmap;
    let k = 0;
    this.pt.forEachPresent((va, pte) => {
      while (k < mappedAt.length && mappedAt[k + 1]! <= va) k += 2;
      const pfn = Math.floor(pte / PAGE_SIZE);
      const head = allocatedHeadOf(memmap.flags, memmap.order, pfn);
      if (k < mappedAt.length && va >= mappedAt[k]!) {
        if (head < 0) add('V7', `PTE of ${ptrText(va)} (area ${ptrText(mappedAt[k]!)}) maps ${this.frameText(pfn)}, which the page allocator does not hold as allocated`);
        return;
      }
      // A guard page's PTE is V1's.
      if (this.busy.find(va) !== NIL) return;
      const where = this.purgeTree.covers(va) ? 'a range freed and waiting for the lazy purge' : 'free vmalloc space';
      add('V6', `stale PTE: ${ptrText(va)} lies in ${where} but still maps ${this.frameText(pfn)}; expected no present PTE there`);
    });
  }

  /**
   * V1 areas page aligned, inside the range, disjoint, each followed by its
   * guard (no PTE there); V2 every area maps exactly its pages, each frame
   * owned by VMALLOC and listed in its page array, the page total equals
   * `nr_vmalloc_pages`; V5 the free space, the busy areas and the purge
   * ranges partition the vmalloc range; the free-space policy's own checks
   * (augmented maxima, merging); V6 no present PTE outside the mapped pages
   * of the busy areas (a freed range, one waiting for the lazy purge, free
   * space; a guard page is V1's); V7 every present PTE of a busy area maps
   * a frame inside a block the page allocator holds as allocated
   * (`PG_ALLOCATED` on its head).
   *
   * @remarks V6 and V7 walk the kernel table's present entries once:
   *   O(PTE tables present + busy areas), independent of the range's size.
   */
  checkInvariants(): Violation[] {
    const out: Violation[] = [];
    const add = (code: string, message: string): void => {
      if (out.length < MAX_VIOLATIONS) out.push({ code, message });
    };
    for (const p of this.space.check()) add('V5', `free space (${this.space.policy}): ${p}`);
    for (const p of this.busy.check()) add('V1', `busy tree: ${p}`);
    const ranges: [number, number, string][] = [];
    let pages = 0;
    const memmap = this.machine.memmap;
    const flags = memmap.flags;
    const vmallocOwner = Owner.VMALLOC << OWNER_SHIFT;
    // Mapped part of every busy area, in address order (the tree's), for V6 and V7.
    const mappedAt: number[] = [];
    this.busy.forEach((n) => {
      const s = this.busy.start(n);
      const e = this.busy.end(n);
      ranges.push([s, e, 'busy']);
      mappedAt.push(s, s + this.areaMapped[n]! * PAGE_SIZE);
      if (modPow2(s, PAGE_SIZE) !== 0 || modPow2(e, PAGE_SIZE) !== 0 || s < VMALLOC_START || e > VMALLOC_END || e <= s) add('V1', `area [${ptrText(s)}, ${ptrText(e)}) is misaligned or outside the vmalloc range`);
      const f = this.areaFlags[n]!;
      const mapped = this.areaMapped[n]!;
      const guard = (f & VM_NO_GUARD) === 0;
      if (e - s !== (mapped + (guard ? 1 : 0)) * PAGE_SIZE) add('V1', `area [${ptrText(s)}, ${ptrText(e)}) maps ${mapped} pages and should ${guard ? 'end one guard page after them' : 'end right after them (VM_NO_GUARD)'}`);
      else if (guard && modPow2(this.pt.pte(e - PAGE_SIZE), 2) === 1) add('V1', `guard page of area ${ptrText(s)} is mapped`);
      if (this.ptes.length < mapped) this.ptes = new Float64Array(mapped);
      this.pt.readPtes(s, mapped, this.ptes);
      if (this.listed.length < mapped) this.listed = new Float64Array(mapped);
      const arr = this.pagesArr[n]!;
      // Entries of the page array are read a page of the array at a time, when the first of them is needed.
      let listedTo = 0;
      for (let i = 0; i < mapped; i++) {
        const pte = this.ptes[i]!;
        if (modPow2(pte, 2) === 0) {
          add('V2', `page ${i} of area ${ptrText(s)} is not mapped`);
          continue;
        }
        const pfn = Math.floor(pte / PAGE_SIZE);
        if ((f & VM_ALLOC) !== 0) {
          if ((flags[pfn]! & OWNER_MASK) !== vmallocOwner) add('V2', `page ${i} of area ${ptrText(s)} maps frame 0x${pfn.toString(16)} not owned by vmalloc`);
          if (i >= listedTo) listedTo = this.readPageArray(arr, i, mapped, this.listed);
          const listed = (this.listed[i]! - VMEMMAP_START) / STRUCT_PAGE_SIZE;
          if (listed !== pfn) add('V2', `page ${i} of area ${ptrText(s)}: page array says frame 0x${listed.toString(16)}, PTE maps 0x${pfn.toString(16)}`);
        }
      }
      if ((f & VM_ALLOC) !== 0) {
        pages += this.areaNrPages[n]!;
        if (this.areaNrPages[n] !== mapped) add('V2', `area ${ptrText(s)} has ${this.areaNrPages[n]} pages for ${mapped} mapped`);
      }
    });
    if (pages !== this.nPages) add('V2', `nr_vmalloc_pages is ${this.nPages} but the areas hold ${pages}`);
    const owned = framesOwnedBy(memmap.flags, memmap.nrPages, Owner.VMALLOC);
    if (owned !== this.nPages) add('V2', `${owned} frames are owned by vmalloc but nr_vmalloc_pages is ${this.nPages} (${owned > this.nPages ? 'frames leaked by vfree' : 'frames lost'})`);
    this.checkPtes(mappedAt, add);
    for (const [s, e] of this.purgeTree.freeBlocks()) ranges.push([s, e, 'lazily freed']);
    for (const [s, e] of this.space.freeBlocks()) ranges.push([s, e, 'free']);
    ranges.sort((a, b) => a[0] - b[0]);
    let at = VMALLOC_START;
    for (const [s, e, what] of ranges) {
      if (s < at) add('V5', `${what} range [${ptrText(s)}, ${ptrText(e)}) overlaps the range before it`);
      else if (s > at) add('V5', `[${ptrText(at)}, ${ptrText(s)}) is neither free, busy nor lazily freed`);
      at = Math.max(at, e);
    }
    if (at !== VMALLOC_END) add('V5', `the ranges end at ${ptrText(at)}, not VMALLOC_END`);
    return out;
  }
}
