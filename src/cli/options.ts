/**
 * Options shared by the commands that build a system, and their parsing
 * into a SystemConfigInput: the `--config` file first, then only the
 * options the user typed on top. Policy options have no commander default
 * (their help text names the default) so that a policy from the config file
 * is not silently replaced by one the user never asked for.
 */

import { InvalidArgumentError, Option, type Command } from 'commander';
import { DEFAULT_CONFIG, checkConfigInput } from '../config.js';
import type { DebugOpts, PolicyChoice, SystemConfigInput, UserOpts } from '../interfaces/config.js';
import { AllocatorError } from '../interfaces/errors.js';
import { parseJsonText } from '../harness/json-text.js';
import { parseSize } from '../interfaces/units.js';
import { builtinPolicyNames, policyNames, type Layer } from '../policies/registry.js';
import { isPolicyPath } from '../plugin/load.js';
import { badInput } from './errors.js';
import { readInputText } from './files.js';

/** The machine options of every system-building command ({@link machineOptions}). */
export interface MachineCliOpts {
  mem?: string;
  cpus?: string;
  nodes?: string;
  kernelImage?: string;
  seed?: string;
  config?: string;
}

/** The debug options a command may offer ({@link debugOptions}). */
export interface DebugCliOpts {
  slubDebug?: string | true;
  pagePoison?: boolean;
  kasan?: boolean;
}

/** Adds the machine options to a command. */
export function machineOptions(cmd: Command): Command {
  return cmd
    .option('--mem <size>', `installed memory, e.g. 1G, 512M, 64G (multiple of 4 MiB; default: ${DEFAULT_CONFIG.machine.memBytes >> 30}G)`)
    .option('--cpus <n>', `simulated CPUs (default: ${DEFAULT_CONFIG.machine.cpus})`)
    .option('--nodes <n>', `NUMA nodes (default: ${DEFAULT_CONFIG.machine.nodes})`)
    .option('--kernel-image <size>', `bytes memblock reserves for the kernel image (default: ${DEFAULT_CONFIG.machine.kernelImageBytes >> 20}M)`)
    .option('--seed <n>', `seed of every random choice (default: ${DEFAULT_CONFIG.seed})`)
    .option('--config <file>', 'JSON file with a SystemConfig; an option typed on the command line wins over it');
}

/** A debug option a command can offer. */
export type DebugOptionName = 'slub-debug' | 'page-poison' | 'kasan';

/** Adds the debug options that apply to a command. */
export function debugOptions(cmd: Command, names: readonly DebugOptionName[]): Command {
  if (names.includes('slub-debug')) cmd.option('--slub-debug [opts]', 'slub_debug= boot option for SLUB: FZPU, FZ,kmalloc-64, … (no value: full debugging)');
  if (names.includes('page-poison')) cmd.option('--page-poison', 'page_poison=1: poison freed pages and check them on allocation');
  if (names.includes('kasan')) cmd.option('--kasan', 'KASAN model: shadow memory, checked client accesses, quarantine (SLUB or SLAB)');
  return cmd;
}

/**
 * Commander's parser for a policy value: a name `allowed()` lists, or the
 * path of a policy file (loaded, and checked against the layer's contract,
 * before the command runs). Anything else is refused like a bad choice.
 *
 * @param layer - the layer the value names a policy of
 * @param allowed - the names accepted (default: the layer's built-ins), asked when a value is parsed
 */
export function policyArg(layer: Layer, allowed: () => readonly string[] = () => builtinPolicyNames(layer)): (value: string) => string {
  return (value) => {
    if (isPolicyPath(value) || allowed().includes(value)) return value;
    throw new InvalidArgumentError(`Allowed choices are ${allowed().join(', ')}, or a policy file such as ./my-${layer}.ts.`);
  };
}

/**
 * A `--<layer> <policy>` option without a commander default: the help names
 * the default, and a policy from `--config` stays unless the option is typed.
 * A path names a policy file (a research prototype).
 *
 * @param layer - the layer (the flag is `--<layer>`)
 * @param what - description
 * @param allowed - names accepted (default: the layer's built-ins)
 */
export function policyOption(layer: Layer, what: string, allowed?: () => readonly string[]): Option {
  const names = (allowed ?? (() => policyNames(layer)))();
  return new Option(`--${layer} <policy>`, `${what}: ${names.join(', ')}, or a policy file (default: ${DEFAULT_CONFIG.policies[layer]}, or policies.${layer} of --config)`).argParser(policyArg(layer, allowed));
}

/**
 * Parses a comma-separated `--<layer>` list of policies (built-in names, and
 * policy files, which were loaded and registered under their path before the
 * command ran); absent: every built-in of the layer.
 *
 * @throws AllocatorError `usage` naming the unknown names
 */
