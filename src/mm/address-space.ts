/**
 * # How a process address space works here (Linux 6.8, x86_64, ASLR off)
 *
 * One `mm_struct`: a list of VMAs, a 4-level {@link PageTable}, the program
 * break, RSS counters and a {@link Tlb}. Layout as a PIE binary gets it under
 * `setarch -R`: the image at 0x555555554000 (text r-xp, rodata r--p, data
 * rw-p), `start_brk` right after it (0x555555559000 by default), `mmap_base`
 * = 0x7ffff7fff000 (TASK_SIZE minus the 128 MiB minimum gap that
 * `mmap_base()` clamps an 8 MiB stack rlimit plus the 1 MiB stack guard gap
 * to) and a 132 KiB `[stack]` just below TASK_SIZE.
 *
 * - `brk` follows `sys_brk`: below `start_brk` or unchanged page → just
 *   store; shrinking unmaps the tail; growing fails if the new range would
 *   touch the next VMA, else expands (or creates) the heap VMA. The exact
 *   requested value is stored and returned.
 * - `mmap` (anonymous) takes the hint when the range is free, else the
 *   highest free gap below `mmap_base` (`unmapped_area_topdown`); MAP_FIXED
 *   replaces what is there; MAP_FIXED_NOREPLACE fails with -EEXIST.
 * - `munmap` follows `do_vmi_munmap`: -EINVAL for an unaligned address, a
 *   zero length or a range past TASK_SIZE; splits the VMAs at the edges,
 *   zaps the pages (back to the page allocator), frees the page tables no
 *   neighbouring VMA can use (`free_pgtables` with its floor and ceiling),
 *   flushes the TLB.
 * - `mremap` shrinks in place, grows in place when the pages after the VMA
 *   are free, else moves (MREMAP_MAYMOVE) by moving the PTEs, never copying.
 * - `mprotect` splits and re-merges VMAs and rewrites the PTEs;
 *   `madvise(MADV_DONTNEED)` zaps pages so they read back as zero.
 * - Adjacent anonymous VMAs with the same protection and accounting flags
 *   merge (`vma_merge`).
 * - Overcommit: growing committed memory (brk, a private writable mmap,
 *   mremap growth of an accounted VMA, mprotect making a private mapping
 *   writable, a shared anonymous mapping) first asks the system's
 *   {@link VmCommit} (`security_vm_enough_memory_mm`) and fails with
 *   -ENOMEM (brk: the old break) when the overcommit policy refuses;
 *   unmapping uncharges. So glibc's `malloc(1 TiB)` on a 1 GiB machine gets
 *   NULL under the default heuristic mode, as on Linux.
 * - Cost: unmapping, moving and protecting walk only the page tables that
 *   exist in the range ({@link PageTable.walkPresent}), so a huge mapping
 *   with few touched pages costs what its touched pages cost.
 * - Demand paging: the first access to a page inside a VMA allocates an
 *   order-0 page with GFP_HIGHUSER_MOVABLE, zeroes it and maps it (RSS + 1).
 *   An access outside every VMA, or against its protection, or at a kernel
 *   address, is a segmentation fault: an `AllocatorError` of kind `segfault`
 *   worded like the kernel's `show_signal_msg` line.
 *
 * Hot path: a 256-entry direct-mapped software TLB (page → physical base)
 * in typed arrays, invalidated by every unmap, protect or zap.
 *
 * VMAs live in a {@link VmaTree}: a balanced tree augmented with the gap
 * below each VMA (Linux ≤ 6.0's `mm_rb`/`rb_subtree_gap`; 6.1+ answers the
 * same queries from a maple tree), so `find_vma` and the top-down
 * `get_unmapped_area` are O(log n).
 *
 * Simplifications, stated: read faults on anonymous memory allocate a page instead of mapping the
 * shared zero page (so they attach the VMA's anon_vma, which keeps its
 * charge through a later `mprotect(PROT_READ)`); no file mappings, no swap,
 * no THP, no copy-on-write (no fork); a page-allocator failure on a fault
 * is reported as the OOM `misuse` error rather than killing the process;
 * a shared anonymous mapping that mremap grows is not charged for the
 * growth (shmem keeps its size; Linux would raise SIGBUS past it); RLIMIT_AS
 * and `vm.max_map_count` are not checked.
 */

import { inject, injectable, optional } from 'inversify';
import type { SystemConfig } from '../interfaces/config.js';
import { AllocatorError } from '../interfaces/errors.js';
import { CONFIG, MACHINE, PAGE_ALLOCATOR } from '../interfaces/tokens.js';
import { GFP_HIGHUSER_MOVABLE } from '../interfaces/gfp.js';
import type { Violation } from '../interfaces/invariants.js';
import { MAX_VIOLATIONS } from '../interfaces/invariants.js';
import type { PageAllocator } from '../interfaces/page-allocator.js';
import { NO_PFN, PAGE_SIZE, TASK_SIZE, asPfn, formatKernelAddr, pageAlign } from '../interfaces/units.js';
import {
  EEXIST,
  EFAULT,
  EINVAL,
  ENOMEM,
  MADV_DONTNEED,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_NORESERVE,
  MAP_SHARED,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  type MmStats,
  type ProcessMemory,
  type ProcessTableApi,
  type VmaInfo,
} from '../interfaces/user.js';
import type { Machine } from '../interfaces/machine.js';
import { Owner } from '../machine/memmap.js';
import { OVERCOMMIT_NEVER, VmCommit } from './overcommit.js';
import { PMD_SIZE, PageTable, Tlb, _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_PRESENT, _PAGE_RW, _PAGE_USER } from './pagetable.js';
import { VM_ACCOUNT, VM_NORESERVE, VmaTree, type ShmObject, type Vma, type VmaExtra } from './vma-tree.js';

