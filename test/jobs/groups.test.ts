// Requests for several images, in the engine alone (test/helpers/engine-world.ts): each image its own job and Luma
// generation through the fair queue; their shared answer written one image at a time, seeing the others; progress
// from the first image only, until one has reached the answer; a failed image refunded alone.
import { afterEach, describe, expect, it } from 'vitest';
import type { JobCharges } from '../../src/jobs/steps/context.js';
import type { JobRecord } from '../../src/jobs/types.js';
import { startEngineWorld, type EngineWorld } from '../helpers/engine-world.js';

const user = (n: number) => `7100000000000${String(n).padStart(5, '0')}`;

/** Charges that record what was kept and given back, per job. */
function recordingCharges(): JobCharges & { refunds: { jobId: string; units: boolean }[]; commits: string[] } {
  const refunds: { jobId: string; units: boolean }[] = [];
  const commits: string[] = [];
  return {
    refunds,
    commits,
    commit: async (job: JobRecord) => void commits.push(job.id),
    refund: async (job: JobRecord, _reason: string, opts: { units: boolean }) => void refunds.push({ jobId: job.id, units: opts.units }),
  };
}

describe('a request for several images', () => {
  let w: EngineWorld | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });

  it('makes each image its own generation and delivers them one at a time, each seeing the ones before it', async () => {
    const charges = recordingCharges();
    w = await startEngineWorld({ config: { pollIntervalMs: 500, maxJobsPerUser: 4 }, luma: { queuedMs: 200, processingMs: 2000 }, deps: { charges } });
    const world = w;
    const jobs = await world.submitMany(user(1), 'four lighthouses', 4);
    await world.run(20_000);

    expect(world.luma.posts()).toHaveLength(4);
    expect(new Set(world.luma.generations().map((g) => g.id)).size).toBe(4);
    const results = jobs.map((j) => world.deliver.of(j.id).result);
    expect(results.every((r) => r !== undefined)).toBe(true);
    // Never two deliveries of the request at once, and spaced by the progress interval (3 s here).
    expect(world.deliver.mostAtOnce).toBe(1);
    const times = results.map((r) => r?.at ?? 0).sort((a, b) => a - b);
    for (let i = 1; i < times.length; i++) expect((times[i] ?? 0) - (times[i - 1] ?? 0)).toBeGreaterThanOrEqual(3000);
    // The last delivery saw the three before it done.
    const last = results.find((r) => r?.at === times[3]);
    expect(last?.group?.filter((s) => s === 'done')).toHaveLength(3);
    expect(charges.commits.sort()).toEqual(jobs.map((j) => j.id).sort());
    expect(charges.refunds).toEqual([]);
    for (const job of jobs) expect((await world.records.get(job.id))?.step).toBe('done');
  });

  it('shows progress from the first image only, and none once an image has reached the answer', async () => {
    w = await startEngineWorld({ config: { pollIntervalMs: 500, maxJobsPerUser: 4 }, luma: { queuedMs: 100, processingMs: 2000 } });
    const world = w;
    world.luma.planNext({ processingMs: 500 });
    world.luma.planNext({ processingMs: 10_000 });
    world.luma.planNext({ processingMs: 20_000 });
    const jobs = await world.submitMany(user(2), 'progress of a group', 3);
    await world.run(40_000);
    const [first, second, third] = jobs.map((j) => world.deliver.of(j.id));
    expect(first?.progress.length).toBeGreaterThan(0);
    expect(second?.progress).toEqual([]);
    expect(third?.progress).toEqual([]);
    const firstLanded = first?.result?.at ?? 0;
    expect(first?.progress.every((p) => p.at <= firstLanded)).toBe(true);
    expect(second?.result?.group).toEqual(['done', 'delivering', 'polling']);
  });

  it('stops the first image’s progress once another image of the request is being delivered', async () => {
    w = await startEngineWorld({ config: { pollIntervalMs: 500, maxJobsPerUser: 4, progressIntervalMs: 1000 }, luma: { queuedMs: 100 } });
    const world = w;
    world.luma.planNext({ processingMs: 20_000 });
    world.luma.planNext({ processingMs: 3000 });
    const [lead, other] = await world.submitMany(user(4), 'the second lands first', 2);
    await world.run(30_000);
    const landed = world.deliver.of(other?.id ?? '').result?.at ?? 0;
    const progress = world.deliver.of(lead?.id ?? '').progress;
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((p) => p.at < landed)).toBe(true);
    expect(world.deliver.of(lead?.id ?? '').result?.group).toEqual(['delivering', 'done']);
  });

  it('gives back exactly the unit of an image that failed through no fault of the member, and shows it beside the others', async () => {
    const charges = recordingCharges();
    w = await startEngineWorld({ config: { pollIntervalMs: 500, maxJobsPerUser: 4 }, luma: { queuedMs: 100, processingMs: 1000 }, deps: { charges } });
    const world = w;
    world.luma.planNext({});
    world.luma.planNext({ failWith: 'generation_failed' });
    world.luma.planNext({});
    const jobs = await world.submitMany(user(3), 'one fails', 3);
    await world.run(20_000);
    const failed = world.luma.generations().find((g) => g.failureCode === 'generation_failed');
    const failedJob = (await Promise.all(jobs.map((j) => world.records.get(j.id)))).find((j) => j?.generationId === failed?.id);
    expect(failedJob?.step).toBe('failed');
    expect(charges.refunds).toEqual([{ jobId: failedJob?.id, units: true }]);
    const shownFailure = world.deliver.of(failedJob?.id ?? '').failure;
    expect(shownFailure?.code).toBe('generation_failed');
    expect(shownFailure?.group).toHaveLength(3);
    expect(jobs.filter((j) => world.deliver.of(j.id).result !== undefined)).toHaveLength(2);
  });
});
