import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` (everything outside test/integration/: in-process, no ../shared data, no browser, no
 * subprocess, no server other than in-process ones; `npm run test:unit`) and `integration` (test/integration/:
 * the CLI as a subprocess, real Redis, headless Chromium, the ../shared weights and dataset, the native TF.js
 * engine, full-size backbones, the packed tarball). `npm test` runs both.
 *
 * The unit project does not isolate files: each worker loads TF.js once instead of once per file (about three
 * times faster on 2 cores). The setup file puts TF.js back on its cpu backend before each file; tests that change
 * process-wide state they cannot undo (loading the native engine) belong to integration.
 */
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    setupFiles: ['test/support/quiet-tfjs.ts'],
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/integration/**'],
          isolate: false,
        },
      },
      { extends: true, test: { name: 'integration', include: ['test/integration/**/*.test.ts'] } },
    ],
  },
});
