import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // End-to-end tests start real servers and a real bot; give them room on a shared 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Each file starts its own fakes on port 0, so files can run side by side.
    fileParallelism: true,
    maxWorkers: 2,
    // End-to-end tests drive real processes on a shared 2-core machine; in CI one retry keeps a scheduling hiccup
    // from failing a run, while a real failure still fails twice. Locally a flaky test shows up at once.
    retry: process.env.CI ? 1 : 0,
  },
});
