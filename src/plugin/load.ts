/**
 * Policies from files: a research prototype is one file whose default export
 * is a class implementing a layer's contract, named wherever a policy name
 * is accepted (`--slab ./mine.ts`, `compare --slab slub,./sheaves.ts`,
 * `{"policies": {"malloc": "./mimalloc.js"}}` in a config file).
 *
 * - **Loading.** JavaScript (`.js`, `.mjs`, `.cjs`) and TypeScript (`.ts`,
 *   `.mts`, `.cts`) go the same way: esbuild (the compiler tsx is built on)
 *   bundles the file with its own relative imports and npm packages into one
 *   ES module in memory, which Node imports. Node 20 has no type stripping of
 *   its own, and a loader such as tsx decides ESM or CommonJS by the nearest
 *   package.json — a prototype in a bare folder would be CommonJS and could
 *   not import allocsim (an ES module). Bundling needs no tsconfig, no build
 *   step and writes no file; TypeScript's experimental decorators (inversify's
 *   `@inject`) are compiled. `allocsim` and `allocsim/testing` stay imports,
 *   of the running copy's own files, so the prototype shares the CLI's
 *   classes and tokens and needs nothing installed beside it. A CommonJS module's `module.exports` (or
 *   its `default`) may hold the class.
 * - **Dependencies.** A class with inversify decorators is bound as it is;
 *   one without (plain JavaScript) gets its layer's constructor parameters
 *   in the order `LAYER_DEPENDENCIES` gives, the same as the built-ins'.
 * - **Checking.** Before any run the class is built once on a small machine
 *   and its instance compared with the contract's shape
 *   ({@link contractProblems}); every missing or wrong member is named in
 *   one `config` error.
 * - **Choosing an export.** `file.ts#Name` takes the named export `Name`
 *   instead of the default one (a file may hold variants).
 * - **Registering.** The class is added to the policy registry under the
 *   name it was given (the path as typed), so configs, `createSystem`, the
 *   fuzz campaigns and every command accept that name like a built-in one.
 */

import { existsSync, statSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Newable } from 'inversify';
import { AllocatorError } from '../interfaces/errors.js';
import type { SystemConfigInput } from '../interfaces/config.js';
import { CONFIG, KASAN, LAYER_DEPENDENCIES, MACHINE, PAGE_ALLOCATOR, PROCESS_MEMORY, USER_MALLOC_OPTIONS } from '../interfaces/tokens.js';
import { addPolicy, builtinPolicyNames, policyEntry, policyModule, type Layer } from '../policies/registry.js';
import { asPolicyClass, createSystem, type System } from '../system.js';
import { LAYER_CONTRACTS, contractProblems } from './shapes.js';

/** File endings of policy files: JavaScript, and TypeScript through tsx. */
export const POLICY_FILE_EXTENSIONS: readonly string[] = ['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts'];

/** Whether a policy name is a file path (it names a directory or ends like a module). */
export function isPolicyPath(spec: string): boolean {
  const path = spec.split('#')[0]!;
  return path.includes('/') || path.includes('\\') || POLICY_FILE_EXTENSIONS.includes(extname(path));
}

/** The small machine a plug-in is checked on. */
const CHECK_MACHINE: SystemConfigInput = { machine: { memBytes: 24 << 20, kernelImageBytes: 1 << 20, cpus: 2, thp: false } };

/** The instance of the layer's policy a system holds. */
function instanceOf(layer: Layer, sys: System): object {
  switch (layer) {
    case 'page':
      return sys.pages;
    case 'slab':
      return sys.slab;
    case 'malloc':
      return sys.spawn('check').libc;
    case 'vmap':
      return sys.vmalloc.space;
  }
}

/** Where `allocsim` and `allocsim/testing` are in the running copy (its compiled JS, or its source when run from source). */
function allocsimUrls(): Record<string, string> {
  const here = import.meta.url;
  const ext = here.endsWith('.ts') ? '.ts' : '.js';
  return { allocsim: new URL(`../index${ext}`, here).href, 'allocsim/testing': new URL(`../testing/index${ext}`, here).href };
}

/**
 * The class built directly with its layer's conventional constructor
 * arguments (LAYER_DEPENDENCIES) from a system of built-ins (for diagnosis only); undefined when
 * even that throws.
 */
function conventionInstance(layer: Layer, cls: Newable<object>): object | undefined {
  try {
    const sys = createSystem(CHECK_MACHINE);
    // What each token of the convention stands for in a system of built-ins.
    const value = new Map<unknown, () => unknown>([
      [MACHINE, () => sys.machine],
      [CONFIG, () => sys.config],
      [PAGE_ALLOCATOR, () => sys.pages],
      [KASAN, () => sys.kasan],
      [PROCESS_MEMORY, () => sys.processes.spawn('check')],
      [USER_MALLOC_OPTIONS, () => ({ tcache: true, seed: 1 })],
    ]);
    return new cls(...LAYER_DEPENDENCIES[layer].map((d) => value.get(d.token)!()));
  } catch {
    return undefined;
  }
}

