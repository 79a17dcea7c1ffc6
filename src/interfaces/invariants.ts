/**
 * Invariant checking contract. Every policy exposes `checkInvariants()`,
 * which walks its structures (every walk bounded) and returns all the
 * violations it finds instead of throwing on the first.
 */

/** One broken invariant. */
export interface Violation {
  /** Invariant code as listed in the TSDoc of the class that checks it (README "Fuzzing and invariants"), e.g. `B3`, `X2`. */
  readonly code: string;
  /** One human-readable line. */
  readonly message: string;
  /** Machine-readable facts (pfn, order, counts). */
  readonly details?: Readonly<Record<string, number | string | boolean>>;
}

/** Something that can check itself. */
export interface InvariantChecked {
  /** Returns every violation found; an empty array means healthy. */
  checkInvariants(): Violation[];
}

/**
 * Something whose page table the cross-layer check X4 may walk: a process's
 * address space, the vmalloc layer's part of init_mm. Optional on the
 * layer contracts (`Partial<PresentPtes>`): a plug-in policy that does not
 * offer it is simply not walked.
 */
export interface PresentPtes {
  /** Calls `fn(va, pte)` for every present leaf entry, in address order (`pte` is `pfn << 12 | flags`). */
  forEachPresentPte(fn: (va: number, pte: number) => void): void;
}

/** Caps the violations collected so a badly corrupted state stays printable. */
export const MAX_VIOLATIONS = 64;

/** Formats violations one per line. */
export function formatViolations(vs: readonly Violation[]): string {
  return vs.map((v) => `${v.code}: ${v.message}`).join('\n');
}
