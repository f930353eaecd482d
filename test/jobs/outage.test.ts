// A long Luma outage with a full queue, in the engine alone (test/helpers/engine-world.ts: in-memory storage, a
// manual clock, the fake Luma on the same clock): one probe at a time instead of a stampede, every member told Luma
// is unavailable, each job delivered once after recovery at the account's advertised limit, and the outage window
// still ending a job that waits too long, with a refund.
import { afterEach, describe, expect, it } from 'vitest';
import { PROBE_FIRST_MS, PROBE_MAX_MS } from '../../src/jobs/luma-breaker.js';
import type { JobRecord } from '../../src/jobs/types.js';
import { startEngineWorld, type EngineWorld, type LumaCall } from '../helpers/engine-world.js';

const user = (n: number) => `7200000000000${String(n).padStart(5, '0')}`;

/** The calls the engine made once it had heard the first outage answer: the probes. */
function probesAfterFirstFailure(calls: readonly LumaCall[]): { before: LumaCall | undefined; probes: LumaCall[] } {
  const firstFailure = Math.min(...calls.filter((c) => c.ok === false).map((c) => c.endSeq ?? Infinity));
  const probes = calls.filter((c) => c.seq > firstFailure);
  return { before: calls.filter((c) => c.seq < firstFailure).at(-1), probes };
}

/** One request at a time, each at least 5 s after the one before it (the jitter only ever lengthens a gap). */
function expectOneProbeAtATime(calls: readonly LumaCall[]): LumaCall[] {
  const { before, probes } = probesAfterFirstFailure(calls);
  let previous = before;
  for (const probe of probes) {
    expect(probe.inFlight).toBe(1);
    if (previous) {
      expect(probe.seq).toBeGreaterThan(previous.endSeq ?? Infinity);
      expect(probe.at - previous.at).toBeGreaterThanOrEqual(PROBE_FIRST_MS);
      expect(probe.at - previous.at).toBeLessThanOrEqual(2 * PROBE_MAX_MS);
    }
    previous = probe;
  }
  return probes;
}

const lastStage = (w: EngineWorld, job: JobRecord) => w.deliver.of(job.id).progress.at(-1)?.state.stage;

