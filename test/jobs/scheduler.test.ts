// The job scheduler, in the engine alone (test/helpers/engine-world.ts: in-memory storage, a manual clock, the fake
// Luma on the same clock): one timer for every job, not a timer per job; polls no sooner than asked after the POST
// and between polls; a Retry-After on a poll waited out.
import { afterEach, describe, expect, it } from 'vitest';
import { startEngineWorld, type EngineWorld } from '../helpers/engine-world.js';

const user = (n: number) => `7000000000000${String(n).padStart(5, '0')}`;

describe('the job scheduler', () => {
  let w: EngineWorld | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });

  it('keeps one timer for the whole queue however many jobs wait, poll or queue', async () => {
    w = await startEngineWorld({ config: { pollIntervalMs: 1000, lumaMaxConcurrentJobs: 20, maxJobsPerUser: 2 } });
    const world = w;
    for (let n = 0; n < 40; n++) world.luma.planNext({ hold: true });
    await world.submit(user(0), 'one timer: first');
    await world.run(3000);
    expect(world.luma.generations()).toHaveLength(1);
    const withOne = world.clock.waiting;

    // 39 more: 19 more at Luma (polling), 20 waiting in the queue.
    for (let n = 1; n < 40; n++) await world.submit(user(n), `one timer: ${n}`);
    await world.run(3000);
    expect(world.luma.generations()).toHaveLength(20);
    expect(world.engine.jobStats()).toMatchObject({ total: 40, steps: { polling: 20, queued: 20 } });
    // A timer per job would add 39: the one scheduler adds none.
    expect(world.clock.waiting).toBe(withOne);
  });

  it('polls a second after the POST, then every POLL_INTERVAL_MS, never sooner', async () => {
    w = await startEngineWorld({ config: { pollIntervalMs: 2500 }, luma: { queuedMs: 500, processingMs: 7500 } });
    const world = w;
    const job = await world.submit(user(100), 'cadence: a clock tower');
    await world.run(12_000);
    expect(world.deliver.of(job.id).result).toBeDefined();

    const post = world.calls.find((c) => c.method === 'POST')?.at ?? NaN;
    // The download's fresh-URL GETs come after the result; the polls are the GETs before it.
    const done = world.deliver.of(job.id).result?.at ?? Infinity;
    const polls = world.calls.filter((c) => c.method === 'GET' && c.at <= done).map((c) => c.at);
    const gaps = polls.map((at, i) => at - (i === 0 ? post : (polls[i - 1] ?? 0)));
    expect(polls.length).toBeGreaterThanOrEqual(3);
    // The first poll comes soon (to show "generating" early), then the regular cadence: on this clock, exactly.
    expect(gaps[0]).toBe(1000);
    for (const gap of gaps.slice(1)) expect(gap).toBe(2500);
  });

  it('waits out a Retry-After on a poll that is longer than the client waits by itself', async () => {
    w = await startEngineWorld({ config: { pollIntervalMs: 200 } });
    const world = w;
    world.luma.planNext({ hold: true });
    const job = await world.submit(user(200), 'retry-after: a lantern');
    await world.run(1500);
    const id = world.luma.generations()[0]?.id ?? '';
    world.luma.fault({ method: 'GET', path: `/v1/generations/${id}`, exact: true }, { status: 429, body: { detail: 'Rate limit exceeded' }, headers: { 'Retry-After': '10', 'X-RateLimit-Limit': '60', 'X-RateLimit-Remaining': '0' } });
    await world.run(200);
    const limited = world.luma.requests.find((r) => r.fault);
    expect(limited).toBeDefined();
    const limitedAt = world.calls.filter((c) => c.method === 'GET').at(-1)?.at ?? NaN;
    await world.run(limitedAt + 9_900 - world.clock.now());
    expect(world.calls.filter((c) => c.method === 'GET' && c.at > limitedAt)).toEqual([]);
    await world.run(200);
    const next = world.calls.find((c) => c.method === 'GET' && c.at > limitedAt);
    expect(next?.at).toBe(limitedAt + 10_000);

    world.luma.release(id);
    await world.run(1000);
    expect(world.deliver.of(job.id).result).toBeDefined();
  });
});
