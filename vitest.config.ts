import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Multi-process and disk-heavy suites share a 2-core machine; run files one at a time.
    fileParallelism: false,
    reporters: ['default', ['json', { outputFile: 'test-results.json' }]],
  },
});