describe('a long Luma outage with a full queue', () => {
  let w: EngineWorld | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });

  it('sends one probe at a time while Luma is down, then delivers every job once at the 120 a minute Luma advertises', async () => {
    w = await startEngineWorld({ config: { lumaMaxRequestsPerMinute: 30, lumaMaxConcurrentJobs: 10 }, luma: { plan: { rpm: 120 } } });
    const world = w;
    // Ten jobs are at Luma (held there) when it goes down: their polls meet the outage. 190 more arrive during it.
    const jobs: JobRecord[] = [];
    for (let n = 0; n < 10; n++) world.luma.planNext({ hold: true });
    for (let n = 0; n < 10; n++) jobs.push(await world.submit(user(n), `outage: ${n}`));
    await world.run(3000);
    expect(world.engine.jobStats().steps).toEqual({ polling: 10 });
    world.luma.setOutage(502);
    for (let n = 10; n < 200; n++) jobs.push(await world.submit(user(n % 50), `outage: ${n}`));
    await world.run(90_000, 250);

    const probes = expectOneProbeAtATime(world.calls);
    expect(probes.length).toBeGreaterThanOrEqual(3);
    expect(probes.length).toBeLessThanOrEqual(10);
    expect(world.engine.lumaLimits().luma).toMatchObject({ state: 'open', shared: false });
    // Every member is told: Luma is unavailable (waiting), or not answering (at Luma); nobody failed.
    for (const job of jobs) expect(lastStage(world, job)).toBe(jobs.indexOf(job) < 10 ? 'lumaSilent' : 'lumaDown');
    expect(jobs.filter((j) => world.deliver.of(j.id).failure)).toEqual([]);

    world.luma.setOutage(undefined);
    for (const g of world.luma.generations()) world.luma.release(g.id);
    await world.run(PROBE_MAX_MS, 250);
    const lastFailure = Math.max(...world.calls.filter((c) => c.ok === false).map((c) => c.seq));
    const recoveredAt = world.calls.find((c) => c.ok === true && c.seq > lastFailure)?.at ?? NaN;
    expect(world.engine.lumaLimits().luma.state).toBe('closed');
    await world.run(200_000, 250);

    for (const job of jobs) expect(world.deliver.of(job.id).result).toBeDefined();
    const prompts = world.luma.generations().map((g) => g.request.prompt);
    expect(prompts).toHaveLength(200);
    expect(new Set(prompts).size).toBe(200);
    // The backlog drains at the account's 120 a minute, not the configured 30, without a 429.
    const acceptedFirstMinute = world.luma.posts().filter((r) => r.status === 201 && r.at >= recoveredAt && r.at < recoveredAt + 60_000).length;
    expect(acceptedFirstMinute).toBeGreaterThanOrEqual(100);
    expect(acceptedFirstMinute).toBeLessThanOrEqual(120);
    expect(world.luma.posts().filter((r) => r.status === 429)).toEqual([]);
    expect(jobs.filter((j) => world.deliver.of(j.id).failure)).toEqual([]);
  }, 60_000);

  it('probes with the next job’s POST when nothing is at Luma, and generates each job once after recovery', async () => {
    w = await startEngineWorld({ luma: { plan: { rpm: 20 } } });
    const world = w;
    world.luma.setOutage(502);
    const jobs: JobRecord[] = [];
    for (let n = 0; n < 30; n++) jobs.push(await world.submit(user(n % 10), `post probes: ${n}`));
    await world.run(60_000, 250);
    const probes = expectOneProbeAtATime(world.calls);
    expect(probes.length).toBeGreaterThanOrEqual(2);
    expect(probes.every((c) => c.method === 'POST')).toBe(true);
    for (const job of jobs) expect(lastStage(world, job)).toBe('lumaDown');

    world.luma.setOutage(undefined);
    await world.run(PROBE_MAX_MS + 120_000, 250);
    for (const job of jobs) expect(world.deliver.of(job.id).result).toBeDefined();
    const prompts = world.luma.generations().map((g) => g.request.prompt);
    expect(prompts).toHaveLength(30);
    expect(new Set(prompts).size).toBe(30);
    // At the 20 a minute Luma advertises: never a per-minute 429.
    expect(world.luma.posts().filter((r) => r.status === 429)).toEqual([]);
  }, 60_000);

  it('holds a download that must ask Luma for a fresh output URL until Luma answers again', async () => {
    w = await startEngineWorld();
    const world = w;
    // Its download fails at Luma's storage (four tries): the job fails with Retry, its image still at Luma.
    world.luma.planNext({ fileFailures: 4 });
    const job = await world.submit(user(950), 'fresh url: the image');
    await world.run(5000);
    expect(world.deliver.of(job.id).failure?.code).toBe('download_failed');
    // Luma goes down (another job's POST finds it so); then the member presses Retry.
    world.luma.setOutage(502);
    await world.submit(user(951), 'fresh url: finds the outage');
    await world.run(500);
    expect(world.engine.lumaLimits().luma.state).toBe('open');
    await world.engine.redeliver(job.id, job.replyTo, undefined);
    const generationId = world.luma.generations()[0]?.id;
    const getsOf = () => world.calls.filter((c) => c.method === 'GET' && c.id === generationId).length;
    const before = getsOf();
    await world.run(3000);
    expect(getsOf()).toBe(before);
    world.luma.setOutage(undefined);
    await world.run(PROBE_MAX_MS + 5000, 250);
    expect(getsOf()).toBeGreaterThan(before);
    expect(world.deliver.of(job.id).result).toBeDefined();
  }, 60_000);

  it('still gives a job up with a refund once the outage outlasts its window, counted from when it began to wait', async () => {
    w = await startEngineWorld({ config: { lumaOutageWindowMs: 30_000 } });
    const world = w;
    world.luma.planNext({ hold: true });
    const atLuma = await world.submit(user(900), 'window: at Luma');
    await world.run(2000);
    world.luma.setOutage(502);
    const early = await world.submit(user(901), 'window: early');
    await world.run(20_000, 250);
    const late = await world.submit(user(902), 'window: late');
    const lateAt = world.clock.now();
    await world.run(15_000, 250);
    // The outage has lasted 35 s: past the early jobs' windows, not the late one's.
    expect(world.deliver.of(early.id).failure?.code).toBe('luma_unavailable');
    expect(world.deliver.of(atLuma.id).failure?.code).toBe('poll_timeout');
    expect(world.deliver.of(late.id).failure).toBeUndefined();
    expect(lastStage(world, late)).toBe('lumaDown');
    await world.run(lateAt + 32_000 - world.clock.now(), 250);
    expect(world.deliver.of(late.id).failure?.code).toBe('luma_unavailable');
    expect(world.luma.generations()).toHaveLength(1);
  }, 60_000);

  /** Runs the world until a download of a result file has been answered 503 (its plan's `fileFailures`). */
  async function untilAFileFailed(world: EngineWorld): Promise<void> {
    for (let i = 0; i < 100 && !world.luma.requests.some((r) => r.path.includes('/files/') && r.status === 503); i++) await world.run(100);
    expect(world.luma.requests.some((r) => r.path.includes('/files/') && r.status === 503)).toBe(true);
  }

  it('keeps a finished job whose fresh output URL Luma cannot give for the outage window, and delivers it once Luma is back', async () => {
    w = await startEngineWorld({ config: { lumaOutageWindowMs: 120_000 } });
    const world = w;
    // The first download of the result fails: the next try asks Luma for a fresh URL, and Luma is down by then.
    world.luma.planNext({ fileFailures: 1 });
    const job = await world.submit(user(950), 'window: a fresh URL');
    await untilAFileFailed(world);
    world.luma.setOutage(502);
    await world.run(60_000, 250);
    expect(world.deliver.of(job.id).failure).toBeUndefined();
    expect(lastStage(world, job)).toBe('lumaSilent');
    world.luma.setOutage(undefined);
    await world.run(PROBE_MAX_MS + 5000, 250);
    expect(world.deliver.of(job.id).failure).toBeUndefined();
    expect(world.deliver.of(job.id).result).toBeDefined();
    expect(world.luma.posts()).toHaveLength(1);
  }, 60_000);

  it('gives a finished job up as lost contact (refunded, with a Retry) once the outage outlasts its window, not as a failed download', async () => {
    w = await startEngineWorld({ config: { lumaOutageWindowMs: 30_000 } });
    const world = w;
    world.luma.planNext({ fileFailures: 1 });
    const job = await world.submit(user(951), 'window: no fresh URL');
    await untilAFileFailed(world);
    world.luma.setOutage(502);
    await world.run(20_000, 250);
    expect(world.deliver.of(job.id).failure).toBeUndefined();
    await world.run(20_000, 250);
    expect(world.deliver.of(job.id).failure?.code).toBe('poll_timeout');
    expect(world.deliver.of(job.id).result).toBeUndefined();
  }, 60_000);
});
