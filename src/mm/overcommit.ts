/**
 * # How overcommit accounting works here (Linux 6.8, mm/util.c, mm/mmap.c)
 *
 * One system-wide counter, `vm_committed_as`, holds the pages every process
 * has *committed*: the pages of its accountable mappings, whether touched or
 * not. A mapping is accountable (`accountable_mapping`, VM_ACCOUNT) when it
 * is private and writable and not VM_NORESERVE: brk's heap always is, an
 * anonymous `mmap(PROT_WRITE, MAP_PRIVATE)` is, a read-only or PROT_NONE
 * one is not (until `mprotect` makes it writable), and MAP_NORESERVE turns
 * accounting off except under mode 2, which ignores it. A shared anonymous
 * mapping is charged once to its shmem object (`shmem_acct_size`) and
 * uncharged when the last piece of it goes.
 *
 * Every growth of committed memory asks {@link VmCommit.enoughMemory}
 * (`security_vm_enough_memory_mm` → `__vm_enough_memory`) first, which
 * charges the pages and then decides by `vm.overcommit_memory`:
 *
 * - 0, OVERCOMMIT_GUESS (default): refuse a single request larger than
 *   total RAM plus swap (`totalram_pages() + total_swap_pages`); the
 *   simulator has no swap.
 * - 1, OVERCOMMIT_ALWAYS: never refuse.
 * - 2, OVERCOMMIT_NEVER: refuse when the committed total, this request
 *   included, reaches the limit: `CommitLimit` (`vm_commit_limit`:
 *   `overcommit_kbytes`, or `totalram × overcommit_ratio / 100`, plus swap)
 *   minus `admin_reserve_kbytes` for a process without CAP_SYS_ADMIN, minus
 *   `min(total_vm / 32, user_reserve_kbytes)` of the process asking.
 *
 * A refusal uncharges the pages, prints the kernel's rate-limited warning
 * (`__vm_enough_memory: pid: …, comm: …, not enough memory for the
 * allocation`, 10 per 5 s of simulated time) and makes the system call fail
 * with -ENOMEM. The reserves default as `init_user_reserve` and
 * `init_admin_reserve` set them at boot: 1/32 of the free memory, capped at
 * 128 MiB and 8 MiB.
 *
 * Layers it may call: the machine (kernel log, clock). Simplifications:
 * simulated processes never hold CAP_SYS_ADMIN; the counter is exact (no
 * per-CPU batching); hugetlb, RLIMIT_AS and the exec-time checks are not
 * modelled (an exec charges its data segment and stack without asking).
 */

import type { Machine } from '../interfaces/machine.js';
import type { OvercommitOpts, VmCommitApi } from '../interfaces/user.js';
import { PAGE_SIZE } from '../interfaces/units.js';

/** `vm.overcommit_memory` = 0: heuristic overcommit. */
export const OVERCOMMIT_GUESS = 0;
/** `vm.overcommit_memory` = 1: always overcommit. */
export const OVERCOMMIT_ALWAYS = 1;
/** `vm.overcommit_memory` = 2: strict accounting against CommitLimit. */
export const OVERCOMMIT_NEVER = 2;
/** Default `vm.overcommit_ratio` (percent of RAM that CommitLimit counts). */
export const DEFAULT_OVERCOMMIT_RATIO = 50;
/** `user_reserve_kbytes` is at most 128 MiB (`init_user_reserve`). */
export const USER_RESERVE_KBYTES_MAX = 1 << 17;
/** `admin_reserve_kbytes` is at most 8 MiB (`init_admin_reserve`). */
export const ADMIN_RESERVE_KBYTES_MAX = 1 << 13;
/** The reserves' default share of the free memory at boot (1/32, "3 %"). */
const RESERVE_DIVISOR = 32;
/** `total_vm / 32`: the share of its own size a process leaves for recovery. */
const TOTAL_VM_RESERVE_DIVISOR = 32;
/** KiB per page (`PAGE_SHIFT - 10`). */
const KB_PER_PAGE = PAGE_SIZE / 1024;
/** `TASK_COMM_LEN`: `comm` keeps 15 characters and its NUL. */
const TASK_COMM_LEN = 16;
/** `DEFAULT_RATELIMIT_INTERVAL` (5 s) in ns and `DEFAULT_RATELIMIT_BURST`. */
const RATELIMIT_INTERVAL_NS = 5e9;
const RATELIMIT_BURST = 10;


/** Who is asking, for the warning line. */
export interface CommitRequester {
  readonly pid: number;
  readonly comm: string;
}

/** `vm_committed_as` and the overcommit sysctls of one system. */
export class VmCommit implements VmCommitApi {
  /** `vm.overcommit_memory`. */
  overcommitMemory: number = OVERCOMMIT_GUESS;
  /** `vm.overcommit_ratio`. */
  overcommitRatio: number = DEFAULT_OVERCOMMIT_RATIO;
  /** `vm.overcommit_kbytes`. */
  overcommitKbytes = 0;
  /** `vm.user_reserve_kbytes`. */
  userReserveKbytes: number;
  /** `vm.admin_reserve_kbytes`. */
  adminReserveKbytes: number;
  /** `totalram_pages()`: the pages the page allocator manages. */
  readonly totalramPages: number;
  /** `total_swap_pages`: no swap is simulated. */
  readonly totalSwapPages = 0;
  /** Requests refused. */
  refusals = 0;
  private committedPages = 0;
  private readonly machine: Machine;
  private rsBegin = -1;
  private rsPrinted = 0;
  private rsMissed = 0;