/** `mmap_base` with ASLR off and an 8 MiB stack rlimit. */
export const MMAP_BASE = 0x7ffff7fff000;
/** Default initial program break of the simulated PIE image. */
export const DEFAULT_START_BRK = 0x555555559000;
/** Lowest address mmap hands out (`mmap_min_addr`). */
const MMAP_MIN_ADDR = 0x10000;
const STACK_SIZE = 132 * 1024;
const TLB_SIZE = 256;
const TLB_MASK = TLB_SIZE - 1;
const TWO32 = 4294967296;
/** Image layout (PIE under `setarch -R`): text, rodata and data pages. */
const IMAGE_BASE = 0x555555554000;
const IMAGE_TEXT = 0x555555555000;
const IMAGE_DATA = 0x555555556000;


const hex = (n: number): string => n.toString(16);

/** A process address space. */
export class AddressSpace implements ProcessMemory {
  readonly pid: number;
  /** `comm`, for fault messages. */
  readonly comm: string;
  readonly pt: PageTable;
  readonly tlb: Tlb;
  private readonly machine: Machine;
  private readonly pages: PageAllocator;
  /** The system's commit accounting (`vm_committed_as` and the overcommit sysctls). */
  readonly vm: VmCommit;
  private readonly vmaTree = new VmaTree();
  private readonly startBrk: number;
  private curBrk: number;
  private rss = 0;
  private rssHwm = 0;
  private faults = 0;
  private dead = false;
  /** Page number cached in each slot; NaN when empty (never equal to a page number, negative ones included). */
  private readonly tlbTag = new Float64Array(TLB_SIZE).fill(NaN);
  private readonly tlbPhys = new Float64Array(TLB_SIZE);
  private readonly tlbWrite = new Uint8Array(TLB_SIZE);
  /** A 4 KiB DataView on the storage of each cached page: loads and stores skip PhysicalMemory's lookup. */
  private readonly tlbView: DataView[] = new Array<DataView>(TLB_SIZE).fill(new DataView(new ArrayBuffer(0)));
  /** Base address of each cached page (tag × PAGE_SIZE), or -Infinity: the loads' fast-path check. */
  private readonly tlbReadBase = new Float64Array(TLB_SIZE).fill(-Infinity);
  /** The same for pages cached writable, else -Infinity: the stores' fast-path check. */
  private readonly tlbWriteBase = new Float64Array(TLB_SIZE).fill(-Infinity);

  /**
   * @param machine - the machine (physical memory, struct pages)
   * @param pages - the page allocator user pages and page tables come from
   * @param vm - the system's commit accounting
   * @param pid - process id
   * @param comm - program name
   * @param startBrk - initial break (page aligned)
   */
  constructor(machine: Machine, pages: PageAllocator, vm: VmCommit, pid: number, comm = 'allocsim-client', startBrk = DEFAULT_START_BRK) {
    if (startBrk % PAGE_SIZE !== 0 || startBrk < 0x555555557000 || startBrk >= MMAP_BASE - (1 << 30)) {
      throw new AllocatorError('config', `start_brk 0x${hex(startBrk)} must be page aligned, above the image and well below mmap_base`);
    }
    this.machine = machine;
    this.tlb = new Tlb(machine.cost);
    this.pages = pages;
    this.pid = pid;
    this.comm = comm;
    this.startBrk = startBrk;
    this.curBrk = startBrk;
    this.vm = vm;
    this.pt = new PageTable(machine, pages);
    const path = `/usr/bin/${comm}`;
    this.vmaTree.insert(IMAGE_BASE, IMAGE_TEXT, PROT_READ, false, path);
    this.vmaTree.insert(IMAGE_TEXT, IMAGE_DATA, PROT_READ | PROT_EXEC, false, path);
    // A private writable file mapping and the stack (VM_STACK_FLAGS) are accounted; exec charges them without asking.
    this.vmaTree.insert(IMAGE_DATA, startBrk, PROT_READ | PROT_WRITE, false, path, { flags: VM_ACCOUNT });
    // exec wrote argv and envp there: the stack has its anon_vma from the start.
    this.vmaTree.insert(TASK_SIZE - STACK_SIZE, TASK_SIZE, PROT_READ | PROT_WRITE, false, '[stack]', { flags: VM_ACCOUNT, anon: true });
    this.vm.acct((startBrk - IMAGE_DATA + STACK_SIZE) / PAGE_SIZE);
  }

  /** Pages this process's VMAs and shmem objects hold charged (its share of Committed_AS). O(VMAs). */
  committedPages(): number {
    const shm = new Set<ShmObject>();
    let pages = 0;
    for (const v of this.vmaTree.toArray()) {
      if ((v.flags & VM_ACCOUNT) !== 0) pages += (v.end - v.start) / PAGE_SIZE;
      if (v.shm) shm.add(v.shm);
    }
    for (const o of shm) pages += o.chargedPages;
    return pages;
  }

