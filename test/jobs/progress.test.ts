// Progress in the engine alone (test/helpers/engine-world.ts: a manual clock, the fake Luma on the same clock): a
// long job's live reply is updated at most once per PROGRESS_INTERVAL_MS. That the deliverer skips a line that would
// not change is test/discord/deliverer.test.ts's.
import { afterEach, describe, expect, it } from 'vitest';
import { startEngineWorld, type EngineWorld } from '../helpers/engine-world.js';

describe('progress of a long job', () => {
  let w: EngineWorld | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });

  it('asks to show a 20-second job at most once per progress interval: with the result, at most 8 edits', async () => {
    w = await startEngineWorld({ config: { progressIntervalMs: 3000, pollIntervalMs: 500 }, luma: { queuedMs: 2000, processingMs: 18_000 } });
    const world = w;
    // Every time the engine asks to show progress; each is shown, as Discord's line changes with the elapsed time.
    const asked: number[] = [];
    const record = world.deliver.progress.bind(world.deliver);
    world.deliver.progress = async (job, state) => {
      asked.push(world.clock.now());
      await record(job, state);
      return 'shown';
    };
    const job = await world.submit('700000000000000301', 'progress: a slow one');
    await world.run(25_000);

    expect(world.deliver.of(job.id).result).toBeDefined();
    expect(world.deliver.of(job.id).progress.map((p) => p.state.stage)).toContain('generating');
    expect(asked.length).toBeGreaterThanOrEqual(3);
    expect(asked.length).toBeLessThanOrEqual(7);
    for (let i = 1; i < asked.length; i++) expect(asked[i]! - asked[i - 1]!).toBeGreaterThanOrEqual(3000);
  });
});
