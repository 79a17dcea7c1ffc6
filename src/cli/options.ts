/**
 * Options shared by every command that builds a system, and their parsing
 * into a SystemConfigInput (config file first, command line on top).
 */

import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { SystemConfigInput } from '../interfaces/config.js';
import { AllocatorError } from '../interfaces/errors.js';
import { parseSize } from '../interfaces/units.js';

/** Options every system-building command accepts. */
export interface MachineCliOpts {
  mem?: string;
  cpus?: string;
  nodes?: string;
  kernelImage?: string;
  seed?: string;
  config?: string;
  page?: string;
  trace?: string;
  slubDebug?: string;
  pagePoison?: boolean;
  kasan?: boolean;
}

/** Adds the machine options to a command. */
export function machineOptions(cmd: Command): Command {
  return cmd
    .option('--mem <size>', 'installed memory, e.g. 1G, 512M, 64G (multiple of 4 MiB)')
    .option('--cpus <n>', 'simulated CPUs')
    .option('--nodes <n>', 'NUMA nodes')
    .option('--kernel-image <size>', 'bytes memblock reserves for the kernel image')
    .option('--seed <n>', 'seed of every random choice')
    .option('--slub-debug [opts]', 'slub_debug= boot option for SLUB: FZPU, FZ,kmalloc-64, … (no value: full debugging)')
    .option('--page-poison', 'page_poison=1: poison freed pages and check them on allocation')
    .option('--kasan', 'KASAN model: shadow memory, checked client accesses, quarantine')
    .option('--config <file>', 'JSON file with a SystemConfig (options on the command line win)');
}

/** Parses a non-negative integer option or throws a parse error naming it. */
export function intOpt(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim())) throw new AllocatorError('parse', `--${name} expects a non-negative integer, got '${value}'`);
  return Number(value);
}

function sizeOpt(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = parseSize(value);
  if (!Number.isFinite(n)) throw new AllocatorError('parse', `--${name} expects a size such as 1G or 512M, got '${value}'`);
  return n;
}

/** Builds a SystemConfigInput from a config file plus command-line options. */
export function configFrom(o: MachineCliOpts, pagePolicy?: string): SystemConfigInput {
  let base: SystemConfigInput = {};
  if (o.config !== undefined) {
    let text: string;
    try {
      text = readFileSync(o.config, 'utf8');
    } catch (e) {
      throw new AllocatorError('parse', `cannot read config file ${o.config}: ${(e as Error).message}`);
    }
    try {
      base = JSON.parse(text) as SystemConfigInput;
    } catch (e) {
      throw new AllocatorError('parse', `config file ${o.config} is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof base !== 'object' || base === null || Array.isArray(base)) throw new AllocatorError('parse', `config file ${o.config} must hold a JSON object`);
  }
  const machine = { ...base.machine };
  const mem = sizeOpt(o.mem, 'mem');
  if (mem !== undefined) machine.memBytes = mem;
  const cpus = intOpt(o.cpus, 'cpus');
  if (cpus !== undefined) machine.cpus = cpus;
  const nodes = intOpt(o.nodes, 'nodes');
  if (nodes !== undefined) machine.nodes = nodes;
  const ki = sizeOpt(o.kernelImage, 'kernel-image');
  if (ki !== undefined) machine.kernelImageBytes = ki;
  const seed = intOpt(o.seed, 'seed');
  return {
    ...base,
    machine,
    policies: { ...base.policies, ...(pagePolicy ? { page: pagePolicy } : {}) },
    debug: {
      ...base.debug,
      ...(o.trace ? { trace: true } : {}),
      ...(o.slubDebug !== undefined ? { slubDebug: (o.slubDebug as unknown) === true ? '' : o.slubDebug } : {}),
      ...(o.pagePoison ? { pagePoison: true } : {}),
      ...(o.kasan ? { kasan: true } : {}),
    },
    ...(seed !== undefined ? { seed } : {}),
  };
}

