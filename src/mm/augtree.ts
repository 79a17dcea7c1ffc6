/**
 * # How the augmented interval tree works here
 *
 * One balanced binary search tree, reused wherever the kernel keeps address
 * ranges in an augmented tree: the VMAs of a process (Linux's old
 * `mm->mm_rb`, augmented with `rb_subtree_gap`, the largest free gap that
 * precedes any VMA of the subtree) and, later, vmalloc's free areas
 * (`free_vmap_area_root`, augmented with `subtree_max_size`). Each node
 * holds `start` (the key), `end`, and one caller-defined quantity `value`;
 * every node also carries `max`, the largest `value` in its subtree. The
 * tree never computes `value` itself: the VMA code stores the gap before
 * the node, the vmalloc code would store `end - start`.
 *
 * Balancing is AVL (heights differ by at most one), which keeps the depth
 * under 1.44·log2(n + 2); every update walks from the changed node to the
 * root recomputing height and `max`, so `max` is exact after every call.
 *
 * Storage is a node pool in typed arrays indexed by node number — links
 * (`left`, `right`, `parent`), `height`, `start`, `end`, `value`, `max` —
 * with a free list threaded through `parent`. The pool doubles when it is
 * full and then calls the `onGrow` hook so that callers can grow arrays of
 * their own indexed by the same node numbers (the VMA flags, `vm_pgoff`,
 * …). No operation allocates a JS object. Node numbers are stable: a node
 * keeps its number from `insert` to `remove`, even when a removal
 * restructures the tree around it (removal relinks the successor into the
 * removed node's place instead of copying keys).
 *
 * Complexity (n nodes): `insert`, `remove`, `setValue`, `find`, `floor`,
 * `lowerBound`, `upperBound`, `first`, `last` are O(log n); `next`/`prev`
 * are O(log n) worst case and O(1) amortised over an in-order walk;
 * `findLowest`/`findHighest` are O(log n) plus the nodes the caller's
 * predicate rejects; `check` is O(n).
 *
 * Preconditions (checked, `misuse` errors): starts are unique; `setStart`
 * keeps the order of starts; node numbers passed in are live. Intervals are
 * not required to be disjoint, but `find` answers "the node with the
 * largest start ≤ addr, if it contains addr", which is the containing node
 * only when they are (VMAs and vmalloc areas both are).
 */

import { AllocatorError } from '../interfaces/errors.js';
import { grownTo } from '../machine/grow.js';

/** "No node". */
export const NIL = -1;

/** Options of an {@link AugTree}. */
export interface AugTreeOpts {
  /**
   * Node slots allocated up front.
   * @defaultValue 16
   */
  readonly initialCapacity?: number;
  /** Called after the pool has grown, with the new capacity. */
  readonly onGrow?: (capacity: number) => void;
  /**
   * Name in error messages.
   * @defaultValue 'augtree'
   */
  readonly name?: string;
}

/** A test on a node; must not modify the tree. */
export type NodePredicate = (node: number) => boolean;

/**
 * An AVL tree of `[start, end)` intervals keyed by `start`, each node
 * carrying a caller-supplied `value` and the subtree maximum of it.
 *
 * @remarks See the file comment for complexity and preconditions.
 */
export class AugTree {
  private left: Int32Array;
  private right: Int32Array;
  /** Parent link of a live node; next free slot of a free one. */
  private parent: Int32Array;
  /** 0 for free slots, ≥ 1 for live nodes. */
  private height: Uint8Array;
  private startA: Float64Array;
  private endA: Float64Array;
  private valueA: Float64Array;
  private maxA: Float64Array;
  private rootNode = NIL;
  private count = 0;
  /** Slots handed out at least once (the rest of the pool is untouched). */
  private used = 0;
  private freeHead = NIL;
  private readonly onGrow: ((capacity: number) => void) | undefined;
  private readonly name: string;

  /** @param opts - initial capacity, growth hook, name */
  constructor(opts: AugTreeOpts = {}) {
    const cap = Math.max(1, opts.initialCapacity ?? 16);
    this.left = new Int32Array(cap);
    this.right = new Int32Array(cap);
    this.parent = new Int32Array(cap);
    this.height = new Uint8Array(cap);
    this.startA = new Float64Array(cap);
    this.endA = new Float64Array(cap);
    this.valueA = new Float64Array(cap);
    this.maxA = new Float64Array(cap);
    this.onGrow = opts.onGrow;
    this.name = opts.name ?? 'augtree';
  }

