/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*.spec.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    // devalue ships ESM only, which jest's CommonJS runtime cannot require: compile it to CommonJS.
    '/node_modules/devalue/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs', moduleResolution: 'node10' } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!devalue/)'],
  // Worker threads run real CPU work; two cores are shared by every test file.
  maxWorkers: 2,
  testTimeout: 20000,
  // it.concurrent tests (the documentation's examples, each a node process) run two at a time.
  maxConcurrency: 2,
  reporters: ['default', '<rootDir>/spec/helpers/summary-reporter.js'],
};