  /** `mm->total_vm` in pages. */
  private totalVmPages(): number {
    return this.vmaTree.totalBytes / PAGE_SIZE;
  }

  /** `security_vm_enough_memory_mm(mm, pages)`: true when the pages may be committed (and are now charged). */
  private mayCommit(pages: number): boolean {
    return this.vm.enoughMemory(pages, this.totalVmPages(), this);
  }

  // ------------------------------------------------------------------
  // VMA bookkeeping
  // ------------------------------------------------------------------

  private vmaAt(addr: number): Vma | undefined {
    return this.vmaTree.at(addr);
  }

  private rangeFree(start: number, end: number): boolean {
    return this.vmaTree.isFree(start, end);
  }

  /** Inserts a VMA (range known free) and merges compatible neighbours (`vma_merge`). */
  private insertVma(start: number, end: number, prot: number, shared: boolean, extra: VmaExtra = {}): Vma {
    return this.mergeAround(this.newVma(start, end, prot, shared, '', extra));
  }

  /** Adds a VMA to the tree; a shmem object gains a mapping. */
  private newVma(start: number, end: number, prot: number, shared: boolean, name: string, extra: VmaExtra): Vma {
    if (extra.shm) extra.shm.maps++;
    return this.vmaTree.insert(start, end, prot, shared, name, extra);
  }

  /**
   * Takes a VMA out of the tree (`remove_vma`): its VM_ACCOUNT pages are
   * uncharged unless `uncharge` is false (mremap's move conceals them), and
   * a shmem object whose last mapping this was is uncharged (its inode is
   * evicted).
   */
  private dropVma(v: Vma, uncharge: boolean): void {
    const pages = (v.end - v.start) / PAGE_SIZE;
    this.vmaTree.remove(v);
    if (uncharge && (v.flags & VM_ACCOUNT) !== 0) this.vm.unacct(pages);
    if (v.shm && --v.shm.maps === 0) this.vm.unacct(v.shm.chargedPages);
  }

  private compatible(a: Vma | undefined, b: Vma | undefined): boolean {
    return (
      a !== undefined &&
      b !== undefined &&
      a.end === b.start &&
      a.prot === b.prot &&
      a.shared === b.shared &&
      a.flags === b.flags &&
      a.shm === b.shm &&
      a.name === '' &&
      b.name === ''
    );
  }

  /** Merges `v` with compatible neighbours; returns the VMA that now covers it. */
  private mergeAround(v: Vma): Vma {
    const t = this.vmaTree;
    const nx = t.next(v);
    if (this.compatible(v, nx)) {
      const end = nx!.end;
      v.anon ||= nx!.anon;
      this.dropVma(nx!, false);
      t.setEnd(v, end);
    }
    const pv = t.prev(v);
    if (this.compatible(pv, v)) {
      const end = v.end;
      pv!.anon ||= v.anon;
      this.dropVma(v, false);
      t.setEnd(pv!, end);
      return pv!;
    }
    return v;
  }

  /** Splits VMAs so that `addr` is a boundary (`split_vma`). */
  private splitAt(addr: number): void {
    const v = this.vmaTree.at(addr);
    if (v === undefined || v.start === addr) return;
    const end = v.end;
    this.vmaTree.setEnd(v, addr);
    this.newVma(addr, end, v.prot, v.shared, v.name, { flags: v.flags, anon: v.anon, shm: v.shm });
  }

  /** Frees the pages of [start, end) and clears their PTEs (`unmap_page_range`), visiting only the tables present. */
  private zap(start: number, end: number): number {
    const n = this.pt.zapRange(start, end, (pfn) => {
      this.machine.memmap.setOwner(pfn, 1, Owner.NONE);
      this.pages.freePages(asPfn(pfn), 0);
    });
    this.rss -= n;
    this.flushTlb(start, end);
    return n;
  }

  private flushTlb(start: number, end: number): void {
    this.tlbTag.fill(NaN);
    this.tlbReadBase.fill(-Infinity);
    this.tlbWriteBase.fill(-Infinity);
    this.tlb.flush((end - start) / PAGE_SIZE, this.machine.ctx.cpu);
  }

  /**
   * Removes [start, end) from the VMA tree and the page tables
   * (`do_vmi_align_munmap`): splits at the edges, detaches the VMAs inside,
   * zaps their pages and frees their page tables (`free_pgtables`: runs of
   * detached VMAs less than a PMD apart go to one `free_pgd_range`, between
   * the end of the VMA below and the start of the next one).
   *
   * @param uncharge - uncharge the VM_ACCOUNT pages (false: mremap's move keeps the charge)
   */
  private unmapRange(start: number, end: number, uncharge = true): void {
    if (this.rangeFree(start, end)) return;
    this.splitAt(start);
    this.splitAt(end);
    const first = this.vmaTree.find(start)!;
    const prev = this.vmaTree.prev(first);
    const detached: [number, number][] = [];
    let v: Vma | undefined = first;
    while (v !== undefined && v.start < end) {
      const nx = this.vmaTree.next(v);
      detached.push([v.start, v.end]);
      this.dropVma(v, uncharge);
      v = nx;
    }
    const floor = prev ? prev.end : 0;
    const ceiling = v ? v.start : 0;
    this.zap(start, end);
    for (let i = 0; i < detached.length; ) {
      const from = detached[i]![0];
      let to = detached[i]![1];
      i++;
      while (i < detached.length && detached[i]![0] <= to + PMD_SIZE) to = detached[i++]![1];
      this.pt.freePgdRange(from, to, floor, i < detached.length ? detached[i]![0] : ceiling);
    }
  }