  /** Live nodes. */
  get size(): number {
    return this.count;
  }

  /** Node slots in the pool (node numbers are below this). */
  get capacity(): number {
    return this.left.length;
  }

  /** The root node, or NIL. */
  get root(): number {
    return this.rootNode;
  }

  /** True when `n` is a live node. */
  isLive(n: number): boolean {
    return Number.isInteger(n) && n >= 0 && n < this.used && this.height[n]! > 0;
  }

  /** Key of node `n`. */
  start(n: number): number {
    return this.startA[n]!;
  }

  /** End of node `n`. */
  end(n: number): number {
    return this.endA[n]!;
  }

  /** The caller's quantity of node `n`. */
  value(n: number): number {
    return this.valueA[n]!;
  }

  /** Largest `value` in the subtree rooted at `n` (-Infinity for NIL). */
  subtreeMax(n: number): number {
    return n === NIL ? -Infinity : this.maxA[n]!;
  }

  /** Left child of `n`, or NIL. */
  leftOf(n: number): number {
    return this.left[n]!;
  }

  /** Right child of `n`, or NIL. */
  rightOf(n: number): number {
    return this.right[n]!;
  }

  /** Parent of `n`, or NIL. */
  parentOf(n: number): number {
    return this.parent[n]!;
  }

  // ------------------------------------------------------------------
  // pool
  // ------------------------------------------------------------------

  private grow(): void {
    const cap = this.left.length * 2;
    this.left = grownTo(this.left, cap);
    this.right = grownTo(this.right, cap);
    this.parent = grownTo(this.parent, cap);
    this.height = grownTo(this.height, cap);
    this.startA = grownTo(this.startA, cap);
    this.endA = grownTo(this.endA, cap);
    this.valueA = grownTo(this.valueA, cap);
    this.maxA = grownTo(this.maxA, cap);
    this.onGrow?.(cap);
  }

  private allocNode(): number {
    let n = this.freeHead;
    if (n !== NIL) {
      this.freeHead = this.parent[n]!;
    } else {
      if (this.used === this.left.length) this.grow();
      n = this.used++;
    }
    return n;
  }

  private mustBeLive(n: number, op: string): void {
    if (!this.isLive(n)) throw new AllocatorError('misuse', `node ${String(n)} is not a live node`, { policy: this.name, op });
  }

  // ------------------------------------------------------------------
  // balancing
  // ------------------------------------------------------------------

  private h(n: number): number {
    return n === NIL ? 0 : this.height[n]!;
  }

  /** Recomputes height and subtree max of `n` from its children. */
  private pull(n: number): void {
    const l = this.left[n]!;
    const r = this.right[n]!;
    const hl = l === NIL ? 0 : this.height[l]!;
    const hr = r === NIL ? 0 : this.height[r]!;
    this.height[n] = (hl > hr ? hl : hr) + 1;
    let m = this.valueA[n]!;
    if (l !== NIL && this.maxA[l]! > m) m = this.maxA[l]!;
    if (r !== NIL && this.maxA[r]! > m) m = this.maxA[r]!;
    this.maxA[n] = m;
  }

  /** Points `p`'s link that held `old` (or the root) at `nu`. */
  private replaceChild(p: number, old: number, nu: number): void {
    if (p === NIL) this.rootNode = nu;
    else if (this.left[p] === old) this.left[p] = nu;
    else this.right[p] = nu;
    if (nu !== NIL) this.parent[nu] = p;
  }

  private rotateLeft(x: number): number {
    const y = this.right[x]!;
    const b = this.left[y]!;
    this.right[x] = b;
    if (b !== NIL) this.parent[b] = x;
    this.replaceChild(this.parent[x]!, x, y);
    this.left[y] = x;
    this.parent[x] = y;
    this.pull(x);
    this.pull(y);
    return y;
  }

  private rotateRight(x: number): number {
    const y = this.left[x]!;
    const b = this.right[y]!;
    this.left[x] = b;
    if (b !== NIL) this.parent[b] = x;
    this.replaceChild(this.parent[x]!, x, y);
    this.right[y] = x;
    this.parent[x] = y;
    this.pull(x);
    this.pull(y);
    return y;
  }