/** Bundles a policy file into one ES module (allocsim left as an import) and imports it. */
async function importModule(file: string): Promise<unknown> {
  const { build } = await import('esbuild');
  const urls = allocsimUrls();
  const out = await build({
    entryPoints: [file],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    logLevel: 'silent',
    // allocsim itself stays an import, of the running copy: the prototype shares the CLI's classes and tokens.
    plugins: [{ name: 'allocsim', setup: (b) => b.onResolve({ filter: /^allocsim(\/testing)?$/ }, (a) => ({ path: urls[a.path]!, external: true })) }],
    tsconfigRaw: { compilerOptions: { experimentalDecorators: true } },
    // A CommonJS package bundled into an ES module may call require(): give it one.
    banner: { js: `import { createRequire as __allocsimRequire } from 'node:module'; const require = __allocsimRequire(${JSON.stringify(pathToFileURL(file).href)});` },
  });
  const code = out.outputFiles[0]!.text;
  return (await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)) as unknown;
}

/** An error message on one line (esbuild's list of errors included), at most 400 characters. */
function oneLine(text: string): string {
  const t = text.replace(/\s*\n\s*/g, ' ').trim();
  return t.length > 400 ? `${t.slice(0, 400)}…` : t;
}

/** The class a module exports by default (ESM `default`, or CommonJS `module.exports` / its `default`). */
function defaultClass(mod: unknown): unknown {
  let e = (mod as { default?: unknown } | null)?.default;
  if (e && typeof e === 'object' && 'default' in e) e = e.default;
  return e;
}

/**
 * Loads a policy file for `layer`, checks it against the layer's contract
 * and registers it under `spec`.
 *
 * @param layer - the layer it implements (`page`, `slab`, `malloc`, `vmap`)
 * @param spec - the path as given (relative paths from the working directory)
 * @throws AllocatorError `usage` for a missing file, `config` for a module that is not such a policy (naming every missing or wrong member)
 */
async function loadPolicyFile(layer: Layer, spec: string): Promise<void> {
  // `file.ts#Name` picks a named export instead of the default one.
  const hash = spec.indexOf('#');
  const exportName = hash >= 0 ? spec.slice(hash + 1) : undefined;
  const file = resolve(hash >= 0 ? spec.slice(0, hash) : spec);
  if (!existsSync(file)) throw new AllocatorError('usage', `--${layer} ${spec}: no such file (a ${layer} policy is a built-in name — ${builtinPolicyNames(layer).join(', ')} — or a policy file)`);
  if (statSync(file).isDirectory()) throw new AllocatorError('usage', `--${layer} ${spec}: is a directory (name the policy file)`);
  if (!POLICY_FILE_EXTENSIONS.includes(extname(file))) throw new AllocatorError('usage', `--${layer} ${spec}: a policy file ends in ${POLICY_FILE_EXTENSIONS.join(', ')}`);
  const contract = LAYER_CONTRACTS[layer].name;
  let mod: unknown;
  try {
    mod = await importModule(file);
  } catch (e) {
    throw new AllocatorError('config', `${spec}: cannot load it: ${oneLine((e as Error).message)}`);
  }
  const cls = exportName === undefined ? defaultClass(mod) : (mod as Record<string, unknown>)[exportName];
  const which = exportName === undefined ? 'its default export' : `its export ${exportName}`;
  if (typeof cls !== 'function') throw new AllocatorError('config', `${spec}: ${which} must be a class implementing ${contract}, not ${cls === undefined ? 'missing' : typeof cls}`);
  const injectable = asPolicyClass(layer, cls as Newable<object>);
  const className = (cls as { name?: string }).name || 'the default export';
  const refuse = (problems: string[]): never => {
    throw new AllocatorError('config', `${spec}: ${className} does not implement ${contract}: ${problems.join('; ')}`, { problems });
  };
  let instance: object;
  try {
    instance = instanceOf(layer, createSystem(CHECK_MACHINE, { [layer]: injectable }));
  } catch (e) {
    // The system could not be built around it: a missing member is the likely reason; name those first.
    const alone = conventionInstance(layer, cls as Newable<object>);
    if (alone) {
      const problems = contractProblems(layer, alone);
      if (problems.length) refuse(problems);
    }
    throw new AllocatorError('config', `${spec}: ${contract} ${className} could not be built on a small machine: ${oneLine((e as Error).message)}`);
  }
  const problems = contractProblems(layer, instance);
  if (problems.length) refuse(problems);
  const selfName = (instance as { policy?: unknown; name?: unknown })[layer === 'malloc' ? 'name' : 'policy'];
  addPolicy(layer, spec, { module: policyModule(layer, injectable), summary: `plug-in ${basename(file)} (${contract} ${String(selfName)})`, label: typeof selfName === 'string' ? selfName : basename(file) });
}

/**
 * Makes every policy file a config or a list of names mentions available:
 * names already known (built-in or loaded: a loaded file is registered
 * under its spec) are left alone, paths are loaded.
 */
export async function loadPolicyFiles(specs: Readonly<Partial<Record<Layer, readonly string[]>>>): Promise<void> {
  for (const [layer, names] of Object.entries(specs) as [Layer, readonly string[]][]) {
    for (const spec of names) if (!policyEntry(layer, spec) && isPolicyPath(spec)) await loadPolicyFile(layer, spec);
  }
}