  /** Highest free range of `len` bytes below mmap_base (`unmapped_area_topdown`), or -1. */
  private topDown(len: number): number {
    return this.vmaTree.topDown(len, MMAP_MIN_ADDR, MMAP_BASE);
  }

  // ------------------------------------------------------------------
  // system calls
  // ------------------------------------------------------------------

  brk(addr: number): number {
    if (addr < this.startBrk || !Number.isSafeInteger(addr)) return this.curBrk;
    const newbrk = pageAlign(addr);
    const oldbrk = pageAlign(this.curBrk);
    if (newbrk === oldbrk) {
      this.curBrk = addr;
      return addr;
    }
    if (addr <= this.curBrk) {
      this.unmapRange(newbrk, oldbrk);
      this.curBrk = addr;
      return addr;
    }
    if (newbrk > MMAP_BASE || !this.rangeFree(oldbrk, newbrk + PAGE_SIZE)) return this.curBrk;
    // do_brk_flags: the heap is always VM_ACCOUNT; expand the VMA ending at oldbrk when compatible, else a new one.
    if (!this.mayCommit((newbrk - oldbrk) / PAGE_SIZE)) return this.curBrk;
    this.insertVma(oldbrk, newbrk, PROT_READ | PROT_WRITE, false, { flags: VM_ACCOUNT });
    this.curBrk = addr;
    return addr;
  }