  /**
   * Walks from `n` towards the root, restoring heights, maxima and the AVL
   * balance. It stops at the first node whose height and maximum come out
   * unchanged without a rotation (nothing above can change then), but not
   * before it has passed `mustReach` (a node a removal moved, whose own
   * fields are stale).
   */
  private rebalanceUp(n: number, mustReach = NIL): void {
    let x = n;
    let reached = mustReach === NIL;
    while (x !== NIL) {
      const isTarget = x === mustReach;
      const oldH = this.height[x];
      const oldM = this.maxA[x];
      this.pull(x);
      const bal = this.h(this.left[x]!) - this.h(this.right[x]!);
      if (bal > 1) {
        const l = this.left[x]!;
        if (this.h(this.left[l]!) < this.h(this.right[l]!)) this.rotateLeft(l);
        x = this.rotateRight(x);
      } else if (bal < -1) {
        const r = this.right[x]!;
        if (this.h(this.right[r]!) < this.h(this.left[r]!)) this.rotateRight(r);
        x = this.rotateLeft(x);
      } else if (reached && this.height[x] === oldH && this.maxA[x] === oldM) {
        return;
      }
      if (isTarget) reached = true;
      x = this.parent[x]!;
    }
  }

  // ------------------------------------------------------------------
  // updates
  // ------------------------------------------------------------------

  /**
   * Inserts `[start, end)` with quantity `value`.
   *
   * @returns the new node's number
   * @throws AllocatorError `misuse` when a node with this start exists
   * @remarks O(log n); may grow the pool (and call `onGrow`).
   */
  insert(start: number, end: number, value: number): number {
    let p = NIL;
    let x = this.rootNode;
    let goLeft = false;
    while (x !== NIL) {
      p = x;
      const s = this.startA[x]!;
      if (start === s) throw new AllocatorError('misuse', `a node with start 0x${start.toString(16)} already exists`, { policy: this.name, op: 'insert', addr: start });
      goLeft = start < s;
      x = goLeft ? this.left[x]! : this.right[x]!;
    }
    const n = this.allocNode();
    this.left[n] = NIL;
    this.right[n] = NIL;
    this.parent[n] = p;
    this.height[n] = 1;
    this.startA[n] = start;
    this.endA[n] = end;
    this.valueA[n] = value;
    this.maxA[n] = value;
    if (p === NIL) this.rootNode = n;
    else if (goLeft) this.left[p] = n;
    else this.right[p] = n;
    this.count++;
    this.rebalanceUp(p);
    return n;
  }

  /**
   * Removes node `n`; its number goes back to the pool.
   *
   * @throws AllocatorError `misuse` when `n` is not live
   * @remarks O(log n). Other node numbers stay valid.
   */
  remove(n: number): void {
    this.mustBeLive(n, 'remove');
    const l = this.left[n]!;
    const r = this.right[n]!;
    let fixFrom: number;
    let moved = NIL;
    if (l === NIL || r === NIL) {
      const c = l === NIL ? r : l;
      fixFrom = this.parent[n]!;
      this.replaceChild(fixFrom, n, c);
    } else {
      let s = r;
      while (this.left[s]! !== NIL) s = this.left[s]!;
      if (this.parent[s] !== n) {
        fixFrom = this.parent[s]!;
        this.replaceChild(fixFrom, s, this.right[s]!);
        this.right[s] = r;
        this.parent[r] = s;
      } else {
        fixFrom = s;
      }
      this.replaceChild(this.parent[n]!, n, s);
      this.left[s] = l;
      this.parent[l] = s;
      this.height[s] = this.height[n]!;
      moved = s;
    }
    this.height[n] = 0;
    this.left[n] = NIL;
    this.right[n] = NIL;
    this.parent[n] = this.freeHead;
    this.freeHead = n;
    this.count--;
    this.rebalanceUp(fixFrom, moved);
  }

  /** Re-propagates the subtree maxima from `n` up, stopping once nothing changes. */
  private propagateMax(n: number): void {
    let x = n;
    while (x !== NIL) {
      const before = this.maxA[x]!;
      this.pull(x);
      if (this.maxA[x] === before) break;
      x = this.parent[x]!;
    }
  }

  /**
   * Sets node `n`'s quantity and updates the maxima above it.
   * @remarks O(log n).
   */
  setValue(n: number, value: number): void {
    this.valueA[n] = value;
    this.propagateMax(n);
  }

  /** Sets node `n`'s end (the key does not change). O(1). */
  setEnd(n: number, end: number): void {
    this.endA[n] = end;
  }

