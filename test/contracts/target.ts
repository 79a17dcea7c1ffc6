/** What a contract suite runs against: a named policy or a user's class, and the shared helpers. */
import { expect } from '@jest/globals';
import { isAllocatorError, type AllocatorErrorKind } from '../../src/interfaces/errors.js';
import type { SystemConfigInput } from '../../src/interfaces/config.js';
import type { SystemOverrides } from '../../src/system.js';
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
