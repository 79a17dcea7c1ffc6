/**
 * `allocsim new <layer> <name>`: a policy file to start a prototype from —
 * a class implementing the layer's contract with every member delegating
 * to the built-in policy (so it passes everything as written), a test file
 * that runs the layer's contract suite and a short fuzz campaign against it
 * with node's test runner, a package.json, and a README snippet.
 *
 * The files are JavaScript ES modules with JSDoc types (`// @ts-check`):
 * they run with no build step under the CLI and under `node --test`, and an
 * editor checks them against the contract. (A TypeScript policy file works
 * the same with the CLI; its tests need the project's own TypeScript setup.)
 */

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Argument } from 'commander';
import { POLICY_LAYERS, type Layer } from '../policies/registry.js';
import { DEFAULT_CONFIG } from '../config.js';
import { FUZZ_LAYERS } from '../../fuzz/common.js';
import { FUZZ_CAMPAIGNS } from '../../fuzz/registry.js';
import { LAYER_DEPENDENCIES } from '../interfaces/tokens.js';
import { LAYER_CONTRACTS } from '../plugin/shapes.js';
import { badInput } from './errors.js';

/** What each layer's scaffold builds on: the built-in it delegates to, and the suite and campaign. */
const SCAFFOLD: Readonly<Record<Layer, { readonly builtin: string; readonly suite: string; readonly fuzz: string; readonly selfName: 'policy' | 'name'; readonly compare: string }>> = {
  page: { builtin: 'BuddyAllocator', suite: 'pageContract', fuzz: 'fuzzPage', selfName: 'policy', compare: 'compare --layer page --page buddy,' },
  slab: { builtin: 'SlubBackend', suite: 'slabContract', fuzz: 'fuzzSlab', selfName: 'policy', compare: 'compare --slab slub,' },
  malloc: { builtin: 'Ptmalloc', suite: 'userMallocContract', fuzz: 'fuzzUser', selfName: 'name', compare: 'compare --layer user --malloc ptmalloc,' },
  vmap: { builtin: 'VmapTreeSpace', suite: 'vmapContract', fuzz: 'fuzzVmalloc', selfName: 'policy', compare: 'bench --layer vmap --vmap tree,' },
};

/** The fuzz layer whose campaign takes the policies of `layer`. */
const fuzzLayerOf = (layer: Layer): string => FUZZ_LAYERS.find((l) => FUZZ_CAMPAIGNS[l].policyKind === layer)!;

/** A class name from a policy name (`my-slab` → `MySlab`). */
const className = (name: string): string => name.replace(/(^|[-_.\s]+)(\w)/g, (_, _s: string, c: string) => c.toUpperCase());

/** The policy file: every contract member delegates to the built-in. */
export function policySource(layer: Layer, name: string): string {
  const s = SCAFFOLD[layer];
  const contract = LAYER_CONTRACTS[layer];
  // The layer's constructor parameters, as the built-in takes them.
  const params = LAYER_DEPENDENCIES[layer].map((d) => d.name).join(', ');
  const members = Object.entries(contract.shape).map(([member, kind]) => {
    if (member === s.selfName) return '';
    if (kind.startsWith('method')) {
      const optional = kind.endsWith('?');
      return optional
        ? `\n  /** Optional in ${contract.name}: delegated only where the built-in has it. */\n  get ${member}() {\n    const f = this.inner.${member};\n    return f ? f.bind(this.inner) : undefined;\n  }\n`
        : `\n  /** @type {${contract.name}['${member}']} */\n  ${member}(...args) {\n    return this.inner.${member}(...args);\n  }\n`;
    }
    return `\n  get ${member}() {\n    return this.inner.${member};\n  }\n`;
  });
  return `// @ts-check
/**
 * ${name}: a ${layer} policy for allocsim, implementing ${contract.name}.
 *
 * It starts as the built-in ${s.builtin} behind a wrapper: every member of
 * the contract delegates to it, so it passes the contract suite and the fuzz
 * campaign as written. Replace the members you want to study.
 *
 * The constructor takes the layer's parameters in allocsim's order
 * (LAYER_DEPENDENCIES: ${params || 'none'}); no decorators are needed.
 */

import { ${s.builtin} } from 'allocsim';

/** @implements {import('allocsim').${contract.name}} */
export default class ${className(name)} {
  ${s.selfName} = '${name}';

  constructor(${params}) {
    /** The built-in policy this prototype starts from. */
    this.inner = new ${s.builtin}(${params});
  }
${members.join('')}}
`;
}

