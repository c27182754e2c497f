/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*.spec.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  },
  // Worker threads run real CPU work; two cores are shared by every test file.
  maxWorkers: 2,
  testTimeout: 20000,
  reporters: ['default', '<rootDir>/spec/helpers/summary-reporter.js'],
};
