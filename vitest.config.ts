import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

// One copy of graphql for the whole run: otherwise vitest may load it twice and graphql
// fails with "Cannot use GraphQLObjectType from another module or realm".
const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: { alias: { graphql: require.resolve('graphql') } },
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/support/setup.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