  /**
   * Moves node `n`'s key; the order of keys must not change.
   *
   * @throws AllocatorError `misuse` when the new start would pass a neighbour's
   * @remarks O(log n) for the neighbour check.
   */
  setStart(n: number, start: number): void {
    const p = this.prev(n);
    const q = this.next(n);
    if ((p !== NIL && this.startA[p]! >= start) || (q !== NIL && this.startA[q]! <= start)) {
      throw new AllocatorError('misuse', `moving node start 0x${this.startA[n]!.toString(16)} to 0x${start.toString(16)} would reorder the tree`, {
        policy: this.name,
        op: 'set_start',
        addr: start,
      });
    }
    this.startA[n] = start;
  }

  /** Removes every node (the pool keeps its size). O(1). */
  clear(): void {
    this.height.fill(0, 0, this.used);
    this.rootNode = NIL;
    this.count = 0;
    this.used = 0;
    this.freeHead = NIL;
  }

  // ------------------------------------------------------------------
  // navigation
  // ------------------------------------------------------------------

  /** Node with the smallest start, or NIL. O(log n). */
  first(): number {
    let x = this.rootNode;
    if (x === NIL) return NIL;
    while (this.left[x]! !== NIL) x = this.left[x]!;
    return x;
  }

  /** Node with the largest start, or NIL. O(log n). */
  last(): number {
    let x = this.rootNode;
    if (x === NIL) return NIL;
    while (this.right[x]! !== NIL) x = this.right[x]!;
    return x;
  }

  /** In-order successor of `n`, or NIL. O(1) amortised. */
  next(n: number): number {
    let x = this.right[n]!;
    if (x !== NIL) {
      while (this.left[x]! !== NIL) x = this.left[x]!;
      return x;
    }
    x = n;
    let p = this.parent[x]!;
    while (p !== NIL && this.right[p] === x) {
      x = p;
      p = this.parent[p]!;
    }
    return p;
  }

  /** In-order predecessor of `n`, or NIL. O(1) amortised. */
  prev(n: number): number {
    let x = this.left[n]!;
    if (x !== NIL) {
      while (this.right[x]! !== NIL) x = this.right[x]!;
      return x;
    }
    x = n;
    let p = this.parent[x]!;
    while (p !== NIL && this.left[p] === x) {
      x = p;
      p = this.parent[p]!;
    }
    return p;
  }

  /** Node with the largest start ≤ `key`, or NIL. O(log n). */
  floor(key: number): number {
    let x = this.rootNode;
    let best = NIL;
    while (x !== NIL) {
      if (this.startA[x]! <= key) {
        best = x;
        x = this.right[x]!;
      } else x = this.left[x]!;
    }
    return best;
  }

  /** Node with the smallest start ≥ `key`, or NIL. O(log n). */
  lowerBound(key: number): number {
    let x = this.rootNode;
    let best = NIL;
    while (x !== NIL) {
      if (this.startA[x]! >= key) {
        best = x;
        x = this.left[x]!;
      } else x = this.right[x]!;
    }
    return best;
  }

  /** Node with the smallest start > `key`, or NIL. O(log n). */
  upperBound(key: number): number {
    let x = this.rootNode;
    let best = NIL;
    while (x !== NIL) {
      if (this.startA[x]! > key) {
        best = x;
        x = this.left[x]!;
      } else x = this.right[x]!;
    }
    return best;
  }

  /** The node whose `[start, end)` contains `addr` (for disjoint intervals), or NIL. O(log n). */
  find(addr: number): number {
    const n = this.floor(addr);
    return n !== NIL && addr < this.endA[n]! ? n : NIL;
  }

  /** Calls `fn` on every node in key order. O(n); allocates nothing. */
  forEach(fn: (node: number) => void): void {
    for (let n = this.first(); n !== NIL; n = this.next(n)) fn(n);
  }

  // ------------------------------------------------------------------
  // augmented searches
  // ------------------------------------------------------------------

  /**
   * The node with the smallest start in `[lo, hi]` whose value is at least
   * `minValue` and that `pred` accepts, or NIL. Subtrees whose maximum is
   * below `minValue` or whose keys lie outside the range are skipped.
   *
   * @remarks O(log n) plus the nodes `pred` rejects.
   */
  findLowest(minValue: number, lo = -Infinity, hi = Infinity, pred?: NodePredicate): number {
    return this.lowRec(this.rootNode, minValue, lo, hi, pred);
  }

