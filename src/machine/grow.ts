/**
 * Growing the typed-array tables the simulator keeps its state in (pools of
 * slots, struct of arrays): a full table is replaced by a larger copy, its
 * length doubled by the caller, so that growth costs O(1) amortised per slot.
 */

/** A typed array holding one column of a table. */
export type TableColumn = Float64Array | Int32Array | Uint8Array;

/**
 * A copy of `a` in a new array of the same type with `length` elements
 * (`length` ≥ `a.length`); the elements past the old length are 0.
 */
export function grownTo<T extends TableColumn>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a);
  return b;
}
