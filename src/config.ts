/**
 * The configuration of a system: its defaults and the validation that turns
 * a {@link SystemConfigInput} into a complete {@link SystemConfig},
 * collecting every problem before it throws.
 *
 * Validation has two passes. The first is driven by {@link CONFIG_SCHEMA}:
 * every key must be a known one (a misspelt key is named with the nearest
 * valid one) and every value of the expected JSON type; it matters for
 * input that did not come through the type checker, such as a config file.
 * The second checks what the values mean (ranges, policy names,
 * combinations). A new key is one line in the schema — the type checker
 * insists on it — and, when its values have rules, a check in the second
 * pass.
 */

import type { SystemConfig, SystemConfigInput } from './interfaces/config.js';
import { AllocatorError } from './interfaces/errors.js';
import { validateMachine } from './machine/layout.js';
import { POLICY_LAYERS, policyEntry, policyNames } from './policies/registry.js';
import { parseSlubDebug } from './policies/slab/slub-debug.js';

/** Default configuration. */
export const DEFAULT_CONFIG: SystemConfig = {
  machine: { memBytes: 1 << 30, cpus: 4, nodes: 1, kernelImageBytes: 32 << 20, thp: true },
  policies: { page: 'buddy', slab: 'slub', malloc: 'ptmalloc', vmap: 'tree' },
  debug: { checks: true, trace: false },
  user: { tcache: true, overcommitMemory: 0, overcommitRatio: 50, overcommitKbytes: 0 },
  seed: 1,
};

/** The JSON type a configuration key expects, or the list of values it allows. */
export type ConfigFieldType = 'integer' | 'number' | 'boolean' | 'string' | readonly (string | number)[];

/** The schema of a configuration object: one entry per key, nested for sections. */
export type ConfigSchema<T> = {
  readonly [K in keyof T]-?: NonNullable<T[K]> extends number
    ? 'integer' | 'number' | readonly NonNullable<T[K]>[]
    : NonNullable<T[K]> extends boolean
      ? 'boolean'
      : NonNullable<T[K]> extends string
        ? 'string' | readonly NonNullable<T[K]>[]
        : ConfigSchema<NonNullable<T[K]>>;
};

/**
 * Every key a {@link SystemConfigInput} may have, with its type. The type
 * checker keeps it complete: a key added to the interfaces without a line
 * here does not compile.
 */
export const CONFIG_SCHEMA: ConfigSchema<SystemConfigInput> = {
  machine: { memBytes: 'integer', cpus: 'integer', nodes: 'integer', kernelImageBytes: 'integer', thp: 'boolean', minFreeKbytes: 'integer' },
  policies: { page: 'string', slab: 'string', malloc: 'string', vmap: 'string' },
  debug: { checks: 'boolean', trace: 'boolean', cost: 'boolean', pagePoison: 'boolean', kasan: 'boolean', kmemleak: 'boolean', detect: 'boolean', kasanQuarantine: 'integer', slubDebug: 'string' },
  user: { tcache: 'boolean', overcommitMemory: [0, 1, 2], overcommitRatio: 'integer', overcommitKbytes: 'integer', userReserveKbytes: 'integer', adminReserveKbytes: 'integer' },
  seed: 'integer',
};

type SchemaNode = ConfigFieldType | { readonly [key: string]: SchemaNode };

const isSection = (n: SchemaNode): n is { readonly [key: string]: SchemaNode } => typeof n === 'object' && !Array.isArray(n);

