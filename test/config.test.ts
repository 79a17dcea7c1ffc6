/** Strict configurations: every key known, every value of its type, every problem named at once. */
import { describe, expect, it } from '@jest/globals';
import { CONFIG_SCHEMA, DEFAULT_CONFIG, checkConfigInput, resolveConfig } from '../src/config.js';
import type { SystemConfigInput } from '../src/interfaces/config.js';
import { isAllocatorError } from '../src/interfaces/errors.js';

/** The problems resolveConfig throws for an input that did not pass the type checker. */
function problemsOf(input: unknown): readonly string[] {
  try {
    resolveConfig(input as SystemConfigInput);
  } catch (e) {
    if (isAllocatorError(e, 'config')) return e.info.problems ?? [];
    throw e;
  }
  return [];
}

describe('checkConfigInput', () => {
  it('accepts the defaults and anything the type checker accepts', () => {
    expect(checkConfigInput(DEFAULT_CONFIG)).toEqual([]);
    expect(checkConfigInput({})).toEqual([]);
    expect(checkConfigInput({ policies: { slab: undefined } })).toEqual([]);
  });

  it('covers every default key', () => {
    for (const [section, keys] of Object.entries(DEFAULT_CONFIG)) {
      if (typeof keys !== 'object') continue;
      for (const k of Object.keys(keys as object)) expect(CONFIG_SCHEMA[section as 'machine']).toHaveProperty(k);
    }
  });

  it.each([
    [{ machine: { memByts: 1 } }, "unknown key 'machine.memByts' (did you mean 'machine.memBytes'?)"],
    [{ machine: { CPUS: 2 } }, "unknown key 'machine.CPUS' (did you mean 'machine.cpus'?)"],
    [{ machine: { slab: 'slob' } }, "unknown key 'machine.slab' (did you mean 'policies.slab'?)"],
    [{ polices: {} }, "unknown key 'polices' (did you mean 'policies'?)"],
    [{ kasan: true }, "unknown key 'kasan' (did you mean 'debug.kasan'?)"],
    [{ machine: { cpus: '4' } }, '\'machine.cpus\' must be an integer, not the string "4"'],
    [{ machine: { memBytes: 1.5 } }, "'machine.memBytes' must be an integer, not 1.5"],
    [{ debug: { kasan: 'yes' } }, '\'debug.kasan\' must be true or false, not the string "yes"'],
    [{ policies: { slab: 3 } }, "'policies.slab' must be a string, not 3"],
    [{ user: null }, "'user' must be an object with keys tcache, overcommitMemory, overcommitRatio, overcommitKbytes, userReserveKbytes, adminReserveKbytes, not null"],
    [{ seed: [1] }, "'seed' must be an integer, not an array"],
  ])('%j: %s', (input, problem) => {
    expect(checkConfigInput(input)).toEqual([problem]);
  });

  it('rejects what is not an object', () => {
    expect(checkConfigInput([1])).toEqual(['a configuration must be a JSON object, not an array']);
    expect(checkConfigInput('x')).toEqual(['a configuration must be a JSON object, not the string "x"']);
  });
});

describe('resolveConfig', () => {
  it('lists every shape problem, in key order, before it looks at values', () => {
    expect(problemsOf({ machine: { memByts: 1, cpus: '4' }, polices: {}, seed: 1.5 })).toEqual([
      "unknown key 'machine.memByts' (did you mean 'machine.memBytes'?)",
      '\'machine.cpus\' must be an integer, not the string "4"',
      "unknown key 'polices' (did you mean 'policies'?)",
      "'seed' must be an integer, not 1.5",
    ]);
  });

  it('reports an absurd memory size once, not with the problems it implies', () => {
    expect(problemsOf({ machine: { memBytes: 0 } })).toEqual(['memory size 0 bytes is outside 4 MiB .. 4 TiB']);
  });
});
