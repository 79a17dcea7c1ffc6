/**
 * Reproducer files: what a failing campaign writes and `allocsim fuzz
 * --replay FILE` and the corpus suite run again. A reproducer stores the
 * explicit command list (and the run's parameters) beside seed and path, so
 * it replays after the generators change. Reading one validates all of it —
 * version, layer, policy, mutant, parameters and every command against its
 * layer's schema — before anything runs: a malformed file is bad input
 * (`AllocatorError` of kind `parse`, message prefixed with the file name),
 * never a finding.
 */

import { AllocatorError } from '../src/interfaces/errors.js';
import { parseJsonText } from '../src/harness/json-text.js';
import { policyNames } from '../src/policies/registry.js';
import { FUZZ_LAYERS, type FuzzLayer } from './common.js';
import type { FuzzReport } from './engine.js';
import { findMutant } from './mutants/catalogue.js';
import type { MutantEntry } from './mutants/registry-types.js';
import { FUZZ_CAMPAIGNS, isFuzzLayer } from './registry.js';

/** The reproducer format version this code reads and writes. */
export const REPRODUCER_VERSION = 1;

/** A reproducer file (version 1). */
export interface Reproducer {
  readonly version: 1;
  /** The campaign that found it. */
  readonly layer: FuzzLayer;
  /** The policy of the campaign's policy layer (for a mutant: the policy the mutant subclasses runs beside). */
  readonly policy: string;
  /** Catalogue id, when the failure is a mutant's. */
  readonly mutant?: string;
  /** Seed and fast-check path of the campaign (informative: the command list is what replays). */
  readonly seed?: number;
  readonly path?: string;
  /** The failing run's parameters (the user campaign: `{ tcache }`). */
  readonly params?: object;
  /** What failed when it was found, and its codes (informative). */
  readonly failure?: string;
  readonly codes?: readonly string[];
  /** The shrunk command list, each in its layer's stored form. */
  readonly commands: readonly object[];
}

/** The reproducer of a failed campaign. */
export function reproducerOf(layer: FuzzLayer, policy: string, mutant: MutantEntry | undefined, r: FuzzReport): Reproducer {
  return {
    version: REPRODUCER_VERSION,
    layer,
    policy,
    ...(mutant ? { mutant: mutant.id } : {}),
    seed: r.seed,
    ...(r.path ? { path: r.path } : {}),
    ...(r.params ? { params: r.params } : {}),
    failure: r.failure,
    codes: r.codes,
    commands: r.commands ?? [],
  };
}

/** The file's text: pretty JSON with one command per line (a reviewable diff when the corpus changes). */
export function formatReproducer(r: Reproducer): string {
  const { commands, ...head } = r;
  const top = JSON.stringify({ ...head, commands: [] }, null, 2);
  const list = commands.length ? `[\n${commands.map((c) => `    ${JSON.stringify(c)}`).join(',\n')}\n  ]` : '[]';
  return top.replace(/"commands": \[\]\n\}$/, `"commands": ${list}\n}`) + '\n';
}

/** Validates a reproducer's text. @throws AllocatorError `parse`, message `FILE: …` naming the field or command */
export function parseReproducer(text: string, file: string): Reproducer {
  return reproducerFromJson(parseJsonText(text, file), file);
}

/** Validates a reproducer already parsed from JSON (the value of `file`). @throws AllocatorError as {@link parseReproducer} */
export function reproducerFromJson(o: unknown, file: string): Reproducer {
  const bad = (msg: string): never => {
    throw new AllocatorError('parse', `${file}: ${msg}`);
  };
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return bad('not an allocsim reproducer (expected a JSON object)');
  const r = o as Record<string, unknown>;
  if (r['version'] !== REPRODUCER_VERSION) return bad(`not an allocsim reproducer of version ${REPRODUCER_VERSION} (version ${JSON.stringify(r['version'])})`);
  const layer = r['layer'];
  if (!isFuzzLayer(layer)) return bad(`unknown layer ${JSON.stringify(layer)} (layers: ${FUZZ_LAYERS.join(', ')})`);
  const campaign = FUZZ_CAMPAIGNS[layer];
  const known = policyNames(campaign.policyKind);
  const policy = r['policy'];
  if (typeof policy !== 'string' || !known.includes(policy)) return bad(`unknown ${campaign.policyKind} policy ${JSON.stringify(policy)} (known: ${known.join(', ')})`);
  const mutant = r['mutant'];
  if (mutant !== undefined) {
    if (typeof mutant !== 'string') return bad(`mutant must be a catalogue id, got ${JSON.stringify(mutant)}`);
    let m: MutantEntry;
    try {
      m = findMutant(mutant);
    } catch {
      return bad(`unknown mutant '${mutant}'`);
    }
    if (m.layer !== layer) return bad(`mutant ${m.id} is a ${m.layer} mutant, the file says layer ${layer}`);
  }
  if (r['seed'] !== undefined && !Number.isInteger(r['seed'])) return bad(`seed must be an integer, got ${JSON.stringify(r['seed'])}`);
  for (const k of ['path', 'failure'] as const) if (r[k] !== undefined && typeof r[k] !== 'string') return bad(`${k} must be a string`);
  if (r['codes'] !== undefined && !(Array.isArray(r['codes']) && r['codes'].every((c) => typeof c === 'string'))) return bad('codes must be a list of strings');
  const commands = r['commands'];
  if (!Array.isArray(commands)) return bad('commands must be a list');
  try {
    campaign.validate(commands, r['params']);
  } catch (e) {
    if (e instanceof AllocatorError) return bad(e.message);
    throw e;
  }
  return o as Reproducer;
}

/**
 * Replays a reproducer: its commands against its policy, with its mutant
 * bound when it names one (unless `real`, which replays against the real
 * classes: what a fixed policy or a mutant's original must pass).
 */
export function replayReproducer(r: Reproducer, real = false): FuzzReport {
  const overrides = r.mutant && !real ? findMutant(r.mutant).overrides : {};
  return FUZZ_CAMPAIGNS[r.layer].replay({ policy: r.policy, overrides }, r.commands, r.params);
}