/** Levenshtein distance (insertions, deletions, substitutions), case-insensitive. */
function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const cur = [i];
    for (let j = 1; j <= t.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (s[i - 1] === t[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[t.length]!;
}

/** Every key path of the schema (`machine`, `machine.cpus`, …). */
function schemaPaths(node: SchemaNode, prefix = ''): string[] {
  if (!isSection(node)) return [];
  return Object.entries(node).flatMap(([k, v]) => [prefix + k, ...schemaPaths(v, `${prefix}${k}.`)]);
}

/**
 * The valid key nearest to an unknown one: by edit distance between the last
 * components, one more for a key in another section, so `machine.memByts`
 * gives `machine.memBytes` and `machine.slab` gives `policies.slab`.
 */
function nearestKey(path: string): string {
  const dot = path.lastIndexOf('.');
  const section = path.slice(0, dot + 1);
  const leaf = path.slice(dot + 1);
  let best = '';
  let bestScore = Infinity;
  for (const p of schemaPaths(CONFIG_SCHEMA)) {
    const d = p.lastIndexOf('.');
    const score = editDistance(leaf, p.slice(d + 1)) + (p.slice(0, d + 1) === section ? 0 : 1);
    if (score < bestScore) [best, bestScore] = [p, score];
  }
  return best;
}

/** How a JSON value reads in a message: `the string "4"`, `2.5`, `null`, `an array`. */
function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function checkField(path: string, type: ConfigFieldType, v: unknown): string | undefined {
  if (Array.isArray(type)) {
    return type.includes(v) ? undefined : `'${path}' must be one of ${type.map((x) => JSON.stringify(x)).join(', ')}, not ${describeValue(v)}`;
  }
  const ok = type === 'integer' ? Number.isInteger(v) : type === 'number' ? typeof v === 'number' && Number.isFinite(v) : typeof v === type;
  return ok ? undefined : `'${path}' must be ${type === 'integer' ? 'an integer' : type === 'number' ? 'a number' : type === 'boolean' ? 'true or false' : 'a string'}, not ${describeValue(v)}`;
}

function checkSection(section: { readonly [key: string]: SchemaNode }, value: unknown, prefix: string, problems: string[]): void {
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === undefined) continue; // absent, as in `{ ...opts, slab: undefined }`
    const path = prefix + key;
    const node = Object.hasOwn(section, key) ? section[key] : undefined;
    if (node === undefined) {
      problems.push(`unknown key '${path}' (did you mean '${nearestKey(path)}'?)`);
    } else if (isSection(node)) {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) problems.push(`'${path}' must be an object with keys ${Object.keys(node).join(', ')}, not ${describeValue(v)}`);
      else checkSection(node, v, `${path}.`, problems);
    } else {
      const p = checkField(path, node, v);
      if (p !== undefined) problems.push(p);
    }
  }
}

/**
 * Checks the shape of a configuration that did not come through the type
 * checker (a JSON file): unknown keys, each named with the nearest valid
 * one, and values of the wrong type. Ranges and combinations are
 * {@link resolveConfig}'s business.
 *
 * @param input - anything, typically `JSON.parse` of a config file
 * @returns every problem found, in key order; empty when the shape is right
 */
export function checkConfigInput(input: unknown): string[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return [`a configuration must be a JSON object, not ${describeValue(input)}`];
  const problems: string[] = [];
  checkSection(CONFIG_SCHEMA, input, '', problems);
  return problems;
}

/**
 * Fills defaults and validates, collecting every problem: first the shape
 * ({@link checkConfigInput}), then, when the shape is right, the values.
 *
 * @throws AllocatorError `config` listing all problems
 */
export function resolveConfig(input: SystemConfigInput = {}): SystemConfig {
  const shape = checkConfigInput(input);
  if (shape.length) throw new AllocatorError('config', `invalid configuration: ${shape.join('; ')}`, { problems: shape });
  const config: SystemConfig = {
    machine: { ...DEFAULT_CONFIG.machine, ...input.machine },
    policies: { ...DEFAULT_CONFIG.policies, ...input.policies },
    debug: { ...DEFAULT_CONFIG.debug, ...input.debug },
    user: { ...DEFAULT_CONFIG.user, ...input.user },
    seed: input.seed ?? DEFAULT_CONFIG.seed,
  };
  const problems = validateMachine(config.machine);
  for (const layer of POLICY_LAYERS) {
    const name = config.policies[layer];
    if (!policyEntry(layer, name)) problems.push(`unknown ${layer === 'page' ? 'page-allocator' : layer} policy '${name}' (known: ${policyNames(layer).join(', ')})`);
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
