// Downloading a result from Luma in the engine alone (test/helpers/engine-world.ts: a manual clock, the fake Luma on
// the same clock): a failed download is tried again with a fresh URL, up to four attempts 0.25, 0.5 and 1 s apart,
// and the member hears of the failure as soon as the last one failed.
import { afterEach, describe, expect, it } from 'vitest';
import { startEngineWorld, type EngineWorld } from '../helpers/engine-world.js';

describe('downloading a result', () => {
  let w: EngineWorld | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });

  it('tries four times with a fresh URL each, backing off, and fails the job right after the fourth', async () => {
    w = await startEngineWorld({ config: { pollIntervalMs: 200 }, luma: { queuedMs: 50, processingMs: 150 } });
    w.luma.fault({ method: 'GET', path: '/files/' }, ...Array.from({ length: 4 }, () => ({ status: 500 })));
    const job = await w.submit('700000000000000501', 'download: a volcano');
    await w.run(5000, 50);

    const downloads = w.luma.requests.filter((r) => r.path.startsWith('/files/')).map((r) => r.at);
    expect(downloads).toHaveLength(4);
    const gaps = downloads.slice(1).map((at, n) => at - downloads[n]!);
    // The back-off, plus the clock's 50 ms steps.
    [250, 500, 1000].forEach((backoff, n) => expect(gaps[n]).toSatisfy((g: number) => g >= backoff && g <= backoff + 100));
    const failure = w.deliver.of(job.id).failure;
    expect(failure?.code).toBe('download_failed');
    // No wait after the last attempt.
    expect(failure!.at - downloads[3]!).toBeLessThan(50);
    expect(w.luma.posts()).toHaveLength(1);
  });
});