  /**
   * @param machine - kernel log and clock
   * @param totalramPages - managed pages (`totalram_pages()`)
   * @param freePages - free pages at boot, for the reserves' defaults
   * @param opts - sysctl values (the rest keep Linux's defaults)
   */
  constructor(machine: Machine, totalramPages: number, freePages: number, opts: Partial<OvercommitOpts> = {}) {
    this.machine = machine;
    this.totalramPages = totalramPages;
    const freeKb = freePages * KB_PER_PAGE;
    this.userReserveKbytes = Math.min(Math.floor(freeKb / RESERVE_DIVISOR), USER_RESERVE_KBYTES_MAX);
    this.adminReserveKbytes = Math.min(Math.floor(freeKb / RESERVE_DIVISOR), ADMIN_RESERVE_KBYTES_MAX);
    this.set(opts);
  }

  /**
   * Writes sysctls as `/proc/sys/vm/*` does: writing `overcommit_kbytes`
   * sets `overcommit_ratio` to 0 and writing `overcommit_ratio` sets
   * `overcommit_kbytes` to 0 (`overcommit_kbytes_handler`,
   * `overcommit_ratio_handler`). Given both at once, a non-zero
   * `overcommitKbytes` wins, else the ratio does.
   */
  set(opts: Partial<OvercommitOpts>): void {
    if (opts.overcommitMemory !== undefined) this.overcommitMemory = opts.overcommitMemory;
    const kbytes = opts.overcommitKbytes;
    if (kbytes !== undefined) {
      this.overcommitKbytes = kbytes;
      this.overcommitRatio = 0;
    }
    if (opts.overcommitRatio !== undefined && !(kbytes !== undefined && kbytes !== 0)) {
      this.overcommitRatio = opts.overcommitRatio;
      this.overcommitKbytes = 0;
    }
    if (opts.userReserveKbytes !== undefined) this.userReserveKbytes = opts.userReserveKbytes;
    if (opts.adminReserveKbytes !== undefined) this.adminReserveKbytes = opts.adminReserveKbytes;
  }

  /** `vm_memory_committed()`: committed pages (`Committed_AS`). */
  get committed(): number {
    return this.committedPages;
  }

  /** `vm_commit_limit()` in pages (`CommitLimit`). */
  commitLimit(): number {
    const allowed = this.overcommitKbytes !== 0 ? Math.floor(this.overcommitKbytes / KB_PER_PAGE) : Math.floor((this.totalramPages * this.overcommitRatio) / 100);
    return allowed + this.totalSwapPages;
  }

  /** `vm_acct_memory`: charges pages without asking. */
  acct(pages: number): void {
    this.committedPages += pages;
  }

  /** `vm_unacct_memory`. */
  unacct(pages: number): void {
    this.committedPages -= pages;
  }

  /**
   * `__vm_enough_memory`: charges `pages` and keeps them when the policy
   * allows, else uncharges them, prints the warning and returns false.
   *
   * @param pages - pages to commit
   * @param totalVmPages - the process's `total_vm` before the request
   * @param who - the process asking
   * @param capSysAdmin - the process holds CAP_SYS_ADMIN (no admin reserve)
   */
  enoughMemory(pages: number, totalVmPages: number, who: CommitRequester, capSysAdmin = false): boolean {
    this.acct(pages);
    if (this.overcommitMemory === OVERCOMMIT_ALWAYS) return true;
    if (this.overcommitMemory === OVERCOMMIT_GUESS) {
      if (pages <= this.totalramPages + this.totalSwapPages) return true;
    } else {
      let allowed = this.commitLimit();
      if (!capSysAdmin) allowed -= Math.floor(this.adminReserveKbytes / KB_PER_PAGE);
      allowed -= Math.min(Math.floor(totalVmPages / TOTAL_VM_RESERVE_DIVISOR), Math.floor(this.userReserveKbytes / KB_PER_PAGE));
      if (this.committedPages < allowed) return true;
    }
    this.refusals++;
    this.warn(`__vm_enough_memory: pid: ${who.pid}, comm: ${who.comm.slice(0, TASK_COMM_LEN - 1)}, not enough memory for the allocation`);
    this.unacct(pages);
    return false;
  }

  /** `pr_warn_ratelimited` with the default state (`___ratelimit`). */
  private warn(text: string): void {
    const now = this.machine.ctx.nowNs;
    if (this.rsBegin < 0) this.rsBegin = now;
    if (now > this.rsBegin + RATELIMIT_INTERVAL_NS) {
      if (this.rsMissed > 0) {
        this.machine.log.printk(`__vm_enough_memory: ${this.rsMissed} callbacks suppressed`);
        this.rsMissed = 0;
      }
      this.rsBegin = now;
      this.rsPrinted = 0;
    }
    if (this.rsPrinted < RATELIMIT_BURST) {
      this.rsPrinted++;
      this.machine.log.printk(text);
    } else this.rsMissed++;
  }
}
