/**
 * The few `expect` matchers the contract suites use, over `node:assert`, so
 * the suites run under jest, node's test runner or any runner that fails a
 * test when it throws.
 */

import assert from 'node:assert/strict';

/** Matchers of one value. */
export interface Matchers {
  /** The same value (`Object.is`). */
  toBe(expected: unknown): void;
  /** Deeply equal. */
  toEqual(expected: unknown): void;
  /** Has at least the given properties, deeply. */
  toMatchObject(expected: object): void;
  /** Not undefined. */
  toBeDefined(): void;
  /** Undefined. */
  toBeUndefined(): void;
  /** A number above `n`. */
  toBeGreaterThan(n: number): void;
  /** A number at least `n`. */
  toBeGreaterThanOrEqual(n: number): void;
  /** A number below `n`. */
  toBeLessThan(n: number): void;
  /** A string matching the pattern (a string is matched literally). */
  toMatch(re: RegExp | string): void;
  /** A string containing the text, or an array containing the item. */
  toContain(item: unknown): void;
  /** Its `length` is `n`. */
  toHaveLength(n: number): void;
  /** An instance of the class. */
  toBeInstanceOf(cls: abstract new (...args: never[]) => unknown): void;
  /** A function that throws (with a message matching `expected`, when given). */
  toThrow(expected?: RegExp | string): void;
  /** The negated matchers. */
  readonly not: {
    /** Not the same value. */
    toBe(expected: unknown): void;
    /** Not deeply equal. */
    toEqual(expected: unknown): void;
    /** A function that does not throw. */
    toThrow(): void;
  };
}

const show = (v: unknown): string => {
  try {
    return typeof v === 'bigint' ? `${v}n` : JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
};

function matchObject(actual: unknown, expected: unknown, path: string): void {
  if (expected === null || typeof expected !== 'object') {
    assert.deepStrictEqual(actual, expected, `${path || 'value'}: expected ${show(expected)}, got ${show(actual)}`);
    return;
  }
  assert.ok(actual !== null && typeof actual === 'object', `${path || 'value'}: expected an object, got ${show(actual)}`);
  for (const [k, v] of Object.entries(expected)) matchObject((actual as Record<string, unknown>)[k], v, path ? `${path}.${k}` : k);
}

/** `expect(value)` with the matchers above; a failing matcher throws an AssertionError. */
export function expect(actual: unknown): Matchers {
  return {
    toBe: (expected) => assert.ok(Object.is(actual, expected), `expected ${show(expected)}, got ${show(actual)}`),
    toEqual: (expected) => assert.deepStrictEqual(actual, expected),
    toMatchObject: (expected) => matchObject(actual, expected, ''),
    toBeDefined: () => assert.ok(actual !== undefined, 'expected a value, got undefined'),
    toBeUndefined: () => assert.ok(actual === undefined, `expected undefined, got ${show(actual)}`),
    toBeGreaterThan: (n) => assert.ok((actual as number) > n, `expected more than ${n}, got ${show(actual)}`),
    toBeGreaterThanOrEqual: (n) => assert.ok((actual as number) >= n, `expected at least ${n}, got ${show(actual)}`),
    toBeLessThan: (n) => assert.ok((actual as number) < n, `expected less than ${n}, got ${show(actual)}`),
    toMatch: (re) => assert.match(String(actual), typeof re === 'string' ? new RegExp(re.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : re),
    toContain: (item) =>
      assert.ok(typeof actual === 'string' ? actual.includes(String(item)) : (actual as unknown[]).includes(item), `expected ${show(actual)} to contain ${show(item)}`),
    toHaveLength: (n) => assert.equal((actual as { length: number }).length, n, `expected length ${n}, got ${(actual as { length: number }).length}`),
    toBeInstanceOf: (cls) => assert.ok(actual instanceof cls, `expected an instance of ${cls.name}`),
    toThrow: (expected) => {
      let thrown: unknown;
      let threw = false;
      try {
        (actual as () => unknown)();
      } catch (e) {
        threw = true;
        thrown = e;
      }
      assert.ok(threw, 'expected the call to throw');
      if (expected !== undefined) {
        const msg = thrown instanceof Error ? thrown.message : String(thrown);
        if (typeof expected === 'string') assert.ok(msg.includes(expected), `expected a throw containing ${show(expected)}, got ${show(msg)}`);
        else assert.match(msg, expected);
      }
    },
    not: {
      toBe: (expected) => assert.ok(!Object.is(actual, expected), `expected anything but ${show(expected)}`),
      toEqual: (expected) => assert.notDeepStrictEqual(actual, expected),
      toThrow: () => assert.doesNotThrow(actual as () => unknown),
    },
  };
}
