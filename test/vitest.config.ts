// Test runner settings: tests live in test/ and run against the TypeScript sources; CLI tests spawn the built
// dist/ (npm test builds first). Process-spawning tests need more than vitest's default 5 s.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