  mmap(addr: number, len: number, prot: number, flags: number): number {
    if (!Number.isSafeInteger(len) || len <= 0) return -EINVAL;
    const size = pageAlign(len);
    if (size > TASK_SIZE) return -ENOMEM;
    let start: number;
    if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0) {
      if (addr % PAGE_SIZE !== 0) return -EINVAL;
      if (addr + size > TASK_SIZE || addr < MMAP_MIN_ADDR) return -ENOMEM;
      if (!this.rangeFree(addr, addr + size)) {
        if ((flags & MAP_FIXED_NOREPLACE) !== 0) return -EEXIST;
        this.unmapRange(addr, addr + size);
      }
      start = addr;
    } else {
      const hint = pageAlign(addr);
      if (addr !== 0 && hint >= MMAP_MIN_ADDR && hint + size <= TASK_SIZE && this.rangeFree(hint, hint + size)) start = hint;
      else start = this.topDown(size);
      if (start < 0) return -ENOMEM;
    }
    const shared = (flags & MAP_SHARED) !== 0;
    // do_mmap: MAP_NORESERVE is honoured only while overcommit is allowed.
    const noreserve = (flags & MAP_NORESERVE) !== 0 && this.vm.overcommitMemory !== OVERCOMMIT_NEVER;
    const pages = size / PAGE_SIZE;
    let vmFlags = noreserve ? VM_NORESERVE : 0;
    let shm: ShmObject | null = null;
    if (shared) {
      // shmem_zero_setup → shmem_acct_size: the shmem object is charged, not the VMA.
      const charge = noreserve ? 0 : pages;
      if (charge > 0 && !this.mayCommit(charge)) return -ENOMEM;
      shm = { chargedPages: charge, maps: 0 };
    } else if ((prot & PROT_WRITE) !== 0 && !noreserve) {
      // accountable_mapping: private, writable, not VM_NORESERVE.
      if (!this.mayCommit(pages)) return -ENOMEM;
      vmFlags |= VM_ACCOUNT;
    }
    this.insertVma(start, start + size, prot & 7, shared, { flags: vmFlags, shm });
    return start;
  }

  munmap(addr: number, len: number): number {
    if (addr % PAGE_SIZE !== 0 || !Number.isSafeInteger(len) || len <= 0 || addr < 0) return -EINVAL;
    const end = addr + pageAlign(len);
    if (end > TASK_SIZE) return -EINVAL;
    this.unmapRange(addr, end);
    return 0;
  }

  mremap(oldAddr: number, oldLen: number, newLen: number, flags: number, newAddr = 0): number {
    if (oldAddr % PAGE_SIZE !== 0 || (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED)) !== 0) return -EINVAL;
    // MREMAP_FIXED needs MREMAP_MAYMOVE.
    if ((flags & MREMAP_FIXED) !== 0 && (flags & MREMAP_MAYMOVE) === 0) return -EINVAL;
    let ol = pageAlign(oldLen);
    const nl = pageAlign(newLen);
    if (nl === 0 || !Number.isSafeInteger(nl)) return -EINVAL;
    if ((flags & MREMAP_FIXED) !== 0) {
      // mremap_to: the target must be aligned, inside user space and disjoint from the source.
      if (newAddr % PAGE_SIZE !== 0 || !Number.isSafeInteger(newAddr) || newAddr < 0) return -EINVAL;
      if (nl > TASK_SIZE || newAddr > TASK_SIZE - nl) return -EINVAL;
      if (newAddr < oldAddr + ol && oldAddr < newAddr + nl) return -EINVAL;
      if (this.vmaAt(oldAddr) === undefined) return -EFAULT;
      this.unmapRange(newAddr, newAddr + nl);
      if (ol > nl) {
        this.unmapRange(oldAddr + nl, oldAddr + ol);
        ol = nl;
      }
    }
    const v = this.vmaAt(oldAddr);
    if (v === undefined || oldAddr + ol > v.end) return -EFAULT;
    if ((flags & MREMAP_FIXED) !== 0) return this.moveVma(v, oldAddr, ol, newAddr, nl);
    if (nl <= ol) {
      if (nl < ol) this.unmapRange(oldAddr + nl, oldAddr + ol);
      return oldAddr;
    }
    if (oldAddr + ol === v.end && oldAddr + nl <= TASK_SIZE && this.rangeFree(v.end, oldAddr + nl)) {
      // vma_expandable: an accounted VMA charges the growth first, and a refusal is final (no move).
      if ((v.flags & VM_ACCOUNT) !== 0 && !this.mayCommit((nl - ol) / PAGE_SIZE)) return -ENOMEM;
      this.vmaTree.setEnd(v, oldAddr + nl);
      this.mergeAround(v);
      return oldAddr;
    }
    if ((flags & MREMAP_MAYMOVE) === 0) return -ENOMEM;
    const dst = this.topDown(nl);
    if (dst < 0) return -ENOMEM;
    return this.moveVma(v, oldAddr, ol, dst, nl);
  }

  /**
   * `move_vma`: charges the growth of an accounted VMA, creates the new VMA
   * at `dst` (`copy_vma`), moves the present PTEs (`move_page_tables`, only
   * the tables that exist), then unmaps the old range with its charge
   * concealed (the new VMA carries it).
   */
  private moveVma(v: Vma, oldAddr: number, ol: number, dst: number, nl: number): number {
    if ((v.flags & VM_ACCOUNT) !== 0 && !this.mayCommit((nl - ol) / PAGE_SIZE)) return -ENOMEM;
    const moved: number[] = [];
    this.pt.zapRange(oldAddr, oldAddr + ol, (pfn, va) => moved.push(va - oldAddr, pfn));
    this.flushTlb(oldAddr, oldAddr + ol);
    const prot = v.prot;
    this.insertVma(dst, dst + nl, prot, v.shared, { flags: v.flags, anon: v.anon, shm: v.shm });
    for (let k = 0; k < moved.length; k += 2) this.pt.map(dst + moved[k]!, moved[k + 1]!, this.pteFlags(prot));
    this.unmapRange(oldAddr, oldAddr + ol, false);
    return dst;
  }

  mprotect(addr: number, len: number, prot: number): number {
    if (addr % PAGE_SIZE !== 0 || (prot & ~7) !== 0) return -EINVAL;
    const end = addr + pageAlign(len);
    if (end === addr) return 0;
    if (!this.fullyMapped(addr, end)) return -ENOMEM;
    this.splitAt(addr);
    this.splitAt(end);
    // mprotect_fixup, VMA by VMA: making a private mapping writable charges
    // it; making an anonymous one read-only uncharges it while no page was
    // ever written (no anon_vma). A refusal stops here with -ENOMEM, the
    // VMAs before it changed.
    let result = 0;
    let done = addr;
    for (let v = this.vmaTree.find(addr); v !== undefined && v.start < end; v = this.vmaTree.next(v)) {
      const pages = (v.end - v.start) / PAGE_SIZE;
      if ((prot & PROT_WRITE) !== 0) {
        if ((v.flags & (VM_ACCOUNT | VM_NORESERVE)) === 0 && (v.prot & PROT_WRITE) === 0 && !v.shared) {
          if (!this.mayCommit(pages)) {
            result = -ENOMEM;
            break;
          }
          v.flags |= VM_ACCOUNT;
        }
      } else if ((v.flags & VM_ACCOUNT) !== 0 && !v.anon && !v.shared && !v.name.startsWith('/')) {
        v.flags &= ~VM_ACCOUNT;
        this.vm.unacct(pages);
      }
      v.prot = prot;
      done = v.end;
    }
    this.pt.protectRange(addr, done, this.pteFlags(prot));
    // Merge inside the range and with both outside neighbours.
    for (let v = this.vmaTree.find(addr); v !== undefined && v.start <= end; v = this.vmaTree.next(v)) v = this.mergeAround(v);
    if (done > addr) this.flushTlb(addr, done);
    return result;
  }

  madvise(addr: number, len: number, advice: number): number {
    if (addr % PAGE_SIZE !== 0 || advice !== MADV_DONTNEED) return -EINVAL;
    const end = addr + pageAlign(len);
    if (!this.fullyMapped(addr, end)) return -ENOMEM;
    this.zap(addr, end);
    return 0;
  }

  private fullyMapped(start: number, end: number): boolean {
    let at = start;
    for (let v = this.vmaTree.find(start); at < end; v = this.vmaTree.next(v)) {
      if (v === undefined || v.start > at) return false;
      at = v.end;
    }
    return true;
  }

  private pteFlags(prot: number): number {
    return _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY | ((prot & PROT_WRITE) !== 0 ? _PAGE_RW : 0);
  }

  // ------------------------------------------------------------------
  // loads and stores
  // ------------------------------------------------------------------

  private segv(va: number, write: boolean, present: boolean): never {
    const code = 4 | (write ? 2 : 0) | (present ? 1 : 0);
    // A kernel address is printed with its sign extension; under KPTI it is not present in the user page tables.
    const where = va >= TASK_SIZE ? formatKernelAddr(va) : hex(va);
    throw new AllocatorError('segfault', `${this.comm}[${this.pid}]: segfault at ${where} ip 0000000000000000 sp 0000000000000000 error ${code}`, {
      policy: 'mm',
      addr: va,
    });
  }

  /** Physical address of `va`, faulting the page in. */
  private translate(va: number, write: boolean): number {
    const page = Math.floor(va / PAGE_SIZE);
    const slot = page & (TLB_SIZE - 1);
    if (this.tlbTag[slot] === page && (!write || this.tlbWrite[slot] === 1)) return this.tlbPhys[slot]! + (va - page * PAGE_SIZE);
    return this.slowTranslate(va, write, page, slot);
  }

  private slowTranslate(va: number, write: boolean, page: number, slot: number): number {
    if (this.dead) throw new AllocatorError('misuse', `process ${this.pid} has exited`, { policy: 'mm' });
    if (!(va >= 0) || va >= TASK_SIZE) this.segv(va, write, false);
    const v = this.vmaAt(va);
    if (v === undefined) this.segv(va, write, false);
    const pageVa = page * PAGE_SIZE;
    let pte = this.pt.pte(pageVa);
    if ((write && (v.prot & PROT_WRITE) === 0) || (!write && (v.prot & PROT_READ) === 0)) this.segv(va, write, pte % 2 === 1);
    if (pte % 2 === 0) {
      const pfn = this.pages.allocPages(0, GFP_HIGHUSER_MOVABLE);
      if (pfn === NO_PFN) throw new AllocatorError('misuse', `out of memory on a page fault at ${hex(va)} (the OOM killer is not modelled)`, { policy: 'mm', addr: va });
      this.machine.memmap.setOwner(pfn, 1, Owner.USER);
      this.machine.mem.fill(pfn * PAGE_SIZE, PAGE_SIZE, 0);
      this.pt.map(pageVa, pfn, this.pteFlags(v.prot));
      this.rss++;
      this.faults++;
      // anon_vma_prepare: a read fault allocates a page here too (no zero page), so it attaches the anon_vma as a write would.
      v.anon = true;
      if (this.rss > this.rssHwm) this.rssHwm = this.rss;
      pte = this.pt.pte(pageVa);
      this.tlb.cpus |= 1 << this.machine.ctx.cpu;
    }
    const phys = Math.floor(pte / PAGE_SIZE) * PAGE_SIZE;
    this.tlbTag[slot] = page;
    this.tlbPhys[slot] = phys;
    this.tlbWrite[slot] = (v.prot & PROT_WRITE) !== 0 ? 1 : 0;
    const seg = this.machine.mem.segmentOf(phys / PAGE_SIZE);
    this.tlbView[slot] = new DataView(seg.buffer, seg.byteOffset + this.machine.mem.segmentOffset, PAGE_SIZE);
    this.tlbReadBase[slot] = pageVa;
    this.tlbWriteBase[slot] = (v.prot & PROT_WRITE) !== 0 ? pageVa : -Infinity;
    return phys + (va - pageVa);
  }

  // Each access has a fast path small enough for V8 to inline into the
  // caller: the page's TLB slot maps it (for stores: writably) and the access
  // does not cross the page. `(va / 4096) & 255` is the slot of page
  // floor(va / 4096) for every va >= 0 (ToInt32 truncates); a negative, NaN
  // or unmapped va never lies within [base, base + 4096) of a slot, so it
  // takes the out-of-line slow path, which is the original code: TLB check,
  // fault, page-straddling split. The literals are PAGE_SIZE (4096), the TLB
  // mask (255) and 2^32, spelled out to keep the fast paths' bytecode small.

  read8(va: number): number {
    const s = (va / 4096) & 255;
    const o = va - this.tlbReadBase[s]!;
    if (o >= 0 && o <= 4095) return this.tlbView[s]!.getUint8(o);
    return this.read8Slow(va);
  }
  private read8Slow(va: number): number {
    return this.machine.mem.read8(this.translate(va, false));
  }
  write8(va: number, v: number): void {
    const s = (va / 4096) & 255;
    const o = va - this.tlbWriteBase[s]!;
    if (o >= 0 && o <= 4095) this.tlbView[s]!.setUint8(o, v);
    else this.write8Slow(va, v);
  }
  private write8Slow(va: number, v: number): void {
    this.machine.mem.write8(this.translate(va, true), v);
  }
  read32(va: number): number {
    const s = (va / 4096) & 255;
    const o = va - this.tlbReadBase[s]!;
    if (o >= 0 && o <= 4092) return this.tlbView[s]!.getUint32(o, true);
    return this.read32Slow(va);
  }
  private read32Slow(va: number): number {
    const page = Math.floor(va / PAGE_SIZE);
    const off = va - page * PAGE_SIZE;
    const slot = page & TLB_MASK;
    if (off <= PAGE_SIZE - 4) {
      if (this.tlbTag[slot] !== page) this.translate(va, false);
      return this.tlbView[slot]!.getUint32(off, true);
    }
    let r = 0;
    for (let i = 3; i >= 0; i--) r = r * 256 + this.read8(va + i);
    return r;
  }
  write32(va: number, v: number): void {
    const s = (va / 4096) & 255;
    const o = va - this.tlbWriteBase[s]!;
    if (o >= 0 && o <= 4092) this.tlbView[s]!.setUint32(o, v >>> 0, true);
    else this.write32Slow(va, v);
  }
  private write32Slow(va: number, v: number): void {
    const page = Math.floor(va / PAGE_SIZE);
    const off = va - page * PAGE_SIZE;
    const slot = page & TLB_MASK;
    if (off <= PAGE_SIZE - 4) {
      if (this.tlbTag[slot] !== page || this.tlbWrite[slot] !== 1) this.translate(va, true);
      this.tlbView[slot]!.setUint32(off, v >>> 0, true);
      return;
    }
    for (let i = 0, x = v >>> 0; i < 4; i++, x >>>= 8) this.write8(va + i, x & 0xff);
  }
  read64(va: number): number {
    const s = (va / 4096) & 255;
    const o = va - this.tlbReadBase[s]!;
    if (o >= 0 && o <= 4088) {
      const d = this.tlbView[s]!;
      return d.getUint32(o, true) + d.getUint32(o + 4, true) * 4294967296;
    }
    return this.read64Slow(va);
  }
  private read64Slow(va: number): number {
    const page = Math.floor(va / PAGE_SIZE);
    const off = va - page * PAGE_SIZE;
    const slot = page & TLB_MASK;
    if (off <= PAGE_SIZE - 8) {
      if (this.tlbTag[slot] !== page) this.translate(va, false);
      const dv = this.tlbView[slot]!;
      return dv.getUint32(off, true) + dv.getUint32(off + 4, true) * TWO32;
    }
    return this.read32(va) + this.read32(va + 4) * TWO32;
  }
  write64(va: number, v: number): void {
    const s = (va / 4096) & 255;
    const o = va - this.tlbWriteBase[s]!;
    if (o >= 0 && o <= 4088) {
      const d = this.tlbView[s]!;
      const hi = Math.floor(v / 4294967296);
      d.setUint32(o, v - hi * 4294967296, true);
      d.setUint32(o + 4, hi, true);
    } else this.write64Slow(va, v);
  }
  private write64Slow(va: number, v: number): void {
    const page = Math.floor(va / PAGE_SIZE);
    const off = va - page * PAGE_SIZE;
    const slot = page & TLB_MASK;
    if (off <= PAGE_SIZE - 8) {
      if (this.tlbTag[slot] !== page || this.tlbWrite[slot] !== 1) this.translate(va, true);
      const dv = this.tlbView[slot]!;
      const hi = Math.floor(v / TWO32);
      dv.setUint32(off, v - hi * TWO32, true);
      dv.setUint32(off + 4, hi, true);
      return;
    }
    this.write32(va, v >>> 0);
    this.write32(va + 4, Math.floor(v / TWO32) >>> 0);
  }
  fill(va: number, len: number, byte: number): void {
    let at = va;
    const end = va + len;
    while (at < end) {
      const n = Math.min(end - at, PAGE_SIZE - (at % PAGE_SIZE));
      this.machine.mem.fill(this.translate(at, true), n, byte);
      at += n;
    }
  }
  copy(dst: number, src: number, len: number): void {
    if (len <= 0) return;
    // Through a bounce buffer page by page, so overlapping ranges behave as memmove.
    const buf = new Uint8Array(len);
    for (let off = 0; off < len; ) {
      const n = Math.min(len - off, PAGE_SIZE - ((src + off) % PAGE_SIZE));
      this.machine.mem.readBytes(this.translate(src + off, false), n, buf.subarray(off, off + n));
      off += n;
    }
    for (let off = 0; off < len; ) {
      const n = Math.min(len - off, PAGE_SIZE - ((dst + off) % PAGE_SIZE));
      this.machine.mem.writeBytes(this.translate(dst + off, true), buf.subarray(off, off + n));
      off += n;
    }
  }

  // ------------------------------------------------------------------
  // views
  // ------------------------------------------------------------------

  vmas(): VmaInfo[] {
    const resident = new Map<Vma, number>();
    this.pt.forEachPresent((va) => {
      const v = this.vmaAt(va);
      if (v) resident.set(v, (resident.get(v) ?? 0) + 1);
    });
    return this.vmaTree.toArray().map((v) => ({
      start: v.start,
      end: v.end,
      prot: v.prot,
      shared: v.shared,
      name: v.name !== '' ? v.name : v.start <= this.curBrk && v.end >= this.startBrk && v.start >= this.startBrk ? '[heap]' : '',
      rssPages: resident.get(v) ?? 0,
      account: (v.flags & VM_ACCOUNT) !== 0,
      noreserve: (v.flags & VM_NORESERVE) !== 0,
    }));
  }

  stats(): MmStats {
    return {
      rssPages: this.rss,
      rssHwmPages: this.rssHwm,
      totalVmPages: this.totalVmPages(),
      committedPages: this.committedPages(),
      faults: this.faults,
      pageTablePages: this.pt.tablePages,
      tlbFlushes: this.tlb.flushes,
      tlbShootdowns: this.tlb.shootdowns,
      startBrk: this.startBrk,
      brk: this.curBrk,
    };
  }

  exit(): void {
    if (this.dead) return;
    // exit_mmap: unmap_vmas, then every VMA goes with its charge.
    const all = this.vmaTree.toArray();
    for (const v of all) this.zap(v.start, v.end);
    for (const v of all) this.dropVma(v, true);
    this.pt.destroy();
    this.dead = true;
  }

  /** {@inheritDoc PresentPtes.forEachPresentPte} */
  forEachPresentPte(fn: (va: number, pte: number) => void): void {
    if (!this.dead) this.pt.forEachPresent(fn);
  }

  /**
   * M1 VMAs sorted, disjoint, non-empty, page aligned, below TASK_SIZE;
   * M2 every present PTE lies in a VMA and maps a frame owned by USER;
   * M3 RSS equals the number of present PTEs;
   * M4 the page-table page count equals the tables reachable from the PGD;
   * M5 the break lies at or above start_brk and [start_brk, brk) is mapped.
   */
  checkInvariants(): Violation[] {
    const out: Violation[] = [];
    const add = (code: string, message: string): void => {
      if (out.length < MAX_VIOLATIONS) out.push({ code, message });
    };
    if (this.dead) return out;
    let prevEnd = 0;
    for (const p of this.vmaTree.check()) add('M1', `VMA tree: ${p}`);
    for (const v of this.vmaTree.toArray()) {
      if (v.start % PAGE_SIZE || v.end % PAGE_SIZE || v.end <= v.start || v.start < prevEnd || v.end > TASK_SIZE) add('M1', `VMA ${hex(v.start)}-${hex(v.end)} is misplaced (previous ends at ${hex(prevEnd)})`);
      prevEnd = v.end;
    }
    let present = 0;
    this.pt.forEachPresent((va, pte) => {
      present++;
      if (!this.vmaAt(va)) add('M2', `PTE for ${hex(va)} lies outside every VMA`);
      const pfn = Math.floor(pte / PAGE_SIZE);
      if (this.machine.memmap.owner(pfn) !== Owner.USER) add('M2', `PTE for ${hex(va)} maps frame 0x${hex(pfn)} not owned by user memory`);
    });
    if (present !== this.rss) add('M3', `RSS ${this.rss} but ${present} present PTEs`);
    const tables = this.pt.countTables();
    if (tables !== this.pt.tablePages) add('M4', `${this.pt.tablePages} page-table pages counted but ${tables} reachable`);
    if (this.curBrk < this.startBrk) add('M5', `brk ${hex(this.curBrk)} below start_brk`);
    if (pageAlign(this.curBrk) > this.startBrk && !this.fullyMapped(this.startBrk, pageAlign(this.curBrk))) add('M5', `heap [${hex(this.startBrk)}, ${hex(this.curBrk)}) is not fully mapped`);
    return out;
  }
}

