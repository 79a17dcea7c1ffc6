/**
 * `allocsim slabinfo`: /proc/slabinfo of a booted system with the chosen
 * slab policy, extra caches from `--cache NAME:SIZE[:ALIGN[:FLAGS]]`, and
 * optionally after a seeded slab workload.
 */

import { Command, Option } from 'commander';
import { AllocatorError } from '../interfaces/errors.js';
import * as slabFlags from '../interfaces/slab.js';
import { builtinPolicyNames, policyEntry } from '../policies/registry.js';
import { createSystem } from '../system.js';
import { SLAB_WORKLOADS, runSlabWorkload } from '../harness/workloads/slab.js';
import { slabinfo } from '../proc/slab.js';
import { badInput, printJson } from './errors.js';
import { configFrom, debugOptions, intOpt, machineOptions, policyOption, rejectOptions, type DebugCliOpts, type MachineCliOpts } from './options.js';

interface SlabinfoOpts extends MachineCliOpts, DebugCliOpts {
  slab?: string;
  cache: string[];
  workload?: string;
  ops: string;
  json?: boolean;
}

/** The slab policies whose kernels have /proc/slabinfo (the registry's `procSlabinfo`). */
export function slabPoliciesWithSlabinfo(): string[] {
  return builtinPolicyNames('slab').filter((slab) => policyEntry('slab', slab)?.procSlabinfo === true);
}

const FLAG_NAMES: Record<string, number> = {
  HWCACHE_ALIGN: slabFlags.SLAB_HWCACHE_ALIGN,
  POISON: slabFlags.SLAB_POISON,
  RED_ZONE: slabFlags.SLAB_RED_ZONE,
  STORE_USER: slabFlags.SLAB_STORE_USER,
  RECLAIM_ACCOUNT: slabFlags.SLAB_RECLAIM_ACCOUNT,
  TYPESAFE_BY_RCU: slabFlags.SLAB_TYPESAFE_BY_RCU,
  CACHE_DMA: slabFlags.SLAB_CACHE_DMA,
  CACHE_DMA32: slabFlags.SLAB_CACHE_DMA32,
  ACCOUNT: slabFlags.SLAB_ACCOUNT,
  NO_MERGE: slabFlags.SLAB_NO_MERGE,
  PANIC: slabFlags.SLAB_PANIC,
};

/** Parses `NAME:SIZE[:ALIGN[:FLAGS]]` (FLAGS: `HWCACHE_ALIGN|POISON` or a number). */
export function parseCacheSpec(text: string): { name: string; size: number; align: number; flags: number } {
  const parts = text.split(':');
  const bad = (why: string): never => {
    throw new AllocatorError('parse', `--cache ${text}: ${why} (expected NAME:SIZE[:ALIGN[:FLAGS]])`);
  };
  if (parts.length < 2 || parts.length > 4 || !parts[0]) return bad('wrong number of fields');
  const num = (s: string | undefined, what: string): number => (s === undefined || s === '' ? 0 : /^(0x[0-9a-f]+|\d+)$/i.test(s) ? Number(s) : bad(`${what} '${s}' is not a number`));
  let flags = 0;
  if (parts[3]) {
    if (/^(0x[0-9a-f]+|\d+)$/i.test(parts[3])) flags = Number(parts[3]);
    else
      for (const f of parts[3].split('|')) {
        const v = FLAG_NAMES[f.replace(/^SLAB_/, '')];
        if (v === undefined) bad(`unknown flag '${f}' (known: ${Object.keys(FLAG_NAMES).join(', ')})`);
        flags |= v ?? 0;
      }
  }
  return { name: parts[0], size: num(parts[1], 'size'), align: num(parts[2], 'align'), flags };
}

/** Registers the command. */
export function slabinfoCommand(program: Command): void {
  const cmd = program
    .command('slabinfo')
    .description('print /proc/slabinfo (version 2.1) of a booted system (SLAB and SLUB kernels have it; SLOB kernels do not)')
    .addOption(policyOption('slab', 'slab policy', slabPoliciesWithSlabinfo))
    .addOption(
      new Option('--cache <spec>', 'create a cache NAME:SIZE[:ALIGN[:FLAGS]] (repeatable)')
        .argParser((v: string, acc: string[]) => [...acc, v])
        .default([] as string[], 'none'),
    )
    .addOption(new Option('--workload <name>', 'run a seeded slab workload first and keep its objects').choices(SLAB_WORKLOADS.map((w) => w.name)))
    .option('--ops <n>', 'operations of the workload (with --workload)', '100000')
    .option('--json', 'print the caches as JSON');
  debugOptions(machineOptions(cmd), ['slub-debug', 'kasan']).action((o: SlabinfoOpts) => {
    if (!o.workload) rejectOptions(cmd, ['ops'], 'applies to a --workload run; give --workload too');
    const ops = intOpt(o.ops, 'ops') ?? 100000;
    const specs = o.cache.map(parseCacheSpec);
    const config = configFrom(o, { policies: { slab: o.slab } });
    const sys = createSystem(config);
    if (!sys.slab.hasSlabinfo) {
      const names = slabPoliciesWithSlabinfo().map((n) => n.toUpperCase());
      // The --slab choices exclude it: the policy came from the config file.
      throw badInput(`${sys.kmem.policy.toUpperCase()} has no /proc/slabinfo (Linux has it only for ${names.join(' and ')} kernels); policies.slab '${sys.kmem.policy}' comes from --config ${o.config ?? '?'}`);
    }
    o.cache.forEach((spec, i) => {
      const c = specs[i]!;
      try {
        sys.kmem.kmemCacheCreate(c.name, c.size, c.align, c.flags);
      } catch (e) {
        if (e instanceof AllocatorError) throw badInput(`--cache ${spec}: ${e.message.replace(/^[\w.]+: kmem_cache_create\([^)]*\): /, '')}`);
        throw e;
      }
    });
    if (o.workload) runSlabWorkload(sys, o.workload, ops, sys.config.seed, true);
    if (o.json) printJson(sys.kmem.caches());
    else process.stdout.write(slabinfo(sys.kmem.policy, sys.slab.hasSlabinfo, sys.kmem.caches()));
  });
}
