/** @type {import('jest').Config} */
const swcOptions = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
  },
  module: { type: 'es6' },
  sourceMaps: 'inline',
};

export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/test', '<rootDir>/examples'],
  injectGlobals: false,
  extensionsToTreatAsEsm: ['.ts'],
  // `allocsim` in a policy file or an example is this package's source (the CLI maps it to the running copy).
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1', '^allocsim$': '<rootDir>/src/index.ts', '^allocsim/testing$': '<rootDir>/src/testing/index.ts' },
  transform: { '^.+\\.ts$': ['@swc/jest', swcOptions] },
};