/** The processes of one system. */
@injectable()
export class ProcessTable implements ProcessTableApi {
  private nextPid = 1000;
  private readonly procs = new Map<number, AddressSpace>();
  private readonly machine: Machine;
  private readonly pages: PageAllocator;
  /**
   * The system's overcommit accounting (`vm_committed_as`, CommitLimit and
   * the `vm.overcommit_*` sysctls, writable at run time with `set`), shared
   * by every process.
   */
  readonly vm: VmCommit;

  /**
   * @param machine - the machine
   * @param pages - the page allocator
   * @param config - the system configuration (its `user` overcommit sysctls; Linux's defaults where absent)
   */
  constructor(@inject(MACHINE) machine: Machine, @inject(PAGE_ALLOCATOR) pages: PageAllocator, @inject(CONFIG) @optional() config?: Pick<SystemConfig, 'user'>) {
    this.machine = machine;
    this.pages = pages;
    // totalram_pages() and, for the reserves' defaults, the free pages at boot (init_user_reserve runs at subsys_initcall).
    const ps = pages.stats();
    this.vm = new VmCommit(machine, ps.managedPages, ps.freePages, config?.user ?? {});
  }

  /** Execs a new process. */
  spawn(comm?: string, startBrk?: number): AddressSpace {
    const mm = new AddressSpace(this.machine, this.pages, this.vm, this.nextPid++, comm, startBrk);
    this.procs.set(mm.pid, mm);
    return mm;
  }

  /** The process with `pid`. */
  get(pid: number): AddressSpace {
    const mm = this.procs.get(pid);
    if (!mm) throw new AllocatorError('unknown-name', `no process ${pid}`);
    return mm;
  }

  /** Exits a process: everything back to the page allocator. */
  exit(pid: number): void {
    this.get(pid).exit();
    this.procs.delete(pid);
  }

  /** Live processes. */
  list(): AddressSpace[] {
    return [...this.procs.values()];
  }

  /**
   * Every live process's invariants, prefixed by pid, and M6: the committed
   * total (`vm_committed_as`) equals the pages the live processes hold
   * charged.
   */
  checkInvariants(): Violation[] {
    const procs = this.list();
    const out = procs.flatMap((mm) => mm.checkInvariants().map((v) => ({ ...v, message: `pid ${mm.pid}: ${v.message}` })));
    const held = procs.reduce((s, mm) => s + mm.committedPages(), 0);
    if (held !== this.vm.committed) out.push({ code: 'M6', message: `Committed_AS is ${this.vm.committed} pages but the processes hold ${held} charged` });
    return out;
  }
}