  /**
   * The node with the largest start in `[lo, hi]` whose value is at least
   * `minValue` and that `pred` accepts, or NIL (top-down searches).
   *
   * @remarks O(log n) plus the nodes `pred` rejects.
   */
  findHighest(minValue: number, lo = -Infinity, hi = Infinity, pred?: NodePredicate): number {
    return this.highRec(this.rootNode, minValue, lo, hi, pred);
  }

  private lowRec(root: number, minValue: number, lo: number, hi: number, pred: NodePredicate | undefined): number {
    let n = root;
    while (n !== NIL) {
      if (this.maxA[n]! < minValue) return NIL;
      const s = this.startA[n]!;
      if (s < lo) {
        n = this.right[n]!;
        continue;
      }
      if (s <= hi) {
        const l = this.lowRec(this.left[n]!, minValue, lo, hi, pred);
        if (l !== NIL) return l;
        if (this.valueA[n]! >= minValue && (pred === undefined || pred(n))) return n;
        n = this.right[n]!;
      } else {
        n = this.left[n]!;
      }
    }
    return NIL;
  }

  private highRec(root: number, minValue: number, lo: number, hi: number, pred: NodePredicate | undefined): number {
    let n = root;
    while (n !== NIL) {
      if (this.maxA[n]! < minValue) return NIL;
      const s = this.startA[n]!;
      if (s > hi) {
        n = this.left[n]!;
        continue;
      }
      if (s >= lo) {
        const r = this.highRec(this.right[n]!, minValue, lo, hi, pred);
        if (r !== NIL) return r;
        if (this.valueA[n]! >= minValue && (pred === undefined || pred(n))) return n;
        n = this.left[n]!;
      } else {
        n = this.right[n]!;
      }
    }
    return NIL;
  }

  // ------------------------------------------------------------------
  // self-check
  // ------------------------------------------------------------------

  /**
   * Walks the whole tree (bounded by the pool size, so a corrupted link
   * reports a cycle instead of hanging) and returns every problem found:
   * broken parent links, keys out of order, wrong heights, AVL imbalance,
   * wrong subtree maxima, a node count that disagrees.
   *
   * @remarks O(n).
   */
  check(): string[] {
    const problems: string[] = [];
    const add = (s: string): void => {
      if (problems.length < 32) problems.push(s);
    };
    const limit = this.used + 1;
    let seen = 0;
    let prevKey = -Infinity;
    if (this.rootNode !== NIL && this.parent[this.rootNode] !== NIL) add(`root ${this.rootNode} has parent ${this.parent[this.rootNode]}`);
    // Recursive in-order walk, depth-limited (an AVL tree of 2^32 nodes is under 47 deep).
    const visit = (n: number, depth: number): { h: number; m: number } => {
      if (n === NIL) return { h: 0, m: -Infinity };
      if (depth > 64 || ++seen > limit) {
        add(`walk exceeded ${limit} nodes or depth 64 at node ${n} (cycle?)`);
        return { h: 0, m: -Infinity };
      }
      if (!(n >= 0 && n < this.used) || this.height[n] === 0) {
        add(`link to free or invalid node ${n}`);
        return { h: 0, m: -Infinity };
      }
      const l = this.left[n]!;
      const r = this.right[n]!;
      if (l !== NIL && this.parent[l] !== n) add(`node ${l} has parent ${this.parent[l]}, expected ${n}`);
      if (r !== NIL && this.parent[r] !== n) add(`node ${r} has parent ${this.parent[r]}, expected ${n}`);
      const a = visit(l, depth + 1);
      const key = this.startA[n]!;
      if (!(key > prevKey)) add(`key 0x${key.toString(16)} of node ${n} is not above its predecessor's 0x${prevKey.toString(16)}`);
      prevKey = key;
      const b = visit(r, depth + 1);
      const hh = Math.max(a.h, b.h) + 1;
      if (this.height[n] !== hh) add(`node ${n} has height ${this.height[n]}, expected ${hh}`);
      if (Math.abs(a.h - b.h) > 1) add(`node ${n} is out of balance (${a.h} vs ${b.h})`);
      const m = Math.max(this.valueA[n]!, a.m, b.m);
      if (this.maxA[n] !== m) add(`node ${n} has subtree max ${this.maxA[n]}, expected ${m}`);
      return { h: hh, m };
    };
    visit(this.rootNode, 0);
    if (seen !== this.count && problems.length === 0) add(`${seen} nodes reachable but size is ${this.count}`);
    return problems;
  }
}
