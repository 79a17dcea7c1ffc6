/**
 * The one error class of allocsim. Misuse of an API (double free, foreign
 * pointer, bad order) and impossible configurations throw an
 * {@link AllocatorError} whose `kind` says which; running out of memory is
 * never an error but a value (`NO_PFN`, `null`, `0`).
 *
 * A rejected call leaves the simulation unchanged: policies validate before
 * they mutate.
 */

/** What went wrong. Stable strings: tests and scripts match on them. */
export type AllocatorErrorKind =
  /** A configuration that cannot be built (collects every problem). */
  | 'config'
  /** An order outside 0..MAX_PAGE_ORDER or not an integer. */
  | 'invalid-order'
  /** A GFP mask with contradictory bits (e.g. __GFP_DMA with __GFP_DMA32). */
  | 'invalid-gfp'
  /** Freeing something that is not the head of an allocated block of that order. */
  | 'invalid-free'
  /** Freeing something already free. */
  | 'double-free'
  /** A block whose struct-page state forbids the operation (`bad_page`). */
  | 'bad-page'
  /** An address or frame outside the simulated machine. */
  | 'out-of-range'
  /** A CPU or node number the machine does not have. */
  | 'invalid-cpu'
  /** A __GFP_NOFAIL allocation that cannot be satisfied even after reclaim. */
  | 'nofail-exhausted'
  /** A malformed input file (trace, config, reproducer). */
  | 'parse'
  /** Bad input to a program: an option value or combination it cannot use, a file it cannot read or write. */
  | 'usage'
  /** A name (policy, workload, cache, scenario) that does not exist. */
  | 'unknown-name'
  /** Simulated state an earlier undetected bug corrupted beyond what the simulation can follow (the kernel's oops). */
  | 'corruption'
  /** A user-mode access outside every VMA, or against its protection (SIGSEGV). */
  | 'segfault'
  /** A user-space malloc found its heap corrupted or misused and aborted (glibc's `malloc_printerr`, SIGABRT). */
  | 'malloc-abort'
  /** Any other misuse of an API. */
  | 'misuse';

/** Extra facts about an error, all optional. */
export interface AllocatorErrorInfo {
  /** Policy that raised it (`buddy`, `firstfit`, …). */
  readonly policy?: string;
  /** Operation (`free_pages`, `alloc_pages`, …). */
  readonly op?: string;
  /** Address or PFN concerned. */
  readonly addr?: number;
  /** Size or order concerned. */
  readonly size?: number;
  /** Every problem found, for `config` errors. */
  readonly problems?: readonly string[];
  /** 1-based line number, for `parse` errors. */
  readonly line?: number;
}

/** AllocatorError kinds that mean the caller's input was bad (the CLI's exit 2; a distributed worker refuses the job); any other kind is a finding or a bug. */
export const BAD_INPUT_KINDS: readonly AllocatorErrorKind[] = ['parse', 'config', 'unknown-name', 'usage'];

/**
 * The error every layer throws on misuse.
 *
 * @example `buddy.free_pages: pfn 0x1234 is not the head of an allocated order-2 block`
 */
export class AllocatorError extends Error {
  /** Which kind of misuse. */
  readonly kind: AllocatorErrorKind;
  /** Extra facts. */
  readonly info: AllocatorErrorInfo;

  /**
   * @param kind - the category
   * @param message - one line, prefixed with `policy.op: ` when those are given
   * @param info - extra facts
   */
  constructor(kind: AllocatorErrorKind, message: string, info: AllocatorErrorInfo = {}) {
    const prefix = info.policy !== undefined && info.op !== undefined ? `${info.policy}.${info.op}: ` : '';
    super(prefix + message);
    this.name = 'AllocatorError';
    this.kind = kind;
    this.info = info;
  }
}

/** True when `e` is an {@link AllocatorError}, optionally of the given kind. */
export function isAllocatorError(e: unknown, kind?: AllocatorErrorKind): e is AllocatorError {
  return e instanceof AllocatorError && (kind === undefined || e.kind === kind);
}