/** The test file: the layer's contract suite and a short fuzz campaign, under node's test runner. */
export function testSource(layer: Layer, name: string): string {
  const s = SCAFFOLD[layer];
  return `// @ts-check
/** The contract suite and a short fuzz campaign of allocsim's ${layer} layer, on ${name} (run: node --test). */
import { describe, it } from 'node:test';
import { ${s.suite}, ${s.fuzz} } from 'allocsim/testing';
import Policy from './${name}.mjs';

const target = { label: '${name}', overrides: { ${layer}: Policy } };

${s.suite}(target, { describe, it });

describe('${name}: a longer fuzz campaign', () => {
  it('survives seeds 1-3, 20 runs of 150 commands each', () => {
    for (const seed of [1, 2, 3]) ${s.fuzz}(target, { seed, numRuns: 20, maxCommands: 150 });
  });
});
`;
}

/** The README snippet. */
export function readmeSource(layer: Layer, name: string): string {
  const s = SCAFFOLD[layer];
  return `# ${name}

A ${layer} policy prototype for [allocsim](https://github.com/) (\`allocsim new ${layer} ${name}\`).
It implements \`${LAYER_CONTRACTS[layer].name}\` and starts as the built-in \`${s.builtin}\`:
edit \`${name}.mjs\`.

\`\`\`sh
npm install                      # allocsim, for the tests
npm test                         # the ${layer} contract suite and a fuzz campaign (node --test)
allocsim ${s.compare}./${name}.mjs
allocsim fuzz --layer ${fuzzLayerOf(layer)} --${layer} ./${name}.mjs --runs 500
allocsim bench --layer ${layer} --${layer} ${DEFAULT_CONFIG.policies[layer]},./${name}.mjs
\`\`\`
`;
}

/** The package.json of the generated folder. */
function packageSource(name: string): string {
  return (
    JSON.stringify(
      { name: `allocsim-policy-${name}`, private: true, type: 'module', scripts: { test: 'node --test' }, dependencies: { allocsim: '^0.1.0' } },
      null,
      2,
    ) + '\n'
  );
}

/** Registers the command. */
export function newCommand(program: Command): void {
  program
    .command('new')
    .description('write a policy file to start a prototype from (delegating to the built-in), its test file (contract suite and fuzz, node --test), a package.json and a README snippet')
    .addArgument(new Argument('<layer>', 'the layer it implements').choices(POLICY_LAYERS))
    .argument('<name>', 'the policy name: letters, digits and dashes (my-slab)')
    .option('--dir <dir>', 'folder to write into (default: a new folder named after the policy)')
    .action((layer: Layer, name: string, o: { dir?: string }) => {
      if (!/^[a-z][a-z0-9-]*$/i.test(name)) throw badInput(`<name>: '${name}' must be letters, digits and dashes, starting with a letter`);
      const dir = o.dir ?? name;
      const files: [string, string][] = [
        [`${name}.mjs`, policySource(layer, name)],
        [`${name}.test.mjs`, testSource(layer, name)],
        ['package.json', packageSource(name)],
        ['README.md', readmeSource(layer, name)],
      ];
      const clash = files.map(([f]) => join(dir, f)).filter((f) => existsSync(f));
      if (clash.length) throw badInput(`${clash.join(', ')} already exist${clash.length === 1 ? 's' : ''}; choose another --dir or name`);
      mkdirSync(dir, { recursive: true });
      for (const [f, text] of files) writeFileSync(join(dir, f), text);
      process.stdout.write(`wrote ${files.map(([f]) => join(dir, f)).join(', ')}\nnext: cd ${dir} && npm install && npm test\n`);
    });
}
