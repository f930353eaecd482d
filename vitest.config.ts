import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Names the run: the tests that start the bot as a child process build it once per run (test/helpers/built.ts).
    globalSetup: ['test/global-setup.ts'],
    // End-to-end tests start real servers and a real bot; give them room on a shared 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Each file starts its own fakes on port 0, so files can run side by side. Three at once on the 2-core machine:
    // the end-to-end files mostly wait (on the fakes, on bot processes), so a third file keeps the cores busier —
    // on nearly the same tree a run with 3 took 131 s where one with 2 had taken 189 s (docs/development.md, Tests).
    fileParallelism: true,
    maxWorkers: 3,
    // No retry, in CI or locally: a test that fails under load is a bug (a sleep or a time bound where a wait on a
    // condition belongs), to fix rather than to run again.
  },
});
