/** What a contract suite runs against (a named policy or a user's class), the test runner it registers with, and shared helpers. */
import { describe as nodeDescribe, it as nodeIt } from 'node:test';
import { expect } from './expect.js';
import { isAllocatorError, type AllocatorErrorKind } from '../interfaces/errors.js';
import type { SystemConfigInput } from '../interfaces/config.js';
import type { SystemOverrides } from '../system.js';
import type { FuzzCampaign, FuzzTarget } from '../../fuzz/engine.js';

/** A policy under test: the config that names it, or the class bound in its place. */
export interface ContractTarget {
  /** Shown in the test names. */
  readonly label: string;
  /** Merged over the suite's own machine (policy names go here). */
  readonly config?: SystemConfigInput;
  /** User classes bound at the layer tokens. */
  readonly overrides?: SystemOverrides;
}

/** Expects `fn` to throw an AllocatorError of `kind`. */
export function expectKind(fn: () => unknown, kind: AllocatorErrorKind): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(isAllocatorError(err, kind)).toBe(true);
}

/** The kind of AllocatorError `fn` throws, `none`, or `other`. */
export function kindOf(fn: () => unknown): AllocatorErrorKind | 'none' | 'other' {
  try {
    fn();
  } catch (e) {
    return isAllocatorError(e) ? e.kind : 'other';
  }
  return 'none';
}

/** The fuzz target for a contract target: the campaign's own machine, the target's policies and classes. */
export function fuzzTarget(campaign: FuzzCampaign, target: ContractTarget): FuzzTarget {
  const m = campaign.machine;
  return { config: { ...m, policies: { ...m.policies, ...target.config?.policies } }, overrides: target.overrides };
}

/** The two functions of a test runner a suite registers with (jest, node:test, vitest and mocha all have them). */
export interface TestRunner {
  /** The runner's `describe`. */
  readonly describe: (name: string, fn: () => void) => unknown;
  /** The runner's `it`. */
  readonly it: (name: string, fn: () => void | Promise<void>) => unknown;
}

/**
 * The runner a suite uses when none is passed: the global `describe`/`it`
 * when the runner injects them (jest by default, vitest with globals,
 * mocha), else node's own `node:test`.
 */
export function defaultRunner(): TestRunner {
  const g = globalThis as { describe?: unknown; it?: unknown };
  if (typeof g.describe === 'function' && typeof g.it === 'function') return g as unknown as TestRunner;
  return { describe: (name, fn) => nodeDescribe(name, fn), it: (name, fn) => nodeIt(name, fn) };
}
