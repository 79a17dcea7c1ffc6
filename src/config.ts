/**
 * The configuration of a system: its defaults and the validation that turns
 * a {@link SystemConfigInput} into a complete {@link SystemConfig},
 * collecting every problem before it throws.
 */

import type { SystemConfig, SystemConfigInput } from './interfaces/config.js';
import { AllocatorError } from './interfaces/errors.js';
import { validateMachine } from './machine/layout.js';
import { POLICIES, policyNames } from './policies/registry.js';
import { parseSlubDebug } from './policies/slab/slub-debug.js';

/** Default configuration. */
export const DEFAULT_CONFIG: SystemConfig = {
  machine: { memBytes: 1 << 30, cpus: 4, nodes: 1, kernelImageBytes: 32 << 20, thp: true },
  policies: { page: 'buddy', slab: 'slub', malloc: 'ptmalloc', vmap: 'tree' },
  debug: { checks: true, trace: false },
  user: { tcache: true, overcommitMemory: 0, overcommitRatio: 50, overcommitKbytes: 0 },
  seed: 1,
};

/**
 * Fills defaults and validates, collecting every problem.
 *
 * @throws AllocatorError `config` listing all problems
 */
export function resolveConfig(input: SystemConfigInput = {}): SystemConfig {
  const config: SystemConfig = {
    machine: { ...DEFAULT_CONFIG.machine, ...input.machine },
    policies: { ...DEFAULT_CONFIG.policies, ...input.policies },
    debug: { ...DEFAULT_CONFIG.debug, ...input.debug },
    user: { ...DEFAULT_CONFIG.user, ...input.user },
    seed: input.seed ?? DEFAULT_CONFIG.seed,
  };
  const problems = validateMachine(config.machine);
  if (!(config.policies.page in POLICIES.page)) {
    problems.push(`unknown page-allocator policy '${config.policies.page}' (known: ${policyNames('page').join(', ')})`);
  }
  if (!(config.policies.slab in POLICIES.slab)) {
    problems.push(`unknown slab policy '${config.policies.slab}' (known: ${policyNames('slab').join(', ')})`);
  }
  if (!(config.policies.malloc in POLICIES.malloc)) {
    problems.push(`unknown malloc policy '${config.policies.malloc}' (known: ${policyNames('malloc').join(', ')})`);
  }
  if (!(config.policies.vmap in POLICIES.vmap)) {
    problems.push(`unknown vmap policy '${config.policies.vmap}' (known: ${policyNames('vmap').join(', ')})`);
  }
  if (typeof config.user.tcache !== 'boolean') problems.push(`user.tcache must be true or false, not ${String(config.user.tcache)}`);
  problems.push(...validateOvercommit(config.user, input.user));
  if (!Number.isInteger(config.seed) || config.seed < 0 || config.seed > 0xffffffff) problems.push(`seed ${String(config.seed)} is not an integer in 0..2^32-1`);
  if (config.debug.kasanQuarantine !== undefined && !(Number.isSafeInteger(config.debug.kasanQuarantine) && config.debug.kasanQuarantine >= 0)) {
    problems.push(`KASAN quarantine ${String(config.debug.kasanQuarantine)} is not a byte count`);
  }
  if (config.debug.kasan && config.policies.slab === 'slob') {
    // lib/Kconfig.kasan: KASAN_GENERIC depends on (SLUB && SYSFS) || (SLAB && !DEBUG_SLAB).
    problems.push("KASAN needs the 'slub' or 'slab' policy (Linux's KASAN does not support SLOB)");
  }
  if (config.debug.detect === false) {
    if (config.policies.slab !== 'slub') problems.push("detection can be turned off only under the 'slub' policy");
    if (config.debug.kasan || config.debug.slubDebug !== undefined) problems.push('detection off cannot be combined with KASAN or slub_debug (they are detection)');
  }
  if (config.debug.slubDebug !== undefined) {
    try {
      parseSlubDebug(config.debug.slubDebug);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  if (problems.length) throw new AllocatorError('config', `invalid configuration: ${problems.join('; ')}`, { problems });
  return config;
}

/** Problems with the `vm.overcommit_*` and reserve sysctls of `user`. */
function validateOvercommit(user: SystemConfig['user'], given: SystemConfigInput['user']): string[] {
  const p: string[] = [];
  const count = (x: unknown): boolean => Number.isSafeInteger(x) && (x as number) >= 0;
  if (!([0, 1, 2] as unknown[]).includes(user.overcommitMemory)) p.push(`user.overcommitMemory must be 0, 1 or 2 (vm.overcommit_memory), not ${String(user.overcommitMemory)}`);
  if (!(count(user.overcommitRatio) && user.overcommitRatio <= 0x7fffffff)) p.push(`user.overcommitRatio ${String(user.overcommitRatio)} is not a percentage (a non-negative integer)`);
  if (!count(user.overcommitKbytes)) p.push(`user.overcommitKbytes ${String(user.overcommitKbytes)} is not a KiB count`);
  else if (user.overcommitKbytes !== 0 && given?.overcommitRatio !== undefined) p.push('set user.overcommitRatio or user.overcommitKbytes, not both (setting one turns the other off)');
  for (const k of ['userReserveKbytes', 'adminReserveKbytes'] as const) {
    if (user[k] !== undefined && !count(user[k])) p.push(`user.${k} ${String(user[k])} is not a KiB count`);
  }
  return p;
}
