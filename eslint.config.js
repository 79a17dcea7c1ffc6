import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

/**
 * The folder rules of the architecture (README "Architecture"), enforced:
 * each entry is a folder and what it may NOT import. Lower folders never
 * reach up; a policy never imports another layer's concrete policy.
 */
const SRC_ABOVE_MM = ['./src/policies', './src/proc', './src/harness', './src/plugin', './src/testing', './src/cli', './src/system.ts', './src/config.ts', './src/index.ts', './fuzz'];
const LAYERS = ['page', 'slab', 'devres', 'vmalloc', 'user'];
const folderRules = [
  { target: './src/interfaces', from: ['./src/machine', './src/mm', ...SRC_ABOVE_MM], message: 'interfaces/ imports nothing but interfaces/.' },
  { target: './src/machine', from: ['./src/mm', ...SRC_ABOVE_MM], message: 'machine/ imports only interfaces/.' },
  { target: './src/mm', from: SRC_ABOVE_MM, message: 'mm/ imports only interfaces/ and machine/.' },
  ...LAYERS.map((layer) => ({
    target: `./src/policies/${layer}`,
    from: [
      ...LAYERS.filter((l) => l !== layer).map((l) => `./src/policies/${l}`),
      './src/policies/registry.ts',
      './src/plugin',
      './src/proc',
      './src/harness',
      './src/cli',
      './src/system.ts',
      './src/config.ts',
      './src/index.ts',
      './fuzz',
    ],
    message: `a ${layer} policy imports interfaces/, machine/, mm/ and its own layer's helpers, never another layer's policy, harness/, cli/ or fuzz/.`,
  })),
  { target: './src/proc', from: ['./src/policies', './src/harness', './src/plugin', './src/cli', './src/system.ts', './src/config.ts', './src/index.ts', './fuzz'], message: 'proc/ formats contracts; it imports interfaces/, machine/ and mm/ only.' },
  { target: './src/plugin', from: ['./src/cli', './src/harness', './src/index.ts', './fuzz'], message: 'plugin/ loads policy files for the composition root; it never imports cli/, harness/ or fuzz/.' },
  { target: './src/harness', from: ['./src/cli', './src/index.ts', './fuzz'], message: 'harness/ never imports cli/ or fuzz/.' },
  { target: './fuzz', from: ['./src/cli', './src/index.ts', './src/testing'], message: 'fuzz/ never imports the CLI or the testing library.' },
  { target: './src/testing', from: ['./src/cli'], message: 'testing/ (allocsim/testing) never imports the CLI.' },
];

export default defineConfig(
  { ignores: ['dist/**', 'dist-bench/**', 'dist-examples/**', 'docs/api/**', 'coverage/**', 'bin/**'] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'Use the seeded PRNG (src/machine/rng.ts).' }],
    },
  },
  {
    files: ['src/**/*.ts', 'fuzz/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/extensions': ['.ts', '.js'],
    },
    rules: {
      'import-x/no-restricted-paths': ['error', { zones: folderRules }],
      'import-x/no-cycle': 'error',
      // Only the composition root touches the container.
      'no-restricted-imports': ['error', { paths: [{ name: 'inversify', importNames: ['Container'], message: 'Only src/system.ts (the composition root) touches the container.' }] }],
    },
  },
  { files: ['src/system.ts'], rules: { 'no-restricted-imports': 'off' } },
  {
    // An example is a plug-in as a user writes one, its tests included.
    files: ['examples/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^\\.\\./\\.\\./(src|fuzz)(/|$)', message: 'An example imports allocsim and allocsim/testing only (the public API).' }] }],
    },
  },
  { files: ['**/*.js', '**/*.cjs'], extends: [tseslint.configs.disableTypeChecked] },
);