export function policyList(text: string | undefined, layer: Layer): string[] {
  const known = policyNames(layer);
  const names = (text ?? builtinPolicyNames(layer).join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  const bad = names.filter((n) => !known.includes(n));
  if (bad.length) throw badInput(`--${layer}: unknown ${layer} polic${bad.length > 1 ? 'ies' : 'y'} ${bad.map((b) => `'${b}'`).join(', ')} (known: ${known.join(', ')})`);
  if (!names.length) throw badInput(`--${layer}: give at least one ${layer} policy (known: ${known.join(', ')})`);
  return names;
}

/** Integer range of {@link intOpt}. */
export interface IntRangeOpts {
  readonly min?: number;
  readonly max?: number;
}

/**
 * Parses an integer option.
 *
 * @param value - as typed (undefined: not given)
 * @param name - option name without dashes, for the message
 * @param range - allowed range (default 0 .. 2^53-1)
 * @throws AllocatorError `usage` naming the option
 */
export function intOpt(value: string | undefined, name: string, range: IntRangeOpts = {}): number | undefined {
  if (value === undefined) return undefined;
  const min = range.min ?? 0;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw badInput(`--${name} expects ${min === 0 ? 'a non-negative' : 'an'} integer${min !== 0 || range.max !== undefined ? ` in ${min}..${max}` : ''}, got '${value}'`);
  if (n < min || n > max) throw badInput(`--${name} expects an integer in ${min}..${max}, got '${value}'`);
  return n;
}

/** Parses a size option (`1G`, `512M`, `4096`). @throws AllocatorError `usage` naming the option */
export function sizeOpt(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = parseSize(value);
  if (!Number.isFinite(n)) throw badInput(`--${name} expects a size such as 1G or 512M, got '${value}'`);
  return n;
}

/**
 * Reads a `--config` file strictly: valid JSON, known keys only (a misspelt
 * one is named with the nearest valid key), values of the right type.
 *
 * @throws AllocatorError `usage` (unreadable), `parse` (not JSON) or `config` (every shape problem)
 */
function readConfigFile(path: string): SystemConfigInput {
  const text = readInputText(path, '--config');
  const value = parseJsonText(text, `--config ${path}`);
  const problems = checkConfigInput(value);
  if (problems.length) throw new AllocatorError('config', `--config ${path}: ${problems.join('; ')}`, { problems });
  return value as SystemConfigInput;
}

/** The `--config` file of each command run, keyed by its options object (commander hands the same one to every hook and to the action). */
const configFiles = new WeakMap<object, SystemConfigInput>();

/**
 * The `--config` file a command's options name, read and checked by
 * {@link readConfigFile} once per command run (the policy loader and the
 * command both need it); `{}` without `--config`.
 */
export function configFileOf(o: { readonly config?: string }): SystemConfigInput {
  if (o.config === undefined) return {};
  let file = configFiles.get(o);
  if (file === undefined) {
    file = readConfigFile(o.config);
    configFiles.set(o, file);
  }
  return file;
}

/** Drops the keys whose value is undefined (options not typed). */
function given<T extends object>(o: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** What a command sets on top of the config file and the machine options (undefined values are ignored). */
export interface ConfigOverrides {
  readonly policies?: { readonly [K in keyof PolicyChoice]?: string | undefined };
  readonly debug?: { readonly [K in keyof DebugOpts]?: DebugOpts[K] | undefined };
  readonly user?: { readonly [K in keyof UserOpts]?: UserOpts[K] | undefined };
}

/**
 * Builds a SystemConfigInput: the `--config` file, then the machine and
 * debug options that were typed, then the command's own overrides.
 */
export function configFrom(o: MachineCliOpts & DebugCliOpts, overrides: ConfigOverrides = {}): SystemConfigInput {
  const base = configFileOf(o);
  const machine = {
    ...base.machine,
    ...given({ memBytes: sizeOpt(o.mem, 'mem'), cpus: intOpt(o.cpus, 'cpus'), nodes: intOpt(o.nodes, 'nodes'), kernelImageBytes: sizeOpt(o.kernelImage, 'kernel-image') }),
  };
  const seed = intOpt(o.seed, 'seed');
  const debug: Partial<DebugOpts> = {
    ...base.debug,
    ...(o.slubDebug !== undefined ? { slubDebug: o.slubDebug === true ? '' : o.slubDebug } : {}),
    ...(o.pagePoison ? { pagePoison: true } : {}),
    ...(o.kasan ? { kasan: true } : {}),
    ...given(overrides.debug),
  };
  return {
    ...base,
    machine,
    policies: { ...base.policies, ...given(overrides.policies) },
    debug,
    user: { ...base.user, ...given(overrides.user) },
    ...(seed !== undefined ? { seed } : {}),
  };
}

/**
 * The options of `names` (long names without dashes) typed on the command
 * line, in that order.
 */
export function typedOptions(cmd: Command, names: readonly string[]): string[] {
  return names.filter((n) => {
    const opt = cmd.options.find((x) => x.long === `--${n}`);
    return opt !== undefined && cmd.getOptionValueSource(opt.attributeName()) === 'cli';
  });
}

/**
 * Rejects options that do not apply in this use of a command.
 *
 * @param names - long names without dashes
 * @param why - completes `--NAME …`, e.g. `applies to --layer slab only`
 * @throws AllocatorError `usage` for the first one typed
 */
export function rejectOptions(cmd: Command, names: readonly string[], why: string): void {
  const typed = typedOptions(cmd, names);
  if (typed.length) throw badInput(`--${typed[0]} ${why}`);
}

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses a duration option (`90s`, `10m`, `2h`, `1h30m`) into milliseconds. @throws AllocatorError `usage` naming the option */
export function durationOpt(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  const ms = parts.reduce((n, p) => n + Number(p[1]) * DURATION_UNITS[p[2]!]!, 0);
  if (!parts.length || parts.map((p) => p[0]).join('') !== text || !(ms > 0)) throw badInput(`--${name} expects a duration such as 90s, 10m, 2h or 1h30m, got '${value}'`);
  return ms;
}
