/**
 * The typed configuration of one simulated system. `createSystem` takes a
 * {@link SystemConfigInput} (everything optional), fills the defaults and
 * validates the whole thing, collecting every problem before it throws.
 */

/** Shape of the simulated machine. */
export interface MachineOpts {
  /** Installed memory in bytes, a multiple of 4 MiB. @defaultValue 1 GiB */
  readonly memBytes: number;
  /** Simulated CPUs. @defaultValue 4 */
  readonly cpus: number;
  /** NUMA nodes; memory is split evenly, CPUs in contiguous runs. @defaultValue 1 */
  readonly nodes: number;
  /** Bytes of kernel image reserved at 16 MiB physical by memblock. @defaultValue 32 MiB */
  readonly kernelImageBytes: number;
  /**
   * Whether transparent huge pages are configured; khugepaged then raises
   * `min_free_kbytes` to its recommended value, as on distribution kernels.
   * @defaultValue true
   */
  readonly thp: boolean;
  /** Overrides the computed `min_free_kbytes` (the sysctl). */
  readonly minFreeKbytes?: number;
}

/** Debug switches. */
export interface DebugOpts {
  /**
   * Cheap precondition checks on every operation (the `CONFIG_DEBUG_VM`
   * analogue). On in tests and fuzzing, off in benchmarks. Misuse checks
   * that turn a wrong call into an AllocatorError stay on regardless.
   * @defaultValue true
   */
  readonly checks: boolean;
  /** Record ftrace-style events. @defaultValue false */
  readonly trace: boolean;
  /** Page poisoning (`page_poison=1`): freed pages are filled with 0xaa and checked when allocated again. @defaultValue false */
  readonly pagePoison?: boolean;
  /**
   * Hardware-independent cost counters (`src/interfaces/cost.ts`): cache
   * lines, locks, atomics, IPIs and page-allocator calls per operation, in
   * `System.machine.cost`. Measuring costs slows the simulator; off, it
   * costs nothing. @defaultValue false
   */
  readonly cost?: boolean;
  /** The KASAN model: shadow memory, checked client accesses, quarantine. @defaultValue false */
  readonly kasan?: boolean;
  /** The kmemleak model: tracks objects; `System.kmemleak.scan()` reports unreferenced ones. @defaultValue false */
  readonly kmemleak?: boolean;
  /**
   * The simulator's own misuse detection in the slab layer (SLUB only): when
   * false, a double, interior or foreign free is carried out as a non-debug
   * SLUB kernel would (the pointer goes on the free list) so its
   * consequences can be observed (`allocsim scenario --no-detect`); a free
   * list that then leaves its slab stops the simulation with a `corruption`
   * error, the kernel's general protection fault. @defaultValue true
   */
  readonly detect?: boolean;
  /** KASAN quarantine in bytes. @defaultValue 1/32 of memory, as Linux sizes it */
  readonly kasanQuarantine?: number;
  /**
   * The `slub_debug=` boot option (SLUB only): `FZPU`, `FZ,kmalloc-64`,
   * `P;U,kmalloc-*`, `-`, or '' for full debugging. Absent: off.
   */
  readonly slubDebug?: string;
}

/** Which policy implements each layer, by name (see `POLICIES`). */
export interface PolicyChoice {
  /** Page allocator policy. @defaultValue 'buddy' */
  readonly page: string;
  /** Slab allocator policy. @defaultValue 'slub' */
  readonly slab: string;
  /** User-space malloc policy. @defaultValue 'ptmalloc' */
  readonly malloc: string;
  /** vmap-area (vmalloc free space) policy. @defaultValue 'tree' */
  readonly vmap: string;
}

/**
 * User-space options. The `overcommit*` and `*ReserveKbytes` fields are the
 * `vm.*` sysctls of Linux's commit accounting (mm/util.c
 * `__vm_enough_memory`): they decide when `brk`, `mmap`, `mremap` and
 * `mprotect` fail with -ENOMEM, so that glibc's malloc returns NULL, and
 * give `/proc/meminfo` its `CommitLimit` and `Committed_AS`. There is no
 * swap, so CommitLimit counts RAM only.
 */
export interface UserOpts {
  /** glibc's tcache on, or off as with `GLIBC_TUNABLES=glibc.malloc.tcache_count=0`. @defaultValue true */
  readonly tcache: boolean;
  /**
   * `vm.overcommit_memory`: 0 (OVERCOMMIT_GUESS) refuses only a single
   * request larger than total RAM + swap; 1 (OVERCOMMIT_ALWAYS) never
   * refuses; 2 (OVERCOMMIT_NEVER) refuses once the committed total would
   * reach CommitLimit less the admin reserve and the process's user reserve.
   * MAP_NORESERVE mappings are not charged except in mode 2.
   * @defaultValue 0
   */
  readonly overcommitMemory: 0 | 1 | 2;
  /**
   * `vm.overcommit_ratio`: CommitLimit (mode 2) = total RAM × ratio / 100
   * + swap, when `overcommitKbytes` is 0. A non-negative integer.
   * @defaultValue 50
   */
  readonly overcommitRatio: number;
  /**
   * `vm.overcommit_kbytes`: when non-zero, CommitLimit (mode 2) is this many
   * KiB + swap instead of the ratio's figure. Set this or `overcommitRatio`,
   * not both. @defaultValue 0
   */
  readonly overcommitKbytes: number;
  /**
   * `vm.user_reserve_kbytes` (mode 2): a process may not commit the last
   * min(its size / 32, this) KiB. @defaultValue min(free memory at boot / 32, 128 MiB), as `init_user_reserve` sets it
   */
  readonly userReserveKbytes?: number;
  /**
   * `vm.admin_reserve_kbytes` (mode 2): KiB kept for processes with
   * CAP_SYS_ADMIN, which simulated processes do not have.
   * @defaultValue min(free memory at boot / 32, 8 MiB), as `init_admin_reserve` sets it
   */
  readonly adminReserveKbytes?: number;
}

/** A complete, validated configuration. */
export interface SystemConfig {
  readonly machine: MachineOpts;
  readonly policies: PolicyChoice;
  readonly debug: DebugOpts;
  readonly user: UserOpts;
  /** Seed of every random choice inside the simulation. @defaultValue 1 */
  readonly seed: number;
}

/** What callers pass: any subset. */
export interface SystemConfigInput {
  readonly machine?: Partial<MachineOpts>;
  readonly policies?: Partial<PolicyChoice>;
  readonly debug?: Partial<DebugOpts>;
  readonly user?: Partial<UserOpts>;
  readonly seed?: number;
}
